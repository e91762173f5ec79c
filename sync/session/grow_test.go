package session_test

import (
	"errors"
	"io"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"

	"carenode/crdt"
	"carenode/node/store"
	"carenode/sync/session"
	"carenode/sync/wire"
)

// growingPolicy serves a kiosk the patients in visible, remembering what
// it granted when a session completes, as sync/scope does from
// appointments.
type growingPolicy struct {
	mu      sync.Mutex
	visible map[string]bool
	granted map[string]bool
	served  int
}

func (p *growingPolicy) Filter(peer crdt.NodeID, s wire.Scope) (wire.Filter, error) {
	g, err := p.Grant(peer, s)
	return g.Filter, err
}

func (p *growingPolicy) Grant(peer crdt.NodeID, s wire.Scope) (session.Grant, error) {
	if s.IsFull() {
		return session.Grant{}, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	vis, old := maps.Clone(p.visible), maps.Clone(p.granted)
	g := session.Grant{Filter: func(c crdt.Change) (crdt.Change, bool) { return c, c.Collection == "patients" && vis[c.Record] }}
	g.Fresh = func(c crdt.Change) bool { return !old[c.Record] }
	g.Served = func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.granted, p.served = vis, p.served+1
		return nil
	}
	return g, nil
}

var _ session.GrantPolicy = (*growingPolicy)(nil)

// patients returns the views of st's patient records.
func patients(t *testing.T, st *store.Store) map[string]crdt.View {
	t.Helper()
	out := map[string]crdt.View{}
	views, err := st.List("patients", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range views {
		out[v.ID] = v.View
	}
	return out
}

// holds fails unless the kiosk holds exactly the records in want, each as
// the hub shows it.
func holds(t *testing.T, kiosk, hub *store.Store, want ...string) {
	t.Helper()
	k, h := patients(t, kiosk), patients(t, hub)
	if keys := slices.Sorted(maps.Keys(k)); !slices.Equal(keys, want) {
		t.Fatalf("kiosk holds %v, want %v", keys, want)
	}
	for _, id := range want {
		if !reflect.DeepEqual(k[id], h[id]) {
			t.Fatalf("kiosk's %s differs from the hub's:\n%+v\n%+v", id, k[id], h[id])
		}
	}
}

// TestScopeGrows: a patient who comes into the kiosk's scope after the
// kiosk was served arrives whole (all its changes, also those below the
// kiosk's vector and mark); a cut session sends it again; one that leaves
// is sent nothing more. Progress reports reach their end.
func TestScopeGrows(t *testing.T) {
	codec := newCodec(t)
	rng := rand.New(rand.NewPCG(5, 8))
	pol := &growingPolicy{visible: map[string]bool{"r0": true}}
	hub := newPeer(t, "HUB", codec, func(c *session.Config) { c.Policy = pol })
	kioskMarks := &session.MemMarks{}
	kiosk := newPeer(t, "KIOSK", codec, func(c *session.Config) {
		c.Scope, c.Marks, c.BatchChanges = wire.Kiosk(), kioskMarks, 7
	})
	writeRandom(t, hub.st, rng, 200)
	mustSync(t, kiosk, hub)
	holds(t, kiosk.st, hub.st, "r0")
	// Idle with the same scope.
	if rk, _ := mustSync(t, kiosk, hub); rk.Received != 0 || !rk.Idle {
		t.Fatalf("second sync: %+v", rk)
	}

	// r2 is booked: none of its changes is new, all lie below the
	// kiosk's mark. A session cut in the middle does not count as served.
	pol.mu.Lock()
	pol.visible = map[string]bool{"r0": true, "r2": true}
	pol.mu.Unlock()
	served := pol.served
	_, _, ea, eb := syncPair(t, kiosk, hub, func(w io.Writer) io.Writer { return &cutWriter{w: w, left: 300} })
	if ea == nil && eb == nil {
		t.Fatal("cut session succeeded")
	}
	if pol.served != served {
		t.Fatal("a cut session was remembered as served")
	}
	// A kiosk that cannot apply the fresh records acks nothing: the hub
	// does not take them as served (an early ack would have let it).
	broken := newPeer(t, "KIOSK", codec, func(c *session.Config) {
		c.Scope, c.Marks, c.Replica = wire.Kiosk(), kioskMarks, refusing{kiosk.st}
	})
	if _, _, ea, eb := syncPair(t, broken, hub, nil); ea == nil || eb == nil {
		t.Fatalf("a kiosk that cannot apply: kiosk %v, hub %v", ea, eb)
	}
	if pol.served != served {
		t.Fatal("records the kiosk could not apply were remembered as served")
	}
	var last session.Progress
	var calls int
	p := newPipes()
	var wg sync.WaitGroup
	var rk session.Result
	var ek error
	wg.Go(func() {
		rk, ek = kiosk.eng.InitiateWith(t.Context(), p.ar, p.aw, "HUB", session.Options{Progress: func(pr session.Progress) {
			calls++
			last = pr
		}})
	})
	if _, err := hub.eng.Respond(t.Context(), p.br, p.bw, "KIOSK"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	p.close()
	if ek != nil {
		t.Fatal(ek)
	}
	holds(t, kiosk.st, hub.st, "r0", "r2")
	if rk.Idle || rk.Received == 0 || calls < 2 || last.Received != rk.Received || last.BytesReceived != rk.BytesReceived {
		t.Fatalf("result %+v, %d progress calls, last %+v", rk, calls, last)
	}
	if rk, _ := mustSync(t, kiosk, hub); rk.Received != 0 {
		t.Fatalf("r2 sent again once served: %+v", rk)
	}

	// r0 leaves the scope: its new changes stay on the hub.
	pol.mu.Lock()
	pol.visible = map[string]bool{"r2": true}
	pol.mu.Unlock()
	before := patients(t, kiosk.st)["r0"]
	for range 40 {
		writeRandom(t, hub.st, rng, 1)
	}
	mustSync(t, kiosk, hub)
	k, h := patients(t, kiosk.st), patients(t, hub.st)
	if !reflect.DeepEqual(k["r0"], before) || reflect.DeepEqual(h["r0"], before) || !reflect.DeepEqual(k["r2"], h["r2"]) {
		t.Fatalf("after r0 left the scope: kiosk's r0 changed, or the hub's did not, or r2 is not up to date")
	}
}

// refusing is a kiosk's store that cannot apply anything (a full disk).
type refusing struct{ *store.Store }

func (refusing) ApplyRemote([]crdt.Change) (store.ApplyResult, error) {
	return store.ApplyResult{}, errors.New("disk full")
}

// cutWriter fails after left bytes.
type cutWriter struct {
	w    io.Writer
	left int
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if c.left <= 0 {
		return 0, errors.New("cut")
	}
	if len(b) > c.left {
		n, _ := c.w.Write(b[:c.left])
		c.left = 0
		return n, errors.New("cut")
	}
	c.left -= len(b)
	return c.w.Write(b)
}
