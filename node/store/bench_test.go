package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"carenode/crdt"
)

// The benchmarks here measure the store on a real file with fsync on, as a
// clinic runs it. See docs/BENCHMARKS.md for the command, the machine and
// the figures.

// benchWriters are the concurrency levels of BenchmarkDurableWrites.
var benchWriters = []int{1, 8, 32, 64}

// writeOp describes local write i of the write benchmarks: even writes make
// a patient with three fields, odd writes update that patient's phone and
// name, so half the writes create a record and half change one.
func writeOp(i int) (id string, edits []Edit) {
	id = fmt.Sprintf("p%07d", i/2)
	if i%2 == 0 {
		return id, []Edit{
			{Kind: crdt.MutSet, Field: "name", Value: fmt.Appendf(nil, `"张伟 %d"`, i), SeenCurrent: true},
			{Kind: crdt.MutSet, Field: "phone", Value: fmt.Appendf(nil, `"138%08d"`, i), SeenCurrent: true},
			{Kind: crdt.MutSet, Field: "birthDate", Value: []byte(`"1968-03-14"`), SeenCurrent: true},
		}
	}
	return id, []Edit{
		{Kind: crdt.MutSet, Field: "phone", Value: fmt.Appendf(nil, `"139%08d"`, i), SeenCurrent: true},
		{Kind: crdt.MutSet, Field: "name", Value: fmt.Appendf(nil, `"张伟 %d"`, i), SeenCurrent: true},
	}
}

// runWriters runs n goroutines that together make b.N writes through
// write, and reports writes per second.
func runWriters(b *testing.B, n int, write func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if err := write(i); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkDurableWrites compares local writes through Store.Write with raw
// bbolt DB.Batch putting the same kind of encoded bytes (a change into a log
// bucket and a record into a records bucket), at several numbers of
// concurrent writers, fsync on. Store and raw runs at one writer count are
// adjacent so they see the same machine load.
func BenchmarkDurableWrites(b *testing.B) {
	for _, n := range benchWriters {
		b.Run(fmt.Sprintf("store/writers=%d", n), func(b *testing.B) {
			s := openTest(b, "NODEA")
			ctx := context.Background()
			runWriters(b, n, func(i int) error {
				id, edits := writeOp(i)
				_, err := s.Write(ctx, WriteRequest{Collection: "patients", Record: id, Edits: edits})
				return err
			})
		})
		b.Run(fmt.Sprintf("rawbolt/writers=%d", n), func(b *testing.B) {
			benchRawBolt(b, n, 0)
		})
		// DB.Batch waits up to MaxBatchDelay (10 ms by default) for a batch
		// to fill, which caps it near writers×100 writes/s; the same with a
		// 1 ms wait shows what bbolt itself can do.
		b.Run(fmt.Sprintf("rawbolt-1ms/writers=%d", n), func(b *testing.B) {
			benchRawBolt(b, n, time.Millisecond)
		})
	}
}

// benchRawBolt writes, for each write, the change and the record the store
// would encode with the store's codec, through DB.Batch with bbolt's default
// batch size and the given MaxBatchDelay (0: bbolt's default). It keeps no
// state between writes (no read-modify-write of the record, no version
// vector, no clock), so it is the floor the store's own work adds to.
func benchRawBolt(b *testing.B, n int, delay time.Duration) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if delay > 0 {
		db.MaxBatchDelay = delay
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketLog, bucketRecords} {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	c, err := newCodec()
	if err != nil {
		b.Fatal(err)
	}
	wall := time.Now().UnixMilli()
	runWriters(b, n, func(i int) error {
		id, edits := writeOp(i)
		ch := crdt.Change{Origin: "NODEA", Seq: uint64(i) + 1, Stamp: crdt.Stamp{Wall: wall, Logical: uint32(i), Node: "NODEA"},
			Collection: "patients", Record: id}
		for _, e := range edits {
			m := crdt.Mutation{Kind: e.Kind, Field: e.Field, Value: e.Value}
			if i%2 == 1 { // an update names the value it replaces, as SeenCurrent does
				m.Seen = []crdt.Stamp{{Wall: wall, Logical: uint32(i - 1), Node: "NODEA"}}
			}
			ch.Muts = append(ch.Muts, m)
		}
		rec := &crdt.Record{}
		rec.Apply(&ch)
		cv, err := c.marshal(&ch)
		if err != nil {
			return err
		}
		rv, err := c.marshal(rec)
		if err != nil {
			return err
		}
		return db.Batch(func(tx *bolt.Tx) error {
			if err := tx.Bucket(bucketLog).Put(logKey(string(ch.Origin), ch.Seq), cv); err != nil {
				return err
			}
			return tx.Bucket(bucketRecords).Put([]byte(id), rv)
		})
	})
}

// remoteGen makes a realistic stream of changes from three origins: 30% new
// patients with four fields and a program, 30% updates of phone and address
// that name the stamps they replace, 18% set adds (allergies), 22% facts
// (vital signs) and one duplicate merge in 500.
type remoteGen struct {
	rng     *rand.Rand
	origins []crdt.NodeID
	seq     map[crdt.NodeID]uint64
	wall    int64
	logical uint32
	recs    []genPatient
	// recent, when set, sends 80% of the edits to existing patients to the
	// last recent ones created: the patients seen today. Otherwise edits
	// pick any patient alike.
	recent int
}

type genPatient struct {
	id    string
	phone crdt.Stamp   // the stamp of the phone value the origins last wrote
	addr  []crdt.Stamp // the same for the address, none before the first
}

func newRemoteGen(seed uint64) *remoteGen {
	return &remoteGen{
		rng:     rand.New(rand.NewPCG(seed, 1)),
		origins: []crdt.NodeID{"NODEB", "NODEC", "NODED"},
		seq:     map[crdt.NodeID]uint64{},
		// An hour ago, so a long run does not push stamps past the skew bound.
		wall: time.Now().Add(-time.Hour).UnixMilli(),
	}
}

func (g *remoteGen) stamp(origin crdt.NodeID) crdt.Stamp {
	g.logical++
	if g.logical == 8 {
		g.wall, g.logical = g.wall+1, 0
	}
	return crdt.Stamp{Wall: g.wall, Logical: g.logical, Node: origin}
}

// next returns the next change. Each origin's sequence has no gaps.
func (g *remoteGen) next() crdt.Change {
	origin := g.origins[g.rng.IntN(len(g.origins))]
	g.seq[origin]++
	c := crdt.Change{Origin: origin, Seq: g.seq[origin], Stamp: g.stamp(origin), Collection: "patients"}
	r := g.rng.IntN(100)
	if len(g.recs) < 10 || r < 30 {
		id := fmt.Sprintf("p%s-%07d", origin, c.Seq)
		c.Record = id
		c.Muts = []crdt.Mutation{
			{Kind: crdt.MutSet, Field: "name", Value: fmt.Appendf(nil, `"李娜 %d"`, len(g.recs))},
			{Kind: crdt.MutSet, Field: "phone", Value: fmt.Appendf(nil, `"138%08d"`, g.rng.IntN(1e8))},
			{Kind: crdt.MutSet, Field: "birthDate", Value: fmt.Appendf(nil, `"19%02d-%02d-%02d"`, 40+g.rng.IntN(60), 1+g.rng.IntN(12), 1+g.rng.IntN(28))},
			{Kind: crdt.MutSet, Field: "sex", Value: []byte(`"F"`)},
			{Kind: crdt.MutAdd, Field: "programs", Elem: "hypertension"},
		}
		g.recs = append(g.recs, genPatient{id: id, phone: c.Stamp})
		return c
	}
	i := g.rng.IntN(len(g.recs))
	if g.recent > 0 && len(g.recs) > g.recent && g.rng.IntN(10) < 8 {
		i = len(g.recs) - 1 - g.rng.IntN(g.recent)
	}
	rec := &g.recs[i]
	c.Record = rec.id
	switch {
	case r < 60: // new phone and address, replacing the values the origin saw
		c.Muts = []crdt.Mutation{
			{Kind: crdt.MutSet, Field: "phone", Value: fmt.Appendf(nil, `"139%08d"`, g.rng.IntN(1e8)), Seen: []crdt.Stamp{rec.phone}},
			{Kind: crdt.MutSet, Field: "address", Value: fmt.Appendf(nil, `"幸福路 %d 号"`, g.rng.IntN(200)), Seen: rec.addr},
		}
		rec.phone, rec.addr = c.Stamp, []crdt.Stamp{c.Stamp}
	case r < 78:
		c.Muts = []crdt.Mutation{{Kind: crdt.MutAdd, Field: "allergies", Elem: [...]string{"penicillin", "sulfa", "aspirin", "latex"}[g.rng.IntN(4)]}}
	case r < 99 || g.rng.IntN(5) > 0:
		c.Muts = []crdt.Mutation{{Kind: crdt.MutFact, Field: "vitals", FactID: fmt.Sprintf("v%s-%d", origin, c.Seq),
			Value: fmt.Appendf(nil, `{"sbp":%d,"dbp":%d,"hr":%d}`, 110+g.rng.IntN(60), 70+g.rng.IntN(30), 60+g.rng.IntN(40))}}
	default: // one change in 500: a duplicate found, merged into another patient
		j := g.rng.IntN(len(g.recs))
		if j == i {
			j = (j + 1) % len(g.recs)
		}
		c.Muts = []crdt.Mutation{{Kind: crdt.MutMerge, Into: g.recs[j].id}}
	}
	return c
}

func (g *remoteGen) batch(n int) []crdt.Change {
	out := make([]crdt.Change, n)
	for i := range out {
		out[i] = g.next()
	}
	return out
}

// fill applies n changes from g to s in batches of 1,000.
func fill(b testing.TB, s *Store, g *remoteGen, n int) {
	b.Helper()
	for n > 0 {
		k := min(n, 1000)
		if _, err := s.ApplyRemote(g.batch(k)); err != nil {
			b.Fatal(err)
		}
		n -= k
	}
}

// BenchmarkApplyRemote applies batches of 1,000 new remote changes, each in
// one durable transaction, to a store that grows as it runs. One op is one
// batch. In "recent", most edits go to the 500 patients created last (a
// day's visits); in "uniform" they go to any patient alike, so nearly every
// change reads and rewrites a different record (the worst case, e.g. a bulk
// correction).
func BenchmarkApplyRemote(b *testing.B) {
	for _, w := range []struct {
		name   string
		recent int
	}{{"recent", 500}, {"uniform", 0}} {
		b.Run(w.name, func(b *testing.B) {
			const batch = 1000
			s := openTest(b, "NODEA")
			g := newRemoteGen(1)
			g.recent = w.recent
			fill(b, s, g, 10*batch) // start from a store that already has patients
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				changes := g.batch(batch)
				b.StartTimer()
				res, err := s.ApplyRemote(changes)
				if err != nil {
					b.Fatal(err)
				}
				if res.Applied != batch {
					b.Fatalf("applied %d of %d", res.Applied, batch)
				}
			}
			// Changes still waiting are folded inside the timing: the rate
			// counts every record rewritten, not only the log appended.
			if err := s.Fold(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "changes/s")
		})
	}
}

// BenchmarkChangesAfter reads the change log in pages of 1,000, as a peer
// catching up does. One op is one page.
func BenchmarkChangesAfter(b *testing.B) {
	const page = 1000
	s := openTest(b, "NODEA")
	fill(b, s, newRemoteGen(2), 50*page)
	after := crdt.Vector{}
	read := 0
	b.ResetTimer()
	for range b.N {
		p, err := s.ChangesAfter(after, page)
		if err != nil {
			b.Fatal(err)
		}
		read += len(p.Changes)
		after = p.Next
		if !p.More {
			after = crdt.Vector{}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "changes/s")
}

// BenchmarkGet reads random patients (a few of them merged duplicates) from
// a store holding about 10,000.
func BenchmarkGet(b *testing.B) {
	s := openTest(b, "NODEA")
	g := newRemoteGen(3)
	fill(b, s, g, 30000)
	rng := rand.New(rand.NewPCG(4, 4))
	b.ResetTimer()
	for range b.N {
		id := g.recs[rng.IntN(len(g.recs))].id
		if _, err := s.Get("patients", id); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "gets/s")
}

// BenchmarkApplyRemoteMemory applies b.N batches of 1,000 remote changes
// from an empty store, folding every batch at once or as the store decides,
// and reports the peak Go heap in use (sampled every 5 ms) and the most
// changes that waited at once: what leaving batches to wait costs.
func BenchmarkApplyRemoteMemory(b *testing.B) {
	for _, fold := range []struct {
		name  string
		after int
	}{{"at-once", -1}, {"default", 0}} {
		for _, w := range []struct {
			name   string
			recent int
		}{{"recent", 500}, {"uniform", 0}} {
			b.Run(fold.name+"/"+w.name, func(b *testing.B) {
				runtime.GC()
				s := openOpts(b, filepath.Join(b.TempDir(), "carenode.db"), "NODEA", func(o *Options) { o.FoldAfter = fold.after })
				g := newRemoteGen(1)
				g.recent = w.recent
				var peak, most atomic.Uint64
				stop, sampled := make(chan struct{}), make(chan struct{})
				go func() {
					defer close(sampled)
					var m runtime.MemStats
					for {
						runtime.ReadMemStats(&m)
						peak.Store(max(peak.Load(), m.HeapInuse))
						most.Store(max(most.Load(), uint64(s.Waiting())))
						select {
						case <-stop:
							return
						case <-time.After(5 * time.Millisecond):
						}
					}
				}()
				b.ResetTimer()
				for range b.N {
					if _, err := s.ApplyRemote(g.batch(1000)); err != nil {
						b.Fatal(err)
					}
				}
				if err := s.Fold(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				close(stop)
				<-sampled
				b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
				b.ReportMetric(float64(most.Load()), "most-waiting")
			})
		}
	}
}
