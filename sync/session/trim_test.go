package session_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"

	"carenode/crdt"
	"carenode/node/store"
	"carenode/sync/scope"
	"carenode/sync/session"
	"carenode/sync/wire"
)

// trimPolicy serves full replicas everything and a kiosk sync/scope's kiosk
// filter: every patient record, trimmed to the fields a kiosk holds.
var trimPolicy = session.PolicyFunc(func(peer crdt.NodeID, s wire.Scope) (wire.Filter, error) {
	switch s.Kind {
	case wire.ScopeFull:
		return nil, nil
	case wire.ScopeKiosk:
		return scope.KioskFilter(), nil
	}
	return nil, fmt.Errorf("%w: %s", session.ErrScopeRefused, s)
})

// kioskShare returns what a kiosk should hold of hub's patients: each
// record's fields a kiosk holds, no sets, no facts.
func kioskShare(t *testing.T, st *store.Store) map[string]map[string]crdt.FieldView {
	t.Helper()
	out := map[string]map[string]crdt.FieldView{}
	for id, v := range patients(t, st) {
		fs := map[string]crdt.FieldView{}
		for f, fv := range v.Fields {
			switch {
			case slices.Contains(scope.KioskFields(), f):
				fs[f] = fv
			case st.Node() == "KIOSK":
				t.Fatalf("kiosk's %s holds %s", id, f)
			}
		}
		if len(fs) > 0 {
			out[id] = fs
		}
		if len(v.Sets)+len(v.Facts) > 0 && st.Node() == "KIOSK" {
			t.Fatalf("kiosk's %s holds sets %v or facts", id, v.Sets)
		}
	}
	return out
}

// writeCharts makes n random writes on st shaped like node/chart's: most to
// patient records, each setting one to four registers (some a kiosk holds,
// some not) or adding to a set, the others to audit days and visits.
func writeCharts(t *testing.T, st *store.Store, rng *rand.Rand, n int) {
	t.Helper()
	fields := []string{"name", "phones", "cardNumber", "sex", "address", "idNumber", "history", "notes", "diagnosis.d1.code"}
	for range n {
		req := store.WriteRequest{Collection: "patients", Record: fmt.Sprintf("p%d", rng.IntN(10))}
		switch rng.IntN(6) {
		case 0:
			req.Collection, req.Record = "audit", req.Record+".20260302"
			req.Edits = []store.Edit{{Kind: crdt.MutFact, Field: "events", FactID: store.NewShortID(), Value: []byte(`{"action":"read"}`)}}
		case 1:
			req.Collection = "visits"
			req.Edits = []store.Edit{{Kind: crdt.MutSet, Field: "note", Value: []byte(`"bp 150/95"`)}}
		case 2:
			req.Edits = []store.Edit{{Kind: crdt.MutAdd, Field: []string{"diagnoses", "allergies", "tags"}[rng.IntN(3)], Elem: store.NewShortID()}}
		default:
			for _, i := range rng.Perm(len(fields))[:1+rng.IntN(4)] {
				val := make([]byte, 20+rng.IntN(30))
				for j := range val {
					val[j] = byte(rng.UintN(256))
				}
				req.Edits = append(req.Edits, store.Edit{Kind: crdt.MutSet, Field: fields[i], Value: val, SeenCurrent: true})
			}
		}
		if _, err := st.Write(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKioskTrimmedCut cuts a kiosk's session with a hub whose patient
// changes the kiosk gets trimmed (random names it holds, phones and
// statuses it does not, tags and readings it does not) at many points,
// then resumes: the kiosk ends with exactly the fields it may hold, every
// change it was sent applied once, its vector and mark at the hub's, and
// the next session idle; its own check-ins reach the hub.
func TestKioskTrimmedCut(t *testing.T) {
	codec := newCodec(t)
	setup := func(t *testing.T) (kiosk, hub *peer) {
		rng := rand.New(rand.NewPCG(3, 14))
		hub = newPeer(t, "HUB", codec, func(c *session.Config) { c.Policy = trimPolicy })
		kiosk = newPeer(t, "KIOSK", codec, func(c *session.Config) {
			c.Scope, c.Marks, c.BatchChanges = wire.Kiosk(), &session.MemMarks{}, 16
		})
		writeCharts(t, hub.st, rng, 300)
		for i := range 5 {
			if _, err := kiosk.st.Write(context.Background(), store.WriteRequest{Collection: "checkins", Record: fmt.Sprintf("c%d", i),
				Edits: []store.Edit{{Kind: crdt.MutSet, Field: "at", Value: []byte(`"09:12"`)}}}); err != nil {
				t.Fatal(err)
			}
		}
		return kiosk, hub
	}
	// What the kiosk must receive: the hub's patient changes with
	// something left once trimmed.
	kiosk, hub := setup(t)
	filter := scope.KioskFilter()
	var want, trimmed int
	hubChanges := allChanges(t, hub.st)
	for _, c := range hubChanges {
		if tc, ok := filter(c); ok {
			want++
			if len(tc.Muts) < len(c.Muts) {
				trimmed++
			}
		}
	}
	rk, _ := mustSync(t, kiosk, hub)
	total := rk.BytesSent + rk.BytesReceived
	if rk.Received != want || trimmed == 0 || want == trimmed || want == len(hubChanges) {
		t.Fatalf("kiosk received %d changes, want %d of the hub's %d, %d trimmed", rk.Received, want, len(hubChanges), trimmed)
	}
	t.Logf("an uncut session moves %d bytes; %d of the hub's %d changes go to the kiosk (%d of them trimmed)",
		total, want, len(hubChanges), trimmed)

	cuts := []int64{0, 5, 11, 30, 63}
	step := total / 25
	if raceEnabled || testing.Short() {
		step = total / 8
	}
	for n := int64(64); n < total; n += step {
		cuts = append(cuts, n)
	}
	cuts = append(cuts, total-1)
	for _, n := range cuts {
		kiosk, hub := setup(t)
		ck, _, _, _ := cutSession(kiosk, hub, n)
		xk, _ := mustSync(t, kiosk, hub)
		if d := ck.Duplicates + xk.Duplicates; d != 0 {
			t.Fatalf("cut at %d: %d changes applied twice", n, d)
		}
		if got := ck.Applied + xk.Applied; got != want {
			t.Fatalf("cut at %d: the kiosk applied %d changes, want %d", n, got, want)
		}
		if k, h := kioskShare(t, kiosk.st), kioskShare(t, hub.st); !reflect.DeepEqual(k, h) {
			t.Fatalf("cut at %d: the kiosk's patients differ from the hub's kiosk fields", n)
		}
		if hub.st.Vector()["KIOSK"] != 5 {
			t.Fatalf("cut at %d: the hub has %d of the kiosk's 5 check-ins", n, hub.st.Vector()["KIOSK"])
		}
		// Its store vector and mark together reach the hub's: nothing
		// left to ask for.
		ik, _ := mustSync(t, kiosk, hub)
		if !ik.Idle || ik.Received != 0 || ik.Vector["HUB"] != hub.st.Vector()["HUB"] {
			t.Fatalf("cut at %d: not idle after resuming: %+v", n, ik)
		}
	}
}

// TestFilterKeepsIdentity: a filter that returns another change than the
// one it was given stops the session with ErrFilter, sending nothing.
func TestFilterKeepsIdentity(t *testing.T) {
	codec := newCodec(t)
	bad := session.PolicyFunc(func(peer crdt.NodeID, s wire.Scope) (wire.Filter, error) {
		return func(c crdt.Change) (crdt.Change, bool) {
			c.Seq++
			return c, true
		}, nil
	})
	hub := newPeer(t, "HUB", codec, func(c *session.Config) { c.Policy = bad })
	kiosk := newPeer(t, "KIOSK", codec, func(c *session.Config) { c.Scope, c.Marks = wire.Kiosk(), &session.MemMarks{} })
	writeRandom(t, hub.st, rand.New(rand.NewPCG(1, 2)), 20)
	p := newPipes()
	defer p.close()
	var wg sync.WaitGroup
	var ek error
	wg.Go(func() { _, ek = kiosk.eng.Initiate(context.Background(), p.ar, p.aw, "HUB") })
	_, eh := hub.eng.Respond(context.Background(), p.br, closer{io.Writer(p.bw), p.bw}, "KIOSK")
	p.close()
	wg.Wait()
	if eh == nil || ek == nil || !errors.Is(eh, session.ErrFilter) {
		t.Fatalf("hub: %v; kiosk: %v", eh, ek)
	}
	if n := kiosk.st.LogLen(); n != 0 {
		t.Fatalf("the kiosk applied %d changes", n)
	}
}
