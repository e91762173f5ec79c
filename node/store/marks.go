package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"carenode/crdt"
)

// bucketMarks, inside the index bucket, holds sync marks: for each peer and
// scope, the version vector this node knows the peer has (sync/session's
// Marks). A partial replica's own vector has gaps, so without a mark that
// survives a restart every in-scope change would be sent again (skipped as a
// duplicate, but paid for on a metered link).
var bucketMarks = []byte("marks")

// Mark returns the vector stored under key, or an empty vector.
func (s *Store) Mark(key string) (crdt.Vector, error) {
	var text string
	err := s.read(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketIndex).Bucket(bucketMarks); b != nil {
			text = string(b.Get([]byte(key)))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read mark %q: %w", key, err)
	}
	if text == "" {
		return crdt.Vector{}, nil
	}
	v, err := crdt.ParseVector(text)
	if err != nil {
		return nil, fmt.Errorf("read mark %q: %w: %w", key, ErrCorrupt, err)
	}
	return v, nil
}

// SetMark stores v under key durably, in its own transaction.
func (s *Store) SetMark(key string, v crdt.Vector) error {
	if key == "" || len(key) > 512 {
		return fmt.Errorf("set mark: %w: key must be 1-512 bytes", ErrInvalid)
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed || s.reqs == nil {
		return ErrClosed
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	err := s.update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketIndex).CreateBucketIfNotExists(bucketMarks)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), []byte(v.String()))
	})
	if err != nil {
		return fmt.Errorf("set mark %q: %w", key, err)
	}
	return nil
}
