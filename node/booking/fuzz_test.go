package booking_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/node/booking"
	"carenode/node/store"
)

// FuzzParseSlotKey: slot keys come from URLs and request bodies. A key
// that parses names a doctor and a local start that make the same key.
func FuzzParseSlotKey(f *testing.F) {
	for _, s := range []string{"wang.20261125.0830", "li.20261231.2359", "a.20260230.0800", "wang.20261125.2460",
		"wang..20261125.0830", "wang.2026112.0830", "王.20261125.0830", "", ".", "x.20261125.0830.", "WANG.20261125.0830"} {
		f.Add(s)
	}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	f.Fuzz(func(t *testing.T, key string) {
		doctor, start, err := booking.ParseSlotKey(key, loc)
		if err != nil {
			return
		}
		if got := booking.SlotKey(doctor, start); got != key {
			t.Fatalf("%q parses to %s %s, which makes %q", key, doctor, start, got)
		}
		if strings.Contains(doctor, ".") || start.Location() != loc {
			t.Fatalf("%q: doctor %q, location %s", key, doctor, start.Location())
		}
	})
}

// FuzzAppointmentFromPeer: an appointment record's fields and events come
// from any peer. Whatever they hold, reading them must not panic, and a
// record the service cannot read is left out rather than shown half-read.
func FuzzAppointmentFromPeer(f *testing.F) {
	f.Add([]byte(`"p01"`), []byte(`"wang.20261125.0830"`), []byte(`"2026-11-25T08:30:00+08:00"`), []byte(`{"kind":"checked_in","at":"2026-11-25T08:20:00+08:00","slot":"wang.20261125.0830"}`))
	f.Add([]byte(`12`), []byte(`null`), []byte(`"yesterday"`), []byte(`{"kind":`))
	f.Add([]byte(`""`), []byte(`"x"`), []byte(`"2026-11-25T08:30:00Z"`), []byte(`[]`))
	f.Fuzz(func(t *testing.T, patient, slot, start, ev []byte) {
		n := newNode(t, "clinic1")
		edits := []store.Edit{}
		for _, kv := range []struct {
			field string
			v     []byte
		}{{"patient", patient}, {"doctor", []byte(`"wang"`)}, {"slot", slot}, {"start", start}} {
			if len(kv.v) > 0 {
				edits = append(edits, store.Edit{Kind: crdt.MutSet, Field: kv.field, Value: kv.v})
			}
		}
		edits = append(edits, store.Edit{Kind: crdt.MutFact, Field: "events", FactID: "checkin", Value: ev})
		if _, err := n.store.Write(t.Context(), store.WriteRequest{Collection: booking.CollAppointments, Record: "a1", Edits: edits}); err != nil {
			return // the store refused it: nothing to read
		}
		// A second service reads it at start; the first through Watch.
		again := startNode(t, n.store, n.id)
		for _, svc := range []*booking.Service{n.svc, again.svc} {
			a, err := svc.Appointment("a1")
			if err != nil {
				continue
			}
			var p, sl string
			if json.Unmarshal(patient, &p) != nil || p == "" || json.Unmarshal(slot, &sl) != nil || sl == "" {
				t.Fatalf("read an appointment with patient %q slot %q: %+v", patient, slot, a)
			}
			if a.Status != booking.StatusBooked && a.Status != booking.StatusCheckedIn {
				t.Fatalf("status %q", a.Status)
			}
		}
	})
}
