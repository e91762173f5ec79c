package serialport

import (
	"bytes"
	"context"
	"sync"

	"carenode/devices"
)

// memSink is an in-memory devices.Sink that tells the test of each batch
// stored. fail, when set, decides whether a Store fails.
type memSink struct {
	mu      sync.Mutex
	batches []devices.Batch
	fail    func(b devices.Batch) error
	stored  chan devices.Batch
}

var _ devices.Sink = (*memSink)(nil)

func newSink() *memSink { return &memSink{stored: make(chan devices.Batch, 1000)} }

func (s *memSink) Store(ctx context.Context, b devices.Batch) error {
	if s.fail != nil {
		if err := s.fail(b); err != nil {
			return err
		}
	}
	b.Raw = bytes.Clone(b.Raw)
	s.mu.Lock()
	s.batches = append(s.batches, b)
	s.mu.Unlock()
	s.stored <- b
	return nil
}

func (s *memSink) all() []devices.Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]devices.Batch(nil), s.batches...)
}
