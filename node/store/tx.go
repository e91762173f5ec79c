package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"carenode/crdt"
)

// txState caches what one write transaction reads and changes, so a batch
// that touches a record many times decodes and encodes it once.
type txState struct {
	s       *Store
	tx      *bolt.Tx
	records map[recKey]*cachedRecord
	merges  map[string]*cachedMerges
	vector  crdt.Vector // working copy, written back at flush
	touched map[crdt.NodeID]bool
	logLen  uint64
	counts  map[string]uint64 // new records per collection
}

type recKey struct{ coll, id string }

type cachedRecord struct {
	rec    *crdt.Record
	exists bool // stored before this transaction or created in it
	dirty  bool
}

type cachedMerges struct {
	m     *crdt.Merges
	dirty bool
}

func (s *Store) newTxState(tx *bolt.Tx) *txState {
	s.stateMu.RLock()
	vec, logLen := s.vector.Clone(), s.logLen
	s.stateMu.RUnlock()
	return &txState{s: s, tx: tx, records: map[recKey]*cachedRecord{}, merges: map[string]*cachedMerges{},
		vector: vec, touched: map[crdt.NodeID]bool{}, logLen: logLen, counts: map[string]uint64{}}
}

func (t *txState) record(coll, id string) (*cachedRecord, error) {
	k := recKey{coll, id}
	if c, ok := t.records[k]; ok {
		return c, nil
	}
	c := &cachedRecord{rec: &crdt.Record{}}
	if b := t.tx.Bucket(bucketRecords).Bucket([]byte(coll)); b != nil {
		if v := b.Get([]byte(id)); v != nil {
			if err := t.s.codec.unmarshal(v, c.rec); err != nil {
				return nil, fmt.Errorf("read record %s/%s: %w", coll, id, err)
			}
			c.exists = true
		}
	}
	t.records[k] = c
	return c, nil
}

func (t *txState) mergesOf(coll string) (*cachedMerges, error) {
	if c, ok := t.merges[coll]; ok {
		return c, nil
	}
	m, err := readMerges(t.s.codec, t.tx, coll)
	if err != nil {
		return nil, err
	}
	c := &cachedMerges{m: m}
	t.merges[coll] = c
	return c, nil
}

func readMerges(c codec, tx *bolt.Tx, coll string) (*crdt.Merges, error) {
	m := &crdt.Merges{}
	if v := tx.Bucket(bucketMerges).Get([]byte(coll)); v != nil {
		if err := c.unmarshal(v, m); err != nil {
			return nil, fmt.Errorf("read merges of %s: %w", coll, err)
		}
	}
	return m, nil
}

// apply folds a validated change into the cached state and appends it to the
// log. The caller has made sure the change is not in the log yet.
func (t *txState) apply(c *crdt.Change, encoded []byte) error {
	cr, err := t.record(c.Collection, c.Record)
	if err != nil {
		return err
	}
	if !cr.exists {
		cr.exists = true
		t.counts[c.Collection]++
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
		if cm.m.Add(crdt.MergeEdge{From: c.Record, Into: c.Muts[i].Into, Stamp: c.Stamp}) {
			cm.dirty = true
		}
	}
	if encoded == nil {
		if encoded, err = t.s.codec.marshal(c); err != nil {
			return fmt.Errorf("encode change %s/%d: %w", c.Origin, c.Seq, err)
		}
	}
	if err := t.tx.Bucket(bucketLog).Put(logKey(string(c.Origin), c.Seq), encoded); err != nil {
		return fmt.Errorf("append change %s/%d: %w", c.Origin, c.Seq, err)
	}
	t.logLen++
	t.touched[c.Origin] = true
	return nil
}

// inLog reports whether the log holds change seq of origin.
func (t *txState) inLog(origin crdt.NodeID, seq uint64) bool {
	if seq <= t.vector[origin] {
		return true
	}
	return t.tx.Bucket(bucketLog).Get(logKey(string(origin), seq)) != nil
}

// flush writes every dirty record, merge set, count and the vector.
func (t *txState) flush() error {
	recs := t.tx.Bucket(bucketRecords)
	for k, c := range t.records {
		if !c.dirty {
			continue
		}
		b, err := recs.CreateBucketIfNotExists([]byte(k.coll))
		if err != nil {
			return fmt.Errorf("create collection %s: %w", k.coll, err)
		}
		v, err := t.s.codec.marshal(c.rec)
		if err != nil {
			return fmt.Errorf("encode record %s/%s: %w", k.coll, k.id, err)
		}
		if err := b.Put([]byte(k.id), v); err != nil {
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
	log := t.tx.Bucket(bucketLog)
	for origin := range t.touched {
		n := t.vector[origin]
		c := log.Cursor()
		prefix := logPrefix(string(origin))
		for k, _ := c.Seek(logKey(string(origin), n+1)); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, _ = c.Next() {
			if getU64(k[len(prefix):]) != n+1 {
				break
			}
			n++
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

// publish copies the committed vector and log length to the in-memory
// mirrors. Call only after the transaction committed.
func (t *txState) publish() {
	t.s.stateMu.Lock()
	t.s.vector = t.vector
	t.s.logLen = t.logLen
	t.s.stateMu.Unlock()
}
