package devices

import (
	"context"
	"time"

	"carenode/devices/hl7"
	"carenode/devices/vitals"
)

// Sink stores what devices send. The node implements it.
//
// Store must return nil only once b is durably stored (fsynced): the
// caller acknowledges the device right after, and a device that was
// acknowledged forgets the reading. It must return an error otherwise,
// including when ctx ends first. A batch may arrive more than once (a
// device resends after a lost ACK); storing it again must not duplicate
// it.
//
// Store is called from each port's or connection's own goroutine, so
// concurrently for different devices, and never concurrently for one
// connection. It may block (the device waits for its ACK meanwhile); it
// should honour ctx, which carries the front end's store timeout. Store
// must not keep b.Raw or the slices in b after it returns unless it copies
// them.
type Sink interface {
	Store(ctx context.Context, b Batch) error
}

// Batch is what one device message carried: an HL7 message, or one line
// of a line-oriented device.
type Batch struct {
	// DeviceID names the device: the port's configured device id, else
	// the first equipment identifier of OBX-18 (such as
	// "0123456789ABCDEF^^0123456789ABCDEF^EUI-64"), else MSH-3.
	DeviceID string
	// Source says where it came from: "serial:/dev/ttyUSB0",
	// "mllp:127.0.0.1:50122".
	Source string
	// Format is "hl7" or a devices/lineformat name ("nonin", "and", …).
	Format string
	// ControlID is the HL7 message control id (MSH-10); "" for a line.
	// With DeviceID it identifies a resent message.
	ControlID string
	// Observations are the rows that mapped to a vital sign. A row that
	// did not map (an unknown code, a structure-only row) is not here but
	// is still in Raw, and named in Unmapped.
	Observations []Observation
	// Unmapped says why each row that is not in Observations was left out.
	Unmapped []string
	// Raw is the message or line exactly as received, without MLLP
	// framing or line end.
	Raw []byte
	// DeviceTime is the device's own clock when it sent the message: for
	// HL7 the MDC_ATTR_TIME_ABS row, else MSH-7; zero when the device
	// gives no full date and time. DeviceClock is the same as written
	// (a Nonin line gives only "10:15:02").
	DeviceTime  time.Time
	DeviceClock string
	// DeviceTimeZoned is false when the device gave no zone offset:
	// DeviceTime is then its wall clock written as UTC.
	DeviceTimeZoned bool
	// Received is when this node read the message (its own clock).
	Received time.Time
	// HL7 is the parsed message for Format "hl7" (patient identifiers,
	// result statuses, orders), nil otherwise.
	HL7 *hl7.Message
}

// Observation is one mapped reading with what the message said about it.
type Observation struct {
	vitals.Reading
	// Time is the observation time from the device (OBX-14, OBR-7 or
	// MSH-7 for HL7); zero when the device gives none (line formats).
	Time time.Time
	// Status is OBX-11 ("F", "R", "C" corrected, "D" deleted); "" for a
	// line.
	Status string
	// Ref says where in the message the reading is: "OBR 1 OBX 3 (1.0.1.2)"
	// or "line".
	Ref string
}
