package store

import (
	"bytes"
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"carenode/crdt"
)

// Folding the waiting remote changes into their records (pending.go says
// why they wait).
//
// The folder is a goroutine of the store's own. Woken when FoldAfter
// changes wait, or when no batch has come for FoldIdle, it takes the set
// waiting at that moment and, a chunk of records at a time (foldChunk),
// copies them out in a read transaction and builds the new records outside
// the write lock, on all CPUs but one: that work overlaps the next
// batches' log writes and fsyncs. Then it takes the write lock and puts
// the chunk in one transaction. A record a local write has rewritten
// meanwhile (its stored bytes differ from those the folder copied) is
// built again there from what is stored now. Should the set it folds no
// longer be waiting (Fold, Close or an over-full ApplyRemote folded it
// meanwhile), it drops its work.
//
// ApplyRemote folds in its own transaction instead when the changes
// waiting would pass 4×FoldAfter (the folder is not keeping up), which
// bounds the memory they take; Fold and Close fold whatever waits; Open
// folds what a crash left.

// foldLoop runs the folder until foldQuit closes.
func (s *Store) foldLoop() {
	defer close(s.foldDone)
	for {
		idle := false
		select {
		case <-s.foldQuit:
			return
		case <-s.foldWake:
		case <-s.foldIdle:
			idle = true
		}
		if !idle && s.pend.Load().len() < s.opts.FoldAfter {
			continue // woken while the last run folded them
		}
		if err := s.foldBehind(); err != nil {
			s.log.Error("folding remote changes into records failed; they stay in the log, are read from there and are folded again later", "err", err)
		}
	}
}

// wakeFolder makes the folder fold what waits: now if FoldAfter changes
// wait, else once no batch has come for FoldIdle.
func (s *Store) wakeFolder() {
	if s.foldWake == nil {
		return
	}
	if s.pend.Load().len() >= s.opts.FoldAfter {
		select {
		case s.foldWake <- struct{}{}:
		default: // already woken
		}
		return
	}
	s.foldMu.Lock()
	defer s.foldMu.Unlock()
	if s.foldTimer != nil {
		s.foldTimer.Reset(s.opts.FoldIdle)
		return
	}
	s.foldTimer = time.AfterFunc(s.opts.FoldIdle, func() {
		select {
		case s.foldIdle <- struct{}{}:
		default:
		}
	})
}

// foldChunk is how many records the folder builds and writes at a time.
// The records of a fold are rewritten in chunks, each its own transaction:
// a chunk's built records are all that is held (a whole fold of the
// uniform benchmark held about 100 MiB), and ApplyRemote waits for one
// chunk's commit, not a whole fold's. A record folded in an earlier chunk
// while its changes still wait is read with them applied again, which
// changes nothing; the batches leave the waiting set with the last chunk.
const foldChunk = 4096

// foldBehind is one run of the folder.
func (s *Store) foldBehind() error {
	s.foldRun.Lock()
	defer s.foldRun.Unlock()
	p := s.pend.Load()
	if p.len() == 0 {
		return nil
	}
	recs, list, next := groupRecords(p.list(), nil)
	slices.SortFunc(recs, func(a, b *remoteRecord) int {
		return cmp.Or(strings.Compare(a.k.coll, b.k.coll), strings.Compare(a.k.id, b.k.id))
	})
	for from := 0; from < len(recs); from += foldChunk {
		chunk := recs[from:min(from+foldChunk, len(recs))]
		done, err := s.foldRecords(p, chunk, list, next, from+len(chunk) == len(recs))
		if err != nil {
			return fmt.Errorf("fold %d waiting changes into records of %s: %w", p.len(), s.opts.Path, err)
		}
		if done {
			return nil
		}
	}
	return nil
}

// foldRecords builds recs (sorted by key) from what is stored and the
// changes in list, then writes them in one transaction; the last chunk of
// a fold also drops p's batches from the waiting set. It reports done when
// there is nothing more to do: the store closed, or p was folded
// meanwhile by someone else.
func (s *Store) foldRecords(p *pendingSet, recs []*remoteRecord, list []*crdt.Change, next []int, last bool) (done bool, err error) {
	// Copy the records out in one read transaction on this goroutine (a
	// goroutine that holds a read transaction must not begin another: a
	// commit waiting to remap the file would block it), then build them
	// with no transaction open.
	var raws arena
	err = s.read(func(tx *bolt.Tx) error {
		var b *bolt.Bucket
		coll := "\x00"
		for _, r := range recs {
			if r.k.coll != coll {
				coll, b = r.k.coll, tx.Bucket(bucketRecords).Bucket([]byte(r.k.coll))
			}
			r.raw = nil
			if b != nil {
				if v := b.Get([]byte(r.k.id)); v != nil {
					r.raw = raws.copy(v)
				}
			}
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	arenas := make([]arena, runtime.GOMAXPROCS(0))
	// All CPUs but one: the folder runs beside ApplyRemote, whose own work
	// wants a CPU (on two CPUs, two workers slowed the whole:
	// docs/BENCHMARKS.md).
	if err := parallel(len(recs), max(1, runtime.GOMAXPROCS(0)-1), func(w, i int) error {
		return recs[i].buildFrom(s, recs[i].raw, &arenas[w], list, next)
	}); err != nil {
		return false, err
	}

	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return true, nil // Close folds what waits
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	cur := s.pend.Load()
	if cur == nil || len(cur.batches) < len(p.batches) || !slices.Equal(cur.batches[:len(p.batches)], p.batches) {
		return true, nil // folded meanwhile
	}
	var t *txState
	err = s.update(func(tx *bolt.Tx) error {
		t = s.newTxState(tx)
		var a arena
		for _, r := range recs {
			b, err := t.collForWrite(r.k.coll)
			if err != nil {
				return err
			}
			now := b.Get([]byte(r.k.id))
			if (now == nil) != (r.raw == nil) || !bytes.Equal(now, r.raw) {
				// A local write rewrote it since (with the waiting
				// changes); build it again from what it holds now.
				rec := &crdt.Record{}
				if err := s.codec.unmarshal(now, rec); err != nil {
					return fmt.Errorf("read record %s/%s: %w", r.k.coll, r.k.id, err)
				}
				p.applyTo(r.k, rec)
				if r.enc, err = s.codec.marshalTo(&a, rec); err != nil {
					return fmt.Errorf("encode record %s/%s: %w", r.k.coll, r.k.id, err)
				}
			}
			r.existed = now != nil
			if err := t.putRecord(r); err != nil {
				return err
			}
			r.raw, r.enc = nil, nil // the chunk's bytes go with it
		}
		if last {
			if err := t.dropBatches(p.batches); err != nil {
				return err
			}
			t.newPend, t.pendChanged = cur.without(len(p.batches)), true
		}
		return t.flush()
	})
	if err != nil {
		return false, err
	}
	t.publish()
	return last, nil
}

// Fold writes every remote change still waiting into its record now. The
// store does it by itself (see FoldAfter and FoldIdle); Fold is for
// callers that want it done at a moment of their choosing, and benchmarks
// that count its cost.
func (s *Store) Fold() error {
	s.foldRun.Lock() // let a run of the folder finish first
	defer s.foldRun.Unlock()
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed || s.opts.ReadOnly {
		return ErrClosed
	}
	return s.fold()
}

// fold folds every waiting change in one transaction, under the write
// lock. Callers hold closeMu (or own the store).
func (s *Store) fold() error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.pend.Load() == nil {
		return nil
	}
	var t *txState
	err := s.update(func(tx *bolt.Tx) error {
		t = s.newTxState(tx)
		t.foldAll = true
		if err := t.applyRemote(nil, &ApplyResult{}); err != nil {
			return err
		}
		return t.flush()
	})
	if err != nil {
		return fmt.Errorf("fold remote changes into records of %s: %w", s.opts.Path, err)
	}
	t.publish()
	return nil
}

// startFolder starts the folder; Open calls it on a writable store.
func (s *Store) startFolder() {
	s.foldWake = make(chan struct{}, 1)
	s.foldIdle = make(chan struct{}, 1)
	s.foldQuit = make(chan struct{})
	s.foldDone = make(chan struct{})
	go s.foldLoop()
}

// stopFolder stops the folder and its timer, waiting for a run under way.
// Close calls it before its last fold.
func (s *Store) stopFolder() {
	s.foldMu.Lock()
	if s.foldTimer != nil {
		s.foldTimer.Stop()
	}
	s.foldMu.Unlock()
	if s.foldQuit != nil {
		close(s.foldQuit)
		<-s.foldDone
	}
}
