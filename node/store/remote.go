package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"time"

	bolt "go.etcd.io/bbolt"

	"carenode/crdt"
)

// ApplyResult says what ApplyRemote did with a batch.
type ApplyResult struct {
	Applied    int              // changes new to this node, now stored
	Duplicates int              // changes it already had, skipped
	Skew       []crdt.SkewEvent // stamps further ahead than the clock may follow
	Vector     crdt.Vector      // the version vector after the batch
}

// ApplyRemote stores a batch of changes from other nodes in one
// transaction, together with the version-vector update: the batch is applied
// wholly or not at all. Changes already held are skipped, so sending a batch
// twice is harmless. Every change is validated first; one invalid change
// refuses the whole batch and stores nothing.
func (s *Store) ApplyRemote(changes []crdt.Change) (ApplyResult, error) {
	var res ApplyResult
	for i := range changes {
		if err := changes[i].Validate(); err != nil {
			return res, fmt.Errorf("apply remote batch: change %d of %d: %w", i+1, len(changes), err)
		}
		if !crdt.ValidName(string(changes[i].Origin)) {
			return res, fmt.Errorf("apply remote batch: change %d of %d: %w: bad origin %q", i+1, len(changes), crdt.ErrInvalidChange, changes[i].Origin)
		}
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed || s.opts.ReadOnly {
		return res, ErrClosed
	}
	start := time.Now()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var t *txState
	err := s.db.Update(func(tx *bolt.Tx) error {
		res = ApplyResult{}
		t = s.newTxState(tx)
		if err := t.applyRemote(changes, &res); err != nil {
			return err
		}
		return t.flush()
	})
	if err != nil {
		return ApplyResult{}, fmt.Errorf("apply remote batch of %d to %s: %w", len(changes), s.opts.Path, err)
	}
	t.publish()
	res.Vector = t.vector.Clone()
	for _, ev := range res.Skew {
		s.log.Warn("remote clock ahead of ours; change kept, clock not followed",
			"origin", ev.Remote.Node, "stamp", ev.Remote.String(), "ahead", ev.Ahead.String())
	}
	if s.opts.Observer != nil {
		s.opts.Observer.Applied(res.Applied, res.Duplicates, time.Since(start))
		for _, ev := range res.Skew {
			s.opts.Observer.ClockSkew(ev)
		}
		s.opts.Observer.LogLength(t.logLen)
	}
	return res, nil
}

// remoteRecord is one record a remote batch touches: the changes to apply
// to it, in batch order, and what applying them made.
type remoteRecord struct {
	k           recKey
	first, last int  // its first and last change in the batch
	existed     bool // stored before the batch
	rec         *crdt.Record
	enc         []byte
}

// applyRemote folds a validated remote batch into the transaction: changes
// already held are counted as duplicates, the rest are appended to the log
// and applied to their records. It must be the first thing its transaction
// does: records are read as the transaction found them.
//
// Which changes are new, the clock and merges are settled first, in batch
// order, on the transaction's goroutine. Then each touched record is read,
// has its changes applied in batch order and is encoded again, spread over
// the CPUs, while the transaction's goroutine encodes the changes, appends
// them to the log and puts each record as it comes ready: records are
// independent of one another and of the log. Every call on the write
// transaction stays on its goroutine.
func (t *txState) applyRemote(changes []crdt.Change, res *ApplyResult) error {
	now := t.s.now()
	fresh := make([]int, 0, len(changes))
	var mine map[logPos]bool // this batch's new changes, made on first need
	touched := make(map[recKey]*remoteRecord, len(changes))
	recs := make([]*remoteRecord, 0, len(changes))
	slab := make([]remoteRecord, 0, len(changes)) // never grows: &slab[i] stays valid
	next := make([]int, len(changes))             // next[i]: the next change to i's record, up to its last
	for i := range changes {
		c := &changes[i]
		if mine == nil && c.Seq > t.vector[c.Origin] && c.Seq <= t.held[c.Origin] {
			// Between the vector and the highest held: the change may be
			// in the log, or earlier in this batch, whose appends the log
			// shows only at the end. Rare (gaps, resends), so the set of
			// this batch's changes is made only now.
			mine = map[logPos]bool{}
			for _, j := range fresh {
				mine[logPos{changes[j].Origin, changes[j].Seq}] = true
			}
		}
		// A change held already (in the log, or earlier in this batch) is
		// skipped, so sending a batch twice is harmless.
		if t.inBatchOrLog(c, mine) {
			res.Duplicates++
			continue
		}
		if mine != nil {
			mine[logPos{c.Origin, c.Seq}] = true
		}
		fresh = append(fresh, i)
		res.Applied++
		if ev, ok := t.s.clock.Observe(c.Stamp, now); ok {
			res.Skew = append(res.Skew, ev)
		}
		t.appended(c)
		k := recKey{c.Collection, c.Record}
		r := touched[k]
		if r == nil {
			slab = append(slab, remoteRecord{k: k, first: i})
			r = &slab[len(slab)-1]
			touched[k] = r
			recs = append(recs, r)
		} else {
			next[r.last] = i
		}
		r.last = i
		for j := range c.Muts {
			if c.Muts[j].Kind != crdt.MutMerge {
				continue
			}
			cm, err := t.mergesOf(c.Collection)
			if err != nil {
				return err
			}
			cm.add(crdt.MergeEdge{From: c.Record, Into: c.Muts[j].Into, Stamp: c.Stamp})
		}
	}
	// Workers read, apply and encode the records; the log is appended
	// meanwhile, then each record is put as soon as it is ready.
	ready := make(chan *remoteRecord, len(recs)) // never blocks a worker
	done := make(chan error, 1)
	workers := runtime.GOMAXPROCS(0)
	readers, arenas := make([]recReader, workers), make([]arena, workers)
	go func() {
		done <- parallel(len(recs), func(w, i int) error {
			r := recs[i]
			if err := r.build(t.s, &readers[w], &arenas[w], changes, next); err != nil {
				return err
			}
			ready <- r
			return nil
		})
	}()
	err := t.appendLog(changes, fresh)
	finished := false
	for n := 0; err == nil && n < len(recs); {
		select {
		case r := <-ready:
			err = t.putRecord(r)
			n++
		case err = <-done:
			// On success every record is in ready already.
			finished = true
		}
	}
	if !finished {
		if werr := <-done; err == nil {
			err = werr
		}
	}
	for _, rd := range readers {
		if rd.tx != nil {
			rd.tx.Rollback()
		}
	}
	return err
}

// recReader reads records for one worker, in a read transaction of its own:
// bbolt's transactions are not for sharing between goroutines. It sees the
// state the write transaction started from (writeMu and bbolt's writer lock
// let no commit in between), and the write transaction puts a record only
// after its worker has read it. The readers are closed before the write
// transaction commits, which may need to remap the file.
type recReader struct {
	tx   *bolt.Tx
	curs map[string]*bolt.Cursor // per collection, nil if none; Bucket.Get makes a cursor every call
}

func (rd *recReader) get(db *bolt.DB, coll, id string) ([]byte, error) {
	if rd.tx == nil {
		tx, err := db.Begin(false)
		if err != nil {
			return nil, err
		}
		rd.tx, rd.curs = tx, map[string]*bolt.Cursor{}
	}
	cur, ok := rd.curs[coll]
	if !ok {
		if b := rd.tx.Bucket(bucketRecords).Bucket([]byte(coll)); b != nil {
			cur = b.Cursor()
		}
		rd.curs[coll] = cur
	}
	if cur == nil {
		return nil, nil
	}
	if k, v := cur.Seek([]byte(id)); string(k) == id {
		return v, nil // nil for a nested bucket, as Get gives
	}
	return nil, nil
}

// build reads r, applies its changes from batch in order and encodes it
// into a. next links each change to the next one to the same record.
//
// Only the parts of the record the changes write are decoded and encoded
// again; the other entries of its field maps (a patient's other fields,
// the vital signs when the change is a phone number) are copied as stored.
func (r *remoteRecord) build(s *Store, rd *recReader, a *arena, batch []crdt.Change, next []int) error {
	raw, err := rd.get(s.db, r.k.coll, r.k.id)
	if err != nil {
		return fmt.Errorf("read record %s/%s: %w", r.k.coll, r.k.id, err)
	}
	var parts recordParts
	for j := r.first; ; j = next[j] {
		parts.note(&batch[j])
		if j == r.last {
			break
		}
	}
	var kept keptEntries
	r.rec, r.existed = &crdt.Record{}, raw != nil
	if raw != nil && !decodeRecordPart(raw, &parts, r.rec, &kept) {
		// Not in canonical form: the library decodes it whole.
		if err := s.codec.unmarshal(raw, r.rec); err != nil {
			return fmt.Errorf("read record %s/%s: %w", r.k.coll, r.k.id, err)
		}
	}
	for j := r.first; ; j = next[j] {
		r.rec.Apply(&batch[j])
		if j == r.last {
			break
		}
	}
	r.enc = encodeRecordTo(a, r.rec, &kept)
	return nil
}

// putRecord stores r as build made it.
func (t *txState) putRecord(r *remoteRecord) error {
	if !r.existed {
		t.counts[r.k.coll]++
	}
	b, err := t.collForWrite(r.k.coll)
	if err != nil {
		return err
	}
	if err := b.Put([]byte(r.k.id), r.enc); err != nil {
		return fmt.Errorf("write record %s/%s: %w", r.k.coll, r.k.id, err)
	}
	return nil
}

// logPos names one change in the log.
type logPos struct {
	origin crdt.NodeID
	seq    uint64
}

// inBatchOrLog reports whether change c is already held: in the log before
// this transaction, or earlier in this batch. mine holds every change of
// the batch appended so far; it may be nil only when c is not between the
// vector and the highest sequence held.
func (t *txState) inBatchOrLog(c *crdt.Change, mine map[logPos]bool) bool {
	if c.Seq <= t.vector[c.Origin] {
		return true
	}
	if c.Seq > t.held[c.Origin] {
		return false
	}
	if mine != nil && mine[logPos{c.Origin, c.Seq}] {
		return true
	}
	return t.log.Get(logKey(string(c.Origin), c.Seq)) != nil
}

// appendLog encodes the changes of batch at fresh and puts them in the log.
func (t *txState) appendLog(batch []crdt.Change, fresh []int) error {
	var a arena
	var key [1 + 255 + 8]byte
	for _, i := range fresh {
		c := &batch[i]
		v, err := t.s.codec.marshalTo(&a, c)
		if err != nil {
			return fmt.Errorf("encode change %s/%d: %w", c.Origin, c.Seq, err)
		}
		k := append(key[:0], byte(len(c.Origin)))
		k = append(k, c.Origin...)
		k = binary.BigEndian.AppendUint64(k, c.Seq)
		if err := t.log.Put(k, v); err != nil {
			return fmt.Errorf("append change %s/%d: %w", c.Origin, c.Seq, err)
		}
	}
	t.logLen += uint64(len(fresh))
	return nil
}

// ChangePage is one page of ChangesAfter.
type ChangePage struct {
	Changes []crdt.Change
	// Next is the vector to ask with for the following page: after, moved
	// past every change in this page.
	Next crdt.Vector
	// More is true when changes remain beyond this page.
	More bool
}

// ChangesAfter returns the changes this node holds that a peer with vector
// after lacks, at most limit of them, by origin then sequence. Only changes
// this node holds contiguously are sent, so the peer's vector stays
// contiguous too.
func (s *Store) ChangesAfter(after crdt.Vector, limit int) (ChangePage, error) {
	if limit <= 0 {
		limit = 1000
	}
	page := ChangePage{Next: after.Clone()}
	err := s.read(func(tx *bolt.Tx) error {
		have := crdt.Vector{}
		if err := tx.Bucket(bucketVector).ForEach(func(k, v []byte) error {
			have[crdt.NodeID(k)] = getU64(v)
			return nil
		}); err != nil {
			return err
		}
		cur := tx.Bucket(bucketLog).Cursor()
		for _, origin := range have.Origins() {
			if after[origin] >= have[origin] {
				continue
			}
			from, to := after[origin]+1, have[origin]
			if len(page.Changes) >= limit {
				page.More = true
				return nil
			}
			prefix := logPrefix(string(origin))
			for k, v := cur.Seek(logKey(string(origin), from)); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, v = cur.Next() {
				seq := getU64(k[len(prefix):])
				if seq > to {
					break
				}
				if len(page.Changes) >= limit {
					page.More = true
					return nil
				}
				var c crdt.Change
				if err := s.codec.unmarshal(v, &c); err != nil {
					return fmt.Errorf("read change %s/%d: %w", origin, seq, err)
				}
				page.Changes = append(page.Changes, c)
				page.Next[origin] = seq
			}
		}
		return nil
	})
	if err != nil {
		return ChangePage{}, fmt.Errorf("read changes after %s: %w", after, err)
	}
	return page, nil
}
