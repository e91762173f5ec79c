// Package readingsink is the devices.Sink of a node: it hands every batch
// the device front ends read (devices/serialport, devices/mllp,
// devices/mqtt, started by devices/runner) to the node's readings service
// (node/readings), which stores it durably before Store returns.
//
// It lives under devices because node may not import devices (TestDeps),
// so node/readings takes its own Message; this package maps a
// devices.Batch to it. For HL7 it also works out what only the parsed
// message knows: the patient identifiers of PID-3, and each row's slot
// (device, order number, OBX-3 code, OBX-4 sub-id), by which a later row
// with result status C replaces it or one with status D retracts it.
package readingsink

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"

	"carenode/devices"
	"carenode/devices/hl7"
	"carenode/devices/vitals"
	"carenode/node/readings"
)

// Store is what the sink needs of the readings service.
type Store interface {
	Store(ctx context.Context, m readings.Message) error
}

var _ Store = (*readings.Service)(nil)

// Sink stores batches in a readings service.
type Sink struct{ r Store }

var _ devices.Sink = (*Sink)(nil)

// New returns a Sink storing into r.
func New(r Store) *Sink { return &Sink{r: r} }

// Store implements devices.Sink.
func (s *Sink) Store(ctx context.Context, b devices.Batch) error {
	return s.r.Store(ctx, Message(b))
}

// Message maps a batch to the readings service's Message. It shares b's
// slices (Store copies what it keeps).
func Message(b devices.Batch) readings.Message {
	m := readings.Message{DeviceID: b.DeviceID, Source: b.Source, Format: b.Format, ControlID: b.ControlID,
		Unmapped: b.Unmapped, Raw: b.Raw, DeviceTime: b.DeviceTime, DeviceTimeZoned: b.DeviceTimeZoned,
		DeviceClock: b.DeviceClock, Received: b.Received}
	var slots map[string]string
	if b.HL7 != nil {
		slots, m.Retracts, m.Identifiers = hl7Parts(b.DeviceID, b.HL7)
	}
	for _, o := range b.Observations {
		ro := readings.Observation{Ref: o.Ref, Kind: string(o.Kind), LOINC: o.LOINC, Value: o.Value, Unit: o.Unit,
			RawValue: o.RawValue, RawUnit: o.RawUnit, Implausible: o.Implausible, Time: o.Time, Status: o.Status,
			Slot: slots[o.Ref]}
		if c, ok := vitals.Lookup(o.Kind); ok {
			ro.Name, ro.NameZh = c.NameEn, c.NameZh
		}
		m.Observations = append(m.Observations, ro)
	}
	return m
}

// hl7Parts walks a message as devices.BatchFromHL7 does and returns each
// row's slot by its Ref (devices.ObservationRef), the slots of rows with
// status D, and the distinct PID-3 identifiers, sorted.
func hl7Parts(device string, m *hl7.Message) (slots map[string]string, retracts, ids []string) {
	slots = map[string]string{}
	for i, ord := range m.Orders {
		for _, o := range ord.Observations {
			if o.StructureOnly() {
				continue
			}
			ref := devices.ObservationRef(i, o)
			slot := slotOf(device, ord, o)
			if old, dup := slots[ref]; dup && old != slot {
				slot = "" // two rows share a ref: neither can be corrected safely
			}
			slots[ref] = slot
			if o.Status == hl7.StatusDeleted && slot != "" {
				retracts = append(retracts, slot)
			}
		}
	}
	for _, p := range m.Patients {
		for _, id := range p.IDs {
			ids = append(ids, id.ID)
		}
	}
	slices.Sort(ids)
	slices.Sort(retracts)
	return slots, slices.Compact(retracts), slices.Compact(ids)
}

// slotOf names an OBX row for corrections: device, order (filler order
// number, else placer), code and sub-id; "" when the message names no
// order. It is a hash, so the slot says nothing readable.
func slotOf(device string, ord hl7.Order, o hl7.Observation) string {
	order := ord.FillerOrder
	if order.ID == "" {
		order = ord.PlacerOrder
	}
	if order.ID == "" {
		return ""
	}
	h := sha256.New()
	for _, s := range []string{"carenode slot v1", device, order.String(), o.Code.System, o.Code.ID, o.SubID} {
		var n [binary.MaxVarintLen64]byte
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}
