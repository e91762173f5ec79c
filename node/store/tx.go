package store

import (
	"bytes"
	"cmp"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"

	"carenode/crdt"
)

// txState caches what one write transaction reads and changes, so a batch
// that touches a record many times decodes and encodes it once.
type txState struct {
	s       *Store
	tx      *bolt.Tx
	log     *bolt.Bucket
	colls   map[string]*bolt.Bucket // records/<coll>, nil if it does not exist yet
	records map[recKey]*cachedRecord
	merges  map[string]*cachedMerges
	vector  crdt.Vector // working copy, written back at flush
	held    crdt.Vector // working copy of Store.held
	added   map[crdt.NodeID]*seqRun
	logLen  uint64
	counts  map[string]uint64 // new records per collection
	changed []Changed         // records changed, for the watchers

	pend        *pendingSet // remote changes waiting to be folded, as the transaction began
	foldAll     bool        // fold every waiting change in this transaction
	newPend     *pendingSet // what waits after this transaction, if pendChanged
	pendChanged bool
	waited      bool          // a remote batch was left to wait
	enc         [][]byte      // a remote batch's changes encoded for the log, by index
	copied      *pendingBatch // a remote batch's changes copied to wait, all of them
}

// seqRun summarises the sequence numbers of one origin appended in a
// transaction, enough to tell whether they extend the vector without a gap.
type seqRun struct {
	min, max, n uint64
	ahead       bool // the log held changes past the vector before this transaction
}

type recKey struct{ coll, id string }

type cachedRecord struct {
	rec    *crdt.Record
	exists bool // stored or waiting before this transaction, or created in it
	stored bool // in its bucket before this transaction, or put in it
	dirty  bool
}

type cachedMerges struct {
	m     *crdt.Merges
	dirty bool   // m is this transaction's own copy, changed
	raw   []byte // m encoded, set by flush
}

// recordsFill is how full bbolt fills a records page it splits. New
// records get ids that sort at the end of their origin's range, so with
// bbolt's default (half) every page left behind stays half empty; fuller
// pages mean fewer pages to write per batch, while leaving room for records
// that grow. Of the values tried (0.5–0.9, both ApplyRemote workloads;
// docs/BENCHMARKS.md), 0.7 and 0.75 wrote the fewest pages per batch, and
// 0.7 left the fewest pages in all.
const recordsFill = 0.7

func (s *Store) newTxState(tx *bolt.Tx) *txState {
	s.stateMu.RLock()
	vec, held, logLen := s.vector.Clone(), s.held.Clone(), s.logLen
	s.stateMu.RUnlock()
	log := tx.Bucket(bucketLog)
	// The log only grows at the end of each origin's range: fill its pages
	// rather than leave half of each split empty.
	log.FillPercent = 0.9
	return &txState{s: s, tx: tx, log: log, colls: map[string]*bolt.Bucket{},
		records: map[recKey]*cachedRecord{}, merges: map[string]*cachedMerges{},
		vector: vec, held: held, added: map[crdt.NodeID]*seqRun{}, logLen: logLen, counts: map[string]uint64{},
		pend: s.pend.Load()}
}

// coll returns the bucket of collection coll, nil if it has none yet.
func (t *txState) coll(coll string) *bolt.Bucket {
	b, ok := t.colls[coll]
	if !ok {
		b = t.tx.Bucket(bucketRecords).Bucket([]byte(coll))
		if b != nil {
			b.FillPercent = recordsFill
		}
		t.colls[coll] = b
	}
	return b
}

// collForWrite returns the bucket of collection coll, made if need be.
func (t *txState) collForWrite(coll string) (*bolt.Bucket, error) {
	if b := t.coll(coll); b != nil {
		return b, nil
	}
	b, err := t.tx.Bucket(bucketRecords).CreateBucket([]byte(coll))
	if err != nil {
		return nil, fmt.Errorf("create collection %s: %w", coll, err)
	}
	b.FillPercent = recordsFill
	t.colls[coll] = b
	return b, nil
}

func (t *txState) record(coll, id string) (*cachedRecord, error) {
	k := recKey{coll, id}
	if c, ok := t.records[k]; ok {
		return c, nil
	}
	c := &cachedRecord{rec: &crdt.Record{}}
	if b := t.coll(coll); b != nil {
		if v := b.Get([]byte(id)); v != nil {
			if err := t.s.codec.unmarshal(v, c.rec); err != nil {
				return nil, fmt.Errorf("read record %s/%s: %w", coll, id, err)
			}
			c.exists, c.stored = true, true
		}
	}
	// Remote changes waiting to be folded are part of the record. If this
	// transaction writes the record, it is written with them; folding
	// them again later changes nothing.
	if t.pend.applyTo(k, c.rec) {
		c.exists = true
	}
	t.records[k] = c
	return c, nil
}

// parallel calls f(w, 0) … f(w, n-1) on up to GOMAXPROCS goroutines (at
// most most of them, if most > 0) and returns the first error; w, below
// GOMAXPROCS, says which goroutine makes the call, so each can keep its own
// scratch. Small jobs run on the caller's goroutine alone. A panic in a
// worker (bbolt asserts on damaged pages) comes back as ErrCorrupt.
func parallel(n, most int, f func(w, i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n/64)
	if most > 0 {
		workers = min(workers, most)
	}
	if workers <= 1 {
		for i := range n {
			if err := f(0, i); err != nil {
				return err
			}
		}
		return nil
	}
	var next atomic.Int64
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
			defer func() {
				if r := recover(); r != nil {
					errs[w] = fmt.Errorf("%w: %v", ErrCorrupt, r)
					next.Store(int64(n))
				}
			}()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(w, i); err != nil {
					errs[w] = err
					next.Store(int64(n)) // stop the others early
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// mergesOf returns coll's merges for this transaction. They may be the
// store's shared decoded copy: call add, never m.Add, to change them.
func (t *txState) mergesOf(coll string) (*cachedMerges, error) {
	if c, ok := t.merges[coll]; ok {
		return c, nil
	}
	m, err := t.s.mergesIn(t.tx, coll)
	if err != nil {
		return nil, err
	}
	c := &cachedMerges{m: m}
	t.merges[coll] = c
	return c, nil
}

// add records edge e, copying the shared merges first.
func (c *cachedMerges) add(e crdt.MergeEdge) {
	if c.dirty {
		c.m.Add(e)
		return
	}
	if own := c.m.Clone(); own.Add(e) {
		c.m, c.dirty = own, true
	}
}

// mergesEntry is a collection's merges as decoded, with the bytes they were
// decoded from.
type mergesEntry struct {
	raw []byte
	m   *crdt.Merges
}

// mergesIn returns coll's merges as tx sees them. Every read needs them (to
// follow an id to its survivor) and decoding them costs in proportion to
// every merge ever made, so the store keeps the last decoded copy and uses
// it while tx holds the very same bytes. The result is shared: read only.
func (s *Store) mergesIn(tx *bolt.Tx, coll string) (*crdt.Merges, error) {
	v := tx.Bucket(bucketMerges).Get([]byte(coll))
	if v == nil {
		return &crdt.Merges{}, nil
	}
	s.mergesMu.Lock()
	e, ok := s.mergesCache[coll]
	s.mergesMu.Unlock()
	if ok && bytes.Equal(e.raw, v) {
		return e.m, nil
	}
	m := &crdt.Merges{}
	if err := s.codec.unmarshal(v, m); err != nil {
		return nil, fmt.Errorf("read merges of %s: %w", coll, err)
	}
	s.cacheMerges(coll, slices.Clone(v), m)
	return m, nil
}

// cacheMerges makes m, decoded from raw, the shared copy of coll's merges.
// Neither may change afterwards.
func (s *Store) cacheMerges(coll string, raw []byte, m *crdt.Merges) {
	s.mergesMu.Lock()
	defer s.mergesMu.Unlock()
	if s.mergesCache == nil {
		s.mergesCache = map[string]mergesEntry{}
	}
	s.mergesCache[coll] = mergesEntry{raw: raw, m: m}
}

// apply folds a validated local change into the cached state and appends
// it to the log. (Remote batches take applyRemote's way.)
func (t *txState) apply(c *crdt.Change) error {
	cr, err := t.record(c.Collection, c.Record)
	if err != nil {
		return err
	}
	if !cr.stored {
		cr.exists, cr.stored = true, true
		t.counts[c.Collection]++ // counts are of stored records; see Stats
	}
	cr.rec.Apply(c)
	cr.dirty = true
	for i := range c.Muts {
		if c.Muts[i].Kind != crdt.MutMerge {
			continue
		}
		cm, err := t.mergesOf(c.Collection)
		if err != nil {
			return err
		}
		cm.add(crdt.MergeEdge{From: c.Record, Into: c.Muts[i].Into, Stamp: c.Stamp})
	}
	encoded, err := t.s.codec.marshal(c)
	if err != nil {
		return fmt.Errorf("encode change %s/%d: %w", c.Origin, c.Seq, err)
	}
	if err := t.log.Put(logKey(string(c.Origin), c.Seq), encoded); err != nil {
		return fmt.Errorf("append change %s/%d: %w", c.Origin, c.Seq, err)
	}
	t.logLen++
	t.appended(c)
	return nil
}

// appended notes that c joins the log in this transaction, for the vector
// update at flush.
func (t *txState) appended(c *crdt.Change) {
	run := t.added[c.Origin]
	if run == nil {
		run = &seqRun{min: c.Seq, max: c.Seq, ahead: t.held[c.Origin] > t.vector[c.Origin]}
		t.added[c.Origin] = run
	}
	run.min, run.max, run.n = min(run.min, c.Seq), max(run.max, c.Seq), run.n+1
	t.held[c.Origin] = max(t.held[c.Origin], c.Seq)
	t.noteChange(c)
}

// flush writes every dirty record, merge set, count and the vector.
func (t *txState) flush() error {
	// In key order, so each Put's search starts near the last one's.
	dirty := make([]recKey, 0, len(t.records))
	for k, c := range t.records {
		if c.dirty {
			dirty = append(dirty, k)
		}
	}
	slices.SortFunc(dirty, func(a, b recKey) int { return cmp.Or(strings.Compare(a.coll, b.coll), strings.Compare(a.id, b.id)) })
	vals := make([][]byte, len(dirty))
	arenas := make([]arena, runtime.GOMAXPROCS(0))
	if err := parallel(len(dirty), 0, func(w, i int) error {
		v, err := t.s.codec.marshalTo(&arenas[w], t.records[dirty[i]].rec)
		if err != nil {
			return fmt.Errorf("encode record %s/%s: %w", dirty[i].coll, dirty[i].id, err)
		}
		vals[i] = v
		return nil
	}); err != nil {
		return err
	}
	for i, k := range dirty {
		b, err := t.collForWrite(k.coll)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(k.id), vals[i]); err != nil {
			return fmt.Errorf("write record %s/%s: %w", k.coll, k.id, err)
		}
	}
	for coll, c := range t.merges {
		if !c.dirty {
			continue
		}
		v, err := t.s.codec.marshal(c.m)
		if err != nil {
			return fmt.Errorf("encode merges of %s: %w", coll, err)
		}
		c.raw = v
		if err := t.tx.Bucket(bucketMerges).Put([]byte(coll), v); err != nil {
			return fmt.Errorf("write merges of %s: %w", coll, err)
		}
	}
	counts := t.tx.Bucket(bucketIndex).Bucket(bucketCounts)
	for coll, n := range t.counts {
		if err := counts.Put([]byte(coll), u64(getU64(counts.Get([]byte(coll)))+n)); err != nil {
			return fmt.Errorf("count records of %s: %w", coll, err)
		}
	}
	// Advance each touched origin over every change now held contiguously;
	// changes that arrived ahead of a gap wait in the log until it fills.
	vb := t.tx.Bucket(bucketVector)
	for origin, run := range t.added {
		n := t.vector[origin]
		switch {
		case !run.ahead && run.max <= n:
			// Local writes: localWrite advanced the vector as it numbered them.
		case !run.ahead && run.min == n+1 && run.max-run.min+1 == run.n:
			// The usual remote batch: this transaction appended n+1 … max and
			// nothing waited past a gap, so there is nothing to scan.
			n = run.max
		default:
			n = t.contiguous(origin, n)
		}
		t.vector[origin] = n
		if err := vb.Put([]byte(origin), u64(n)); err != nil {
			return fmt.Errorf("write version vector: %w", err)
		}
	}
	meta := t.tx.Bucket(bucketMeta)
	if err := meta.Put(keyLogLen, u64(t.logLen)); err != nil {
		return fmt.Errorf("write log length: %w", err)
	}
	clock, err := t.s.codec.marshal(t.s.clock.Last())
	if err != nil {
		return err
	}
	return meta.Put(keyClock, clock)
}

// contiguous returns the highest sequence m >= n such that the log holds
// every change of origin up to m, given that it holds those up to n.
func (t *txState) contiguous(origin crdt.NodeID, n uint64) uint64 {
	c := t.log.Cursor()
	prefix := logPrefix(string(origin))
	for k, _ := c.Seek(logKey(string(origin), n+1)); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, _ = c.Next() {
		if getU64(k[len(prefix):]) != n+1 {
			break
		}
		n++
	}
	return n
}

// publish copies the committed vector, highest sequences and log length to
// the in-memory mirrors and shares the merges it wrote. Call only after the
// transaction committed.
func (t *txState) publish() {
	t.s.stateMu.Lock()
	t.s.vector = t.vector
	t.s.held = t.held
	t.s.logLen = t.logLen
	t.s.stateMu.Unlock()
	if t.pendChanged {
		t.s.pend.Store(t.newPend)
	}
	for coll, c := range t.merges {
		if c.dirty {
			t.s.cacheMerges(coll, c.raw, c.m)
		}
	}
	t.tell()
}
