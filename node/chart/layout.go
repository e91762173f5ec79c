package chart

import (
	"encoding/json"
	"fmt"
	"strings"

	"carenode/node/care"
)

// Collections this package writes.
const (
	Collection      = "patients" // one record per patient
	AuditCollection = "audit"    // one record per patient and day: <patient>.<YYYYMMDD>
)

// Set names in a patient record. Allergies, diagnoses and medications are
// add-wins sets of element ids; each element's own fields are registers named
// <kind>.<element id>.<field>, so a severity edited on one node and the
// allergy's reaction edited on another both stay.
const (
	setAllergies   = "allergies"
	setDiagnoses   = "diagnoses"
	setMedications = "medications"
	setAssignees   = "assignees" // staff names of the nurses a patient is assigned to
	setTags        = "tags"      // tags given by hand
	factAudit      = "events"    // facts of an audit record
)

// Element field prefixes, one per set.
const (
	elemAllergy    = "allergy"
	elemDiagnosis  = "diagnosis"
	elemMedication = "medication"
)

// fieldSpec is one demographic register of a patient record.
type fieldSpec struct {
	name   string // JSON name in care.PatientInput, and the register's name
	sealed bool   // encrypted at rest: personal data
}

// demographics lists the registers of care.PatientInput. Sex, birth date and
// marital status stay readable: on their own they identify nobody, and a
// locked node (a hub, a node that only relays) can still count by age and
// sex. Everything that names, locates or describes a person is sealed.
func demographics() []fieldSpec {
	return []fieldSpec{
		{"name", true}, {"sex", false}, {"birthDate", false}, {"idNumber", true}, {"phones", true},
		{"address", true}, {"occupation", true}, {"maritalStatus", false}, {"emergencyContacts", true},
		{"cardNumber", true}, {"history", true}, {"familyHistory", true}, {"notes", true},
	}
}

// elementFields lists the registers of one set element and which are sealed.
// A diagnosis code stays readable (tags and reports need it on a locked
// node; a code alone names nobody); free text is sealed.
func elementFields(kind string) []fieldSpec {
	switch kind {
	case elemAllergy:
		return []fieldSpec{{"substance", true}, {"reaction", true}, {"severity", false}}
	case elemDiagnosis:
		return []fieldSpec{{"code", false}, {"note", true}}
	case elemMedication:
		return []fieldSpec{{"name", true}, {"dose", true}, {"frequency", true}}
	}
	return nil
}

// isSealed reports whether the register named field of a patient record
// holds a sealed value.
func isSealed(field string) bool {
	if kind, _, sub, ok := splitElementField(field); ok {
		for _, f := range elementFields(kind) {
			if f.name == sub {
				return f.sealed
			}
		}
		return true
	}
	for _, f := range demographics() {
		if f.name == field {
			return f.sealed
		}
	}
	return true // unknown fields are treated as personal
}

func elementField(kind, id, field string) string { return kind + "." + id + "." + field }

// splitElementField splits "allergy.<id>.severity".
func splitElementField(field string) (kind, id, sub string, ok bool) {
	kind, rest, ok := strings.Cut(field, ".")
	if !ok {
		return "", "", "", false
	}
	id, sub, ok = strings.Cut(rest, ".")
	if !ok || elementFields(kind) == nil {
		return "", "", "", false
	}
	return kind, id, sub, true
}

// Important reports whether concurrent edits of a patient register are kept
// as a conflict to review. It maps the store's register names onto care's
// one declaration (care.ImportantFields): "allergy.<id>.severity" is
// "allergies.severity".
func Important(field string) bool {
	if kind, _, sub, ok := splitElementField(field); ok {
		return care.IsImportant(setOf(kind) + "." + sub) // allergy → allergies
	}
	return care.IsImportant(field)
}

// setOf returns the set whose elements have the registers of kind.
func setOf(kind string) string {
	switch kind {
	case elemAllergy:
		return setAllergies
	case elemDiagnosis:
		return setDiagnoses
	case elemMedication:
		return setMedications
	}
	return ""
}

// demographicValues returns each register's JSON value for p.
func demographicValues(p care.PatientInput) (map[string][]byte, error) {
	vals := map[string]any{
		"name": p.Name, "sex": p.Sex, "birthDate": p.BirthDate, "idNumber": p.IDNumber, "phones": p.Phones,
		"address": p.Address, "occupation": p.Occupation, "maritalStatus": p.MaritalStatus,
		"emergencyContacts": p.EmergencyContacts, "cardNumber": p.CardNumber, "history": p.History,
		"familyHistory": p.FamilyHistory, "notes": p.Notes,
	}
	out := make(map[string][]byte, len(vals))
	for k, v := range vals {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", k, err)
		}
		out[k] = b
	}
	return out, nil
}

// isEmptyJSON reports whether a register value says "nothing recorded".
func isEmptyJSON(b []byte) bool {
	s := string(b)
	return s == `""` || s == "null" || s == "[]"
}

// setDemographic decodes one register's JSON value into p.
func setDemographic(p *care.PatientInput, field string, value []byte) error {
	var dst any
	switch field {
	case "name":
		dst = &p.Name
	case "sex":
		dst = &p.Sex
	case "birthDate":
		dst = &p.BirthDate
	case "idNumber":
		dst = &p.IDNumber
	case "phones":
		dst = &p.Phones
	case "address":
		dst = &p.Address
	case "occupation":
		dst = &p.Occupation
	case "maritalStatus":
		dst = &p.MaritalStatus
	case "emergencyContacts":
		dst = &p.EmergencyContacts
	case "cardNumber":
		dst = &p.CardNumber
	case "history":
		dst = &p.History
	case "familyHistory":
		dst = &p.FamilyHistory
	case "notes":
		dst = &p.Notes
	default:
		return nil // a register this build does not know: kept in the store, not shown
	}
	if err := json.Unmarshal(value, dst); err != nil {
		return fmt.Errorf("decode stored %s: %w", field, err)
	}
	return nil
}
