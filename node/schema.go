package node

import (
	"carenode/node/booking"
	"carenode/node/chart"
	"carenode/node/readings"
)

// Important reports whether concurrent values of a field are kept as a
// conflict for a person to review rather than shown newest-wins: the store
// asks it for every register. Patients delegate to the care domain's one
// declaration (care.ImportantFields, through chart.Important); a follow-up
// result or an appointment's slot can hide an abnormal reading or double-book
// a doctor, so two concurrent edits of them must both be seen. Other fields
// (notes, display preferences) show the newest value and keep the rest in
// the register.
func Important(collection, field string) bool {
	switch collection {
	case chart.Collection:
		return chart.Important(field)
	case "followups", "tasks":
		switch field {
		case "result", "outcome", "answers":
			return true
		}
	case readings.Collection:
		return readings.Important(field)
	case booking.CollAppointments:
		return booking.Important(field)
	}
	return false
}
