package outbox

import "time"

// Message is what other services queue for a patient: an appointment
// reminder, a follow-up summary, a survey link, an education article.
// The outbox resolves the patient's phone number from the chart when it
// sends, so a queued message carries no number of its own.
type Message struct {
	// Key makes queueing idempotent: queueing a Key that is already queued
	// (on this node or, after sync, on any other) adds nothing. Services
	// build it from what the message is about, e.g.
	// "reminder/<appointment>/day-before" or "education/<patient>/<article>".
	Key string `json:"key"`
	// Patient is the chart id of the recipient.
	Patient string `json:"patient"`
	// Kind is reminder, followup_summary, survey_link or education.
	Kind string `json:"kind"`
	// Text is the message in each language the service has ("zh", "en");
	// the outbox sends the patient's language, Chinese when unknown.
	Text map[string]string `json:"text"`
	// NotBefore is the earliest time to send (zero: as soon as allowed).
	NotBefore time.Time `json:"notBefore,omitzero"`
	// Expires is when the message stops being worth sending (a reminder
	// for an appointment that has passed); zero means the outbox default.
	Expires time.Time `json:"expires,omitzero"`
	// About names the record the message is about ("appointments/<id>",
	// "tasks/<id>"), for the outbox list and its audit.
	About string `json:"about,omitempty"`
}
