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
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"carenode/devices"
	"carenode/devices/vitals"
	"carenode/internal/testport"
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

// Passwords of the accounts startBroker creates.
const (
	thermoPW = "s3cret-thermo"
	glucoPW  = "gluco-pw-1"
)

// startBroker starts a broker on a free loopback port whose Book, on a
// real store, knows thermo-1 and gluco-1.
func startBroker(t *testing.T, sink devices.Sink) *Broker {
	t.Helper()
	b, _ := startBrokerBook(t, sink, "")
	return b
}

func startBrokerBook(t *testing.T, sink devices.Sink, sessionFile string) (*Broker, *Book) {
	t.Helper()
	book := openBook(t, openStore(t, filepath.Join(t.TempDir(), "node.db"), "nodeA"))
	ctx := context.Background()
	if err := book.Approve(ctx, "thermo-1", thermoPW, "admin"); err != nil {
		t.Fatal(err)
	}
	if err := book.Approve(ctx, "gluco-1", glucoPW, "admin"); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig("127.0.0.1:0", "node1")
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.SessionFile = sessionFile
	cfg.Joins = book
	b, err := New(cfg, book, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, book
}

// client is a bare MQTT 3.1.1 client, enough to see exactly which packets
// the broker sends and when.
type client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

// dial connects as user with client id user+"-client" and returns the
// CONNACK's return code.
func dial(t *testing.T, addr, user, pass string, clean bool) (*client, byte) {
	t.Helper()
	c, ack := connect(t, addr, user, pass, clean)
	return c, ack[1]
}

// connect sends a CONNECT and returns the CONNACK's body (flags, code).
func connect(t *testing.T, addr, user, pass string, clean bool) (*client, []byte) {
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
	return cl, body
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
	c, code := dial(t, b.Addr(), "thermo-1", thermoPW, false)
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
	c, _ := dial(t, b.Addr(), "thermo-1", thermoPW, false)
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
	c, code := dial(t, b.Addr(), "thermo-1", thermoPW, false)
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
	b, book := startBrokerBook(t, &memSink{}, "")
	for range 2 {
		if _, code := dial(t, b.Addr(), "scale-9", "scale-9-secret", false); code == 0 {
			t.Fatal("unknown device accepted")
		}
	}
	if _, code := dial(t, b.Addr(), "thermo-1", "wrong-password", false); code == 0 {
		t.Fatal("wrong password accepted")
	}
	if _, code := dial(t, b.Addr(), "bad/name", "whatever-pw", false); code == 0 {
		t.Fatal("device id with a topic separator accepted")
	}
	p, err := book.Pending()
	if err != nil {
		t.Fatal(err)
	}
	// scale-9's second try comes within RecordEvery with nothing new: it
	// is counted in memory, not written yet.
	if len(p) != 2 || p[0].DeviceID != "scale-9" || p[0].Attempts != 1 || !p[0].Adoptable || p[0].ClientID != "scale-9-client" ||
		!strings.HasPrefix(p[0].Remote, "127.0.0.1:") || p[1].DeviceID != "thermo-1" {
		t.Fatalf("pending %+v", p)
	}
	if st := b.Stats(); st.Refused != 4 {
		t.Errorf("stats %+v", st)
	}
	// Approving adopts the password the device offered: its next try works.
	if err := book.Approve(context.Background(), "scale-9", "", "admin"); err != nil {
		t.Fatal(err)
	}
	if _, code := dial(t, b.Addr(), "scale-9", "scale-9-secret", false); code != 0 {
		t.Fatalf("approved device refused: CONNACK code %d", code)
	}
	if p, _ := book.Pending(); len(p) != 1 || p[0].DeviceID != "thermo-1" {
		t.Fatalf("after Approve: %+v", p)
	}
}

func TestOtherDevicesTopicRefused(t *testing.T) {
	sink := &memSink{}
	b := startBroker(t, sink)
	c, _ := dial(t, b.Addr(), "thermo-1", thermoPW, false)
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
	c, _ := dial(t, b.Addr(), "gluco-1", glucoPW, false)
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

// subscribe sends a SUBSCRIBE for filter at QoS 1 and returns the SUBACK's
// return code.
func (c *client) subscribe(id uint16, filter string) byte {
	c.t.Helper()
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, ProtocolVersion: 4, PacketID: id,
		Filters: packets.Subscriptions{{Filter: filter, Qos: 1}}}
	var buf bytes.Buffer
	if err := pk.SubscribeEncode(&buf); err != nil {
		c.t.Fatal(err)
	}
	c.write(buf.Bytes())
	typ, body, err := c.read(5 * time.Second)
	if err != nil || typ != packets.Suback || len(body) != 3 {
		c.t.Fatalf("SUBACK: type %d body %v err %v", typ, body, err)
	}
	return body[2]
}

// TestSessionsSurviveRestart: a device with clean session off finds its
// session, and its subscription, after the node restarts with the same
// session file; readings it sends on that session are stored.
func TestSessionsSurviveRestart(t *testing.T) {
	sessions := filepath.Join(t.TempDir(), "mqtt-sessions.db")
	book := openBook(t, openStore(t, filepath.Join(t.TempDir(), "node.db"), "nodeA"))
	if err := book.Approve(context.Background(), "thermo-1", thermoPW, "admin"); err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	start := func(addr string) *Broker {
		cfg := DefaultConfig(addr, "node1")
		cfg.Logger = slog.New(slog.DiscardHandler)
		cfg.SessionFile = sessions
		b, err := New(cfg, book, sink)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Start(); err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Restarted on the same port: one outside the ephemeral range, so no
	// other connection takes it between Close and the second start.
	addr := testport.Addr(t)
	b := start(addr)
	c, code := dial(t, addr, "thermo-1", thermoPW, false)
	if code != 0 {
		t.Fatalf("CONNACK code %d", code)
	}
	if rc := c.subscribe(1, CommandTopic("node1", "thermo-1")); rc != 1 {
		t.Fatalf("subscribe to own command topic: return code %#x", rc)
	}
	if rc := c.subscribe(2, CommandTopic("node1", "gluco-1")); rc < 0x80 {
		t.Fatalf("subscribe to another device's topic granted: %#x", rc)
	}
	c.c.Close()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b = start(addr)
	t.Cleanup(func() { b.Close() })
	c, present := dialPresent(t, addr, "thermo-1", thermoPW)
	if !present {
		t.Fatal("session not present after restart")
	}
	cl, ok := b.server.Clients.Get("thermo-1-client")
	if !ok {
		t.Fatal("client not known after restart")
	}
	subs := cl.State.Subscriptions.GetAll()
	if _, ok := subs[CommandTopic("node1", "thermo-1")]; !ok || len(subs) != 1 {
		t.Fatalf("subscriptions after restart: %v", subs)
	}
	c.publish(Topic("node1", "thermo-1"), 9, false, []byte(thermoJSON))
	c.puback(9)
	if n := len(sink.all()); n != 1 {
		t.Fatalf("%d stored", n)
	}
}

// dialPresent connects with clean session off and reports the CONNACK's
// session-present flag.
func dialPresent(t *testing.T, addr, user, pass string) (*client, bool) {
	t.Helper()
	c, ack := connect(t, addr, user, pass, false)
	if ack[1] != 0 {
		t.Fatalf("CONNACK code %d", ack[1])
	}
	return c, ack[0]&1 == 1
}
