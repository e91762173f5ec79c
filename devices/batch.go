package devices

import (
	"fmt"
	"time"

	"carenode/devices/hl7"
	"carenode/devices/lineformat"
)

// BatchFromHL7 maps a parsed message to a Batch. Rows that do not map to a
// vital sign are named in Unmapped; the message is kept whole in Raw and
// HL7. fallbackID is the device id when the message names none in OBX-18 or
// MSH-3. Source and Received are left for the caller.
func BatchFromHL7(m *hl7.Message, fallbackID string) Batch {
	b := Batch{Format: "hl7", ControlID: m.ControlID, Raw: m.Raw, HL7: m, DeviceID: fallbackID}
	switch {
	case fallbackID != "":
	case len(m.Devices) > 0:
		b.DeviceID = m.Devices[0].String()
	default:
		b.DeviceID = m.SendingApplication.String()
	}
	clock := m.Time
	if dev, _, ok := m.DeviceClock(); ok {
		clock = dev
	}
	if !clock.IsZero() {
		b.DeviceClock = clock.String()
		if clock.Precision >= hl7.PrecisionMinute {
			b.DeviceTime, b.DeviceTimeZoned = clock.Time, clock.Zoned
		}
	}
	for i, ord := range m.Orders {
		for _, o := range ord.Observations {
			if o.StructureOnly() {
				continue
			}
			ref := ObservationRef(i, o)
			r, err := o.Reading()
			if err != nil {
				b.Unmapped = append(b.Unmapped, ref+": "+err.Error())
				continue
			}
			b.Observations = append(b.Observations, Observation{Reading: r, Time: o.Time.Time, Status: string(o.Status), Ref: ref})
		}
	}
	return b
}

// ObservationRef names observation o of the order at index order (from 0)
// of an HL7 message, as Observation.Ref does for it.
func ObservationRef(order int, o hl7.Observation) string {
	ref := fmt.Sprintf("OBR %d OBX %s", order+1, o.SetID)
	if o.SubID != "" {
		ref += " (" + o.SubID + ")"
	}
	return ref
}

// BatchFromLine maps a parsed line received at received to a Batch. When
// the line says how old its readings are (an Accutorr's age field), their
// Time is received less that age; otherwise it is zero, since line formats
// carry no date. Source is left for the caller.
func BatchFromLine(l lineformat.Line, deviceID string, received time.Time) Batch {
	b := Batch{DeviceID: deviceID, Format: l.Format, Raw: l.Raw, DeviceClock: l.DeviceTime, Received: received}
	for _, r := range l.Readings {
		o := Observation{Reading: r, Ref: "line"}
		if l.Age > 0 {
			o.Time = received.Add(-l.Age)
		}
		b.Observations = append(b.Observations, o)
	}
	return b
}
