package store

import (
	"context"
	"slices"
	"sync"
	"testing"

	"carenode/crdt"
)

// recorder collects what a watcher is told.
type recorder struct {
	mu  sync.Mutex
	got [][]Changed
}

func (r *recorder) fn(c []Changed) {
	r.mu.Lock()
	r.got = append(r.got, slices.Clone(c))
	r.mu.Unlock()
}

func (r *recorder) take() [][]Changed {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.got
	r.got = nil
	return g
}

// TestWatchSeesEveryKindOfCommit checks that local writes, WriteAll and
// remote batches each tell the watcher the records they changed, once
// each and sorted, that a refused write tells nothing, and that stop
// ends the telling.
func TestWatchSeesEveryKindOfCommit(t *testing.T) {
	a := openTest(t, "nodea")
	b := openTest(t, "nodeb")
	var rec recorder
	stop := b.Watch(rec.fn)

	mustWrite(t, b, WriteRequest{Collection: "tasks", Record: "t1", Create: true, Edits: []Edit{set("due", `"2026-11-24"`)}})
	if got, want := rec.take(), [][]Changed{{{"tasks", "t1", false}}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("local write told %v, want %v", got, want)
	}

	if _, err := b.Write(context.Background(), WriteRequest{Collection: "tasks", Record: "t1", Create: true, Edits: []Edit{set("due", `"x"`)}}); err == nil {
		t.Fatal("creating t1 twice succeeded")
	}
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("refused write told %v", got)
	}

	if _, err := b.WriteAll(context.Background(), []WriteRequest{
		{Collection: "tasks", Record: "t3", Create: true, Edits: []Edit{set("due", `"a"`)}},
		{Collection: "plans", Record: "p1", Create: true, Edits: []Edit{set("x", `"b"`)}},
		{Collection: "tasks", Record: "t3", Edits: []Edit{set("due", `"c"`)}},
	}); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.take(), [][]Changed{{{"plans", "p1", false}, {"tasks", "t3", false}}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("WriteAll told %v, want %v", got, want)
	}

	for _, id := range []string{"t9", "t8", "t9"} {
		mustWrite(t, a, WriteRequest{Collection: "tasks", Record: id, Edits: []Edit{set("due", `"r"`)}})
	}
	page, err := a.ChangesAfter(crdt.Vector{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.ApplyRemote(page.Changes); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.take(), [][]Changed{{{"tasks", "t8", true}, {"tasks", "t9", true}}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("remote batch told %v, want %v", got, want)
	}
	// The same batch again holds nothing new, so tells nothing.
	if _, err := b.ApplyRemote(page.Changes); err != nil {
		t.Fatal(err)
	}
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("duplicate batch told %v", got)
	}

	stop()
	mustWrite(t, b, WriteRequest{Collection: "tasks", Record: "t1", Edits: []Edit{set("due", `"z"`)}})
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("stopped watcher was told %v", got)
	}
}
