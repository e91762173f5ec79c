package outbox

import (
	"context"
	"time"
)

// SMS is one message for a Sender: the text in the patient's language and
// the number, both plaintext and only in memory.
type SMS struct {
	// ID is the outbox record id. It is the same for every attempt of the
	// message, so a gateway that deduplicates by client reference, or a
	// modem that numbers concatenated parts from it, sees a retry as the
	// same message.
	ID string
	// To is the patient's phone number as the chart holds it.
	To string
	// Text is the message, in Lang ("zh" or "en").
	Text string
	Lang string
	// Validity is how long the message stays worth delivering (the time
	// left until it expires); a sender may pass it on (the validity period
	// of an SMS) so that a network holding it for a switched-off phone
	// drops it in time. Zero means no limit.
	Validity time.Duration
}

// Sender hands an SMS to the network. The outbox calls Send from its
// sender loop only, one message at a time; Send may block until ctx ends
// (the outbox's SendTimeout). It returns the network's reference on
// success. An error is retried with backoff unless it is permanent
// (IsPermanent). A Sender must not log the number or the text.
type Sender interface {
	Send(ctx context.Context, m SMS) (ref string, err error)
	// Kind names the sender in the message history: gsm, gateway, file.
	Kind() string
}

// Patients is what the outbox needs of the charts: a patient's phone
// number and language, read when a message is sent (never stored in the
// outbox in the clear). Contact is called from the sender loop and may
// block on the store. It returns an error wrapping ErrNoContact when the
// patient does not exist or has no usable phone; lang is "zh", "en" or ""
// (Chinese).
type Patients interface {
	Contact(ctx context.Context, patientID string) (phone, lang string, err error)
}
