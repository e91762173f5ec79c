package mqtt

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"carenode/devices"
	"carenode/devices/vitals"
)

// memSink is an in-memory devices.Sink. block, when set, is waited on
// before storing; fail, when set, makes Store fail.
type memSink struct {
	mu      sync.Mutex
	batches []devices.Batch
	block   chan struct{}
	fail    atomic.Bool
}

func (s *memSink) Store(ctx context.Context, b devices.Batch) error {
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.fail.Load() {
		return errors.New("disk full")
	}
	s.mu.Lock()
	s.batches = append(s.batches, b)
	s.mu.Unlock()
	return nil
}

func (s *memSink) all() []devices.Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]devices.Batch(nil), s.batches...)
}

type accounts map[string]string

func (a accounts) Authenticate(id string, password []byte) bool {
	p, ok := a[id]
	return ok && p == string(password)
}

func startBroker(t *testing.T, sink devices.Sink) *Broker {
	t.Helper()
	cfg := DefaultConfig("127.0.0.1:0", "node1")
	cfg.Logger = slog.New(slog.DiscardHandler)
	b, err := New(cfg, accounts{"thermo-1": "s3cret", "gluco-1": "pw"}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// client is a bare MQTT 3.1.1 client, enough to see exactly which packets
// the broker sends and when.
type client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr, user, pass string, clean bool) (*client, byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cl := &client{t, c, bufio.NewReader(c)}
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 4,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: clean, ClientIdentifier: user + "-client",
			Keepalive: 60, Username: []byte(user), UsernameFlag: true, Password: []byte(pass), PasswordFlag: true}}
	var buf bytes.Buffer
	if err := pk.ConnectEncode(&buf); err != nil {
		t.Fatal(err)
	}
	cl.write(buf.Bytes())
	typ, body, err := cl.read(5 * time.Second)
	if err != nil || typ != packets.Connack || len(body) < 2 {
		t.Fatalf("CONNACK: type %d body %v err %v", typ, body, err)
	}
	return cl, body[1]
}

func (c *client) write(b []byte) {
	c.t.Helper()
	if _, err := c.c.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the next packet's type and body.
func (c *client) read(d time.Duration) (byte, []byte, error) {
	c.c.SetReadDeadline(time.Now().Add(d))
	h, err := c.r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, _, err := packets.DecodeLength(c.r)
	if err != nil {
		return 0, nil, err
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return 0, nil, err
	}
	return h >> 4, body, nil
}

func (c *client) publish(topic string, id uint16, dup bool, payload []byte) {
	c.t.Helper()
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1, Dup: dup}, ProtocolVersion: 4,
		TopicName: topic, PacketID: id, Payload: payload}
	var buf bytes.Buffer
	if err := pk.PublishEncode(&buf); err != nil {
		c.t.Fatal(err)
	}
	c.write(buf.Bytes())
}

// puback waits for the PUBACK of id.
func (c *client) puback(id uint16) {
	c.t.Helper()
	typ, body, err := c.read(5 * time.Second)
	if err != nil || typ != packets.Puback || len(body) < 2 || uint16(body[0])<<8|uint16(body[1]) != id {
		c.t.Fatalf("want PUBACK %d: type %d body %v err %v", id, typ, body, err)
	}
}

const thermoJSON = `{"id":"m-1","time":"2026-03-01T10:15:02+08:00","readings":[{"type":"body-temperature","value":"98.6","unit":"°F"}]}`

func TestPubackOnlyAfterStore(t *testing.T) {
	sink := &memSink{block: make(chan struct{})}
	b := startBroker(t, sink)
	c, code := dial(t, b.Addr(), "thermo-1", "s3cret", false)
	if code != 0 {
		t.Fatalf("CONNACK code %d", code)
	}
	c.publish(Topic("node1", "thermo-1"), 7, false, []byte(thermoJSON))
	// While Store blocks, no PUBACK may arrive; 200 ms only bounds the check.
	if typ, _, err := c.read(200 * time.Millisecond); !isTimeout(err) {
		t.Fatalf("while Store blocks: packet type %d, err %v; want a read timeout", typ, err)
	}
	close(sink.block)
	c.puback(7)
	got := sink.all()
	if len(got) != 1 {
		t.Fatalf("%d stored", len(got))
	}
	bt := got[0]
	if bt.DeviceID != "thermo-1" || bt.ControlID != "m-1" || bt.Format != "json" || string(bt.Raw) != thermoJSON ||
		!strings.HasPrefix(bt.Source, "mqtt:127.0.0.1:") || !bt.DeviceTimeZoned || len(bt.Observations) != 1 {
		t.Fatalf("batch %+v", bt)
	}
	o := bt.Observations[0]
	if o.Kind != vitals.BodyTemp || o.LOINC != "8310-5" || o.Unit != "Cel" || o.Value != 37 || o.RawValue != "98.6" || o.RawUnit != "°F" {
		t.Errorf("observation %+v", o)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestNoPubackWhenStoreFails(t *testing.T) {
	sink := &memSink{}
	sink.fail.Store(true)
	b := startBroker(t, sink)
	c, _ := dial(t, b.Addr(), "thermo-1", "s3cret", false)
	c.publish(Topic("node1", "thermo-1"), 1, false, []byte(thermoJSON))
	for {
		typ, _, err := c.read(5 * time.Second)
		if isTimeout(err) || err == nil && typ != packets.Disconnect {
			t.Fatalf("after a failed store: packet type %d, err %v; want the connection closed", typ, err)
		}
		if err != nil {
			break
		}
	}
	if n := len(sink.all()); n != 0 {
		t.Fatalf("%d stored", n)
	}
	// The device reconnects and resends; now it is stored and acknowledged.
	sink.fail.Store(false)
	c, code := dial(t, b.Addr(), "thermo-1", "s3cret", false)
	if code != 0 {
		t.Fatalf("CONNACK code %d", code)
	}
	c.publish(Topic("node1", "thermo-1"), 1, true, []byte(thermoJSON))
	c.puback(1)
	if n := len(sink.all()); n != 1 {
		t.Fatalf("%d stored", n)
	}
	if st := b.Stats(); st.Failed != 1 || st.Stored != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestUnknownDeviceAsksToJoin(t *testing.T) {
	b := startBroker(t, &memSink{})
	for _, pass := range []string{"guess", "guess2"} {
		if _, code := dial(t, b.Addr(), "scale-9", pass, false); code == 0 {
			t.Fatal("unknown device accepted")
		}
	}
	if _, code := dial(t, b.Addr(), "thermo-1", "wrong", false); code == 0 {
		t.Fatal("wrong password accepted")
	}
	p := b.Pending()
	if len(p) != 2 || p[0].DeviceID != "scale-9" || p[0].Attempts != 2 || p[1].DeviceID != "thermo-1" {
		t.Fatalf("pending %+v", p)
	}
	b.Forget("scale-9")
	if p := b.Pending(); len(p) != 1 {
		t.Fatalf("after Forget: %+v", p)
	}
}

func TestOtherDevicesTopicRefused(t *testing.T) {
	sink := &memSink{}
	b := startBroker(t, sink)
	c, _ := dial(t, b.Addr(), "thermo-1", "s3cret", false)
	c.publish(Topic("node1", "gluco-1"), 3, false, []byte(thermoJSON))
	for {
		typ, _, err := c.read(5 * time.Second)
		if err != nil {
			break // closed, as it should be
		}
		if typ != packets.Disconnect {
			t.Fatalf("publish to another device's topic: packet type %d; want the connection closed", typ)
		}
	}
	if n := len(sink.all()); n != 0 {
		t.Fatalf("%d stored", n)
	}
}

func TestHL7AndUnreadablePayloads(t *testing.T) {
	sink := &memSink{}
	b := startBroker(t, sink)
	c, _ := dial(t, b.Addr(), "gluco-1", "pw", false)
	msg, err := os.ReadFile("../hl7/testdata/valid-thermometer-continua-wan.hl7v2")
	if err != nil {
		t.Fatal(err)
	}
	c.publish(Topic("node1", "gluco-1"), 1, false, bytes.ReplaceAll(msg, []byte("\n"), []byte("\r")))
	c.puback(1)
	c.publish(Topic("node1", "gluco-1"), 2, false, []byte("GLU 5.4 mmol"))
	c.puback(2) // kept raw: resending would not help
	got := sink.all()
	if len(got) != 2 || got[0].Format != "hl7" || got[0].ControlID != "MSGID1234" || len(got[0].Observations) != 1 ||
		got[1].Format != "json" || string(got[1].Raw) != "GLU 5.4 mmol" || len(got[1].Unmapped) != 1 {
		t.Fatalf("batches %+v", got)
	}
	if st := b.Stats(); st.Stored != 2 || st.Unreadable != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestDecodeJSON(t *testing.T) {
	bt, err := Decode([]byte(`{"id":"g1","readings":[{"loinc":"14743-9","value":"90","unit":"mg/dL"},{"type":"spo2","value":"97","unit":"furlongs"}]}`), "gluco-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(bt.Observations) != 1 || bt.Observations[0].Kind != vitals.GlucoseCap || bt.Observations[0].Unit != "mmol/L" || len(bt.Unmapped) != 1 {
		t.Fatalf("batch %+v", bt)
	}
	for _, bad := range []string{`{"readings":[]}`, `{"id":"x","extra":1}`, `{"id":"x","time":"yesterday"}`, `[`} {
		if bt, err := Decode([]byte(bad), "d"); !errors.Is(err, ErrPayload) || string(bt.Raw) != bad || len(bt.Unmapped) != 1 {
			t.Errorf("%s: %v %+v", bad, err, bt)
		}
	}
}
