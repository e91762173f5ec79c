// Package care is the patient record's data model and its rules: what a
// client sends (PatientInput, AllergyInput, DiagnosisInput,
// MedicationInput), how it is tidied (Normalize), what is refused and how a
// front-desk clerk is told (Validate, ValidationError), which fields keep
// concurrent edits as a conflict (ImportantFields), and the automatic tags
// (TagRule, Evaluate). It is pure: no storage, no HTTP, no clock, no
// package-level mutable state. The store and the API build on it.
//
// # Handling a request
//
//	lang := care.Lang(r.Header.Get("Accept-Language")) // "zh" unless English is asked for
//	var in care.PatientInput                          // PATCH: start from the stored record
//	err := care.Decode(body, &in)                     // shape: JSON, types, unknown fields, size
//	if err == nil {
//		in = in.Normalize()
//		err = in.Validate(today)                     // rules: every problem at once
//	}
//	var ve *care.ValidationError
//	if errors.As(err, &ve) {
//		// 400 with ve.Message(lang), and ve.Problems for the form
//	}
//
// Diagnoses are checked against the ICD-10 table the node keeps
// (DiagnosisInput.Validate(table)); a code accepted only on its category
// comes back as a warning (CodeICD10Unlisted), not a refusal.
//
// # Messages
//
// Every Problem carries a stable Code, the JSON path of the field, and one
// sentence in English and one in Simplified Chinese that say what is wrong
// and what to do ("Phone 2 has 10 digits; a mobile number has 11." /
// "第2个电话号码只有10位，手机号码应为11位。"). Sentences never quote an ID
// number (nor a part of one), a phone number, a name or an address, because
// errors are logged and those are personal data; a phone is named by its
// position in the list, an ID number's fault by character position. ID
// number messages use residentid's Chinese wording; ICD-10 messages are
// icd10's own in both languages (a code on its own is not personal).
//
// Lang defaults to Chinese: an absent header, "*", or only languages the
// node does not speak give "zh", because the node runs in Chinese clinics
// and a kiosk or desk whose software sent no header is read by someone who
// reads Chinese. English is used only when the header prefers it.
//
// # Normalisation
//
// Normalize does what a careful clerk would do by hand and nothing that
// changes meaning: trims; makes full-width digits and letters ASCII in the
// name, phones, ID and card numbers and birth date; writes the ID number's
// final x as X; reduces phones to digits (spaces, dashes, brackets, +86,
// 0086 and a 0 dialled before a mobile number removed); makes the dots of
// minority names (阿依古丽•买买提, 买买提.艾力) the middle dot U+00B7 and drops
// spaces around it and between Chinese characters (张 三 is 张三); writes
// 1956/6/20 and 1956年6月20日 as 1956-06-20; accepts the Chinese words for
// sex, marital status and severity (男, 已婚, 重度); upper-cases card
// numbers, which are unique per network; drops empty phones and contacts.
// An allergy with no severity gets "unknown" (an allergy must be recorded
// even when nobody knows how bad it is), but a patient with no sex or birth
// date is refused: both are on every registration form, "unknown" exists
// for a sex that is not known, and an estimated birth date serves a patient
// who does not know theirs. Normalize is idempotent, so a stored record
// normalises to itself.
//
// Validate checks what it is given and does not normalise, so what is
// stored is exactly what passed.
//
// # The model
//
// Allergies, diagnoses and medications are not fields of PatientInput but
// elements of add-wins sets, each added or removed through its own
// endpoint: a write never states a whole list, so an allergy added on a
// nurse's laptop survives an edit of the list at the clinic. Decode
// replaces a present field whole and leaves absent ones alone, which is
// what a PATCH over the stored record needs; the ID number is then
// cross-checked against the stored birth date and sex too.
//
// Limits (Max… constants) are in characters, as a clerk counts them. A
// request body over MaxBodyBytes (64 KiB) is refused before it is parsed,
// with a sentence saying so; a body whose texts keep to their caps fits
// inside it.
//
// # Important fields
//
// ImportantFields is the single declaration of the fields whose concurrent
// edits stay visible as a conflict to review: name, sex, birth date, ID
// number, phones, address, card number, emergency contacts, the medical and
// family histories, an allergy's severity, a medication's dose and
// frequency. The store asks node/schema.go's Important, which delegates here
// through chart.Important.
//
// # Automatic tags
//
// Tag rules are data: default_tags.json is embedded and returned by
// DefaultRules, and LoadRules reads and checks another file of the same
// shape. Kinds are ageAtLeast (years), diagnosisInRange (ICD-10 category
// range, icd10.InRange), and missedAppointments (count within days; the
// appointment data arrives with a later issue). The default hypertension
// tag has a second rule for I1A (resistant hypertension), which ICD-10-CM
// added after I15 but which sorts outside I10–I15. Evaluate is a pure
// function of rules, facts and today's date, so the node can recompute tags
// whenever their inputs change and every node computes the same ones.
package care
