package store

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"carenode/crdt"
)

// Deferred folding.
//
// A remote batch is durable once its changes are in the log, the vector has
// moved and the batch is listed in bucket unfolded; rewriting the records
// it touches can wait. Rewriting them is what costs: a batch of 1,000
// changes to patients spread over the file dirties hundreds of records
// pages, each written with its own pwrite, while its log entries fill about
// fifty pages at the end of the log. So ApplyRemote stores most batches
// that way and folds the waiting changes into their records in bulk — when
// FoldAfter changes wait, when no batch has come for FoldIdle, at Close and
// at Open — rewriting each records page once for many batches.
//
// Until then the changes wait in memory too (pendingSet), and every reader
// applies a record's waiting changes on top of its stored state: crdt's
// Apply is idempotent and its result does not depend on order, so the
// stored state plus the waiting changes is exactly the folded state, and
// applying a change twice (a local write folds a waiting record early; a
// reader holds a set that a fold has just written) changes nothing.
//
// A reader takes the set before it begins its read transaction, and a
// fold commits before it drops the set: whichever it sees, it sees every
// change that was durable when it began.

// DefaultFoldAfter is how many remote changes may wait unfolded.
const DefaultFoldAfter = 16 * 1024

// DefaultFoldIdle is how long after the last remote batch the waiting
// changes are folded anyway.
const DefaultFoldIdle = 500 * time.Millisecond

// Waiting returns how many remote changes wait to be folded into their
// records (they are read from memory meanwhile).
func (s *Store) Waiting() int { return s.pend.Load().len() }

// pendingSet is the remote changes waiting to be folded into their
// records. It never changes once published: a new batch makes a new set
// sharing the old batches. A nil set holds nothing.
type pendingSet struct {
	batches []*pendingBatch
	n       int // changes in all

	idsOnce sync.Once
	ids     map[string][]string // collection -> ids of records with waiting changes, sorted
}

// pendingBatch is one batch's waiting changes.
type pendingBatch struct {
	key     []byte // in bucket unfolded
	changes []crdt.Change
	byRec   map[recKey][]int32 // record -> its changes, in batch order
}

func (p *pendingSet) len() int {
	if p == nil {
		return 0
	}
	return p.n
}

// has reports whether any change to k waits.
func (p *pendingSet) has(k recKey) bool {
	if p == nil {
		return false
	}
	for _, b := range p.batches {
		if _, ok := b.byRec[k]; ok {
			return true
		}
	}
	return false
}

// applyTo applies every change to k that waits to r and reports whether
// there were any.
func (p *pendingSet) applyTo(k recKey, r *crdt.Record) bool {
	if p == nil {
		return false
	}
	any := false
	for _, b := range p.batches {
		for _, i := range b.byRec[k] {
			r.Apply(&b.changes[i])
			any = true
		}
	}
	return any
}

// byColl returns, for each collection, the sorted ids of its records that
// have waiting changes: some stored, some not stored yet. Built once per
// set, on first need.
func (p *pendingSet) byColl() map[string][]string {
	if p == nil {
		return nil
	}
	p.idsOnce.Do(func() {
		p.ids = map[string][]string{}
		for _, b := range p.batches {
			for k := range b.byRec {
				p.ids[k.coll] = append(p.ids[k.coll], k.id)
			}
		}
		for c, ids := range p.ids {
			slices.Sort(ids)
			p.ids[c] = slices.Compact(ids)
		}
	})
	return p.ids
}

// list returns every waiting change, batch after batch.
func (p *pendingSet) list() []*crdt.Change {
	if p == nil {
		return nil
	}
	out := make([]*crdt.Change, 0, p.n)
	for _, b := range p.batches {
		for i := range b.changes {
			out = append(out, &b.changes[i])
		}
	}
	return out
}

// without returns the set less its first n batches (folded).
func (p *pendingSet) without(n int) *pendingSet {
	if n >= len(p.batches) {
		return nil
	}
	q := &pendingSet{batches: slices.Clone(p.batches[n:])}
	for _, b := range q.batches {
		q.n += len(b.changes)
	}
	return q
}

// with returns the set with b added.
func (p *pendingSet) with(b *pendingBatch) *pendingSet {
	q := &pendingSet{batches: []*pendingBatch{b}, n: len(b.changes)}
	if p != nil {
		q.batches = append(slices.Clone(p.batches), b)
		q.n += p.n
	}
	return q
}

// newPendingBatch makes the waiting batch of batch's changes at fresh (all
// of them if fresh is nil). It copies them: the caller may reuse its
// slices once ApplyRemote returns.
func newPendingBatch(key []byte, batch []crdt.Change, fresh []int) *pendingBatch {
	if fresh == nil {
		fresh = make([]int, len(batch))
		for i := range fresh {
			fresh[i] = i
		}
	}
	b := &pendingBatch{key: key, changes: make([]crdt.Change, len(fresh)), byRec: make(map[recKey][]int32, len(fresh))}
	nm, nb, ns := 0, 0, 0
	for _, i := range fresh {
		nm += len(batch[i].Muts)
		for j := range batch[i].Muts {
			nb += len(batch[i].Muts[j].Value)
			ns += len(batch[i].Muts[j].Seen)
		}
	}
	muts, bytes, seen := make([]crdt.Mutation, 0, nm), make([]byte, 0, nb), make([]crdt.Stamp, 0, ns)
	for n, i := range fresh {
		c := batch[i]
		from := len(muts)
		for _, m := range c.Muts {
			if m.Value != nil {
				at := len(bytes)
				bytes = append(bytes, m.Value...)
				m.Value = bytes[at:len(bytes):len(bytes)]
			}
			if m.Seen != nil {
				at := len(seen)
				seen = append(seen, m.Seen...)
				m.Seen = seen[at:len(seen):len(seen)]
			}
			muts = append(muts, m)
		}
		c.Muts = muts[from:len(muts):len(muts)]
		b.changes[n] = c
		k := recKey{c.Collection, c.Record}
		b.byRec[k] = append(b.byRec[k], int32(n))
	}
	return b
}

// packRuns lists the changes of batch at fresh for bucket unfolded as
// runs of consecutive sequence numbers per origin, each len(origin) |
// origin | first (8 bytes) | last (8 bytes): a batch from a peer is a few
// runs, tens of bytes, where its log keys would fill pages.
func packRuns(batch []crdt.Change, fresh []int) []byte {
	byOrigin := map[crdt.NodeID][]uint64{}
	for _, i := range fresh {
		byOrigin[batch[i].Origin] = append(byOrigin[batch[i].Origin], batch[i].Seq)
	}
	origins := make([]crdt.NodeID, 0, len(byOrigin))
	for o := range byOrigin {
		origins = append(origins, o)
	}
	slices.Sort(origins)
	var out []byte
	for _, o := range origins {
		seqs := byOrigin[o]
		slices.Sort(seqs)
		for i := 0; i < len(seqs); {
			j := i
			for j+1 < len(seqs) && seqs[j+1] == seqs[j]+1 {
				j++
			}
			out = append(out, byte(len(o)))
			out = append(out, o...)
			out = binary.BigEndian.AppendUint64(out, seqs[i])
			out = binary.BigEndian.AppendUint64(out, seqs[j])
			i = j + 1
		}
	}
	return out
}

// loadPending reads the batches bucket unfolded lists (left by a crash, or
// by a read-only open of a serving node's file) from the log.
func (s *Store) loadPending(tx *bolt.Tx) (*pendingSet, error) {
	ub := tx.Bucket(bucketUnfolded)
	if ub == nil {
		return nil, nil
	}
	logb := tx.Bucket(bucketLog)
	var p *pendingSet
	err := ub.ForEach(func(k, v []byte) error {
		var batch []crdt.Change
		for rest := v; len(rest) > 0; {
			n := 1 + int(rest[0])
			if len(rest) < n+16 {
				return fmt.Errorf("%w: unfolded batch %x: truncated run", ErrCorrupt, k)
			}
			origin := string(rest[1:n])
			first, last := getU64(rest[n:n+8]), getU64(rest[n+8:n+16])
			rest = rest[n+16:]
			if first == 0 || last < first || last-first >= 1<<24 {
				return fmt.Errorf("%w: unfolded batch %x: bad run %q %d-%d", ErrCorrupt, k, origin, first, last)
			}
			for seq := first; seq <= last; seq++ {
				raw := logb.Get(logKey(origin, seq))
				if raw == nil {
					return fmt.Errorf("%w: unfolded batch %x names change %q/%d missing from the log", ErrCorrupt, k, origin, seq)
				}
				var c crdt.Change
				if err := s.codec.unmarshal(raw, &c); err != nil {
					return fmt.Errorf("read change %q/%d: %w: %w", origin, seq, ErrCorrupt, err)
				}
				batch = append(batch, c)
			}
		}
		p = p.with(newPendingBatch(slices.Clone(k), batch, nil))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read unfolded changes: %w", err)
	}
	return p, nil
}
