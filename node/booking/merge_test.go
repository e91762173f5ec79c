package booking_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"carenode/node/booking"
)

// pair is two clinic nodes that share the catalogue and patients p01…p05,
// synced, about to work apart.
func pair(t *testing.T) (a, b *node) {
	t.Helper()
	a, b = newNode(t, "clinicA"), newNode(t, "clinicB")
	a.setUp(t, 5)
	syncBoth(t, a, b)
	return a, b
}

func conflictsJSON(t *testing.T, n *node) (string, []booking.Conflict) {
	t.Helper()
	list, err := n.svc.Conflicts(monday)
	if err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	return string(j), list
}

func TestOfflineDoubleBookingSurfacesTheSameOnBothNodes(t *testing.T) {
	const slot = "li.20261125.0800" // one place
	for _, action := range []string{booking.ResolveMove, booking.ResolveAccept} {
		t.Run(action, func(t *testing.T) {
			a, b := pair(t)
			ctx := context.Background()
			// Apart, each node sees the last place free and takes it.
			fromA := book(t, a, "p01", slot, monday)
			fromB := book(t, b, "p02", slot, monday)
			for _, n := range []*node{a, b} {
				if _, list := conflictsJSON(t, n); len(list) != 0 {
					t.Fatalf("%s sees a conflict before sync: %+v", n.id, list)
				}
			}
			syncBoth(t, a, b)
			ja, list := conflictsJSON(t, a)
			jb, _ := conflictsJSON(t, b)
			if ja != jb {
				t.Fatalf("the nodes list different conflicts:\nA %s\nB %s", ja, jb)
			}
			if len(list) != 1 || list[0].Slot.Key != slot || len(list[0].Appointments) != 2 || list[0].Slot.Booked != 2 || list[0].Slot.Capacity != 1 {
				t.Fatalf("conflicts %s", ja)
			}
			// Both bookings are kept; the later-made one is over capacity.
			later := fromA
			if fromA.Booked < fromB.Booked {
				later = fromB
			}
			if !slices.Equal(list[0].Over, []string{later.ID}) {
				t.Errorf("over %v, want the later booking %s", list[0].Over, later.ID)
			}
			for _, n := range []*node{a, b} {
				for _, ap := range []booking.Appointment{fromA, fromB} {
					if got, err := n.svc.Appointment(ap.ID); err != nil || got.Status != booking.StatusBooked {
						t.Errorf("%s: %s is %s %v", n.id, ap.ID, got.Status, err)
					}
				}
			}

			// The desk at B acts; A learns it by sync.
			res := booking.Resolution{Action: action}
			if action == booking.ResolveMove {
				res.Appointment = later.ID
			}
			moved, err := b.svc.Resolve(ctx, desk, slot, res, monday)
			if err != nil {
				t.Fatal(err)
			}
			if action == booking.ResolveMove && (moved.Slot != "li.20261123.0800" || moved.History[len(moved.History)-1].Kind != booking.EventRescheduled) {
				t.Errorf("moved to %s (want Dr Li's earliest free slot): %+v", moved.Slot, moved)
			}
			if _, list := conflictsJSON(t, a); len(list) != 1 {
				t.Errorf("A lost the conflict before hearing of the action")
			}
			syncBoth(t, a, b)
			for _, n := range []*node{a, b} {
				if j, list := conflictsJSON(t, n); len(list) != 0 {
					t.Errorf("%s still lists %s", n.id, j)
				}
			}
			for _, id := range []string{fromA.ID, fromB.ID} {
				x, _ := a.svc.Appointment(id)
				y, _ := b.svc.Appointment(id)
				if !equalJSON(x, y) {
					t.Errorf("%s differs:\nA %+v\nB %+v", id, x, y)
				}
			}
			if action == booking.ResolveAccept {
				// A third booking made later is not covered by the acceptance.
				if _, err := a.svc.Book(ctx, desk, booking.BookInput{Patient: "p03", Slot: slot, Overbook: true}, monday); err != nil {
					t.Fatal(err)
				}
				syncBoth(t, a, b)
				ja, list := conflictsJSON(t, a)
				jb, _ := conflictsJSON(t, b)
				if ja != jb || len(list) != 1 || len(list[0].Accepted) != 2 || len(list[0].Over) != 2 {
					t.Errorf("after a third booking:\nA %s\nB %s", ja, jb)
				}
			}
		})
	}
}

func TestCheckInApartWinsOverNoShow(t *testing.T) {
	a, b := pair(t)
	ctx := context.Background()
	ap := book(t, a, "p01", "wang.20261125.0830", monday)
	twice := book(t, a, "p02", "wang.20261125.0900", monday)
	syncBoth(t, a, b)
	// B (the kiosk's clinic, cut off) checks p01 in; A, not knowing, marks
	// the day's no-shows after midnight. Both nodes also run the pass.
	if _, err := b.svc.CheckIn(ctx, kiosk, ap.ID, at("2026-11-25", "08:20")); err != nil {
		t.Fatal(err)
	}
	if n, err := a.svc.MarkNoShows(ctx, at("2026-11-26", "00:05")); err != nil || n != 2 {
		t.Fatalf("A marked %d %v", n, err)
	}
	if n, err := b.svc.MarkNoShows(ctx, at("2026-11-26", "00:07")); err != nil || n != 1 {
		t.Fatalf("B marked %d %v", n, err)
	}
	syncBoth(t, a, b)
	for _, n := range []*node{a, b} {
		got, err := n.svc.Appointment(ap.ID)
		if err != nil || got.Status != booking.StatusCheckedIn {
			t.Errorf("%s: p01 is %s %v; the patient came", n.id, got.Status, err)
		}
		got, err = n.svc.Appointment(twice.ID)
		kinds := 0
		for _, e := range got.History {
			if e.Kind == booking.EventNoShow {
				kinds++
			}
		}
		if err != nil || got.Status != booking.StatusNoShow || kinds != 1 {
			t.Errorf("%s: p02 is %s with %d no-show events (%v), want one", n.id, got.Status, kinds, err)
		}
		beh, _ := n.svc.Behaviour("p01", at("2026-11-26", "09:00"))
		if beh.Missed != 0 || beh.Attended != 1 {
			t.Errorf("%s: behaviour %+v", n.id, beh)
		}
	}
	x, _ := a.svc.Appointment(twice.ID)
	y, _ := b.svc.Appointment(twice.ID)
	if !equalJSON(x, y) {
		t.Errorf("the no-show differs:\nA %+v\nB %+v", x, y)
	}
}

func TestMovesAndCancelsApart(t *testing.T) {
	a, b := pair(t)
	ctx := context.Background()
	moveTwice := book(t, a, "p01", "wang.20261125.0830", monday)
	cancelTwice := book(t, a, "p02", "wang.20261125.0900", monday)
	cancelAndMove := book(t, a, "p03", "wang.20261125.0930", monday)
	syncBoth(t, a, b)
	if _, err := a.svc.Reschedule(ctx, desk, moveTwice.ID, booking.RescheduleInput{Slot: "wang.20261127.0800"}, monday); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Reschedule(ctx, desk, moveTwice.ID, booking.RescheduleInput{Slot: "li.20261126.0800"}, monday); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*node{a, b} {
		if _, err := n.svc.Cancel(ctx, desk, cancelTwice.ID, "from "+string(n.id), monday); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.svc.Cancel(ctx, desk, cancelAndMove.ID, "", monday); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Reschedule(ctx, desk, cancelAndMove.ID, booking.RescheduleInput{Slot: "wang.20261127.0830"}, monday); err != nil {
		t.Fatal(err)
	}
	syncBoth(t, a, b)
	for _, id := range []string{moveTwice.ID, cancelTwice.ID, cancelAndMove.ID} {
		x, _ := a.svc.Appointment(id)
		y, _ := b.svc.Appointment(id)
		if !equalJSON(x, y) {
			t.Errorf("%s differs:\nA %+v\nB %+v", id, x, y)
		}
	}
	m, _ := a.svc.Appointment(moveTwice.ID)
	if len(m.SlotConflict) != 1 || !slices.Contains([]string{"wang.20261127.0800", "li.20261126.0800"}, m.Slot) ||
		m.SlotConflict[0] == m.Slot || m.Status != booking.StatusBooked {
		t.Errorf("two moves apart: slot %s, conflict %v", m.Slot, m.SlotConflict)
	}
	// Moving it again, having seen both, settles it.
	settled, err := a.svc.Reschedule(ctx, desk, moveTwice.ID, booking.RescheduleInput{Slot: "wang.20261127.0900"}, monday)
	if err != nil || len(settled.SlotConflict) != 0 {
		t.Errorf("after a move that saw both: %+v %v", settled, err)
	}
	c, _ := a.svc.Appointment(cancelTwice.ID)
	n := 0
	for _, e := range c.History {
		if e.Kind == booking.EventCancelled {
			n++
		}
	}
	if c.Status != booking.StatusCancelled || n != 1 {
		t.Errorf("cancelled twice apart: %s with %d cancel events", c.Status, n)
	}
	cm, _ := a.svc.Appointment(cancelAndMove.ID)
	if cm.Status != booking.StatusCancelled || len(cm.History) != 3 {
		t.Errorf("cancelled on one node, moved on the other: %+v", cm)
	}
}
