package session_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"carenode/crdt"
	"carenode/node/store"
	"carenode/sync/session"
	"carenode/sync/wire"
)

// kioskPolicy serves full replicas everything and a kiosk only today's
// patients' records (r0 and r1 of "patients"), as a hub would decide from
// appointments.
var kioskPolicy = session.PolicyFunc(func(peer crdt.NodeID, s wire.Scope) (wire.Filter, error) {
	switch s.Kind {
	case wire.ScopeFull:
		return nil, nil
	case wire.ScopeKiosk:
		return func(c crdt.Change) (crdt.Change, bool) {
			return c, c.Collection == "patients" && (c.Record == "r0" || c.Record == "r1")
		}, nil
	}
	return nil, fmt.Errorf("%w: %s", session.ErrScopeRefused, s)
})

func allChanges(t *testing.T, st *store.Store) []crdt.Change {
	t.Helper()
	var out []crdt.Change
	after := crdt.Vector{}
	for {
		p, err := st.ChangesAfter(after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Changes...)
		after = p.Next
		if !p.More {
			return out
		}
	}
}

func TestPartialReplica(t *testing.T) {
	codec := newCodec(t)
	rng := rand.New(rand.NewPCG(21, 21))
	withPolicy := func(c *session.Config) { c.Policy = kioskPolicy }
	hub := newPeer(t, "HUB", codec, withPolicy)
	desk := newPeer(t, "DESK", codec, withPolicy)
	marks := &session.MemMarks{}
	kiosk := newPeer(t, "KIOSK", codec, func(c *session.Config) {
		c.Scope, c.Marks, c.BatchChanges = wire.Kiosk(), marks, 10
	})
	writeRandom(t, hub.st, rng, 120)
	writeRandom(t, desk.st, rng, 60)
	mustSync(t, desk, hub)
	writeRandom(t, kiosk.st, rng, 15) // check-ins and readings made at the kiosk

	rk, rh := mustSync(t, kiosk, hub)
	filter, _ := kioskPolicy.Filter("KIOSK", wire.Kiosk())
	var inScope int
	for _, c := range allChanges(t, hub.st) {
		if _, ok := filter(c); ok && c.Origin != "KIOSK" {
			inScope++
		}
	}
	if inScope == 0 || rk.Received != inScope || rk.Applied != inScope {
		t.Fatalf("kiosk received %d (applied %d), in scope %d", rk.Received, rk.Applied, inScope)
	}
	for _, c := range allChanges(t, kiosk.st) {
		if _, ok := filter(c); c.Origin != "KIOSK" && !ok {
			t.Fatalf("kiosk holds %s/%d (%s/%s), outside its scope", c.Origin, c.Seq, c.Collection, c.Record)
		}
	}
	if rh.Received != 15 || hub.st.Vector()["KIOSK"] != 15 {
		t.Fatalf("hub received %d of the kiosk's own changes", rh.Received)
	}

	// The mark covers what the hub scanned: the next sync is idle, small,
	// and sends the kiosk nothing again.
	ik, _ := mustSync(t, kiosk, hub)
	if !ik.Idle || ik.Received != 0 || ik.BytesSent+ik.BytesReceived > 1024 {
		t.Fatalf("second kiosk sync not idle: %+v", ik)
	}
	// New in-scope and out-of-scope writes at the hub: only the first
	// kind reaches the kiosk.
	before := kiosk.st.LogLen()
	if _, err := hub.st.Write(context.Background(), store.WriteRequest{Collection: "patients", Record: "r1",
		Edits: []store.Edit{{Kind: crdt.MutSet, Field: "status", Value: []byte(`"checked-in"`)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.st.Write(context.Background(), store.WriteRequest{Collection: "patients", Record: "r5",
		Edits: []store.Edit{{Kind: crdt.MutSet, Field: "status", Value: []byte(`"seen"`)}}}); err != nil {
		t.Fatal(err)
	}
	nk, _ := mustSync(t, kiosk, hub)
	if nk.Received != 1 || kiosk.st.LogLen() != before+1 || nk.Duplicates != 0 {
		t.Fatalf("kiosk got %d changes (%d duplicates) after one in-scope write", nk.Received, nk.Duplicates)
	}

	// Relay rule: the kiosk holds hub and desk changes, but sends a full
	// peer only its own.
	other := newPeer(t, "DESK2", codec, withPolicy)
	ro, _ := mustSync(t, other, kiosk)
	if ro.Received != 15 {
		t.Fatalf("desk2 received %d changes from the kiosk, want its 15 own", ro.Received)
	}
	for o := range other.st.Vector() {
		if o != "KIOSK" {
			t.Fatalf("the kiosk relayed changes of %s", o)
		}
	}
}

// TestScopeRefused: a node without a policy for kiosks refuses one.
func TestScopeRefused(t *testing.T) {
	codec := newCodec(t)
	hub := newPeer(t, "HUB", codec, nil)
	kiosk := newPeer(t, "KIOSK", codec, func(c *session.Config) { c.Scope = wire.Kiosk() })
	_, _, ek, eh := syncPair(t, kiosk, hub, nil)
	if eh == nil || ek == nil {
		t.Fatalf("kiosk served by a hub without a policy: %v / %v", ek, eh)
	}
	t.Logf("hub: %v; kiosk: %v", eh, ek)
}
