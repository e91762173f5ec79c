package mllp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"carenode/devices"
	"carenode/devices/hl7"
	"carenode/devices/vitals"
)

// startServer serves cfg on a loopback port until the test ends.
func startServer(t *testing.T, cfg Config, sink devices.Sink) (*Server, string) {
	t.Helper()
	s, err := New(cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, ln.Addr().String()
}

func testConfig() Config {
	cfg := DefaultConfig("")
	cfg.ReadTimeout = 5 * time.Second
	cfg.WriteTimeout = 5 * time.Second
	cfg.StoreTimeout = 5 * time.Second
	cfg.Logger = slog.New(slog.DiscardHandler)
	return cfg
}

type client struct {
	t *testing.T
	c net.Conn
	r *hl7.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t, c, hl7.NewReader(c, 0)}
}

func (c *client) send(msg []byte) {
	c.t.Helper()
	if err := hl7.NewWriter(c.c).WriteFrame(msg); err != nil {
		c.t.Fatal(err)
	}
}

// ack reads the next ACK, waiting at most d.
func (c *client) ack(d time.Duration) (hl7.AckResult, error) {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(d))
	b, err := c.r.ReadFrame()
	if err != nil {
		return hl7.AckResult{}, err
	}
	return hl7.ParseACK(b)
}

func (c *client) mustAck(want hl7.AckCode) hl7.AckResult {
	c.t.Helper()
	a, err := c.ack(5 * time.Second)
	if err != nil {
		c.t.Fatalf("reading ACK: %v", err)
	}
	if a.Code != want {
		c.t.Fatalf("ACK %s (%q, error %s), want %s", a.Code, a.Text, a.ErrorCode, want)
	}
	return a
}

func TestServerAcksSamplesAfterStore(t *testing.T) {
	sink := &memSink{}
	srv, addr := startServer(t, testConfig(), sink)
	c := dial(t, addr)
	for i, name := range samples {
		msg := sample(t, name)
		h, err := hl7.ParseHeader(msg)
		if err != nil {
			t.Fatal(err)
		}
		c.send(msg)
		a := c.mustAck(hl7.AA)
		if a.ControlID != h.ControlID {
			t.Errorf("%s: MSA-2 %q, want MSH-10 %q", name, a.ControlID, h.ControlID)
		}
		got := sink.all()
		if len(got) != i+1 {
			t.Fatalf("%s: acknowledged with %d batches stored, want %d", name, len(got), i+1)
		}
		b := got[i]
		if !bytes.Equal(b.Raw, msg) || b.ControlID != h.ControlID || b.Format != "hl7" || b.HL7 == nil ||
			!strings.HasPrefix(b.Source, "mllp:127.0.0.1:") || b.Received.IsZero() || len(b.Observations) == 0 {
			t.Errorf("%s: batch %+v", name, b)
		}
		if !strings.Contains(b.DeviceID, "EUI-64") {
			t.Errorf("%s: device id %q, want the OBX-18 EUI-64", name, b.DeviceID)
		}
		for _, o := range b.Observations {
			if c, ok := vitals.Lookup(o.Kind); !ok || o.LOINC != c.LOINC || o.Unit != c.Unit || o.Time.IsZero() {
				t.Errorf("%s: observation %+v", name, o)
			}
		}
	}
	if st := srv.Stats(); st.Accepted != uint64(len(samples)) || st.Errors != 0 || st.Rejected != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestServerNoAckBeforeStoreReturns(t *testing.T) {
	sink := &memSink{block: make(chan struct{})}
	_, addr := startServer(t, testConfig(), sink)
	c := dial(t, addr)
	c.send(sample(t, samples[1]))
	// While Store blocks, no ACK may arrive. 200 ms only bounds the check.
	if a, err := c.ack(200 * time.Millisecond); !isTimeout(err) {
		t.Fatalf("while Store blocks: ACK %+v, err %v; want a read timeout", a, err)
	}
	close(sink.block)
	c.mustAck(hl7.AA)
	if n := len(sink.all()); n != 1 {
		t.Fatalf("%d stored", n)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestServerAEWhenSinkFails(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	sink := &memSink{fail: func(devices.Batch) error {
		if fail.Load() {
			return errors.New("disk full")
		}
		return nil
	}}
	srv, addr := startServer(t, testConfig(), sink)
	c := dial(t, addr)
	msg := sample(t, samples[0])
	for _, name := range samples {
		c.send(sample(t, name))
		a := c.mustAck(hl7.AE)
		if a.ControlID != "MSGID1234" || !strings.Contains(a.Text, "disk full") || a.ErrorCode != "207" {
			t.Errorf("%s: AE %+v", name, a)
		}
	}
	if n := len(sink.all()); n != 0 {
		t.Fatalf("%d stored", n)
	}
	// The device resends on the same connection once the store works again.
	fail.Store(false)
	c.send(msg)
	c.mustAck(hl7.AA)
	if st := srv.Stats(); st.Errors != 3 || st.Accepted != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestServerRejectsUnreadable(t *testing.T) {
	sink := &memSink{}
	_, addr := startServer(t, testConfig(), sink)
	c := dial(t, addr)
	for _, tc := range []struct {
		msg, controlID, code string
	}{
		{"hello, world", "", "100"},
		{"MSH|^~\\&|x||||20240101||ADT^A01|C1|P|2.6\rPID|||1", "C1", "200"},
		{"MSH|^~\\&|x||||20240101||ORU^R01|C2|P|2.6\rOBR|1\rOBX|1|NM|150456^X^MDC||abc|%||||||F", "C2", "102"},
	} {
		c.send([]byte(tc.msg))
		a := c.mustAck(hl7.AR)
		if a.ControlID != tc.controlID || a.ErrorCode != tc.code || a.Text == "" {
			t.Errorf("%q: AR %+v", tc.msg, a)
		}
	}
	if n := len(sink.all()); n != 0 {
		t.Fatalf("%d stored", n)
	}
}

func TestServerMaxFrame(t *testing.T) {
	cfg := testConfig()
	cfg.MaxFrame = 4096
	sink := &memSink{}
	srv, addr := startServer(t, cfg, sink)
	c := dial(t, addr)
	c.send(bytes.Repeat([]byte("A"), 10000))
	if a := c.mustAck(hl7.AR); a.ErrorCode != "100" {
		t.Errorf("AR %+v", a)
	}
	// The connection goes on with the next frame.
	c.send(sample(t, samples[2]))
	c.mustAck(hl7.AA)
	if st := srv.Stats(); st.BadFrames != 1 || st.Accepted != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestServerConnectionLimit(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConns = 1
	srv, addr := startServer(t, cfg, &memSink{})
	first := dial(t, addr)
	first.send(sample(t, samples[1]))
	first.mustAck(hl7.AA) // the first connection holds the only slot
	second := dial(t, addr)
	second.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := second.c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		t.Fatalf("second connection: %v; want it closed", err)
	}
	if st := srv.Stats(); st.Refused != 1 || st.Open != 1 {
		t.Errorf("stats %+v", st)
	}
	// Once the first goes, a new one is served (the server gives the slot
	// back before Open drops to 0). Should a connection still be refused,
	// dial again until one is served: what must not happen is a stall or
	// a wrong answer.
	first.c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		third := dial(t, addr)
		err := hl7.NewWriter(third.c).WriteFrame(sample(t, samples[1]))
		var a hl7.AckResult
		if err == nil {
			a, err = third.ack(5 * time.Second)
		}
		if err == nil {
			if a.Code != hl7.AA {
				t.Fatalf("third connection: ACK %s (%q), want AA", a.Code, a.Text)
			}
			break
		}
		third.c.Close()
		if isTimeout(err) { // served, but never answered
			t.Fatalf("third connection: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no connection served within 30 s of the first one closing (stats %+v)", srv.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

func TestServerReadTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.ReadTimeout = 150 * time.Millisecond
	_, addr := startServer(t, cfg, &memSink{})
	c := dial(t, addr)
	c.c.Write([]byte{hl7.StartBlock, 'M', 'S', 'H'})
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.c.Read(make([]byte, 64)); err == nil || isTimeout(err) {
		t.Fatalf("a stalled connection: read %v; want it closed by the server", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := New(testConfig(), nil); !errors.Is(err, ErrConfig) {
		t.Errorf("nil sink: %v", err)
	}
	cfg := testConfig()
	cfg.MaxConns = 0
	if _, err := New(cfg, &memSink{}); !errors.Is(err, ErrConfig) {
		t.Errorf("MaxConns 0: %v", err)
	}
}
