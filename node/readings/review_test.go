package readings_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"carenode/node/readings"
)

// TestAttachAndDiscard: staff attach a waiting reading to a patient or
// discard it with a reason; both leave the queue, the reading stays.
func TestAttachAndDiscard(t *testing.T) {
	ctx := context.Background()
	n := newNode(t, "nodeA")
	n.patients.ids = map[string][]string{"p1": {"p1"}, "dup": {"p1", "p2"}}
	n.store1(t, batch(t, bpMessage(t, "A1", "", "120", "R"), t0))
	n.store1(t, batch(t, bpMessage(t, "A2", "", "999", "R"), t0.Add(time.Second)))
	q := ids(n.review(t))
	if len(q) != 2 {
		t.Fatalf("queue %v", q)
	}
	for _, bad := range []struct {
		id, patient string
		want        error
	}{
		{q[0], "nobody", readings.ErrNoPatient},
		{q[0], "dup", readings.ErrAmbiguous},
		{"rd-0000", "p1", readings.ErrNotFound},
		{"../etc", "p1", readings.ErrNotFound},
	} {
		if _, err := n.svc.Attach(ctx, bad.id, bad.patient, "nurse.li"); !errors.Is(err, bad.want) {
			t.Errorf("Attach(%s, %s) = %v, want %v", bad.id, bad.patient, err, bad.want)
		}
	}
	r, err := n.svc.Attach(ctx, q[0], "p1", "nurse.li")
	if err != nil {
		t.Fatal(err)
	}
	if r.State != readings.StateAttached || len(r.Decisions) != 1 || r.Decisions[0].By != "nurse.li" {
		t.Fatalf("attached reading: %+v", r)
	}
	sys := byLOINC(t, n.observations(t, false, "p1"), "8480-6")
	if sys.ID != q[0] || sys.State != readings.StateAttached || sys.BoundBy != "nurse.li" {
		t.Fatalf("p1's systolic: %+v", sys)
	}

	if _, err := n.svc.Discard(ctx, q[1], "  ", "nurse.li"); !errors.Is(err, readings.ErrBadRequest) {
		t.Fatalf("discard without a reason: %v", err)
	}
	const why = "血压计袖带脱落，读数无效 (cuff came off)"
	d, err := n.svc.Discard(ctx, q[1], why, "nurse.li")
	if err != nil {
		t.Fatal(err)
	}
	if d.State != readings.StateDiscarded || d.Decisions[0].Reason != why {
		t.Fatalf("discarded: %+v", d)
	}
	if r := n.review(t); len(r) != 0 {
		t.Fatalf("queue not empty: %+v", r)
	}
	if got := countRecords(t, n.store, readings.Collection); got != 2 {
		t.Fatalf("%d records after review, want 2 (nothing deleted)", got)
	}
	// The reason survives a restart and is sealed: readable unlocked only.
	n.reopen(t, "nodeA")
	locked, err := n.svc.Reading(q[1])
	if err != nil {
		t.Fatal(err)
	}
	if !locked.Sealed || locked.Decisions[0].Reason != "" || locked.Raw != "" {
		t.Fatalf("a locked node shows sealed parts: %+v", locked)
	}
	if err := n.svc.Unlock(ctx, dropBox(t)); err != nil {
		t.Fatal(err)
	}
	open, err := n.svc.Reading(q[1])
	if err != nil {
		t.Fatal(err)
	}
	if open.Decisions[0].Reason != why || !strings.HasPrefix(open.Raw, "MSH|") {
		t.Fatalf("unlocked: reason %q, raw %.20q", open.Decisions[0].Reason, open.Raw)
	}
}

// TestConcurrentDecisions: the same reading attached to two patients on
// two nodes before they sync returns to review on both, with both
// decisions shown, until someone decides having seen both.
func TestConcurrentDecisions(t *testing.T) {
	ctx := context.Background()
	a, b := newNode(t, "nodeA"), newNode(t, "nodeB")
	for _, n := range []*node{a, b} {
		n.patients.ids = map[string][]string{"p1": {"p1"}, "p2": {"p2"}}
	}
	a.store1(t, batch(t, bpMessage(t, "X1", "", "120", "R"), t0))
	exchange(t, a.store, b.store)
	id := ids(b.review(t))[0]
	if _, err := a.svc.Attach(ctx, id, "p1", "nurse.a"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Attach(ctx, id, "p2", "nurse.b"); err != nil {
		t.Fatal(err)
	}
	exchange(t, a.store, b.store)
	for _, n := range []*node{a, b} {
		r := n.review(t)
		if len(ids(r)) != 1 || r[0].State != readings.StateConflict || r[0].Reason.Code != readings.ReasonConflict {
			t.Fatalf("after sync: %+v", r)
		}
		if got := n.observations(t, false, "p1", "p2"); len(got) != 0 {
			t.Fatalf("a reading with conflicting decisions is shown on a patient: %+v", got)
		}
		rd, err := n.svc.Reading(id)
		if err != nil {
			t.Fatal(err)
		}
		if len(rd.Decisions) != 2 {
			t.Fatalf("decisions shown: %+v", rd.Decisions)
		}
	}
	if _, err := b.svc.Attach(ctx, id, "p2", "dr.zhou"); err != nil {
		t.Fatal(err)
	}
	exchange(t, a.store, b.store)
	for _, n := range []*node{a, b} {
		if r := n.review(t); len(r) != 0 {
			t.Fatalf("still in review after a decision that saw both: %+v", r)
		}
		if sys := byLOINC(t, n.observations(t, false, "p2"), "8480-6"); sys.BoundBy != "dr.zhou" {
			t.Fatalf("p2: %+v", sys)
		}
	}
}

// TestSameMessageOnTwoNodes: two nodes subscribed to one external broker
// both store a message; after sync each holds one record for it.
func TestSameMessageOnTwoNodes(t *testing.T) {
	a, b := newNode(t, "nodeA"), newNode(t, "nodeB")
	msg := bpMessage(t, "Y1", "", "120", "R")
	a.store1(t, batch(t, msg, t0))
	b.store1(t, batch(t, msg, t0.Add(40*time.Millisecond)))
	exchange(t, a.store, b.store)
	for _, n := range []*node{a, b} {
		if got := countRecords(t, n.store, readings.Collection); got != 1 {
			t.Fatalf("%d records", got)
		}
		if r := n.review(t); len(r) != 3 {
			t.Fatalf("review: %d rows, want the 3 of one message", len(r))
		}
	}
	ra, _ := a.svc.Reading(ids(a.review(t))[0])
	rb, _ := b.svc.Reading(ids(b.review(t))[0])
	if !ra.Received.Equal(rb.Received) || ra.Raw != rb.Raw || ra.Raw == "" {
		t.Fatalf("the nodes show different messages: %v / %v", ra.Received, rb.Received)
	}
}

// TestDevices lists devices with their last reading and open session.
func TestDevices(t *testing.T) {
	ctx := context.Background()
	n := newNode(t, "nodeA")
	n.patients.ids = map[string][]string{"p1": {"p1"}}
	n.store1(t, batch(t, bpMessage(t, "V1", "", "120", "R"), t0))
	n.store1(t, batch(t, bpMessage(t, "V2", "", "130", "R"), t0.Add(time.Minute)))
	if _, err := n.svc.StartSession(ctx, "0123456789ABCDEF^EUI-64", "p1", 0, "x"); err != nil {
		t.Fatal(err)
	}
	ds, err := n.svc.Devices()
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Readings != 2 || ds[0].Waiting != 2 || ds[0].Session == nil || ds[0].Session.Patient != "p1" {
		t.Fatalf("devices: %+v", ds)
	}
	if sys := byLOINC(t, ds[0].Last, "8480-6"); sys.RawValue != "130" {
		t.Fatalf("last reading: %+v", sys)
	}
}
