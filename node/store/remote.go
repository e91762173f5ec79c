package store

import (
	"bytes"
	"fmt"
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
		encoded, err := t.prefetch(changes)
		if err != nil {
			return err
		}
		now := s.now()
		for i := range changes {
			c := &changes[i]
			// inLog sees this transaction's appends, so a change sent twice
			// in one batch is caught too.
			if t.inLog(c.Origin, c.Seq) {
				res.Duplicates++
				continue
			}
			if ev, ok := s.clock.Observe(c.Stamp, now); ok {
				res.Skew = append(res.Skew, ev)
			}
			if err := t.apply(c, encoded[i]); err != nil {
				return err
			}
			res.Applied++
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
