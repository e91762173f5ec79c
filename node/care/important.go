package care

// ImportantFields lists the patient fields whose concurrent edits are kept
// as a conflict for a person to review instead of showing the newest value
// (DESIGN.md, "Scalar fields"). This is the one declaration of them: a
// wrong phone, address, birth date or ID number sends a nurse to the wrong
// village, calls a stranger, or merges two people; a wrong name or sex
// shows the wrong chart; two card numbers for one patient break check-in;
// an emergency contact is whom an escalation calls when the patient cannot
// be reached. The medical and family histories are important too: two
// clinicians writing a history on two offline nodes, or two charts of one
// patient merged, must both be read, not one hidden behind the other. Within
// the add-wins sets, an allergy's severity and a medication's dose and
// frequency are important: "mild" against "severe", or 5 mg against 50 mg,
// must never be settled by a clock.
//
// Names are JSON paths: a top-level field of PatientInput ("phones"), or
// set.field for a field of the elements of a set ("allergies.severity").
// Occupation, marital status and notes show the newest value; the others
// stay in the register and are not lost.
//
// node.Important (node/schema.go) delegates to IsImportant through
// chart.Important.
func ImportantFields() []string {
	// A fresh slice each call: there is no shared list to modify.
	return []string{
		"name",
		"sex",
		"birthDate",
		"idNumber",
		"phones",
		"address",
		"cardNumber",
		"emergencyContacts",
		"history",
		"familyHistory",
		"allergies.severity",
		"medications.dose",
		"medications.frequency",
	}
}

// IsImportant reports whether field (a path as in ImportantFields) is one
// of the important fields.
func IsImportant(field string) bool {
	for _, f := range ImportantFields() {
		if f == field {
			return true
		}
	}
	return false
}
