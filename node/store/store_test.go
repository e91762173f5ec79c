package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"carenode/crdt"
)

// openTest opens a fresh store under t.TempDir and closes it at cleanup.
func openTest(t testing.TB, node crdt.NodeID) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "carenode.db"), node)
}

func openAt(t testing.TB, path string, node crdt.NodeID) *Store {
	t.Helper()
	return openOpts(t, path, node, nil)
}

// openOpts is openAt with edit changing the test options first.
func openOpts(t testing.TB, path string, node crdt.NodeID, edit func(*Options)) *Store {
	t.Helper()
	opts := DefaultOptions(path, node)
	opts.Create = true
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.Important = func(coll, field string) bool { return field == "phone" }
	if edit != nil {
		edit(&opts)
	}
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func set(field, value string) Edit {
	return Edit{Kind: crdt.MutSet, Field: field, Value: []byte(value), SeenCurrent: true}
}

func mustWrite(t testing.TB, s *Store, req WriteRequest) WriteResult {
	t.Helper()
	res, err := s.Write(context.Background(), req)
	if err != nil {
		t.Fatalf("write %+v: %v", req, err)
	}
	return res
}

func field(t testing.TB, v RecordView, name string) string {
	t.Helper()
	f, ok := v.Fields[name]
	if !ok {
		t.Fatalf("record %s has no field %q", v.ID, name)
	}
	return string(f.Value)
}

func TestWriteReopenRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carenode.db")
	s := openAt(t, path, "NODEA")
	mustWrite(t, s, WriteRequest{Collection: "patients", Record: "p1", Create: true, Edits: []Edit{set("name", `"张三"`), set("phone", `"13800000000"`)}})
	mustWrite(t, s, WriteRequest{Collection: "patients", Record: "p1", MustExist: true, Edits: []Edit{
		set("phone", `"13900000000"`), {Kind: crdt.MutAdd, Field: "allergies", Elem: "penicillin"}}})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openAt(t, path, "NODEA")
	v, err := s2.Get("patients", "p1")
	if err != nil {
		t.Fatal(err)
	}
	if got := field(t, v, "phone"); got != `"13900000000"` {
		t.Errorf("phone = %s, want the second write", got)
	}
	if len(v.Fields["phone"].Conflict) != 0 {
		t.Errorf("sequential writes made a conflict: %+v", v.Fields["phone"].Conflict)
	}
	if got := v.Sets["allergies"]; len(got) != 1 || got[0] != "penicillin" {
		t.Errorf("allergies = %v", got)
	}
	if got := s2.Vector()["NODEA"]; got != 2 {
		t.Errorf("vector[NODEA] = %d, want 2", got)
	}
	if got := s2.LogLen(); got != 2 {
		t.Errorf("log length = %d, want 2", got)
	}
	// The next write continues the sequence and the clock after a restart.
	res := mustWrite(t, s2, WriteRequest{Collection: "patients", Record: "p1", Edits: []Edit{set("name", `"张三丰"`)}})
	if res.Change.Seq != 3 {
		t.Errorf("seq after reopen = %d, want 3", res.Change.Seq)
	}
	if !v.Updated.Less(res.Change.Stamp) {
		t.Errorf("stamp after reopen %s not after %s", res.Change.Stamp, v.Updated)
	}
}

func TestWriteErrors(t *testing.T) {
	s := openTest(t, "NODEA")
	mustWrite(t, s, WriteRequest{Collection: "c", Record: "a", Create: true})
	mustWrite(t, s, WriteRequest{Collection: "c", Record: "b", Create: true})
	tests := []struct {
		name string
		req  WriteRequest
		want error
	}{
		{"create existing", WriteRequest{Collection: "c", Record: "a", Create: true}, ErrExists},
		{"update missing", WriteRequest{Collection: "c", Record: "zz", MustExist: true, Edits: []Edit{set("x", "1")}}, ErrNotFound},
		{"bad collection", WriteRequest{Collection: "a/b", Record: "a", Edits: []Edit{set("x", "1")}}, ErrInvalid},
		{"bad record", WriteRequest{Collection: "c", Record: "", Edits: []Edit{set("x", "1")}}, ErrInvalid},
		{"bad field", WriteRequest{Collection: "c", Record: "a", Edits: []Edit{set("x y", "1")}}, ErrInvalid},
		{"no edits", WriteRequest{Collection: "c", Record: "a"}, ErrInvalid},
		{"field twice", WriteRequest{Collection: "c", Record: "a", Edits: []Edit{set("x", "1"), set("x", "2")}}, ErrInvalid},
		{"merge into self", WriteRequest{Collection: "c", Record: "a", Edits: []Edit{{Kind: crdt.MutMerge, Into: "a"}}}, ErrInvalid},
		{"merge into missing", WriteRequest{Collection: "c", Record: "a", Edits: []Edit{{Kind: crdt.MutMerge, Into: "nope"}}}, ErrNotFound},
		{"unknown kind", WriteRequest{Collection: "c", Record: "a", Edits: []Edit{{Kind: 99}}}, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Write(context.Background(), tc.req)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// Failed writes consumed no sequence numbers and stored nothing.
	if got := s.Vector()["NODEA"]; got != 2 {
		t.Errorf("vector after failed writes = %d, want 2", got)
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Records["c"] != 2 || st.LogLen != 2 {
		t.Errorf("stats after failed writes = %+v", st)
	}
}

// countingObserver records the group commit sizes.
type countingObserver struct {
	mu      sync.Mutex
	commits int
	writes  int
	maxN    int
}

func (o *countingObserver) Committed(n int, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.commits++
	o.writes += n
	o.maxN = max(o.maxN, n)
}
func (o *countingObserver) Applied(int, int, time.Duration) {}
func (o *countingObserver) LogLength(uint64)                {}
func (o *countingObserver) ClockSkew(crdt.SkewEvent)        {}

func TestConcurrentWritesGroupCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carenode.db")
	opts := DefaultOptions(path, "NODEA")
	opts.Create = true
	obs := &countingObserver{}
	opts.Observer = obs
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 64, 20
	var wg sync.WaitGroup
	seqs := make(chan uint64, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				res, err := s.Write(context.Background(), WriteRequest{Collection: "c", Record: fmt.Sprintf("r%d-%d", w, i), Create: true,
					Edits: []Edit{set("n", fmt.Sprint(i))}})
				if err != nil {
					t.Error(err)
					return
				}
				seqs <- res.Change.Seq
			}
		}()
	}
	wg.Wait()
	close(seqs)
	seen := map[uint64]bool{}
	for q := range seqs {
		if seen[q] {
			t.Fatalf("sequence %d given twice", q)
		}
		seen[q] = true
	}
	for q := uint64(1); q <= writers*each; q++ {
		if !seen[q] {
			t.Fatalf("sequence %d missing: sequences must have no gaps", q)
		}
	}
	if obs.writes != writers*each {
		t.Errorf("observer saw %d writes, want %d", obs.writes, writers*each)
	}
	if obs.maxN < 2 {
		t.Errorf("64 concurrent writers never shared a transaction (max batch %d)", obs.maxN)
	}
	t.Logf("%d writes in %d commits, largest %d", obs.writes, obs.commits, obs.maxN)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openAt(t, path, "NODEA")
	st, err := s2.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Records["c"] != writers*each || st.LogLen != writers*each || st.Vector["NODEA"] != writers*each {
		t.Errorf("after reopen: %+v", st)
	}
}

func TestCloseFlushesQueuedWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carenode.db")
	s := openAt(t, path, "NODEA")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var acked []string
	firstAck := make(chan struct{})
	var once sync.Once
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("r%d", i)
			if _, err := s.Write(context.Background(), WriteRequest{Collection: "c", Record: id, Create: true}); err == nil {
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
				once.Do(func() { close(firstAck) })
			} else if !errors.Is(err, ErrClosed) {
				t.Error(err)
			}
		}()
	}
	// Close while the other writers are still queueing, once one write has
	// been acknowledged, so the check below has something to check.
	<-firstAck
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	s2 := openAt(t, path, "NODEA")
	for _, id := range acked {
		if _, err := s2.Get("c", id); err != nil {
			t.Errorf("acknowledged write %s lost: %v", id, err)
		}
	}
	st, err := s2.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Records["c"] != uint64(len(acked)) {
		t.Errorf("%d records stored, %d acknowledged: a write was stored without its acknowledgement or the reverse", st.Records["c"], len(acked))
	}
	if _, err := s.Write(context.Background(), WriteRequest{Collection: "c", Record: "late", Create: true}); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v, want ErrClosed", err)
	}
}

// allChanges reads every change a store holds.
func allChanges(t testing.TB, s *Store) []crdt.Change {
	t.Helper()
	var out []crdt.Change
	after := crdt.Vector{}
	for {
		page, err := s.ChangesAfter(after, 7)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Changes...)
		after = page.Next
		if !page.More {
			return out
		}
	}
}

func TestApplyRemoteIdempotentAndOutOfOrder(t *testing.T) {
	a := openTest(t, "NODEA")
	b := openTest(t, "NODEB")
	for i := range 20 {
		mustWrite(t, a, WriteRequest{Collection: "c", Record: fmt.Sprintf("r%d", i%5), Edits: []Edit{set("n", fmt.Sprint(i)), {Kind: crdt.MutAdd, Field: "tags", Elem: fmt.Sprint(i)}}})
	}
	mustWrite(t, b, WriteRequest{Collection: "c", Record: "r0", Edits: []Edit{set("n", "b")}})
	changes := allChanges(t, a)
	if len(changes) != 20 {
		t.Fatalf("ChangesAfter paged %d changes, want 20", len(changes))
	}
	// Second half first: the vector must wait at the gap.
	res, err := b.ApplyRemote(changes[10:])
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied != 10 || res.Vector["NODEA"] != 0 {
		t.Fatalf("after second half: %+v, want 10 applied and vector 0 (gap)", res)
	}
	res, err = b.ApplyRemote(changes[:12])
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied != 10 || res.Duplicates != 2 || res.Vector["NODEA"] != 20 {
		t.Fatalf("after first half: %+v, want 10 applied, 2 dups, vector 20", res)
	}
	res, err = b.ApplyRemote(changes)
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied != 0 || res.Duplicates != 20 {
		t.Fatalf("re-apply: %+v, want all duplicates", res)
	}
	if got := b.LogLen(); got != 21 {
		t.Errorf("log length = %d, want 21", got)
	}
	// Now send b's change to a: both must show the same records.
	if _, err := a.ApplyRemote(allChanges(t, b)); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		id := fmt.Sprintf("r%d", i)
		va, err := a.Get("c", id)
		if err != nil {
			t.Fatal(err)
		}
		vb, err := b.Get("c", id)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(va.View) != fmt.Sprint(vb.View) {
			t.Errorf("record %s differs:\nA %+v\nB %+v", id, va.View, vb.View)
		}
	}
}

func TestApplyRemoteRefusesInvalidBatchWhole(t *testing.T) {
	a := openTest(t, "NODEA")
	b := openTest(t, "NODEB")
	mustWrite(t, a, WriteRequest{Collection: "c", Record: "r", Create: true, Edits: []Edit{set("n", "1")}})
	good := allChanges(t, a)
	bad := good[0]
	bad.Seq = 2
	bad.Stamp.Node = "NODEX" // forged: stamp not made by the origin
	if _, err := b.ApplyRemote([]crdt.Change{good[0], bad}); !errors.Is(err, crdt.ErrInvalidChange) {
		t.Fatalf("err = %v, want ErrInvalidChange", err)
	}
	if b.LogLen() != 0 {
		t.Errorf("an invalid batch stored %d changes", b.LogLen())
	}
}

func TestSkewedRemoteClockKeptNotFollowed(t *testing.T) {
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "b.db")
	opts := DefaultOptions(path, "NODEB")
	opts.Create = true
	opts.Now = func() time.Time { return now }
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	future := now.Add(24 * time.Hour).UnixMilli()
	c := crdt.Change{Origin: "NODEA", Seq: 1, Stamp: crdt.Stamp{Wall: future, Node: "NODEA"}, Collection: "c", Record: "r",
		Muts: []crdt.Mutation{{Kind: crdt.MutSet, Field: "n", Value: []byte("1")}}}
	res, err := b.ApplyRemote([]crdt.Change{c})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skew) != 1 || res.Applied != 1 {
		t.Fatalf("result %+v, want the change applied and one skew event", res)
	}
	w := mustWrite(t, b, WriteRequest{Collection: "c", Record: "r", Edits: []Edit{set("n", "2")}})
	if limit := now.Add(crdt.DefaultMaxSkew).UnixMilli(); w.Change.Stamp.Wall > limit {
		t.Errorf("local stamp %s followed the remote clock past now+skew", w.Change.Stamp)
	}
	v, err := b.Get("c", "r")
	if err != nil {
		t.Fatal(err)
	}
	// The local write saw the future value, so it replaced it.
	if got := field(t, v, "n"); got != "2" {
		t.Errorf("n = %s, want 2", got)
	}
}

func TestConcurrentImportantFieldConflict(t *testing.T) {
	a := openTest(t, "NODEA")
	b := openTest(t, "NODEB")
	mustWrite(t, a, WriteRequest{Collection: "p", Record: "x", Create: true, Edits: []Edit{set("phone", `"1"`), set("note", `"n"`)}})
	if _, err := b.ApplyRemote(allChanges(t, a)); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, a, WriteRequest{Collection: "p", Record: "x", Edits: []Edit{set("phone", `"2"`), set("note", `"a"`)}})
	mustWrite(t, b, WriteRequest{Collection: "p", Record: "x", Edits: []Edit{set("phone", `"3"`), set("note", `"b"`)}})
	exchange(t, a, b)
	va, _ := a.Get("p", "x")
	vb, _ := b.Get("p", "x")
	if len(va.Fields["phone"].Conflict) != 2 {
		t.Fatalf("phone conflict on A = %+v, want 2 values", va.Fields["phone"])
	}
	if fmt.Sprint(va.Fields["phone"]) != fmt.Sprint(vb.Fields["phone"]) {
		t.Errorf("conflict differs between nodes:\n%+v\n%+v", va.Fields["phone"], vb.Fields["phone"])
	}
	if len(va.Fields["note"].Conflict) != 0 || len(va.Fields["note"].Seen) != 2 {
		t.Errorf("unimportant field should show one value and keep both: %+v", va.Fields["note"])
	}
	// Resolving on B with everything seen clears it everywhere.
	mustWrite(t, b, WriteRequest{Collection: "p", Record: "x", Edits: []Edit{set("phone", `"4"`)}})
	exchange(t, a, b)
	va, _ = a.Get("p", "x")
	if f := va.Fields["phone"]; len(f.Conflict) != 0 || string(f.Value) != `"4"` {
		t.Errorf("after resolve on A: %+v", f)
	}
}

func exchange(t testing.TB, a, b *Store) {
	t.Helper()
	for _, pair := range [][2]*Store{{a, b}, {b, a}} {
		page, err := pair[0].ChangesAfter(pair[1].Vector(), 100000)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pair[1].ApplyRemote(page.Changes); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMergeConcurrentAcrossNodes(t *testing.T) {
	a := openTest(t, "NODEA")
	b := openTest(t, "NODEB")
	mustWrite(t, a, WriteRequest{Collection: "p", Record: "x", Create: true, Edits: []Edit{set("name", `"王芳"`), {Kind: crdt.MutAdd, Field: "allergies", Elem: "penicillin"}}})
	mustWrite(t, b, WriteRequest{Collection: "p", Record: "y", Create: true, Edits: []Edit{set("name", `"王芳"`), {Kind: crdt.MutAdd, Field: "diagnoses", Elem: "I10"}}})
	exchange(t, a, b)
	mustWrite(t, a, WriteRequest{Collection: "p", Record: "x", Edits: []Edit{{Kind: crdt.MutMerge, Into: "y"}}})
	mustWrite(t, b, WriteRequest{Collection: "p", Record: "y", Edits: []Edit{{Kind: crdt.MutMerge, Into: "x"}}})
	// A change to the merged-away record made before hearing of the merge.
	mustWrite(t, b, WriteRequest{Collection: "p", Record: "x", Edits: []Edit{{Kind: crdt.MutAdd, Field: "allergies", Elem: "sulfa"}}})
	exchange(t, a, b)
	va, err := a.Get("p", "x")
	if err != nil {
		t.Fatal(err)
	}
	vb, err := b.Get("p", "y")
	if err != nil {
		t.Fatal(err)
	}
	if va.ID != vb.ID || len(va.Merged) != 1 {
		t.Fatalf("survivors differ or merge missing: A %s %v, B %s %v", va.ID, va.Merged, vb.ID, vb.Merged)
	}
	want := "[penicillin sulfa]"
	if got := fmt.Sprint(va.Sets["allergies"]); got != want {
		t.Errorf("allergies on survivor = %s, want %s", got, want)
	}
	if got := fmt.Sprint(va.Sets["diagnoses"]); got != "[I10]" {
		t.Errorf("diagnoses on survivor = %s", got)
	}
	list, err := a.List("p", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Errorf("list shows %d records, want the survivor only", len(list))
	}
}

func TestOpenDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	s := openAt(t, good, "NODEA")
	for i := range 300 {
		mustWrite(t, s, WriteRequest{Collection: "c", Record: fmt.Sprintf("r%d", i), Create: true, Edits: []Edit{set("pad", fmt.Sprintf("%q", bytes.Repeat([]byte("x"), 200)))}})
	}
	s.Close()
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	zeroed := append([]byte(nil), data...)
	clear(zeroed[:8192])
	// How far the pages reach (the file is longer: bbolt grows it ahead).
	var used int
	if db, err := bolt.Open(good, 0o600, &bolt.Options{ReadOnly: true}); err != nil {
		t.Fatal(err)
	} else {
		db.View(func(tx *bolt.Tx) error { used = int(tx.Size()); return nil })
		db.Close()
	}
	plainBolt := filepath.Join(dir, "plain.db")
	db, err := bolt.Open(plainBolt, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
	db.Close()
	tests := []struct {
		name string
		path string
		node crdt.NodeID
		want error
	}{
		{"garbage", write("garbage.db", bytes.Repeat([]byte("not a database "), 1000)), "NODEA", ErrCorrupt},
		{"empty", write("empty.db", nil), "NODEA", nil},
		{"truncated", write("trunc.db", data[:used/3]), "NODEA", ErrCorrupt},
		// Cut at a page boundary, the file still opens in bbolt; only
		// reads and commits that reach the lost pages fail (with a panic).
		{"truncated at a page boundary", write("trunc-page.db", data[:used/4096/2*4096]), "NODEA", ErrCorrupt},
		{"last page cut", write("trunc-one.db", data[:used-4096]), "NODEA", ErrCorrupt},
		{"shorter than a page", write("trunc-4095.db", data[:4095]), "NODEA", ErrCorrupt},
		{"one page", write("trunc-4096.db", data[:4096]), "NODEA", ErrCorrupt},
		{"one byte", write("trunc-1.db", data[:1]), "NODEA", ErrCorrupt},
		{"meta pages zeroed", write("zeroed.db", zeroed), "NODEA", ErrCorrupt},
		{"other bbolt file", plainBolt, "NODEA", ErrNotCarenode},
		{"other node", good, "NODEB", ErrWrongNode},
		{"missing", filepath.Join(dir, "missing.db"), "NODEA", os.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultOptions(tc.path, tc.node)
			s, err := Open(opts)
			if err == nil && tc.want == nil {
				err = s.Check()
			}
			if s != nil {
				s.Close()
			}
			if err == nil {
				t.Fatal("opened a damaged file without error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			t.Logf("%s: %v", tc.name, err)
		})
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carenode.db")
	openAt(t, path, "NODEA")
	opts := DefaultOptions(path, "NODEA")
	opts.LockTimeout = 50 * time.Millisecond
	if _, err := Open(opts); !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
}

func TestSchemaTooNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carenode.db")
	s := openAt(t, path, "NODEA")
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, u64(SchemaVersion+1)) })
	db.Close()
	if _, err := Open(DefaultOptions(path, "NODEA")); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("err = %v, want ErrSchemaTooNew", err)
	}
}

func TestBackupWhileWriting(t *testing.T) {
	s := openTest(t, "NODEA")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			s.Write(ctx, WriteRequest{Collection: "c", Record: fmt.Sprintf("r%d", i), Create: true})
		}
	}()
	for range 50 {
		mustWrite(t, s, WriteRequest{Collection: "c", Record: "x", Edits: []Edit{set("n", "1")}})
	}
	out := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Backup(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cancel()
	wg.Wait()
	opts := DefaultOptions(out, "NODEA")
	opts.ReadOnly = true
	b, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Check(); err != nil {
		t.Fatal(err)
	}
	st, err := b.Stats()
	if err != nil {
		t.Fatal(err)
	}
	// The copy is one consistent moment: log length equals the vector.
	if st.LogLen != st.Vector["NODEA"] || st.LogLen < 50 {
		t.Errorf("backup inconsistent: %+v", st)
	}
}

// TestGapSurvivesReopen checks the in-memory "highest sequence held" mirror
// that lets ApplyRemote skip log lookups: changes held past a gap must be
// found after a restart, the vector must advance over them once the gap
// fills, and a change sent twice in one batch must be stored once.
func TestGapSurvivesReopen(t *testing.T) {
	a := openTest(t, "NODEA")
	for i := range 12 {
		mustWrite(t, a, WriteRequest{Collection: "c", Record: fmt.Sprintf("r%d", i%3), Edits: []Edit{set("n", fmt.Sprint(i))}})
	}
	changes := allChanges(t, a)
	path := filepath.Join(t.TempDir(), "b.db")
	b := openAt(t, path, "NODEB")
	if _, err := b.ApplyRemote(changes[6:9]); err != nil { // 7..9, ahead of a gap
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = openAt(t, path, "NODEB")
	res, err := b.ApplyRemote([]crdt.Change{changes[7], changes[7], changes[10]}) // 8 again, 11 twice-less, ahead
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied != 1 || res.Duplicates != 2 || res.Vector["NODEA"] != 0 {
		t.Fatalf("after reopen: %+v, want 1 applied (11), 2 duplicates (8, 8), vector 0", res)
	}
	res, err = b.ApplyRemote([]crdt.Change{changes[2], changes[0], changes[1], changes[0], changes[3], changes[4], changes[5]})
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied != 6 || res.Duplicates != 1 || res.Vector["NODEA"] != 9 {
		t.Fatalf("gap filled: %+v, want 6 applied, 1 duplicate, vector 9 (10 still missing)", res)
	}
	res, err = b.ApplyRemote(changes)
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied != 2 || res.Vector["NODEA"] != 12 || b.LogLen() != 12 {
		t.Fatalf("all sent: %+v, log %d, want 2 applied (10, 12), vector 12, log 12", res, b.LogLen())
	}
	// Local writes on b after all this still number from b's own vector.
	if w := mustWrite(t, b, WriteRequest{Collection: "c", Record: "r0", Edits: []Edit{set("n", "b")}}); w.Change.Seq != 1 {
		t.Errorf("b's first own change has seq %d, want 1", w.Change.Seq)
	}
}

// TestMergesCacheFollowsWrites checks that reads see a merge as soon as it
// is written, though the store keeps decoded merges between reads.
func TestMergesCacheFollowsWrites(t *testing.T) {
	s := openTest(t, "NODEA")
	for _, id := range []string{"x", "y", "z"} {
		mustWrite(t, s, WriteRequest{Collection: "p", Record: id, Create: true, Edits: []Edit{set("name", `"`+id+`"`)}})
	}
	if v, err := s.Get("p", "x"); err != nil || v.ID != "x" || len(v.Merged) != 0 {
		t.Fatalf("before merge: %+v %v", v, err)
	}
	mustWrite(t, s, WriteRequest{Collection: "p", Record: "x", Edits: []Edit{{Kind: crdt.MutMerge, Into: "y"}}})
	if v, err := s.Get("p", "x"); err != nil || v.ID != "y" || fmt.Sprint(v.Merged) != "[x]" {
		t.Fatalf("after merge x->y: %+v %v", v, err)
	}
	// A write to the merged-away id lands on the survivor.
	if w := mustWrite(t, s, WriteRequest{Collection: "p", Record: "x", Edits: []Edit{set("phone", `"1"`)}}); w.Record != "y" {
		t.Errorf("write to x went to %s, want y", w.Record)
	}
	mustWrite(t, s, WriteRequest{Collection: "p", Record: "y", Edits: []Edit{{Kind: crdt.MutMerge, Into: "z"}}})
	v, err := s.Get("p", "x")
	if err != nil || v.ID != "z" || fmt.Sprint(v.Merged) != "[x y]" {
		t.Fatalf("after merge y->z: %+v %v", v, err)
	}
	if got := field(t, v, "phone"); got != `"1"` {
		t.Errorf("phone on survivor = %s", got)
	}
	list, err := s.List("p", "", 10)
	if err != nil || len(list) != 1 || list[0].ID != "z" {
		t.Errorf("list = %+v %v, want z only", list, err)
	}
}

// TestFailedBatchLeavesNoTrace checks that a batch that fails part way
// changes nothing: not the file, and not any state kept in memory (the
// vector, the log length, decoded records a later write could build on).
func TestFailedBatchLeavesNoTrace(t *testing.T) {
	// A batch whose records are rewritten at once fails whole on a damaged
	// record; a batch that waits to be folded is stored (its records are
	// not read), and the fold that meets the damage fails whole, leaving the
	// changes waiting and readable.
	for _, foldNow := range []bool{true, false} {
		t.Run(fmt.Sprintf("foldNow=%v", foldNow), func(t *testing.T) {
			s := openOpts(t, filepath.Join(t.TempDir(), "carenode.db"), "NODEB", func(o *Options) {
				if foldNow {
					o.FoldAfter = -1
				}
			})
			mustWrite(t, s, WriteRequest{Collection: "p", Record: "x", Create: true, Edits: []Edit{set("name", `"x"`)}})
			// A damaged record y, put behind the store's back.
			if err := s.db.Update(func(tx *bolt.Tx) error {
				return tx.Bucket(bucketRecords).Bucket([]byte("p")).Put([]byte("y"), []byte{formatV1, 0xff})
			}); err != nil {
				t.Fatal(err)
			}
			stamp := func(n int64) crdt.Stamp { return crdt.Stamp{Wall: n, Node: "NODEA"} }
			batch := []crdt.Change{
				{Origin: "NODEA", Seq: 1, Stamp: stamp(1), Collection: "p", Record: "x", Muts: []crdt.Mutation{{Kind: crdt.MutAdd, Field: "tags", Elem: "ghost"}}},
				{Origin: "NODEA", Seq: 2, Stamp: stamp(2), Collection: "p", Record: "y", Muts: []crdt.Mutation{{Kind: crdt.MutAdd, Field: "tags", Elem: "y"}}},
			}
			_, err := s.ApplyRemote(batch)
			if !foldNow {
				if err != nil {
					t.Fatalf("waiting batch: %v", err)
				}
				if err := s.Fold(); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("fold: err = %v, want ErrCorrupt", err)
				}
				if s.LogLen() != 3 || s.Vector()["NODEA"] != 2 || s.pend.Load().len() != 2 {
					t.Fatalf("failed fold: log %d, vector %v, waiting %d", s.LogLen(), s.Vector(), s.pend.Load().len())
				}
				mustWrite(t, s, WriteRequest{Collection: "p", Record: "x", Edits: []Edit{set("phone", `"1"`)}})
				v, err := s.Get("p", "x")
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(v.Sets["tags"], []string{"ghost"}) || string(v.Fields["phone"].Value) != `"1"` {
					t.Errorf("x = %v / %s after a failed fold", v.Sets["tags"], v.Fields["phone"].Value)
				}
				return
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
			if s.LogLen() != 1 || s.Vector()["NODEA"] != 0 {
				t.Fatalf("failed batch left log %d, vector %v", s.LogLen(), s.Vector())
			}
			mustWrite(t, s, WriteRequest{Collection: "p", Record: "x", Edits: []Edit{set("phone", `"1"`)}})
			v, err := s.Get("p", "x")
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Sets["tags"]) != 0 {
				t.Errorf("x shows %v from the batch that failed", v.Sets["tags"])
			}
		})
	}
}

// TestCallerBuffersNotKept checks that the store does not hold on to the
// caller's value slices past the call: a caller may reuse its buffers once
// a call returns.
func TestCallerBuffersNotKept(t *testing.T) {
	s := openTest(t, "NODEB")
	buf := []byte(`"first"`)
	mustWrite(t, s, WriteRequest{Collection: "p", Record: "x", Edits: []Edit{{Kind: crdt.MutSet, Field: "name", Value: buf}}})
	remote := []byte(`"remote"`)
	if _, err := s.ApplyRemote([]crdt.Change{{Origin: "NODEA", Seq: 1, Stamp: crdt.Stamp{Wall: 1, Node: "NODEA"}, Collection: "p", Record: "x",
		Muts: []crdt.Mutation{{Kind: crdt.MutSet, Field: "note", Value: remote}}}}); err != nil {
		t.Fatal(err)
	}
	copy(buf, `"XXXXX"`)
	copy(remote, `"XXXXXX"`)
	mustWrite(t, s, WriteRequest{Collection: "p", Record: "x", Edits: []Edit{set("phone", `"1"`)}})
	v, err := s.Get("p", "x")
	if err != nil {
		t.Fatal(err)
	}
	if got := field(t, v, "name"); got != `"first"` {
		t.Errorf("name = %s, want the value as written", got)
	}
	if got := field(t, v, "note"); got != `"remote"` {
		t.Errorf("note = %s, want the value as applied", got)
	}
}

// TestRestoredNodeNewIncarnation: a node restored from an old backup must
// not reuse sequence numbers its peers already hold. After NewIncarnation
// its changes carry a fresh origin, so a peer that has the lost changes
// still takes the new ones.
func TestRestoredNodeNewIncarnation(t *testing.T) {
	dir := t.TempDir()
	a := openAt(t, filepath.Join(dir, "a.db"), "NODEA")
	peer := openTest(t, "NODEB")
	mustWrite(t, a, WriteRequest{Collection: "c", Record: "r1", Create: true, Edits: []Edit{set("n", "1")}})
	// The backup is taken here.
	var backup bytes.Buffer
	if _, err := a.Backup(&backup); err != nil {
		t.Fatal(err)
	}
	// A change after the backup reaches the peer, then the disk dies.
	mustWrite(t, a, WriteRequest{Collection: "c", Record: "r2", Create: true, Edits: []Edit{set("n", "lost")}})
	exchange(t, a, peer)
	a.Close()
	restoredPath := filepath.Join(dir, "restored.db")
	os.WriteFile(restoredPath, backup.Bytes(), 0o600)
	r := openAt(t, restoredPath, "NODEA")
	origin, err := r.NewIncarnation(bytes.NewReader(bytes.Repeat([]byte{7}, 5)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(origin), "NODEA.") || origin == "NODEA" || r.Origin() != origin {
		t.Fatalf("origin %q", origin)
	}
	res := mustWrite(t, r, WriteRequest{Collection: "c", Record: "r3", Create: true, Edits: []Edit{set("n", "new")}})
	if res.Change.Origin != origin || res.Change.Seq != 1 || res.Change.Stamp.Node != origin {
		t.Fatalf("change after restore: %+v", res.Change)
	}
	exchange(t, r, peer)
	for _, s := range []*Store{r, peer} {
		for _, id := range []string{"r1", "r2", "r3"} {
			if _, err := s.Get("c", id); err != nil {
				t.Errorf("%s on %s: %v", id, s.Node(), err)
			}
		}
	}
	// The origin survives a restart.
	r.Close()
	r2 := openAt(t, restoredPath, "NODEA")
	if r2.Origin() != origin {
		t.Errorf("origin after reopen %q, want %q", r2.Origin(), origin)
	}
	if res := mustWrite(t, r2, WriteRequest{Collection: "c", Record: "r4", Create: true}); res.Change.Seq != 2 {
		t.Errorf("seq after reopen %d, want 2", res.Change.Seq)
	}
}

// TestMergeArrivesBeforeSurvivor: "x merged into y" reaches a node before
// y's own record does. x must stay visible and writable, and show under y
// once y arrives.
func TestMergeArrivesBeforeSurvivor(t *testing.T) {
	a := openTest(t, "NODEA")
	b := openTest(t, "NODEB")
	mustWrite(t, a, WriteRequest{Collection: "p", Record: "x", Create: true, Edits: []Edit{set("name", `"李明"`)}})
	exchange(t, a, b)
	ys := mustWrite(t, a, WriteRequest{Collection: "p", Record: "y", Create: true, Edits: []Edit{set("phone", `"1"`)}})
	merge := mustWrite(t, a, WriteRequest{Collection: "p", Record: "x", Edits: []Edit{{Kind: crdt.MutMerge, Into: "y"}}})
	// Only the merge reaches B; y's creation is still in flight.
	if _, err := b.ApplyRemote([]crdt.Change{merge.Change}); err != nil {
		t.Fatal(err)
	}
	v, err := b.Get("p", "x")
	if err != nil {
		t.Fatalf("x hidden while its survivor is missing: %v", err)
	}
	if v.ID != "y" || field(t, v, "name") != `"李明"` {
		t.Errorf("view %+v", v)
	}
	list, err := b.List("p", "", 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("list while survivor missing: %d records, %v", len(list), err)
	}
	mustWrite(t, b, WriteRequest{Collection: "p", Record: "x", MustExist: true, Edits: []Edit{{Kind: crdt.MutAdd, Field: "allergies", Elem: "sulfa"}}})
	if _, err := b.ApplyRemote([]crdt.Change{ys.Change}); err != nil {
		t.Fatal(err)
	}
	v, err = b.Get("p", "x")
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != "y" || field(t, v, "phone") != `"1"` || field(t, v, "name") != `"李明"` || len(v.Sets["allergies"]) != 1 {
		t.Errorf("after y arrived: %+v", v)
	}
	if list, _ := b.List("p", "", 10); len(list) != 1 || list[0].ID != "y" {
		t.Errorf("list after y arrived: %+v", list)
	}
}

func TestClosedStoreAndHugeVector(t *testing.T) {
	s := openTest(t, "NODEA")
	mustWrite(t, s, WriteRequest{Collection: "c", Record: "r", Create: true})
	page, err := s.ChangesAfter(crdt.Vector{"NODEA": ^uint64(0)}, 10)
	if err != nil || len(page.Changes) != 0 || page.Next["NODEA"] != ^uint64(0) {
		t.Errorf("vector at the maximum sequence: %d changes, next %v, %v", len(page.Changes), page.Next, err)
	}
	s.Close()
	if _, err := s.Get("c", "r"); !errors.Is(err, ErrClosed) {
		t.Errorf("Get on a closed store: %v", err)
	}
	if _, err := s.ChangesAfter(crdt.Vector{}, 10); !errors.Is(err, ErrClosed) {
		t.Errorf("ChangesAfter on a closed store: %v", err)
	}
	if _, err := s.Stats(); !errors.Is(err, ErrClosed) {
		t.Errorf("Stats on a closed store: %v", err)
	}
}

// TestApplyRemoteBatchesMatchOneByOne checks that applying changes in large
// batches (records read, applied and encoded on several goroutines while
// the log is written) stores exactly what applying them one at a time does:
// the same record bytes, log, vector and counts. The batches repeat some
// changes, within a batch and across batches, and arrive out of order, so
// the vector waits at gaps.
func TestApplyRemoteBatchesMatchOneByOne(t *testing.T) {
	// Folding at once, and every few batches.
	for _, foldAfter := range []int{-1, 700} {
		t.Run(fmt.Sprintf("FoldAfter=%d", foldAfter), func(t *testing.T) { testBatchesMatchOneByOne(t, foldAfter) })
	}
}

func testBatchesMatchOneByOne(t *testing.T, foldAfter int) {
	g := newRemoteGen(7)
	g.recent = 50
	all := g.batch(3000)
	rng := rand.New(rand.NewPCG(7, 8))
	open := func() *Store { // no fsync: this is about what is stored, and it makes thousands of commits
		opts := DefaultOptions(filepath.Join(t.TempDir(), "carenode.db"), "NODEA")
		opts.Create, opts.NoSync = true, true
		opts.FoldAfter = foldAfter
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		s, err := Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	batched, single := open(), open()
	for start := 0; start < len(all); {
		n := min(300+rng.IntN(300), len(all)-start)
		batch := slices.Clone(all[start : start+n])
		// Hold back a few changes for a later batch, resend a few.
		rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
		held := batch[:10]
		batch = batch[10:]
		for range 20 {
			batch = append(batch, batch[rng.IntN(len(batch))])
			if start > 0 {
				batch = append(batch, all[rng.IntN(start)])
			}
		}
		batch = append(batch, held[:5]...)
		start += n
		if start < len(all) {
			all = append(all[:start], append(slices.Clone(held[5:]), all[start:]...)...) // the next batch's
		} else {
			batch = append(batch, held[5:]...)
		}
		res, err := batched.ApplyRemote(batch)
		if err != nil {
			t.Fatal(err)
		}
		var applied, dups int
		for i := range batch {
			r, err := single.ApplyRemote(batch[i : i+1])
			if err != nil {
				t.Fatal(err)
			}
			applied, dups = applied+r.Applied, dups+r.Duplicates
		}
		if res.Applied != applied || res.Duplicates != dups {
			t.Fatalf("batch applied %d, %d duplicates; one by one %d, %d", res.Applied, res.Duplicates, applied, dups)
		}
	}
	if a, b := dumpFolded(t, batched), dumpFolded(t, single); a != b {
		t.Errorf("batched and one-by-one stores differ (%d and %d bytes of dump)", len(a), len(b))
	}
	if v := batched.Vector(); v["NODEB"] != g.seq["NODEB"] || v["NODEC"] != g.seq["NODEC"] || v["NODED"] != g.seq["NODED"] {
		t.Errorf("vector %v, want %v", v, g.seq)
	}
	if batched.LogLen() != 3000 {
		t.Errorf("log length %d, want 3000", batched.LogLen())
	}
}

// TestDamagedPageReadsFailCleanly overwrites pages in the middle of a file
// (not its meta pages, so it opens) and checks that reading through them
// gives ErrCorrupt, never a panic.
func TestDamagedPageReadsFailCleanly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carenode.db")
	s := openAt(t, path, "NODEA")
	for i := range 400 {
		mustWrite(t, s, WriteRequest{Collection: "c", Record: fmt.Sprintf("r%03d", i), Create: true, Edits: []Edit{set("pad", fmt.Sprintf("%q", bytes.Repeat([]byte("x"), 200)))}})
	}
	s.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 4 * 4096; i < len(data)/2; i++ {
		data[i] = byte(rng.IntN(256))
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions(path, "NODEA")
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err = Open(opts)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("open: %v, want ErrCorrupt", err)
		}
		return
	}
	defer s.Close()
	failed := false
	for after := ""; ; {
		page, err := s.List("c", after, 50)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("list: %v, want ErrCorrupt", err)
			}
			failed = true
			break
		}
		if len(page) == 0 {
			break
		}
		after = page[len(page)-1].ID
	}
	for i := range 400 {
		if _, err := s.Get("c", fmt.Sprintf("r%03d", i)); err != nil && !errors.Is(err, ErrNotFound) {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("get: %v, want ErrCorrupt", err)
			}
			failed = true
		}
	}
	// Writes through damage fail the same way, and the store still answers.
	for i := range 20 {
		_, err := s.Write(t.Context(), WriteRequest{Collection: "c", Record: fmt.Sprintf("r%03d", i*20), Edits: []Edit{set("pad", `"y"`)}})
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("write: %v, want ErrCorrupt or success", err)
		}
		failed = failed || err != nil
		t.Logf("write %d: %v", i, err)
	}
	g := newRemoteGen(9)
	if _, err := s.ApplyRemote(g.batch(300)); err != nil && !errors.Is(err, ErrCorrupt) {
		t.Fatalf("apply remote: %v, want ErrCorrupt or success", err)
	}
	if err := s.Fold(); err != nil && !errors.Is(err, ErrCorrupt) {
		t.Fatalf("fold: %v, want ErrCorrupt or success", err)
	}
	if _, err := s.Stats(); err != nil && !errors.Is(err, ErrCorrupt) {
		t.Fatalf("stats: %v", err)
	}
	if err := s.Check(); err == nil && !failed {
		t.Fatal("half the file overwritten, yet every read and the check passed")
	}
}
