package session_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"carenode/crdt"
	"carenode/sync/session"
	"carenode/sync/wire"
)

func TestTwoStoresConverge(t *testing.T) {
	codec := newCodec(t)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	a := newPeer(t, "NODEA", codec, func(c *session.Config) { c.BatchChanges = 7 })
	b := newPeer(t, "NODEB", codec, func(c *session.Config) { c.BatchChanges = 5 })
	for round := range 4 {
		writeRandom(t, a.st, rng, 20+rng.IntN(40))
		writeRandom(t, b.st, rng, rng.IntN(40))
		la, lb := a.st.LogLen(), b.st.LogLen()
		ra, rb := mustSync(t, a, b)
		sameState(t, a.st, b.st)
		if got, want := uint64(ra.Applied+rb.Applied), 2*a.st.LogLen()-la-lb; got != want {
			t.Fatalf("round %d: %d changes applied, want %d", round, got, want)
		}
		if ra.Duplicates+rb.Duplicates != 0 {
			t.Fatalf("round %d: duplicates %d + %d", round, ra.Duplicates, rb.Duplicates)
		}
		if ra.Sent != rb.Received || rb.Sent != ra.Received || ra.Sent != rb.Applied {
			t.Fatalf("round %d: counts disagree: %+v / %+v", round, ra, rb)
		}
		if !slices.Equal(ra.Vector.Origins(), rb.PeerVector.Origins()) || wire.DigestOf(ra.Vector) != wire.DigestOf(rb.PeerVector) {
			t.Fatalf("round %d: the ack's vector %s is not the initiator's %s", round, rb.PeerVector, ra.Vector)
		}
	}
}

func TestThreeStoresConverge(t *testing.T) {
	codec := newCodec(t)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	ps := []*peer{newPeer(t, "HUB", codec, nil), newPeer(t, "DESK1", codec, nil), newPeer(t, "DESK2", codec, nil)}
	for range 3 {
		for _, p := range ps {
			writeRandom(t, p.st, rng, rng.IntN(50))
		}
		// Random pairs, in random directions, some concurrently, until
		// a ring has run twice.
		for range 3 {
			var wg sync.WaitGroup
			for i := range ps {
				if rng.IntN(2) == 0 {
					continue
				}
				x, y := ps[i], ps[(i+1)%len(ps)]
				if rng.IntN(2) == 0 {
					x, y = y, x
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, _, ea, eb := syncPair(t, x, y, nil); ea != nil || eb != nil {
						t.Errorf("sync: %v / %v", ea, eb)
					}
				}()
			}
			wg.Wait()
		}
		for range 2 {
			mustSync(t, ps[1], ps[0])
			mustSync(t, ps[2], ps[0])
		}
		mustSync(t, ps[1], ps[0])
		sameState(t, ps[0].st, ps[1].st, ps[2].st)
	}
}

// TestIdleSync: once two nodes agree, a sync is one request and one
// response (each side's stream is written before it reads the other's
// batches) and under 1 KB together.
func TestIdleSync(t *testing.T) {
	codec := newCodec(t)
	a := newPeer(t, "DESK-0123456789", codec, nil)
	b := newPeer(t, "HUB-0123456789X", codec, nil)
	rng := rand.New(rand.NewPCG(1, 1))
	writeRandom(t, a.st, rng, 50)
	writeRandom(t, b.st, rng, 50)
	// Many origins make a long vector, which an idle sync must not send.
	for i := range 20 {
		o := newPeer(t, crdt.NodeID("CLINIC-"+string(rune('A'+i))+"-0123456"), codec, nil)
		writeRandom(t, o.st, rng, 1)
		mustSync(t, o, b)
	}
	mustSync(t, a, b)
	sameState(t, a.st, b.st)
	if n := len(a.st.Vector()); n < 22 {
		t.Fatalf("vector of %d origins", n)
	}

	for _, name := range []string{"remembered", "fresh initiator"} {
		ini := a
		if name == "fresh initiator" {
			// A restarted initiator has forgotten the hub's vector: its
			// hello carries its whole vector, the answer still "nothing".
			eng, err := session.New(session.Config{Node: a.st.Node(), Scope: wire.Full(), Replica: a.st, Codec: codec, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			ini = &peer{st: a.st, eng: eng}
		}
		ra, rb, ea, eb := syncPair(t, ini, b, nil)
		if ea != nil || eb != nil {
			t.Fatal(ea, eb)
		}
		req, resp := ra.BytesSent, rb.BytesSent
		if !ra.Idle || !rb.Idle || ra.Sent+ra.Received != 0 {
			t.Fatalf("%s: not idle: %+v", name, ra)
		}
		if ra.BytesReceived != rb.BytesSent || rb.BytesReceived != ra.BytesSent {
			t.Fatalf("%s: byte counts disagree: %+v / %+v", name, ra, rb)
		}
		total := req + resp
		t.Logf("%s: idle sync: request %d bytes, response %d bytes, %d together", name, req, resp, total)
		limit := int64(1024)
		if name == "remembered" {
			limit = 400
		}
		if total >= limit {
			t.Fatalf("%s: idle sync took %d bytes, limit %d", name, total, limit)
		}
	}
}

// TestOneRoundTrip checks the order of an idle exchange on the wire: the
// responder's whole answer is written after the initiator's hello alone,
// and the initiator's remaining frames follow the responder's hello: one
// request and one response.
func TestOneRoundTrip(t *testing.T) {
	codec := newCodec(t)
	a := newPeer(t, "DESKA", codec, nil)
	b := newPeer(t, "HUBB", codec, nil)
	writeRandom(t, a.st, rand.New(rand.NewPCG(3, 3)), 10)
	mustSync(t, a, b)
	var mu sync.Mutex
	var log []string
	wrap := func(name string) func(io.Writer) io.Writer {
		return func(w io.Writer) io.Writer {
			return writerFunc(func(p []byte) (int, error) {
				mu.Lock()
				log = append(log, name)
				mu.Unlock()
				return w.Write(p)
			})
		}
	}
	p := newPipes()
	defer p.close()
	var wg sync.WaitGroup
	wg.Add(1)
	var ea error
	go func() {
		defer wg.Done()
		_, ea = a.eng.Initiate(context.Background(), p.ar, wrap("request")(p.aw), "HUBB")
	}()
	_, eb := b.eng.Respond(context.Background(), p.br, wrap("response")(p.bw), "DESKA")
	wg.Wait()
	if ea != nil || eb != nil {
		t.Fatal(ea, eb)
	}
	// request: hello; response: hello and done+ack; request: done+ack,
	// written only after the response's hello was read (the two last
	// writes run concurrently, in either order).
	count := map[string]int{}
	for _, w := range log {
		count[w]++
	}
	firstResp := slices.Index(log, "response")
	secondReq := firstResp + 1 + slices.Index(log[firstResp+1:], "request")
	if log[0] != "request" || count["request"] != 2 || count["response"] != 2 || secondReq <= firstResp {
		t.Fatalf("writes %v: want the initiator's hello, then the responder's hello, then the rest", log)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestResponderForgotBase: a responder that cannot resolve the initiator's
// base asks for the vector and the session still completes.
func TestResponderForgotBase(t *testing.T) {
	codec := newCodec(t)
	rng := rand.New(rand.NewPCG(4, 4))
	a := newPeer(t, "NODEA", codec, nil)
	b := newPeer(t, "NODEB", codec, nil)
	writeRandom(t, a.st, rng, 30)
	mustSync(t, a, b)
	// b restarts (its engine forgets) and writes meanwhile, so a's base
	// (b's vector at the end of the last session) is neither b's current
	// vector nor in b's history.
	eng, err := session.New(session.Config{Node: "NODEB", Scope: wire.Full(), Replica: b.st, Codec: codec, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	b2 := &peer{st: b.st, eng: eng}
	writeRandom(t, b.st, rng, 5)
	writeRandom(t, a.st, rng, 5)
	ra, rb := mustSync(t, a, b2)
	if !ra.VectorResent || !rb.VectorResent {
		t.Fatalf("vector not resent: %+v", ra)
	}
	sameState(t, a.st, b.st)
}

func TestWrongPeer(t *testing.T) {
	codec := newCodec(t)
	a := newPeer(t, "NODEA", codec, nil)
	b := newPeer(t, "NODEB", codec, nil)
	p := newPipes()
	defer p.close()
	var ea error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, ea = a.eng.Initiate(context.Background(), p.ar, p.aw, "NODEB")
	}()
	_, eb := b.eng.Respond(context.Background(), p.br, p.bw, "NODEC") // the certificate said NODEC
	wg.Wait()
	if !errors.Is(eb, session.ErrWrongPeer) {
		t.Fatalf("responder: %v", eb)
	}
	var re *wire.RemoteError
	if !errors.As(ea, &re) || re.Code != wire.CodeRefused {
		t.Fatalf("initiator: %v", ea)
	}
}

// TestHelloBytes pins the preamble so that a change of layout is noticed.
func TestHelloBytes(t *testing.T) {
	if !bytes.Equal(wire.Preamble[:], []byte("CNS\x01")) {
		t.Fatal(wire.Preamble)
	}
}
