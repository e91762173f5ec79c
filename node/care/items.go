package care

import (
	"errors"
	"fmt"

	"carenode/node/icd10"
)

// Validate reports everything wrong with a (normalised) allergy: the
// substance is required, the severity one of mild, moderate, severe or
// unknown, and the texts within their caps.
func (a AllergyInput) Validate() error {
	var ps problems
	if a.Substance == "" {
		required(&ps, "substance", label{"The allergy's substance (what the patient is allergic to)", "过敏物质（对什么过敏）"})
	} else {
		checkLine(&ps, "substance", a.Substance, MaxShortLen, label{"The allergy's substance", "过敏物质"})
	}
	checkText(&ps, "reaction", a.Reaction, MaxReactionLen, label{"The allergic reaction", "过敏反应"})
	checkEnum(&ps, "severity", a.Severity, severityEnum(), true, label{"The severity", "严重程度"},
		"mild, moderate, severe or unknown", "轻度（mild）、中度（moderate）、重度（severe）或未知（unknown）")
	return ps.err(nil)
}

// Validate reports everything wrong with a (normalised) medication: the
// name is required and every text within its cap.
func (m MedicationInput) Validate() error {
	var ps problems
	if m.Name == "" {
		required(&ps, "name", label{"The medication's name", "药品名称"})
	} else {
		checkLine(&ps, "name", m.Name, MaxShortLen, label{"The medication's name", "药品名称"})
	}
	checkLine(&ps, "dose", m.Dose, MaxDoseLen, label{"The dose", "剂量"})
	checkLine(&ps, "frequency", m.Frequency, MaxDoseLen, label{"The frequency", "用法频次"})
	return ps.err(nil)
}

// Validate checks a (normalised) diagnosis against the code table and
// returns the code as the table knows it: canonical form, titles, and
// whether the table lists it.
//
// A malformed or unknown code is a Problem with icd10's own sentences
// (CodeICD10Malformed, CodeICD10Unknown; CodeRequired when empty). A code
// the table accepts only on the strength of its category (Listed false,
// such as K57.30 where the table ships the category but not its subcodes)
// is accepted with a warning, CodeICD10Unlisted: the code may well be
// right, but nobody has checked it against a title. Warnings come back in
// warnings when d is accepted, and in ValidationError.Warnings when it is
// refused for another reason (a note too long).
//
// A damaged code table is not the clerk's problem: it comes back as an
// error wrapping icd10.ErrTable, not as a *ValidationError. codes nil
// means icd10.Default(), which loads the table on every call; a node keeps
// one Table.
func (d DiagnosisInput) Validate(codes *icd10.Table) (c icd10.Code, warnings []Problem, err error) {
	if codes == nil {
		codes = icd10.Default()
	}
	var ps problems
	c, lerr := codes.Lookup(d.Code)
	var ie *icd10.Error
	switch {
	case lerr == nil && !c.Listed:
		warnings = append(warnings, Problem{
			Field: "code",
			Code:  CodeICD10Unlisted,
			En: fmt.Sprintf("%s is accepted under its category %s (%s), but the code table does not list it in detail; check that the code is right.",
				c.Code, c.Code[:3], c.Title("en")),
			Zh: fmt.Sprintf("编码%s不在编码表的细目中，已按其类目%s（%s）接受，请确认编码无误。",
				c.Code, c.Code[:3], c.Title("zh")),
		})
	case lerr == nil:
	case errors.Is(lerr, icd10.ErrTable):
		return icd10.Code{}, nil, fmt.Errorf("check diagnosis code: %w", lerr)
	case d.Code == "":
		ps.add("code", CodeRequired, icd10.Describe(lerr, "en"), icd10.Describe(lerr, "zh"))
	case errors.As(lerr, &ie) && errors.Is(lerr, icd10.ErrUnknown):
		ps.add("code", CodeICD10Unknown, ie.MessageEn(), ie.MessageZh())
	default:
		ps.add("code", CodeICD10Malformed, icd10.Describe(lerr, "en"), icd10.Describe(lerr, "zh"))
	}
	checkText(&ps, "note", d.Note, MaxTextLen, label{"The diagnosis note", "诊断备注"})
	if err := ps.err(warnings); err != nil {
		return icd10.Code{}, nil, err
	}
	return c, warnings, nil
}
