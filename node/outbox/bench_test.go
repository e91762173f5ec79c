package outbox_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"carenode/crdt"
	"carenode/node/outbox"
	"carenode/node/store"
)

// BenchmarkTickAfterHistory measures a tick on a node whose outbox holds
// n finished messages and nothing due: the pending set keeps the tick
// from reading them.
func BenchmarkTickAfterHistory(b *testing.B) {
	for _, n := range []int{100, 2000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			opts := store.DefaultOptions(filepath.Join(b.TempDir(), "carenode.db"), crdt.NodeID("nodeA"))
			opts.Create, opts.NoSync, opts.Logger = true, true, quiet()
			st, err := store.Open(opts)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			bx := newBoxOn(b, st)
			ctx := context.Background()
			for i := range n {
				bx.queue(b, reminder(fmt.Sprintf("k%d", i), "p1"))
			}
			bx.tick(b, at(0, 9, 0))
			if len(bx.sender.Sent()) != n {
				b.Fatalf("sent %d of %d", len(bx.sender.Sent()), n)
			}
			bx.tick(b, at(0, 9, 1)) // reads once the records its own sends changed, and forgets them
			b.ResetTimer()
			for b.Loop() {
				if _, err := bx.svc.Tick(ctx, at(0, 10, 0)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkQueue measures queueing one message (seal and one store write,
// without fsync).
func BenchmarkQueue(b *testing.B) {
	opts := store.DefaultOptions(filepath.Join(b.TempDir(), "carenode.db"), crdt.NodeID("nodeA"))
	opts.Create, opts.NoSync, opts.Logger = true, true, quiet()
	st, err := store.Open(opts)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	bx := newBoxOn(b, st)
	i := 0
	for b.Loop() {
		bx.queue(b, reminder(fmt.Sprintf("k%d", i), "p1"))
		i++
	}
}

func newBoxOn(t testing.TB, st *store.Store) *box {
	t.Helper()
	bx := newBox(t, "nodeA")
	cfg := outbox.DefaultConfig("nodeA")
	cfg.Location = shanghai
	svc, err := outbox.New(cfg, outbox.Deps{Records: st, Patients: bx.patients, Sender: bx.sender, Now: bx.clock.Now, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	svc.Unlock(newSealer(t))
	bx.svc, bx.store = svc, st
	return bx
}
