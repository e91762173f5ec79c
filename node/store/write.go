package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"carenode/crdt"
)

// Edit is one local edit. It becomes a crdt.Mutation stamped in the
// transaction that commits it.
type Edit struct {
	Kind   crdt.MutKind
	Field  string
	Value  []byte
	Elem   string
	FactID string
	Into   string
	// Seen names the stamps this edit replaces (MutSet), the add tags it
	// removes (MutRemove) or the tombstones it lifts (MutRestore).
	Seen []crdt.Stamp
	// SeenCurrent fills Seen, inside the committing transaction, with what
	// this node holds at that moment: the usual "I edited what I saw".
	SeenCurrent bool
}

// WriteRequest is one local write: edits to one record, made atomically.
type WriteRequest struct {
	Collection string
	Record     string
	// Create requires that the record does not exist yet.
	Create bool
	// MustExist requires that it does (an update, not an upsert).
	MustExist bool
	Edits     []Edit
}

// WriteResult is what a durable write made.
type WriteResult struct {
	Change crdt.Change
	// Record is the id the change was applied to: the survivor when the
	// request named a record merged into another.
	Record string
}

type writeReq struct {
	WriteRequest
	res  WriteResult
	err  error
	done chan struct{}
}

// Write commits req in the next group commit and returns once it is on
// disk. If ctx ends first, Write returns ctx's error; the write may still
// commit.
func (s *Store) Write(ctx context.Context, req WriteRequest) (WriteResult, error) {
	if err := req.validate(); err != nil {
		return WriteResult{}, err
	}
	r := &writeReq{WriteRequest: req, done: make(chan struct{})}
	s.closeMu.RLock()
	if s.closed || s.reqs == nil {
		s.closeMu.RUnlock()
		return WriteResult{}, ErrClosed
	}
	select {
	case s.reqs <- r:
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return WriteResult{}, ctx.Err()
	}
	s.closeMu.RUnlock()
	select {
	case <-r.done:
		return r.res, r.err
	case <-ctx.Done():
		return WriteResult{}, ctx.Err()
	}
}

func (req *WriteRequest) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("write %s/%s: %w: %s", req.Collection, req.Record, ErrInvalid, fmt.Sprintf(format, args...))
	}
	if !crdt.ValidName(req.Collection) {
		return bad("collection names are 1-64 letters, digits, '_', '-' or '.'")
	}
	if !crdt.ValidName(req.Record) {
		return bad("record ids are 1-64 letters, digits, '_', '-' or '.'")
	}
	if len(req.Edits) == 0 && !req.Create {
		return bad("nothing to change")
	}
	fields := map[string]bool{}
	for i, e := range req.Edits {
		m := crdt.Mutation{Kind: e.Kind, Field: e.Field, Value: e.Value, Elem: e.Elem, FactID: e.FactID, Seen: e.Seen, Into: e.Into}
		c := crdt.Change{Origin: "x", Seq: 1, Stamp: crdt.Stamp{Node: "x"}, Collection: req.Collection, Record: req.Record, Muts: []crdt.Mutation{m}}
		if err := c.Validate(); err != nil {
			return bad("edit %d: %v", i, err)
		}
		if e.Kind == crdt.MutSet {
			if fields[e.Field] {
				return bad("field %q set twice in one write", e.Field)
			}
			fields[e.Field] = true
		}
	}
	return nil
}

func (s *Store) committer() {
	defer close(s.done)
	for {
		select {
		case r := <-s.reqs:
			s.commit(s.gather(r))
		case <-s.quit:
			// Flush what is queued; Close holds closeMu so nothing new arrives.
			for {
				select {
				case r := <-s.reqs:
					s.commit(s.gather(r))
				default:
					return
				}
			}
		}
	}
}

// gather takes first and every request already waiting, up to MaxBatch. It
// does not wait for more: a lingering wait (for writers about to send their
// next write) was tried and measured; it helped only when fsync was slow and
// cost throughput when fsync was fast (docs/BENCHMARKS.md).
func (s *Store) gather(first *writeReq) []*writeReq {
	batch := []*writeReq{first}
	for len(batch) < s.opts.MaxBatch {
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

func (s *Store) commit(batch []*writeReq) {
	start := time.Now()
	s.writeMu.Lock()
	var t *txState
	err := s.update(func(tx *bolt.Tx) error {
		t = s.newTxState(tx)
		for _, r := range batch {
			r.err = nil
			if err := t.localWrite(r); err != nil {
				if errors.Is(err, ErrNotFound) || errors.Is(err, ErrExists) || errors.Is(err, ErrInvalid) {
					r.err = err // this request fails alone; nothing of it was applied
					continue
				}
				return err
			}
		}
		return t.flush()
	})
	if err == nil {
		t.publish()
	}
	s.writeMu.Unlock()
	if err != nil {
		err = fmt.Errorf("commit %d writes to %s: %w", len(batch), s.opts.Path, err)
		s.log.Error("group commit failed", "writes", len(batch), "err", err)
	}
	// Measure before acknowledging, so a caller that sees its write done
	// also sees it counted.
	if s.opts.Observer != nil && err == nil {
		s.opts.Observer.Committed(len(batch), time.Since(start))
		s.opts.Observer.LogLength(t.logLen)
	}
	for _, r := range batch {
		if err != nil {
			r.err = err
		}
		close(r.done)
	}
}

// localWrite turns r into a change at the current sequence and stamp, and
// applies it. It returns ErrNotFound/ErrExists/ErrInvalid before changing
// anything.
func (t *txState) localWrite(r *writeReq) error {
	coll := r.Collection
	cm, err := t.mergesOf(coll)
	if err != nil {
		return err
	}
	id := r.Record
	if !r.Create {
		id = cm.m.Survivor(r.Record)
	}
	cr, err := t.record(coll, id)
	if err != nil {
		return err
	}
	if !cr.exists && id != r.Record {
		// Merged into a record that has not arrived here yet: the write
		// lands on the record asked for, and shows through the survivor
		// once it arrives.
		id = r.Record
		if cr, err = t.record(coll, id); err != nil {
			return err
		}
	}
	switch {
	case r.Create && cr.exists:
		return fmt.Errorf("create %s/%s: %w", coll, id, ErrExists)
	case r.MustExist && !cr.exists:
		return fmt.Errorf("write %s/%s: %w", coll, r.Record, ErrNotFound)
	}
	var seenView *crdt.Record // the survivor joined with its duplicates, built on demand; read only
	view := func() (*crdt.Record, error) {
		if seenView != nil {
			return seenView, nil
		}
		members := cm.m.Members(id)
		if len(members) == 1 { // nothing merged into it: read the record itself
			seenView = cr.rec
			return seenView, nil
		}
		var others []*crdt.Record
		for _, m := range members[1:] {
			o, err := t.record(coll, m)
			if err != nil {
				return nil, err
			}
			others = append(others, o.rec)
		}
		seenView = crdt.MergedRecord(cr.rec, others)
		return seenView, nil
	}
	muts := make([]crdt.Mutation, 0, max(1, len(r.Edits)))
	for _, e := range r.Edits {
		m := crdt.Mutation{Kind: e.Kind, Field: e.Field, Value: e.Value, Elem: e.Elem, FactID: e.FactID, Into: e.Into, Seen: e.Seen}
		if e.SeenCurrent {
			v, err := view()
			if err != nil {
				return err
			}
			switch e.Kind {
			case crdt.MutSet:
				if reg := v.Fields[e.Field]; reg != nil {
					m.Seen = reg.Stamps()
				}
			case crdt.MutRemove:
				if set := v.Sets[e.Field]; set != nil {
					m.Seen = set.Tags(e.Elem)
				}
			case crdt.MutRestore:
				m.Seen = append([]crdt.Stamp(nil), cr.rec.Deletes...)
			}
		}
		if e.Kind == crdt.MutMerge {
			into := cm.m.Survivor(e.Into)
			target, err := t.record(coll, into)
			if err != nil {
				return err
			}
			if !target.exists {
				return fmt.Errorf("merge %s/%s into %s: %w", coll, id, e.Into, ErrNotFound)
			}
			if into == id {
				return fmt.Errorf("merge %s/%s into %s: %w: they are already one record", coll, r.Record, e.Into, ErrInvalid)
			}
			m.Into = into
		}
		muts = append(muts, m)
	}
	if len(muts) == 0 {
		muts = append(muts, crdt.Mutation{Kind: crdt.MutTouch})
	}
	self := t.s.origin
	c := crdt.Change{
		Origin:     self,
		Seq:        t.vector[self] + 1,
		Stamp:      t.s.clock.Now(t.s.now()),
		Collection: coll,
		Record:     id,
		Muts:       muts,
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("write %s/%s: %w: %w", coll, id, ErrInvalid, err)
	}
	if err := t.apply(&c); err != nil {
		return err
	}
	t.vector[self] = c.Seq
	r.res = WriteResult{Change: c, Record: id}
	return nil
}
