package store

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// WriteAll commits every request in one transaction, atomically: if one
// fails (ErrExists, ErrNotFound, ErrInvalid) none is applied, and a crash
// leaves all or none of them on disk. It is for work that must not be left
// half done, such as importing a clinic's roster; each request still becomes
// its own change with its own sequence number. The results are in the order
// of reqs. ctx is checked before the transaction starts, not during it.
func (s *Store) WriteAll(ctx context.Context, reqs []WriteRequest) ([]WriteResult, error) {
	for i := range reqs {
		if err := reqs[i].validate(); err != nil {
			return nil, fmt.Errorf("write all, request %d: %w", i, err)
		}
	}
	if len(reqs) == 0 {
		return nil, nil
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed || s.reqs == nil {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	start := time.Now()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var t *txState
	out := make([]WriteResult, len(reqs))
	err := s.update(func(tx *bolt.Tx) error {
		t = s.newTxState(tx)
		for i := range reqs {
			r := &writeReq{WriteRequest: reqs[i]}
			if err := t.localWrite(r); err != nil {
				return fmt.Errorf("request %d (%s/%s): %w", i, reqs[i].Collection, reqs[i].Record, err)
			}
			out[i] = r.res
		}
		return t.flush()
	})
	if err != nil {
		return nil, fmt.Errorf("write %d records to %s: %w", len(reqs), s.opts.Path, err)
	}
	t.publish()
	if s.opts.Observer != nil {
		s.opts.Observer.Committed(len(reqs), time.Since(start))
		s.opts.Observer.LogLength(t.logLen)
	}
	return out, nil
}
