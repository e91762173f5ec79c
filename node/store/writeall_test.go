package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"carenode/crdt"
)

func setReq(coll, id, field, value string, create bool) WriteRequest {
	return WriteRequest{Collection: coll, Record: id, Create: create,
		Edits: []Edit{{Kind: crdt.MutSet, Field: field, Value: []byte(`"` + value + `"`)}}}
}

func TestWriteAllIsAtomic(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db")
	s := openAt(t, path, "N1")
	if _, err := s.Write(ctx, setReq("p", "taken", "name", "x", true)); err != nil {
		t.Fatal(err)
	}
	before := s.LogLen()

	// One request fails (its record exists): nothing of the batch lands.
	_, err := s.WriteAll(ctx, []WriteRequest{setReq("p", "a", "name", "a", true), setReq("p", "taken", "name", "y", true), setReq("a", "a.1", "f", "z", false)})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("WriteAll with a taken id: err = %v, want ErrExists", err)
	}
	if _, err := s.Get("p", "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("record of a failed WriteAll exists: %v", err)
	}
	if s.LogLen() != before {
		t.Fatalf("log grew from %d to %d after a failed WriteAll", before, s.LogLen())
	}

	// A good batch lands whole, with gap-free sequence numbers that later
	// writes continue.
	res, err := s.WriteAll(ctx, []WriteRequest{setReq("p", "a", "name", "a", true), setReq("p", "b", "name", "b", true), setReq("audit", "a.1", "f", "z", false)})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if want := uint64(2 + i); r.Change.Seq != want {
			t.Errorf("result %d: seq %d, want %d", i, r.Change.Seq, want)
		}
	}
	next, err := s.Write(ctx, setReq("p", "c", "name", "c", true))
	if err != nil || next.Change.Seq != 5 {
		t.Fatalf("write after WriteAll: seq %d err %v, want 5", next.Change.Seq, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path, "N1")
	for _, id := range []string{"a", "b", "c"} {
		if _, err := s.Get("p", id); err != nil {
			t.Errorf("after reopen, %s: %v", id, err)
		}
	}
	page, err := s.ChangesAfter(crdt.Vector{}, 100)
	if err != nil || len(page.Changes) != 5 {
		t.Fatalf("ChangesAfter: %d changes, err %v; want 5", len(page.Changes), err)
	}
}
