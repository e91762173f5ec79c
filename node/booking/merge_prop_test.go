package booking_test

import (
	"context"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"testing"
	"time"

	"carenode/node/booking"
)

var propSeed = flag.Uint64("booking.seed", 0, "seed of TestRandomWorkApartConverges (0: from the clock)")

// TestRandomWorkApartConverges runs random bookings, moves, cancels,
// check-ins, no-show passes, over-booking resolutions and partial syncs on
// three nodes, then syncs them all: every node must list the same
// appointments, the same conflicts and the same kiosk scope. The seed is
// printed; rerun one with -booking.seed.
func TestRandomWorkApartConverges(t *testing.T) {
	seed := *propSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano()) // the only wall-clock read: choosing a seed
	}
	t.Logf("seed %d (rerun with -booking.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	rounds := 6
	if testing.Short() {
		rounds = 2
	}
	slots := []string{"li.20261125.0800", "li.20261125.0820", "wang.20261125.0800", "wang.20261125.0830", "zhao.20261126.0900"}
	ctx := context.Background()
	for round := range rounds {
		nodes := []*node{newNode(t, "n1"), newNode(t, "n2"), newNode(t, "n3")}
		nodes[0].setUp(t, 6)
		for _, n := range nodes[1:] {
			syncBoth(t, nodes[0], n)
		}
		var ids []string
		pick := func() string {
			if len(ids) == 0 {
				return "none"
			}
			return ids[rng.IntN(len(ids))]
		}
		for range 40 {
			n := nodes[rng.IntN(len(nodes))]
			switch op := rng.IntN(10); op {
			case 0, 1, 2:
				a, err := n.svc.Book(ctx, desk, booking.BookInput{Patient: patientID(1 + rng.IntN(6)), Slot: slots[rng.IntN(len(slots))],
					Overbook: rng.IntN(4) == 0}, monday)
				if err == nil {
					ids = append(ids, a.ID)
				}
			case 3:
				n.svc.Cancel(ctx, desk, pick(), "", monday)
			case 4:
				n.svc.Reschedule(ctx, desk, pick(), booking.RescheduleInput{Slot: slots[rng.IntN(len(slots))], Overbook: rng.IntN(2) == 0}, monday)
			case 5:
				n.svc.CheckIn(ctx, kiosk, pick(), at("2026-11-25", "08:00"))
			case 6:
				if rng.IntN(3) == 0 {
					n.svc.MarkNoShows(ctx, at("2026-11-27", "00:00"))
				}
			case 7:
				if cs, err := n.svc.Conflicts(monday); err == nil && len(cs) > 0 {
					c := cs[rng.IntN(len(cs))]
					res := booking.Resolution{Action: booking.ResolveAccept}
					if rng.IntN(2) == 0 {
						res = booking.Resolution{Action: booking.ResolveMove, Appointment: c.Over[0]}
					}
					n.svc.Resolve(ctx, desk, c.Slot.Key, res, monday)
				}
			default:
				other := nodes[rng.IntN(len(nodes))]
				if other != n {
					exchange(t, n, other)
				}
			}
		}
		for range 2 {
			for i := range nodes {
				exchange(t, nodes[i], nodes[(i+1)%len(nodes)])
			}
		}
		cs, _ := nodes[0].svc.Conflicts(monday)
		t.Logf("round %d: %d bookings made, %d over-booked slots left", round, len(ids), len(cs))
		var want string
		for i, n := range nodes {
			got := snapshot(t, n)
			if i == 0 {
				want = got
			} else if got != want {
				t.Fatalf("round %d: %s differs from %s:\n%s\n%s", round, n.id, nodes[0].id, got, want)
			}
		}
	}
}

// snapshot is everything a desk sees of the week, as JSON.
func snapshot(t *testing.T, n *node) string {
	t.Helper()
	var out []any
	for _, day := range []string{"2026-11-25", "2026-11-26"} {
		list, err := n.svc.Appointments(booking.ListQuery{Day: day})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, list)
	}
	for _, now := range []time.Time{monday, at("2026-11-28", "00:00")} {
		cs, err := n.svc.Conflicts(now)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, cs)
	}
	scope, err := n.svc.PatientsBooked(at("2026-11-25", "00:00"), at("2026-11-27", "00:00"))
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, scope)
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
