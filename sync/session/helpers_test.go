package session_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"carenode/crdt"
	"carenode/node/store"
	"carenode/sync/session"
	"carenode/sync/wire"
)

var _ session.Replica = (*store.Store)(nil)

var quiet = slog.New(slog.DiscardHandler)

// openStore opens a fresh store named node under t.TempDir(), closed at the
// end of the test.
func openStore(t testing.TB, node crdt.NodeID) *store.Store {
	t.Helper()
	opts := store.DefaultOptions(filepath.Join(t.TempDir(), string(node)+".db"), node)
	opts.Create, opts.NoSync, opts.Logger = true, true, quiet
	st, err := store.Open(opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// peer is one node under test.
type peer struct {
	st  *store.Store
	eng *session.Engine
}

func newPeer(t testing.TB, node crdt.NodeID, codec *wire.Codec, tweak func(*session.Config)) *peer {
	t.Helper()
	st := openStore(t, node)
	cfg := session.DefaultConfig(node, st)
	cfg.Codec, cfg.Logger = codec, quiet
	if tweak != nil {
		tweak(&cfg)
	}
	eng, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	return &peer{st: st, eng: eng}
}

func newCodec(t testing.TB) *wire.Codec {
	t.Helper()
	c, err := wire.NewCodec(wire.DefaultCodecOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

var collections = []string{"patients", "vitals", "followups"}

// writeRandom makes n random local writes on st: registers naming what
// they saw, set adds and removes, facts, over a few records per collection
// so that writes on different nodes meet.
func writeRandom(t testing.TB, st *store.Store, rng *rand.Rand, n int) {
	t.Helper()
	for range n {
		coll := collections[rng.IntN(len(collections))]
		rec := fmt.Sprintf("r%d", rng.IntN(6))
		var e store.Edit
		switch rng.IntN(4) {
		case 0, 1:
			val := make([]byte, 8+rng.IntN(40))
			for i := range val {
				val[i] = byte(rng.UintN(256))
			}
			e = store.Edit{Kind: crdt.MutSet, Field: []string{"name", "phone", "status"}[rng.IntN(3)], Value: val, SeenCurrent: rng.IntN(4) > 0}
		case 2:
			e = store.Edit{Kind: crdt.MutAdd, Field: "tags", Elem: []string{"hypertension", "diabetes", "独居", "贫困户"}[rng.IntN(4)]}
		default:
			e = store.Edit{Kind: crdt.MutFact, Field: "readings", FactID: store.NewShortID(),
				Value: fmt.Appendf(nil, `{"kind":"systolic","value":%d}`, 100+rng.IntN(80))}
		}
		if _, err := st.Write(context.Background(), store.WriteRequest{Collection: coll, Record: rec, Edits: []store.Edit{e}}); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
}

// pipes joins two sides with two io.Pipes.
type pipes struct {
	ar *io.PipeReader // a reads what b writes
	bw *io.PipeWriter
	br *io.PipeReader // b reads what a writes
	aw *io.PipeWriter
}

func newPipes() *pipes {
	p := &pipes{}
	p.ar, p.bw = io.Pipe()
	p.br, p.aw = io.Pipe()
	return p
}

func (p *pipes) close() {
	p.ar.Close()
	p.br.Close()
	p.aw.Close()
	p.bw.Close()
}

// syncPair runs one session, a initiating, over w wrappers (nil for
// plain pipes) and returns both results.
func syncPair(t testing.TB, a, b *peer, wrap func(io.Writer) io.Writer) (ra, rb session.Result, ea, eb error) {
	t.Helper()
	p := newPipes()
	defer p.close()
	var aw, bw io.Writer = p.aw, p.bw
	if wrap != nil {
		aw, bw = wrap(p.aw), wrap(p.bw)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ra, ea = a.eng.Initiate(context.Background(), p.ar, closer{aw, p.aw}, b.st.Node())
	}()
	rb, eb = b.eng.Respond(context.Background(), p.br, closer{bw, p.bw}, a.st.Node())
	if eb != nil {
		p.close()
	}
	wg.Wait()
	return ra, rb, ea, eb
}

// closer is a writer whose Close closes the pipe under it.
type closer struct {
	io.Writer
	c io.Closer
}

func (c closer) Close() error { return c.c.Close() }

// mustSync runs a session that must succeed.
func mustSync(t testing.TB, a, b *peer) (session.Result, session.Result) {
	t.Helper()
	ra, rb, ea, eb := syncPair(t, a, b, nil)
	if ea != nil || eb != nil {
		t.Fatalf("sync %s -> %s: initiator: %v; responder: %v", a.st.Node(), b.st.Node(), ea, eb)
	}
	return ra, rb
}

// dump returns every record of the test collections, as readers see them.
func dump(t testing.TB, st *store.Store) map[string]crdt.View {
	t.Helper()
	out := map[string]crdt.View{}
	for _, coll := range collections {
		views, err := st.List(coll, "", 100000)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		for _, v := range views {
			out[coll+"/"+v.ID] = v.View
		}
	}
	return out
}

// sameState fails unless the stores hold the same vector and records.
func sameState(t testing.TB, stores ...*store.Store) {
	t.Helper()
	v0, d0 := stores[0].Vector(), dump(t, stores[0])
	for _, st := range stores[1:] {
		if v := st.Vector(); !reflect.DeepEqual(v, v0) {
			t.Fatalf("vectors differ: %s has %s, %s has %s", stores[0].Node(), v0, st.Node(), v)
		}
		if d := dump(t, st); !reflect.DeepEqual(d, d0) {
			t.Fatalf("records differ between %s and %s", stores[0].Node(), st.Node())
		}
	}
	if stores[0].LogLen() == 0 {
		t.Fatal("nothing was written")
	}
}

func sum(v crdt.Vector) (n uint64) {
	for _, s := range v {
		n += s
	}
	return n
}
