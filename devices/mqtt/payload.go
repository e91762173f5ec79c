package mqtt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"carenode/devices"
	"carenode/devices/hl7"
	"carenode/devices/vitals"
)

// MaxMessageID bounds Document.ID, as reading.schema.json does.
const MaxMessageID = 64

// Document is the JSON payload a device publishes (reading.schema.json).
type Document struct {
	// ID is the device's own id for this message; with the device id it
	// identifies a message sent again.
	ID string `json:"id"`
	// Time is the device's clock when it measured, RFC 3339.
	Time     string        `json:"time,omitempty"`
	Readings []JSONReading `json:"readings"`
}

// JSONReading is one value: its kind by our name (Type) or by LOINC code,
// the value as a decimal string, and the unit as the device writes it.
type JSONReading struct {
	Type  string `json:"type,omitempty"`
	LOINC string `json:"loinc,omitempty"`
	Value string `json:"value"`
	Unit  string `json:"unit"`
}

// Decode turns a payload from deviceID into a Batch. An error wraps
// ErrPayload (or is hl7's); the batch then still holds Raw and DeviceID,
// and the reason in Unmapped, so that it can be kept.
func Decode(payload []byte, deviceID string) (devices.Batch, error) {
	raw := bytes.Clone(payload)
	if bytes.HasPrefix(bytes.TrimLeft(payload, "\r\n\t "), []byte("MSH")) {
		m, err := hl7.Parse(raw)
		if err != nil {
			return unreadable(raw, deviceID, "hl7", err)
		}
		b := devices.BatchFromHL7(m, deviceID)
		b.Raw = raw // as received, leading blank lines too
		return b, nil
	}
	var d Document
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return unreadable(raw, deviceID, "json", fmt.Errorf("%v: %w", err, ErrPayload))
	}
	switch {
	case d.ID == "":
		return unreadable(raw, deviceID, "json", fmt.Errorf(`no "id": %w`, ErrPayload))
	case utf8.RuneCountInString(d.ID) > MaxMessageID:
		return unreadable(raw, deviceID, "json", fmt.Errorf(`"id" longer than %d characters: %w`, MaxMessageID, ErrPayload))
	case d.Readings == nil:
		return unreadable(raw, deviceID, "json", fmt.Errorf(`no "readings" list: %w`, ErrPayload))
	}
	b := devices.Batch{DeviceID: deviceID, Format: "json", ControlID: d.ID, Raw: raw, DeviceClock: d.Time}
	var when time.Time
	if d.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, d.Time)
		if err != nil {
			return unreadable(raw, deviceID, "json", fmt.Errorf("time %q: %w", d.Time, ErrPayload))
		}
		when, b.DeviceTime, b.DeviceTimeZoned = t, t, true
	}
	for i, jr := range d.Readings {
		ref := fmt.Sprintf("readings[%d]", i)
		r, err := jr.reading()
		if err != nil {
			b.Unmapped = append(b.Unmapped, ref+": "+err.Error())
			continue
		}
		b.Observations = append(b.Observations, devices.Observation{Reading: r, Time: when, Ref: ref})
	}
	return b, nil
}

func (jr JSONReading) reading() (vitals.Reading, error) {
	kind := vitals.Kind(jr.Type)
	if jr.LOINC != "" {
		k, ok := vitals.ByLOINC(jr.LOINC)
		if !ok || (jr.Type != "" && k != kind) {
			return vitals.Reading{}, fmt.Errorf("LOINC %q with type %q: %w", jr.LOINC, jr.Type, vitals.ErrUnmapped)
		}
		kind = k
	}
	unit, ok := vitals.UCUM(jr.Unit)
	if !ok {
		return vitals.Reading{}, fmt.Errorf("unit %q: %w", jr.Unit, vitals.ErrUnit)
	}
	r, err := vitals.New(kind, jr.Value, unit)
	if err != nil {
		return vitals.Reading{}, err
	}
	r.RawUnit = jr.Unit
	return r, nil
}

func unreadable(raw []byte, deviceID, format string, err error) (devices.Batch, error) {
	return devices.Batch{DeviceID: deviceID, Format: format, Raw: raw, Unmapped: []string{"payload: " + err.Error()}}, err
}
