package readings_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"carenode/node/readings"
)

// TestBindByIdentifier: a PID-3 identifier binds only when it names
// exactly one patient; everything else waits for review with its reason.
func TestBindByIdentifier(t *testing.T) {
	cases := []struct {
		name       string
		pid        string
		known      map[string][]string
		locked     bool
		wantState  string
		wantPat    string
		wantReason string
	}{
		{"exactly one patient", "789567", map[string][]string{"789567": {"p1"}}, false, readings.StateBound, "p1", ""},
		{"no patient", "789567", map[string][]string{"555": {"p1"}}, false, readings.StateWaiting, "", readings.ReasonUnknownIdentifier},
		{"two patients", "789567", map[string][]string{"789567": {"p1", "p2"}}, false, readings.StateWaiting, "", readings.ReasonAmbiguousIdentifier},
		{"node locked", "789567", map[string][]string{"789567": {"p1"}}, true, readings.StateWaiting, "", readings.ReasonLocked},
		{"no identifier", "", map[string][]string{"789567": {"p1"}}, false, readings.StateWaiting, "", readings.ReasonNoBinding},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := newNode(t, "nodeA")
			n.patients.ids = c.known
			n.patients.setLocked(c.locked)
			n.store1(t, batch(t, bpMessage(t, "M1", c.pid, "120", "R"), t0))
			review := n.review(t)
			bound := n.observations(t, false, "p1", "p2")
			switch c.wantState {
			case readings.StateBound:
				if len(review) != 0 {
					t.Fatalf("bound reading also in review: %+v", review)
				}
				sys := byLOINC(t, bound, "8480-6")
				if sys.Patient != c.wantPat || sys.State != readings.StateBound || sys.BoundBy != "identifier" {
					t.Fatalf("systolic: %+v", sys)
				}
			default:
				if len(bound) != 0 {
					t.Fatalf("reading attached to a patient although %s: %+v", c.name, bound)
				}
				sys := byLOINC(t, review, "8480-6")
				if sys.State != readings.StateWaiting || sys.Reason == nil || sys.Reason.Code != c.wantReason {
					t.Fatalf("systolic in review: %+v, reason %+v; want %s", sys, sys.Reason, c.wantReason)
				}
				if sys.Reason.En == "" || sys.Reason.Zh == "" || sys.Reason.Zh == sys.Reason.Code {
					t.Fatalf("reason not given in both languages: %+v", sys.Reason)
				}
			}
			_, queued, _ := n.metrics.get()
			if want := c.wantState == readings.StateWaiting; (queued == 1) != want {
				t.Fatalf("queued metric %d, want queued=%v", queued, want)
			}
		})
	}
}

// TestMeasureNow: a session binds a device's readings received inside its
// window; outside it, or with two sessions at once, they wait for review.
func TestMeasureNow(t *testing.T) {
	ctx := context.Background()
	n := newNode(t, "nodeA")
	n.patients.ids = map[string][]string{"p1": {"p1"}, "p2": {"p2"}, "CARD-7": {"p2"}, "789567": {"p9"}}
	const dev = "0123456789ABCDEF^EUI-64"
	sess, err := n.svc.StartSession(ctx, dev, "p1", 0, "nurse.li")
	if err != nil {
		t.Fatal(err)
	}
	if got := sess.End.Sub(sess.Start); got != 10*time.Minute {
		t.Fatalf("default session of %s, want 10m", got)
	}
	// Inside the window, no identifier: bound by the session.
	n.clock.Advance(9 * time.Minute)
	n.store1(t, batch(t, bpMessage(t, "S1", "", "121", "R"), n.clock.Now()))
	// A message whose identifier names someone else: the session and the
	// message disagree, so a person decides.
	n.store1(t, batch(t, bpMessage(t, "S2", "789567", "122", "R"), n.clock.Now()))
	// After the window: review.
	n.clock.Advance(2 * time.Minute)
	n.store1(t, batch(t, bpMessage(t, "S3", "", "123", "R"), n.clock.Now()))

	p1 := byLOINC(t, n.observations(t, false, "p1"), "8480-6")
	if p1.RawValue != "121" || p1.BoundBy != "session" {
		t.Fatalf("p1's systolic: %+v", p1)
	}
	review := n.review(t)
	if len(ids(review)) != 2 {
		t.Fatalf("review holds %d readings, want 2: %+v", len(ids(review)), review)
	}
	reasons := map[string]string{}
	for _, it := range review {
		if it.LOINC == "8480-6" {
			reasons[it.RawValue] = it.Reason.Code
		}
	}
	if reasons["122"] != readings.ReasonSessionDisagrees || reasons["123"] != readings.ReasonNoBinding {
		t.Fatalf("review reasons %v", reasons)
	}

	// The next patient steps up, named by card number: the new session
	// ends nothing (the first expired) and binds to p2.
	s2, err := n.svc.StartSession(ctx, dev, "CARD-7", 3*time.Minute, "nurse.li")
	if err != nil || s2.Patient != "p2" {
		t.Fatalf("session by card number: %+v, %v", s2, err)
	}
	// A third session while the second is open ends the second.
	n.clock.Advance(time.Minute)
	if _, err := n.svc.StartSession(ctx, dev, "p1", 5*time.Minute, "nurse.wang"); err != nil {
		t.Fatal(err)
	}
	open, err := n.svc.Sessions(dev)
	if err != nil || len(open) != 1 || open[0].Patient != "p1" {
		t.Fatalf("open sessions after the next patient stepped up: %+v, %v", open, err)
	}
	n.store1(t, batch(t, bpMessage(t, "S4", "", "124", "R"), n.clock.Now()))
	var p1vals []string
	for _, it := range n.observations(t, false, "p1") {
		if it.LOINC == "8480-6" {
			p1vals = append(p1vals, it.RawValue)
		}
	}
	if len(p1vals) != 2 || p1vals[1] != "124" {
		t.Fatalf("p1's systolic values %v, want [121 124]", p1vals)
	}
	if n.observations(t, false, "p2") == nil || len(n.observations(t, false, "p2")) != 0 {
		t.Fatal("p2 got a reading taken after their session ended")
	}

	for _, bad := range []struct {
		patient string
		length  time.Duration
		want    error
	}{
		{"nobody", 0, readings.ErrNoPatient},
		{"p1", 5 * time.Hour, readings.ErrBadRequest},
		{"", 0, readings.ErrBadRequest},
	} {
		if _, err := n.svc.StartSession(ctx, dev, bad.patient, bad.length, "x"); !errors.Is(err, bad.want) {
			t.Errorf("StartSession(%q, %s) = %v, want %v", bad.patient, bad.length, err, bad.want)
		}
	}
}

// TestTwoSessionsAtOnce: two desks bind one device to two patients
// concurrently (on two nodes); after they sync, a reading in the overlap
// is not guessed onto either.
func TestTwoSessionsAtOnce(t *testing.T) {
	ctx := context.Background()
	a, b := newNode(t, "nodeA"), newNode(t, "nodeB")
	for _, n := range []*node{a, b} {
		n.patients.ids = map[string][]string{"p1": {"p1"}, "p2": {"p2"}}
	}
	const dev = "kiosk-bp-1"
	if _, err := a.svc.StartSession(ctx, dev, "p1", 0, "desk.a"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.StartSession(ctx, dev, "p2", 0, "desk.b"); err != nil {
		t.Fatal(err)
	}
	exchange(t, a.store, b.store)
	msg := batch(t, bpMessage(t, "T1", "", "130", "R"), t0.Add(time.Minute))
	msg.DeviceID = dev
	a.store1(t, msg)
	r := a.review(t)
	if len(r) == 0 || r[0].Reason.Code != readings.ReasonTwoSessions {
		t.Fatalf("review: %+v", r)
	}
}

// TestBindAfterUnlock: readings that waited only because the node was
// locked are bound when it unlocks, by the same rule; the others wait on.
func TestBindAfterUnlock(t *testing.T) {
	n := newNode(t, "nodeA", "locked")
	n.patients.ids = map[string][]string{"789567": {"p1"}}
	n.patients.setLocked(true)
	n.store1(t, batch(t, bpMessage(t, "L1", "789567", "120", "R"), t0))
	n.store1(t, batch(t, bpMessage(t, "L2", "111", "121", "R"), t0))
	n.store1(t, batch(t, bpMessage(t, "L3", "", "122", "R"), t0))
	if r := n.review(t); len(ids(r)) != 3 {
		t.Fatalf("locked node: %d readings waiting, want 3", len(ids(r)))
	}
	n.patients.setLocked(false)
	if err := n.svc.Unlock(context.Background(), dropBox(t)); err != nil {
		t.Fatal(err)
	}
	sys := byLOINC(t, n.observations(t, false, "p1"), "8480-6")
	if sys.RawValue != "120" || sys.BoundBy != "identifier" {
		t.Fatalf("p1 after unlock: %+v", sys)
	}
	reasons := map[string]string{}
	for _, it := range n.review(t) {
		if it.LOINC == "8480-6" {
			reasons[it.RawValue] = it.Reason.Code
		}
	}
	if len(reasons) != 2 || reasons["121"] != readings.ReasonLocked || reasons["122"] != readings.ReasonNoBinding {
		t.Fatalf("still waiting after unlock: %v", reasons)
	}
}
