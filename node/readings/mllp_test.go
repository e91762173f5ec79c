package readings_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"carenode/devices/hl7"
	"carenode/devices/mllp"
	"carenode/devices/readingsink"
	"carenode/node/readings"
	"carenode/node/store"
)

// mllpDevice is a monitor on a real TCP connection to a real MLLP
// listener storing into the node's service.
type mllpDevice struct {
	conn net.Conn
	rd   *hl7.Reader
}

func startMLLP(t *testing.T, n *node) string {
	t.Helper()
	cfg := mllp.DefaultConfig("127.0.0.1:0")
	cfg.Now = n.clock.Now
	srv, err := mllp.New(cfg, readingsink.New(n.svc))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, mllp.ErrServerClosed) {
			t.Errorf("MLLP server: %v", err)
		}
	})
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) *mllpDevice {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &mllpDevice{conn: c, rd: hl7.NewReader(c, hl7.DefaultMaxFrame)}
}

// send writes one framed message and returns the ACK.
func (d *mllpDevice) send(t *testing.T, msg string) hl7.AckResult {
	t.Helper()
	frame, err := hl7.AppendFrame(nil, []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	d.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := d.conn.Write(frame); err != nil {
		t.Fatal(err)
	}
	b, err := d.rd.ReadFrame()
	if err != nil {
		t.Fatalf("read ACK: %v", err)
	}
	ack, err := hl7.ParseACK(b)
	if err != nil {
		t.Fatalf("parse ACK %q: %v", b, err)
	}
	return ack
}

// TestMLLPEndToEnd: a monitor sends over TCP; the ACK comes only once the
// reading is in the store. A node that cannot store answers AE and keeps
// nothing; the device's resend after the first unlock is stored once, and
// a resend after a lost ACK adds nothing.
func TestMLLPEndToEnd(t *testing.T) {
	n := newNode(t, "nodeA", "never-unlocked")
	n.patients.ids = map[string][]string{"789567": {"p1"}}
	addr := startMLLP(t, n)
	dev := dial(t, addr)
	msg := bpMessage(t, "E2E-1", "789567", "131", "F")

	ack := dev.send(t, msg)
	if ack.Code != hl7.AE || ack.ControlID != "E2E-1" {
		t.Fatalf("never-unlocked node answered %s (%q), want AE echoing E2E-1", ack.Code, ack.Text)
	}
	if got := countRecords(t, n.store, readings.Collection); got != 0 {
		t.Fatalf("%d records after AE", got)
	}

	if err := n.svc.Unlock(context.Background(), dropBox(t)); err != nil {
		t.Fatal(err)
	}
	ack = dev.send(t, msg)
	if ack.Code != hl7.AA || ack.ControlID != "E2E-1" {
		t.Fatalf("answer %s (%q), want AA", ack.Code, ack.Text)
	}
	// Told AA: the record must already be there.
	vs, err := n.store.List(readings.Collection, "", 10)
	if err != nil || len(vs) != 1 {
		t.Fatalf("after AA: %d records, %v", len(vs), err)
	}
	if _, err := n.store.Get(readings.Collection, vs[0].ID); errors.Is(err, store.ErrNotFound) {
		t.Fatal("AA before the reading was stored")
	}

	// The ACK was lost: the device reconnects and sends it again.
	dev2 := dial(t, addr)
	if ack := dev2.send(t, msg); ack.Code != hl7.AA {
		t.Fatalf("resend answered %s", ack.Code)
	}
	if got := countRecords(t, n.store, readings.Collection); got != 1 {
		t.Fatalf("%d records after a resend, want 1", got)
	}
	sys := byLOINC(t, n.observations(t, false, "p1"), "8480-6")
	if sys.RawValue != "131" || sys.BoundBy != "identifier" {
		t.Fatalf("p1's systolic: %+v", sys)
	}
	stored, _, dupes := n.metrics.get()
	if stored != 1 || dupes != 1 {
		t.Fatalf("metrics stored %d duplicates %d", stored, dupes)
	}
}
