package store

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"carenode/crdt"
	"carenode/internal/testclock"
)

// dumpFolded folds s and returns every record, count, merge, log entry and
// vector entry it stores, and fails if a batch is still listed unfolded.
func dumpFolded(t *testing.T, s *Store) string {
	t.Helper()
	if err := s.Fold(); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := s.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketUnfolded).Cursor().First(); k != nil {
			return fmt.Errorf("batch %x still unfolded after Fold", k)
		}
		for _, name := range [][]byte{bucketLog, bucketVector, bucketMerges} {
			tx.Bucket(name).ForEach(func(k, v []byte) error { fmt.Fprintf(&b, "%s %x %x\n", name, k, v); return nil })
		}
		tx.Bucket(bucketIndex).Bucket(bucketCounts).ForEach(func(k, v []byte) error { fmt.Fprintf(&b, "count %x %x\n", k, v); return nil })
		return tx.Bucket(bucketRecords).ForEachBucket(func(coll []byte) error {
			return tx.Bucket(bucketRecords).Bucket(coll).ForEach(func(k, v []byte) error { fmt.Fprintf(&b, "%s/%s %x\n", coll, k, v); return nil })
		})
	}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestWaitingChangesReadAsFolded feeds the same remote batches and local
// writes to a store that folds every batch at once, one that leaves every
// batch waiting, and one whose folder folds in the background every few
// batches, and checks that every read (Get, List, ListOnly, Stats) and
// every local write's result is the same on all three, and that the files
// are the same once folded.
func TestWaitingChangesReadAsFolded(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	// The stores' wall clock moves only by hand, so stores fed the same
	// operations stamp their local writes alike however often they read it.
	clock := testclock.New(time.Now().Add(-time.Hour))
	open := func(foldAfter int, idle time.Duration) *Store {
		return openOpts(t, filepath.Join(t.TempDir(), "carenode.db"), "NODEA", func(o *Options) {
			o.FoldAfter, o.FoldIdle, o.Now, o.NoSync = foldAfter, idle, clock.Now, true
		})
	}
	stores := []*Store{open(-1, 0), open(1<<30, time.Hour), open(1500, 2*time.Millisecond)}
	names := []string{"folded at once", "left waiting", "folded behind"}
	g := newRemoteGen(seed)
	g.recent = 40
	rng := rand.New(rand.NewPCG(seed, 2))
	pick := func() string {
		if len(g.recs) == 0 || rng.IntN(20) == 0 {
			return fmt.Sprintf("nobody-%d", rng.IntN(5))
		}
		return g.recs[rng.IntN(len(g.recs))].id
	}
	same := func(what string, got []any) {
		t.Helper()
		for i := 1; i < len(got); i++ {
			if !reflect.DeepEqual(got[0], got[i]) {
				t.Fatalf("seed %d: %s: %s shows\n%+v\n%s shows\n%+v", seed, what, names[0], got[0], names[i], got[i])
			}
		}
	}
	var sent []crdt.Change
	for round := range 40 {
		batch := g.batch(100 + rng.IntN(300))
		if len(sent) > 0 { // resends
			for range 5 {
				batch = append(batch, sent[rng.IntN(len(sent))])
			}
		}
		sent = append(sent, batch...)
		clock.Advance(time.Second)
		for _, s := range stores {
			if _, err := s.ApplyRemote(batch); err != nil {
				t.Fatal(err)
			}
		}
		// Local writes on top, as staff edit while a sync comes in.
		for range 5 {
			clock.Advance(time.Millisecond)
			req := WriteRequest{Collection: "patients", Record: pick(), MustExist: true}
			switch rng.IntN(4) {
			case 0:
				req.Edits = []Edit{{Kind: crdt.MutSet, Field: "phone", Value: fmt.Appendf(nil, `"%d"`, rng.IntN(1e6)), SeenCurrent: true}}
			case 1:
				req.Edits = []Edit{{Kind: crdt.MutRemove, Field: "allergies", Elem: "penicillin", SeenCurrent: true}}
			case 2:
				req.Edits = []Edit{{Kind: crdt.MutDelete}}
			default:
				req.Edits = []Edit{{Kind: crdt.MutMerge, Into: pick()}}
			}
			var got []any
			for _, s := range stores {
				res, err := s.Write(t.Context(), req)
				got = append(got, fmt.Sprint(res, errors.Is(err, ErrNotFound), errors.Is(err, ErrInvalid), err == nil))
			}
			same(fmt.Sprintf("round %d: write %+v", round, req), got)
		}
		for range 30 {
			id := pick()
			var got []any
			for _, s := range stores {
				v, err := s.Get("patients", id)
				got = append(got, fmt.Sprintf("%+v %v", v, err))
			}
			same(fmt.Sprintf("round %d: get %s", round, id), got)
		}
		after := ""
		if rng.IntN(2) == 0 {
			after = pick()
		}
		var lists, only []any
		for _, s := range stores {
			l, err := s.List("patients", after, 50)
			if err != nil {
				t.Fatal(err)
			}
			lists = append(lists, l)
			o, err := s.ListOnly("patients", after, 50, Only{Fields: []string{"name", "phone"}, Sets: []string{"allergies"}})
			if err != nil {
				t.Fatal(err)
			}
			// A record with waiting changes is read whole: compare what
			// was asked for.
			var asked []string
			for _, v := range o {
				asked = append(asked, fmt.Sprintf("%s %s %s %v %v %v", v.ID, v.Fields["name"].Value, v.Fields["phone"].Value, v.Sets["allergies"], v.Deleted, v.Merged))
			}
			only = append(only, asked)
		}
		same(fmt.Sprintf("round %d: list after %q", round, after), lists)
		same(fmt.Sprintf("round %d: list only after %q", round, after), only)
		var stats []any
		for _, s := range stores {
			st, err := s.Stats()
			if err != nil {
				t.Fatal(err)
			}
			stats = append(stats, fmt.Sprint(st.Records, st.Collections, st.LogLen, st.Vector))
		}
		same(fmt.Sprintf("round %d: stats", round), stats)
	}
	if stores[1].pend.Load().len() == 0 {
		t.Fatal("the store meant to leave batches waiting folded them")
	}
	want := dumpFolded(t, stores[0])
	for i, s := range stores[1:] {
		if got := dumpFolded(t, s); got != want {
			t.Errorf("seed %d: %s differs from %s once folded (%d and %d bytes of dump)", seed, names[i+1], names[0], len(got), len(want))
		}
	}
}

// TestReadsSeeEveryAppliedBatch reads while batches are applied and folded
// behind (often, with tiny limits): once ApplyRemote has returned, every
// read begun afterwards must show its changes, whether they wait or are
// being folded at that moment.
func TestReadsSeeEveryAppliedBatch(t *testing.T) {
	s := openOpts(t, filepath.Join(t.TempDir(), "carenode.db"), "NODEA", func(o *Options) {
		o.FoldAfter, o.FoldIdle, o.NoSync = 250, time.Millisecond, true
	})
	g := newRemoteGen(3)
	var applied atomic.Int64 // rounds whose batch ApplyRemote has returned
	stop := make(chan struct{})
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				want := applied.Load()
				if want == 0 {
					continue
				}
				v, err := s.Get("probe", "p")
				if err != nil {
					errs <- err
					return
				}
				n, _ := strconv.Atoi(string(v.Fields["round"].Value))
				if int64(n) < want || len(v.Facts["seen"]) < int(want) {
					errs <- fmt.Errorf("read begun after round %d returned shows round %s and %d facts", want, v.Fields["round"].Value, len(v.Facts["seen"]))
					return
				}
				list, err := s.List("probe", "", 10)
				if err != nil || len(list) != 1 {
					errs <- fmt.Errorf("list after round %d: %d records, %v", want, len(list), err)
					return
				}
			}
		})
	}
	var last crdt.Stamp
	for round := int64(1); round <= 80; round++ {
		batch := g.batch(100)
		// One change per round to the probe record, naming the value
		// before it, from an origin of its own.
		st := crdt.Stamp{Wall: time.Now().Add(-time.Hour).UnixMilli() + round, Node: "NODEP"}
		muts := []crdt.Mutation{
			{Kind: crdt.MutSet, Field: "round", Value: []byte(strconv.FormatInt(round, 10))},
			{Kind: crdt.MutFact, Field: "seen", FactID: strconv.FormatInt(round, 10), Value: []byte("1")},
		}
		if round > 1 {
			muts[0].Seen = []crdt.Stamp{last}
		}
		last = st
		batch = append(batch, crdt.Change{Origin: "NODEP", Seq: uint64(round), Stamp: st, Collection: "probe", Record: "p", Muts: muts})
		if _, err := s.ApplyRemote(batch); err != nil {
			t.Fatal(err)
		}
		applied.Store(round)
		select {
		case err := <-errs:
			close(stop)
			wg.Wait()
			t.Fatal(err)
		default:
		}
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

// The crash test: a child process applies batches that are left waiting,
// says how many, and is killed with SIGKILL; the parent opens the file
// read-only (as `carenode status` does), which must show the waiting
// changes, then writable, which folds them at once.

const crashChildEnv = "CARENODE_STORE_CRASH_CHILD"

func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashChildEnv)
	if path == "" {
		t.Skip("run by TestKillNineWithWaitingChanges")
	}
	opts := DefaultOptions(path, "NODEA")
	opts.Create, opts.FoldAfter, opts.FoldIdle = true, 1<<30, time.Hour
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := Open(opts)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	g := newRemoteGen(11)
	g.wall, _ = strconv.ParseInt(os.Getenv(crashChildEnv+"_WALL"), 10, 64)
	for i := range 12 {
		if _, err := s.ApplyRemote(g.batch(500)); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("applied", i+1)
	}
	time.Sleep(time.Minute) // killed before this ends
}

func TestKillNineWithWaitingChanges(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	path := filepath.Join(t.TempDir(), "carenode.db")
	cmd := exec.Command(os.Args[0], "-test.run", "^TestCrashChild$", "-test.v")
	wall := time.Now().Add(-time.Hour).UnixMilli() // both generators stamp alike
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path, fmt.Sprintf("%s_WALL=%d", crashChildEnv, wall))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "error") {
			t.Fatal(lines.Text())
		}
		if lines.Text() == "applied 12" {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	// What the child was sent, folded as it went.
	ref := openOpts(t, filepath.Join(t.TempDir(), "ref.db"), "NODEA", func(o *Options) { o.FoldAfter = -1 })
	g := newRemoteGen(11)
	g.wall = wall
	for range 12 {
		if _, err := ref.ApplyRemote(g.batch(500)); err != nil {
			t.Fatal(err)
		}
	}
	ids := make([]string, 0, len(g.recs))
	for _, r := range g.recs {
		ids = append(ids, r.id)
	}

	opts := DefaultOptions(path, "NODEA")
	opts.ReadOnly = true
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.Important = func(coll, field string) bool { return field == "phone" } // as openOpts has it
	ro, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := ro.Stats(); err != nil || st.Waiting != 12*500 {
		t.Errorf("read-only open: stats say %d waiting changes (%v), want %d", st.Waiting, err, 12*500)
	}
	compare := func(s *Store, how string) {
		for _, id := range ids {
			a, aerr := ref.Get("patients", id)
			b, berr := s.Get("patients", id)
			if !reflect.DeepEqual(a, b) || fmt.Sprint(aerr) != fmt.Sprint(berr) {
				t.Fatalf("%s: %s differs:\n%+v %v\n%+v %v", how, id, a, aerr, b, berr)
			}
		}
		sa, _ := ref.Stats()
		sb, _ := s.Stats()
		if !reflect.DeepEqual(sa.Records, sb.Records) || sa.LogLen != sb.LogLen || !reflect.DeepEqual(sa.Vector, sb.Vector) {
			t.Fatalf("%s: stats %v %d %v, want %v %d %v", how, sb.Records, sb.LogLen, sb.Vector, sa.Records, sa.LogLen, sa.Vector)
		}
	}
	compare(ro, "read-only, changes waiting")
	ro.Close()

	rw := openOpts(t, path, "NODEA", nil)
	if n := rw.pend.Load().len(); n != 0 {
		t.Errorf("%d changes still waiting after a writable open", n)
	}
	compare(rw, "reopened")
	if got, want := dumpFolded(t, rw), dumpFolded(t, ref); got != want {
		t.Errorf("the killed store, reopened, differs from one that folded as it went")
	}
}

// TestMigrateFromSchema1 opens a file as the first release left it (no
// bucket unfolded, schema 1) and checks it is brought to this schema and
// takes batches that wait.
func TestMigrateFromSchema1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carenode.db")
	s := openAt(t, path, "NODEA")
	mustWrite(t, s, WriteRequest{Collection: "patients", Record: "a", Create: true, Edits: []Edit{set("name", `"a"`)}})
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketUnfolded); err != nil {
			return err
		}
		if tx.Bucket(bucketIndex).Bucket(bucketMarks) != nil {
			if err := tx.Bucket(bucketIndex).DeleteBucket(bucketMarks); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, u64(1))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s = openAt(t, path, "NODEA")
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Schema != SchemaVersion {
		t.Fatalf("schema %d after open, want %d", st.Schema, SchemaVersion)
	}
	g := newRemoteGen(5)
	if _, err := s.ApplyRemote(g.batch(50)); err != nil {
		t.Fatal(err)
	}
	if s.pend.Load().len() != 50 {
		t.Fatalf("%d changes waiting, want 50", s.pend.Load().len())
	}
	if err := s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketIndex).Bucket(bucketMarks) == nil {
			return errors.New("no bucket index/marks after the migration")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get("patients", "a"); err != nil || string(v.Fields["name"].Value) != `"a"` {
		t.Fatalf("record written before the migration: %+v, %v", v, err)
	}
	if slices.Index(st.Collections, "patients") < 0 {
		t.Errorf("collections %v", st.Collections)
	}
}
