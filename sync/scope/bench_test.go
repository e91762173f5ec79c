package scope_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/node/store"
	"carenode/sync/scope"
	"carenode/sync/wire"
)

// BenchmarkKioskIdleSession is one idle session between a kiosk and a hub
// whose change log holds 100,000 changes the kiosk's scope leaves out
// (visits): what a kiosk pays after each check-in when nothing else has
// changed. docs/BENCHMARKS.md.
func BenchmarkKioskIdleSession(b *testing.B) {
	hubSt, kioskSt := openStore(b, "HUB"), openStore(b, "KIOSK")
	ctx := context.Background()
	const changes, writers = 100_000, 32
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for j := range changes / writers {
				if _, err := hubSt.Write(ctx, store.WriteRequest{Collection: "visits", Record: fmt.Sprintf("v%d-%d", w, j),
					Edits: []store.Edit{{Kind: crdt.MutSet, Field: "note", Value: []byte(`"x"`), SeenCurrent: true}}}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	now := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	write(b, hubSt, "patients", "p1", "name", "x")
	book := &fakeBookings{at: map[string]time.Time{"p1": now.Add(time.Hour)}}
	pol := &scope.Policies{Records: hubSt, Bookings: book, Now: func() time.Time { return now }, Location: time.UTC}
	hub, kiosk := newEngine(b, hubSt, "HUB", wire.Full()), newEngine(b, kioskSt, "KIOSK", wire.Kiosk())
	marks := scope.StoreMarks{Store: kioskSt, Peer: "HUB"}
	syncKiosk(b, kiosk, hub, pol, marks)
	b.ResetTimer()
	for range b.N {
		if r := syncKiosk(b, kiosk, hub, pol, marks); !r.Idle {
			b.Fatalf("session not idle: %+v", r)
		}
	}
}
