// Package education keeps the health-education library, matches its
// articles to patients, and pushes them through the outbox on rules,
// recording every delivery so no article reaches a patient twice.
//
// # The library
//
// Five articles ship in the binary (articles/*.json, embedded): salt and
// diet with hypertension, foot care with diabetes, wound care after
// surgery, quitting smoking, and childhood vaccination. Each is written in
// Simplified Chinese and English from public-health guidance it names in
// its source (WHO fact sheets and guidelines, China's dietary, hypertension
// and diabetes guidelines, the national immunization schedule), and is
// tagged with the conditions it is for (ICD-10 category ranges, "I10-I15"),
// an age range in whole years, inclusive, and a sex. An admin adds more
// through the API; those are records of the "articles" collection (one
// register holding the article's JSON, written once), so they sync like
// everything else. A stored article cannot take a shipped article's id.
//
// # Matching
//
// Match is a pure function of an article and a Profile (diagnosis codes,
// age, sex): an article with conditions needs one of the patient's codes in
// one of its ranges (icd10.InRange); one without conditions (vaccination)
// is for everyone its age and sex fit; an article with an age range does
// not match a patient whose age is unknown, because sending a child's
// vaccination schedule to an adult is worse than not sending it.
//
// # Pushing and deliveries
//
// Push rules are data (rules.json): a new diagnosis in a range sends an
// article, if it also fits the patient's age and sex. Diagnosed is the hook
// the chart side calls when a diagnosis is added; Send is the same by hand.
// A delivery is queued in the outbox with the key
// "education/<patient>/<article>" (the outbox adds nothing for a key it
// holds, on any node) and recorded as the record "<patient>.<article>" of
// the "deliveries" collection, written with Create: a second send on the
// same node is refused with ErrAlreadySent, and two nodes sending while
// apart write the same record (it merges into one) and the same outbox key
// (one message). The message is queued before the record is written, so a
// crash between the two leaves a message without its record, and a retry
// queues nothing new and writes the record; never a record without a
// message.
//
// The deliveries name the patient by chart id and the article; neither is
// personal data, so nothing here is sealed.
package education
