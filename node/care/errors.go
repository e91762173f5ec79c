package care

import (
	"errors"
	"strings"
)

// ErrRules means a tag rule file cannot be used. LoadRules wraps it with
// the rule and the reason.
var ErrRules = errors.New("invalid tag rules")

// Problem is one thing wrong with the input, for the person who typed it.
type Problem struct {
	// Field is the JSON path of the value at fault: "name", "phones[1]",
	// "emergencyContacts[0].phone"; "" for the body as a whole. A wrong
	// JSON type inside a list is named without the index
	// ("emergencyContacts.phone"): the decoder does not say which element.
	Field string `json:"field"`
	// Code is stable and machine-readable (the Code… constants), for a
	// screen that highlights the field or a test that checks the reason.
	Code string `json:"code"`
	// En and Zh are the same sentence in English and Simplified Chinese.
	// Neither quotes an ID number, phone number, name or address: errors
	// end up in logs, and these are personal data.
	En string `json:"en"`
	Zh string `json:"zh"`
}

// Message returns the problem in lang: Chinese when lang starts with "zh"
// (as Lang returns it, or an Accept-Language tag), English otherwise.
func (p Problem) Message(lang string) string {
	if isZh(lang) {
		return p.Zh
	}
	return p.En
}

// Problem codes.
const (
	CodeRequired  = "required"    // a value must be given
	CodeTooLong   = "too_long"    // more characters than the field holds
	CodeTooMany   = "too_many"    // more list elements than allowed
	CodeDuplicate = "duplicate"   // the same value twice in a list
	CodeBadChar   = "bad_char"    // a character the field cannot hold
	CodeNotInList = "not_in_list" // not one of an enumeration's values

	CodeDateFormat = "date_format"  // not written YYYY-MM-DD
	CodeNoSuchDate = "no_such_date" // YYYY-MM-DD, but not on the calendar
	CodeFutureDate = "future_date"  // after today
	CodeTooEarly   = "too_early"    // before MinBirthYear

	CodeIDLength            = "id_length"
	CodeIDChar              = "id_char"
	CodeIDBirthDate         = "id_birth_date" // the date inside the number is impossible
	CodeIDCheck             = "id_check"      // check character wrong: a typo
	CodeIDBirthDateMismatch = "id_birth_date_mismatch"
	CodeIDSexMismatch       = "id_sex_mismatch"

	CodePhoneLength   = "phone_length"    // a mobile or landline with too few or many digits
	CodePhonePrefix   = "phone_prefix"    // 11 digits starting 10, 11 or 12
	CodePhoneAreaCode = "phone_area_code" // a landline without its area code
	CodePhoneForeign  = "phone_foreign"   // a number outside mainland China
	CodeNotPhone      = "not_phone"       // not shaped like any phone number

	CodeCardFormat = "card_format"

	CodeICD10Malformed = "icd10_malformed"
	CodeICD10Unknown   = "icd10_unknown"
	CodeICD10Unlisted  = "icd10_unlisted" // a warning: accepted on its category

	CodeBadJSON      = "bad_json"      // not JSON, or not an object
	CodeWrongType    = "wrong_type"    // a field holds the wrong kind of JSON value
	CodeUnknownField = "unknown_field" // a field the API does not have
	CodeTooLarge     = "too_large"     // the body is over MaxBodyBytes
)

// ValidationError lists everything wrong with an input, so a clerk fixes
// the form once rather than once per field.
type ValidationError struct {
	// Problems refuse the input; there is at least one.
	Problems []Problem `json:"problems"`
	// Warnings were found alongside: they would not refuse the input on
	// their own (an ICD-10 code accepted on its category). A screen shows
	// them too, so the clerk sees everything at once.
	Warnings []Problem `json:"warnings,omitempty"`
}

// Error joins the English sentences of the problems.
func (e *ValidationError) Error() string { return e.Message("en") }

// Message joins the problems' sentences in lang ("zh" or "en"; see
// Problem.Message).
func (e *ValidationError) Message(lang string) string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 && !isZh(lang) {
			b.WriteByte(' ')
		}
		b.WriteString(p.Message(lang))
	}
	return b.String()
}

// problems collects Problems in the order found.
type problems struct {
	list []Problem
}

func (ps *problems) add(field, code, en, zh string) {
	ps.list = append(ps.list, Problem{Field: field, Code: code, En: en, Zh: zh})
}

// err returns the collected problems as a *ValidationError, or a nil error
// (not a nil *ValidationError in an interface) when there are none.
func (ps *problems) err(warnings []Problem) error {
	if len(ps.list) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps.list, Warnings: warnings}
}
