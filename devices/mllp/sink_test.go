package mllp

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"carenode/devices"
)

// memSink is an in-memory devices.Sink. fail, when set, decides whether a
// Store fails; block, when set, is waited on before storing.
type memSink struct {
	mu      sync.Mutex
	batches []devices.Batch
	fail    func(b devices.Batch) error
	block   chan struct{}
	stored  chan devices.Batch // receives each stored batch when not nil
}

var _ devices.Sink = (*memSink)(nil)

func (s *memSink) Store(ctx context.Context, b devices.Batch) error {
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.fail != nil {
		if err := s.fail(b); err != nil {
			return err
		}
	}
	b.Raw = bytes.Clone(b.Raw)
	s.mu.Lock()
	s.batches = append(s.batches, b)
	s.mu.Unlock()
	if s.stored != nil {
		s.stored <- b
	}
	return nil
}

func (s *memSink) all() []devices.Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]devices.Batch(nil), s.batches...)
}

// samples are the shared test messages of devices/hl7 (see its
// testdata/PROVENANCE.md).
var samples = []string{"valid-bp-continua-wan.hl7v2", "valid-oximeter-continua-wan.hl7v2", "valid-thermometer-continua-wan.hl7v2"}

// sample returns a shared test message with CR segment ends, as a device
// sends it.
func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := readSample(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readSample(name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join("..", "hl7", "testdata", name))
	return bytes.ReplaceAll(bytes.TrimRight(b, "\n"), []byte("\n"), []byte("\r")), err
}
