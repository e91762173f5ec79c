package node

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/node/chart"
	"carenode/node/store"
)

func openFollowStore(t *testing.T, node crdt.NodeID) *store.Store {
	t.Helper()
	opts := store.DefaultOptions(filepath.Join(t.TempDir(), string(node)+".db"), node)
	opts.Create = true
	opts.Logger = slog.New(slog.DiscardHandler)
	s, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestFollowerReindexesRemotePatients checks that patient records arriving
// from a peer are handed to the reindexer, and that local writes and other
// collections are not (the chart service indexes its own writes).
func TestFollowerReindexesRemotePatients(t *testing.T) {
	a, b := openFollowStore(t, "nodea"), openFollowStore(t, "nodeb")
	var mu sync.Mutex
	var got []string
	f := newFollower(b, func(ids []string) error {
		mu.Lock()
		got = append(got, ids...)
		mu.Unlock()
		return nil
	}, func(err error) { t.Error(err) })
	defer f.Close()

	ctx := context.Background()
	edit := []store.Edit{{Kind: crdt.MutSet, Field: "x", Value: []byte(`1`)}}
	for _, w := range []store.WriteRequest{
		{Collection: chart.Collection, Record: "p1", Edits: edit},
		{Collection: chart.Collection, Record: "p2", Edits: edit},
		{Collection: "tasks", Record: "t1", Edits: edit},
	} {
		if _, err := a.Write(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Write(ctx, store.WriteRequest{Collection: chart.Collection, Record: "local", Edits: edit}); err != nil {
		t.Fatal(err)
	}
	page, err := a.ChangesAfter(crdt.Vector{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.ApplyRemote(page.Changes); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		ids := slices.Sorted(slices.Values(got))
		mu.Unlock()
		if slices.Equal(ids, []string{"p1", "p2"}) {
			break
		}
		if len(ids) > 2 || time.Now().After(deadline) {
			t.Fatalf("reindexed %v, want [p1 p2]", ids)
		}
		time.Sleep(5 * time.Millisecond)
	}
	f.Close()
	f.Close() // twice is harmless: Node.Close may run after a failed Serve
}
