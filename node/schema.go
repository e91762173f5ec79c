package node

// Important reports whether concurrent values of a field are kept as a
// conflict for a person to review rather than shown newest-wins. This is
// the one place that says so: a wrong phone number, address, birth date or
// ID number, or a follow-up result, can send a nurse to the wrong village or
// hide an abnormal reading, so two concurrent edits of them must both be
// seen. Other fields (notes, display preferences) show the newest value and
// keep the rest in the register.
func Important(collection, field string) bool {
	switch collection {
	case "patients":
		switch field {
		case "phone", "phones", "address", "birthDate", "idNumber", "name", "sex", "cardNumber":
			return true
		}
	case "followups", "tasks":
		switch field {
		case "result", "outcome", "answers":
			return true
		}
	case "appointments":
		switch field {
		case "slot", "start", "doctor", "status":
			return true
		}
	}
	return false
}
