package readings

import "time"

// Message is one device message as the device front ends read it: an HL7
// v2 ORU^R01, an MQTT JSON document or one line of a serial device. The
// front ends fill it from their devices.Batch (devices/readingsink does
// the mapping, since node may not import devices). Store must not keep
// Raw or the slices after it returns.
type Message struct {
	// DeviceID names the device; Source where the message came from
	// ("mllp:127.0.0.1:50122", "serial:/dev/ttyUSB0"); Format is "hl7",
	// "json" or a line format's name.
	DeviceID, Source, Format string
	// ControlID is the message's own id (HL7 MSH-10, JSON "id"); "" for
	// a line.
	ControlID    string
	Observations []Observation
	// Retracts are the slots of rows with result status D (deleted).
	Retracts []string
	// Identifiers are the patient identifiers the message carries (HL7
	// PID-3), distinct. They are personal: sealed at rest.
	Identifiers []string
	// Unmapped says why each row that is not in Observations was left out.
	Unmapped []string
	// Raw is the message exactly as received. It is sealed at rest.
	Raw []byte
	// DeviceTime is the device's own full date and time, zero when it
	// gives none; DeviceTimeZoned is false when it gave no zone offset (it
	// is then its wall clock written as UTC). DeviceClock is the clock as
	// written.
	DeviceTime      time.Time
	DeviceTimeZoned bool
	DeviceClock     string
	// Received is when the node read the message; zero means now.
	Received time.Time
}

// Observation is one mapped reading of a message: a LOINC code, the value
// in the code's UCUM unit, and the value and unit exactly as received.
type Observation struct {
	// Ref says where in the message the row is ("OBR 1 OBX 4 (1.0.1.1)").
	Ref string
	// Kind is the vital sign's stable name ("bp-systolic"); Name and
	// NameZh say it for people.
	Kind, Name, NameZh string
	LOINC              string
	Value              float64
	Unit               string
	RawValue, RawUnit  string
	// Implausible flags a value outside the kind's plausible range (kept).
	Implausible bool
	// Time is when the device says it measured; zero if it does not say.
	Time time.Time
	// Status is the HL7 result status (F, R, C corrected, D deleted); "".
	Status string
	// Slot names "this code of this order from this device" for
	// corrections (C) and deletions (D); "" when the message names no
	// order.
	Slot string
}
