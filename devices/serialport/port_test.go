package serialport

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"carenode/devices"
	"carenode/devices/lineformat"
	"carenode/devices/vitals"
)

// scripted is an Opener whose every Open returns the next of its streams;
// after the last, Open fails.
type scripted struct {
	mu      sync.Mutex
	streams []string
	opened  int
}

func (s *scripted) Open(Config) (io.ReadWriteCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opened >= len(s.streams) {
		return nil, errors.New("no such device")
	}
	s.opened++
	return nopWriteCloser{strings.NewReader(s.streams[s.opened-1])}, nil
}

type nopWriteCloser struct{ io.Reader }

func (nopWriteCloser) Write(b []byte) (int, error) { return len(b), nil }
func (nopWriteCloser) Close() error                { return nil }

func testConfig(format string, o Opener) Config {
	cfg := DefaultConfig("oxi-1", "/dev/ttyTEST", format)
	cfg.MinBackoff, cfg.MaxBackoff = time.Millisecond, 20*time.Millisecond
	cfg.StoreTimeout = 5 * time.Second
	cfg.Opener = o
	cfg.Logger = slog.New(slog.DiscardHandler)
	return cfg
}

// run starts p and stops it when the test ends.
func run(t *testing.T, p *Port) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
}

// next waits for the next stored batch.
func next(t *testing.T, s *memSink) devices.Batch {
	t.Helper()
	select {
	case b := <-s.stored:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("no batch stored within 10 s")
	}
	return devices.Batch{}
}

func TestLinesStoredAndReconnect(t *testing.T) {
	o := &scripted{streams: []string{
		"Nonin 9560\r\nSPO2=097 HR=072\r\nSPO2=--- HR=---\r\nSPO2=9x7 HR=072\r\nSPO2=09", // unplugged mid-line
		"10:15:02 SPO2=095 HR=101*\r\n",
	}}
	sink := newSink()
	p, err := New(testConfig("nonin", o), sink)
	if err != nil {
		t.Fatal(err)
	}
	run(t, p)
	b := next(t, sink)
	if string(b.Raw) != "SPO2=097 HR=072" || b.DeviceID != "oxi-1" || b.Format != "nonin" || b.Source != "serial:/dev/ttyTEST" ||
		len(b.Observations) != 2 || b.Observations[0].Kind != vitals.SpO2 || b.Observations[0].Value != 97 ||
		b.Observations[1].Kind != vitals.HeartRate || b.Observations[1].LOINC != "8867-4" || b.Received.IsZero() {
		t.Errorf("first batch %+v", b)
	}
	b = next(t, sink)
	if string(b.Raw) != "10:15:02 SPO2=095 HR=101*" || b.DeviceClock != "10:15:02" {
		t.Errorf("second batch %+v", b)
	}
	// Wait until the port has given up on the exhausted script.
	deadline := time.Now().Add(10 * time.Second)
	for p.Status().OpenErrors == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // polls the status
	}
	st := p.Status()
	if st.Opens != 2 || st.Stored != 2 || st.ParseErrors != 1 || st.ReadErrors != 2 || st.Connected || st.LastReading.IsZero() {
		t.Errorf("status %+v", st)
	}
	if n := len(sink.all()); n != 2 {
		t.Errorf("%d batches; the cut-off line and the no-data line must not be stored", n)
	}
}

func TestLineStoreRetriedUntilStored(t *testing.T) {
	var failures atomic.Int32
	sink := newSink()
	sink.fail = func(devices.Batch) error {
		if failures.Add(1) <= 3 {
			return errors.New("database busy")
		}
		return nil
	}
	p, err := New(testConfig("and", &scripted{streams: []string{"ST,GS,+0070.5kg\r\n"}}), sink)
	if err != nil {
		t.Fatal(err)
	}
	run(t, p)
	b := next(t, sink)
	if b.Observations[0].Kind != vitals.BodyWeight || b.Observations[0].Value != 70.5 {
		t.Errorf("batch %+v", b)
	}
	waitStatus(t, p, "stored", func(s Status) bool { return s.Stored == 1 })
	if st := p.Status(); st.StoreErrors != 3 {
		t.Errorf("status %+v", st)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, change := range map[string]func(*Config){
		"format":  func(c *Config) { c.Format = "acme" },
		"parity":  func(c *Config) { c.Parity = "mark" },
		"baud":    func(c *Config) { c.Baud = 0 },
		"path":    func(c *Config) { c.Path = "" },
		"device":  func(c *Config) { c.DeviceID = "" },
		"backoff": func(c *Config) { c.MaxBackoff = 0 },
	} {
		cfg := testConfig("nonin", nil)
		change(&cfg)
		_, err := New(cfg, newSink())
		if !errors.Is(err, ErrConfig) && !errors.Is(err, lineformat.ErrUnknownFormat) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := New(testConfig("nonin", nil), nil); !errors.Is(err, ErrConfig) {
		t.Errorf("nil sink: %v", err)
	}
}
