package booking

import (
	"time"

	"carenode/crdt"
)

// Collections this package keeps in the store. Departments, doctors,
// schedules, closures and over-booking decisions name nobody, so a kiosk
// may hold them whole; appointments name a patient (by chart id), so a
// partial replica holds only those of its patients.
const (
	CollDepartments  = "departments"
	CollDoctors      = "doctors"
	CollSchedules    = "schedules"
	CollClosures     = "closures"
	CollAppointments = "appointments"
	CollOverbookings = "overbookings"
)

// Collections lists every collection the package writes, catalogue first.
func Collections() []string {
	return []string{CollDepartments, CollDoctors, CollSchedules, CollClosures, CollAppointments, CollOverbookings}
}

// Channel is where a booking was made.
type Channel string

// Channels.
const (
	ChannelDesk  Channel = "desk"
	ChannelKiosk Channel = "kiosk"
	ChannelAPI   Channel = "api"
)

func (c Channel) valid() bool { return c == ChannelDesk || c == ChannelKiosk || c == ChannelAPI }

// Status is an appointment's state, derived from its events (see doc.go
// for how concurrent events merge).
type Status string

// Statuses.
const (
	StatusBooked    Status = "booked"
	StatusCheckedIn Status = "checked_in"
	StatusCancelled Status = "cancelled"
	StatusNoShow    Status = "no_show"
)

// Department is a clinic department.
type Department struct {
	ID     string `json:"id"`
	NameZh string `json:"nameZh"`
	NameEn string `json:"nameEn"`
}

// Doctor is a doctor who takes appointments.
type Doctor struct {
	ID         string `json:"id"`
	NameZh     string `json:"nameZh"`
	NameEn     string `json:"nameEn"`
	Department string `json:"department"`
}

// Schedule is a weekly rule: on Weekday, from Start to End (local "HH:MM"),
// the doctor sees patients in slots of SlotMinutes, Capacity patients per
// slot, between the dates From and Until when they are set.
type Schedule struct {
	ID          string `json:"id"`
	Doctor      string `json:"doctor"`
	Department  string `json:"department"`
	Weekday     int    `json:"weekday"` // ISO: 1 Monday … 7 Sunday
	Start       string `json:"start"`
	End         string `json:"end"`
	SlotMinutes int    `json:"slotMinutes"`
	Capacity    int    `json:"capacity"`
	From        string `json:"from,omitempty"`  // YYYY-MM-DD, first day in force
	Until       string `json:"until,omitempty"` // YYYY-MM-DD, last day in force
}

// Closure is a day with no appointments: a holiday for the whole clinic
// (Doctor empty) or one doctor's leave. Lifting it sets Active false.
type Closure struct {
	Date   string `json:"date"` // YYYY-MM-DD
	Doctor string `json:"doctor,omitempty"`
	Reason string `json:"reason,omitempty"`
	Active bool   `json:"active"`
}

// Slot is one bookable time of one doctor.
type Slot struct {
	Key        string    `json:"key"` // doctor.YYYYMMDD.HHMM
	Doctor     string    `json:"doctor"`
	Department string    `json:"department"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	Capacity   int       `json:"capacity"`
	Booked     int       `json:"booked"`
	Free       int       `json:"free"`
}

// Appointment is a booking as readers see it.
type Appointment struct {
	ID         string    `json:"id"`
	Patient    string    `json:"patient"`
	Doctor     string    `json:"doctor"`
	Department string    `json:"department"`
	Slot       string    `json:"slot"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	Channel    Channel   `json:"channel"`
	Status     Status    `json:"status"`
	BookedBy   string    `json:"bookedBy"`
	// Booked is the record's creation stamp: the order in which bookings
	// of one slot count against its capacity, the same on every node.
	Booked string `json:"booked"`
	// SlotConflict lists the other slots this appointment was moved to at
	// the same time on another node; the newest move is in force until
	// someone moves it again.
	SlotConflict []string `json:"slotConflict,omitempty"`
	// History is every event, oldest first.
	History []Event `json:"history"`

	bookedStamp crdt.Stamp
}

// Event is one entry of an appointment's history, kept as an append-only
// fact so that history from every node survives a merge.
type Event struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"` // booked, rescheduled, cancelled, checked_in, no_show
	At      time.Time `json:"at"`
	By      string    `json:"by,omitempty"`
	Node    string    `json:"node,omitempty"`
	Channel Channel   `json:"channel,omitempty"`
	Slot    string    `json:"slot,omitempty"` // the slot it applied to (booked, no_show, checked_in; rescheduled: the new one)
	From    string    `json:"from,omitempty"` // rescheduled: the old slot
	Reason  string    `json:"reason,omitempty"`
}

// Event kinds.
const (
	EventBooked      = "booked"
	EventRescheduled = "rescheduled"
	EventCancelled   = "cancelled"
	EventCheckedIn   = "checked_in"
	EventNoShow      = "no_show"
)
