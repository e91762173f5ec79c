package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"strings"
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
	// Encode the changes for the log, and copy them to wait in memory,
	// before taking the write lock and side by side: neither depends on
	// anything stored.
	enc := make([][]byte, len(changes))
	var copied *pendingBatch
	var encErr error
	prep := make(chan struct{})
	go func() {
		defer close(prep)
		var a arena
		for i := range changes {
			v, err := s.codec.marshalTo(&a, &changes[i])
			if err != nil {
				encErr = fmt.Errorf("apply remote batch: encode change %s/%d: %w", changes[i].Origin, changes[i].Seq, err)
				return
			}
			enc[i] = v
		}
	}()
	if s.opts.FoldAfter > 0 {
		copied = newPendingBatch(nil, changes, nil)
	}
	<-prep
	if encErr != nil {
		return res, encErr
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var t *txState
	err := s.update(func(tx *bolt.Tx) error {
		res = ApplyResult{}
		t = s.newTxState(tx)
		t.enc, t.copied = enc, copied
		if err := t.applyRemote(changes, &res); err != nil {
			return err
		}
		return t.flush()
	})
	if err != nil {
		return ApplyResult{}, fmt.Errorf("apply remote batch of %d to %s: %w", len(changes), s.opts.Path, err)
	}
	t.publish()
	if t.waited {
		s.wakeFolder()
	}
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

// remoteRecord is one record a fold rewrites: the changes to apply to it,
// in order, and what applying them made.
type remoteRecord struct {
	k           recKey
	first, last int  // its first and last change in the list
	existed     bool // stored before the transaction
	enc         []byte
	raw         []byte // the stored bytes build started from, kept for the folder
}

// applyRemote puts a validated remote batch into the transaction: changes
// already held are counted as duplicates, the rest are appended to the log.
// Their records are either left for a later fold (the batch is listed in
// bucket unfolded and waits in memory; pending.go says why) or, when
// 4×FoldAfter changes would wait (the folder is behind), FoldAfter is
// negative or foldAll is set, rewritten now together with every change
// still waiting. It must be the first thing its
// transaction does: records are read as the transaction found them.
//
// Which changes are new, the clock and merges are settled first, in batch
// order, on the transaction's goroutine. When folding, each touched record
// is then read, has its changes applied and is encoded again, spread over
// the CPUs, while the transaction's goroutine appends the changes (encoded
// before the transaction began) to the log and puts each record as it
// comes ready: records are
// independent of one another and of the log. Every call on the write
// transaction stays on its goroutine.
func (t *txState) applyRemote(changes []crdt.Change, res *ApplyResult) error {
	now := t.s.now()
	fresh := make([]int, 0, len(changes))
	var mine map[logPos]bool // this batch's new changes, made on first need
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
	if !t.foldAll && t.s.opts.FoldAfter > 0 && t.pend.len()+len(fresh) < 4*t.s.opts.FoldAfter {
		if err := t.appendLog(changes, fresh); err != nil {
			return err
		}
		if len(fresh) == 0 {
			return nil
		}
		return t.wait(changes, fresh)
	}
	// Fold: the waiting changes and the batch's, record by record.
	var fromBatch []*crdt.Change
	for _, i := range fresh {
		fromBatch = append(fromBatch, &changes[i])
	}
	recs, list, next := groupRecords(t.pend.list(), fromBatch)
	// Workers read, apply and encode the records; the log is appended
	// meanwhile, then each record is put as soon as it is ready.
	ready := make(chan *remoteRecord, len(recs)) // never blocks a worker
	done := make(chan error, 1)
	workers := runtime.GOMAXPROCS(0)
	readers, arenas := make([]recReader, workers), make([]arena, workers)
	go func() {
		done <- parallel(len(recs), 0, func(w, i int) error {
			r := recs[i]
			if err := r.build(t.s, &readers[w], &arenas[w], list, next); err != nil {
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
	if err != nil {
		return err
	}
	if t.pend != nil {
		if err := t.dropBatches(t.pend.batches); err != nil {
			return err
		}
	}
	t.newPend, t.pendChanged = nil, true
	return nil
}

// groupRecords lists the records the changes of a and then b touch, each
// with its first and last change in list (a followed by b); next[i] is the
// next change in list to change i's record.
func groupRecords(a, b []*crdt.Change) (recs []*remoteRecord, list []*crdt.Change, next []int) {
	list = append(a[:len(a):len(a)], b...)
	touched := make(map[recKey]*remoteRecord, len(list))
	recs = make([]*remoteRecord, 0, len(list))
	slab := make([]remoteRecord, 0, len(list)) // never grows: &slab[i] stays valid
	next = make([]int, len(list))
	for i, c := range list {
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
	}
	return recs, list, next
}

// wait lists the batch's new changes in bucket unfolded and makes them
// the waiting set after this transaction.
func (t *txState) wait(batch []crdt.Change, fresh []int) error {
	ub := t.tx.Bucket(bucketUnfolded)
	seq, err := ub.NextSequence()
	if err != nil {
		return fmt.Errorf("number unfolded batch: %w", err)
	}
	key := u64(seq)
	if err := ub.Put(key, packRuns(batch, fresh)); err != nil {
		return fmt.Errorf("list unfolded batch: %w", err)
	}
	var b *pendingBatch
	if t.copied != nil && len(fresh) == len(batch) {
		b = t.copied // the usual case: every change is new
		b.key = key
	} else {
		b = newPendingBatch(key, batch, fresh)
	}
	t.newPend, t.pendChanged = t.pend.with(b), true
	t.waited = true
	return nil
}

// dropBatches removes batches from bucket unfolded: this transaction
// folds them.
func (t *txState) dropBatches(batches []*pendingBatch) error {
	ub := t.tx.Bucket(bucketUnfolded)
	for _, b := range batches {
		if err := ub.Delete(b.key); err != nil {
			return fmt.Errorf("drop unfolded batch: %w", err)
		}
	}
	return nil
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

// build reads r, applies its changes from list in order and encodes it
// into a. next links each change to the next one to the same record.
//
// Only the parts of the record the changes write are decoded and encoded
// again; the other entries of its field maps (a patient's other fields,
// the vital signs when the change is a phone number) are copied as stored.
func (r *remoteRecord) build(s *Store, rd *recReader, a *arena, list []*crdt.Change, next []int) error {
	raw, err := rd.get(s.db, r.k.coll, r.k.id)
	if err != nil {
		return fmt.Errorf("read record %s/%s: %w", r.k.coll, r.k.id, err)
	}
	return r.buildFrom(s, raw, a, list, next)
}

// buildFrom is build from raw, the record as stored (nil: not stored).
func (r *remoteRecord) buildFrom(s *Store, raw []byte, a *arena, list []*crdt.Change, next []int) error {
	var parts recordParts
	for j := r.first; ; j = next[j] {
		parts.note(list[j])
		if j == r.last {
			break
		}
	}
	var kept keptEntries
	rec := &crdt.Record{} // dropped once encoded: a fold may build thousands
	r.existed = raw != nil
	if raw != nil && !decodeRecordPart(raw, &parts, rec, &kept) {
		// Not in canonical form: the library decodes it whole.
		if err := s.codec.unmarshal(raw, rec); err != nil {
			return fmt.Errorf("read record %s/%s: %w", r.k.coll, r.k.id, err)
		}
	}
	for j := r.first; ; j = next[j] {
		rec.Apply(list[j])
		if j == r.last {
			break
		}
	}
	r.enc = encodeRecordTo(a, rec, &kept)
	return nil
}

// putRecord stores r as build made it.
func (t *txState) putRecord(r *remoteRecord) error {
	if !r.existed {
		t.counts[r.k.coll]++ // counts are of stored records; see Stats
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

// appendLog puts the changes of batch at fresh in the log, encoded as
// t.enc holds them (or here, when it is nil).
func (t *txState) appendLog(batch []crdt.Change, fresh []int) error {
	var a arena
	var key [1 + 255 + 8]byte
	// In key order: each Put then lands next to the last one.
	order := slices.Clone(fresh)
	slices.SortFunc(order, func(i, j int) int {
		return cmp.Or(strings.Compare(string(batch[i].Origin), string(batch[j].Origin)), cmp.Compare(batch[i].Seq, batch[j].Seq))
	})
	for _, i := range order {
		c := &batch[i]
		var v []byte
		if t.enc != nil {
			v = t.enc[i]
		} else {
			var err error
			if v, err = t.s.codec.marshalTo(&a, c); err != nil {
				return fmt.Errorf("encode change %s/%d: %w", c.Origin, c.Seq, err)
			}
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
