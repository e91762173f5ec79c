package runner

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"carenode/devices"
	"carenode/devices/hl7"
	"carenode/devices/internal/storesink"
	"carenode/devices/lineformat"
	"carenode/devices/mqtt"
	"carenode/devices/serialport"
	"carenode/internal/ptypair"
	"carenode/internal/testport"
	"carenode/node/auth"
	"carenode/node/nodeconf"
	"carenode/node/store"
)

// byDevice returns how many readings records each device has.
func byDevice(t *testing.T, s *store.Store) map[string]int {
	t.Helper()
	views, err := s.List("readings", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, v := range views {
		var d string
		if err := json.Unmarshal(v.Fields["device"].Value, &d); err != nil {
			t.Fatal(err)
		}
		out[d]++
	}
	return out
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := openStoreAt(filepath.Join(t.TempDir(), "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openStoreAt(path string) (*store.Store, error) {
	opts := store.DefaultOptions(path, "nodeA")
	opts.Create = true
	opts.Logger = slog.New(slog.DiscardHandler)
	return store.Open(opts)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestRunnerEndToEnd runs a config with a pulse oximeter on a
// pseudo-terminal, the MLLP listener and the embedded broker, all into
// one real store, and checks each reading arrives once and the status
// says so.
func TestRunnerEndToEnd(t *testing.T) {
	st := openStore(t)
	bookCfg := mqtt.DefaultBookConfig(st)
	bookCfg.Hash, bookCfg.Logger = auth.TestParams(), quiet()
	book, err := mqtt.NewBook(bookCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := book.Approve(context.Background(), "thermo-1", "thermo-1-secret", "admin"); err != nil {
		t.Fatal(err)
	}
	ttyA, ttyB := ptypair.Start(t)
	dir := t.TempDir()
	section := nodeconf.Default("A", nodeconf.RoleClinic).Devices
	section.MLLPListen, section.MQTTListen = "127.0.0.1:0", "127.0.0.1:0"
	section.Serial = []nodeconf.SerialPort{{DeviceID: "spo2-desk", Path: ttyA, Baud: 9600, Parity: "none", Parser: "nonin"}}
	cfg, err := FromFile(section, "node1", dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = quiet()
	r, err := Start(cfg, storesink.New(st), book)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if _, err := os.Stat(filepath.Join(dir, SessionFileName)); err != nil {
		t.Errorf("no session file in the data directory: %v", err)
	}

	// Serial: two readings, a garbled line, noise and a no-reading line.
	eventually(t, "the serial port open", func() bool { return r.Status().Serial[0].Connected })
	dev, err := os.OpenFile(ttyB, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	io.WriteString(dev, "SPO2=097 HR=072\r\nSPO2=0A7 HR=072\r\n#$%noise\r\nSPO2=--- HR=---\r\nSPO2=095 HR=080\r\n")

	// MLLP over TCP: the ACK says AA.
	msg, err := os.ReadFile("../hl7/testdata/valid-bp-continua-wan.hl7v2")
	if err != nil {
		t.Fatal(err)
	}
	msg = []byte(strings.ReplaceAll(string(msg), "\n", "\r"))
	c, err := net.Dial("tcp", r.MLLPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := hl7.NewWriter(c).WriteFrame(msg); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	ack, err := hl7.NewReader(bufio.NewReader(c), 1<<16).ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if res, err := hl7.ParseACK(ack); err != nil || res.Code != hl7.AA {
		t.Fatalf("ACK %q: %+v, %v", ack, res, err)
	}

	// MQTT: a QoS 1 publish is acknowledged; an unknown device is refused
	// and asks to join.
	pub := func(user, pw string) paho.Client {
		opts := paho.NewClientOptions().AddBroker("tcp://" + r.MQTTAddr()).SetClientID(user + "-c").
			SetUsername(user).SetPassword(pw).SetCleanSession(false).SetProtocolVersion(4).SetConnectRetry(false).SetAutoReconnect(false)
		return paho.NewClient(opts)
	}
	cl := pub("thermo-1", "thermo-1-secret")
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer cl.Disconnect(100)
	doc := `{"id":"t-1","readings":[{"type":"body-temperature","value":"37.1","unit":"Cel"}]}`
	if tok := cl.Publish(mqtt.Topic("node1", "thermo-1"), 1, false, doc); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	if tok := pub("gluco-9", "gluco-9-secret").Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() == nil {
		t.Fatal("unknown device connected")
	}

	eventually(t, "the serial readings stored", func() bool { return r.Status().Serial[0].Stored == 2 })
	got := byDevice(t, st)
	if got["spo2-desk"] != 2 || got["thermo-1"] != 1 || len(got) != 3 {
		t.Errorf("stored per device: %v", got)
	}
	s := r.Status()
	sp := s.Serial[0]
	if sp.DeviceID != "spo2-desk" || !sp.Connected || sp.LastReading.IsZero() || sp.ParseErrors != 1 || sp.Opens != 1 {
		t.Errorf("serial status %+v", sp)
	}
	if s.MLLP == nil || s.MLLP.Accepted != 1 || s.MLLP.Addr != r.MLLPAddr() {
		t.Errorf("MLLP status %+v", s.MLLP)
	}
	if s.MQTT == nil || s.MQTT.Stored != 1 || s.MQTT.Refused != 1 || s.External != nil {
		t.Errorf("MQTT status %+v", s.MQTT)
	}
	if p, err := book.Pending(); err != nil || len(p) != 1 || p[0].DeviceID != "gluco-9" {
		t.Errorf("asking to join: %+v, %v", p, err)
	}
	if _, err := json.Marshal(s); err != nil {
		t.Errorf("status does not encode: %v", err)
	}

	// Close stops everything: the listeners no longer accept.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{s.MLLP.Addr, s.MQTT.Addr} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			// A port in the ephemeral range with no listener can be
			// "reached" by a connection that took it as its own end
			// (TCP simultaneous open): that is no listener.
			self := c.LocalAddr().String() == c.RemoteAddr().String()
			c.Close()
			if !self {
				t.Errorf("%s still accepts after Close", addr)
			}
		}
	}
	if r.Status().Serial[0].Connected {
		t.Error("serial port still open after Close")
	}
}

// TestStartFailsCleanly: a listen address in use fails Start, and what
// had started is stopped (the broker's port is free again).
func TestStartFailsCleanly(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	// A port outside the ephemeral range, so that no other connection
	// takes it between the failed Start and the second one.
	freeAddr := testport.Addr(t)
	st := openStore(t)
	book, err := mqtt.NewBook(mqtt.DefaultBookConfig(st))
	if err != nil {
		t.Fatal(err)
	}
	section := nodeconf.Default("A", nodeconf.RoleClinic).Devices
	section.MQTTListen, section.MLLPListen = freeAddr, busy.Addr().String()
	cfg, err := FromFile(section, "node1", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = quiet()
	if r, err := Start(cfg, storesink.New(st), book); err == nil {
		r.Close()
		t.Fatal("Start succeeded on a busy address")
	}
	cfg.MLLP = nil
	r, err := Start(cfg, storesink.New(st), book)
	if err != nil {
		t.Fatalf("the failed Start left something running: %v", err)
	}
	r.Close()
	for _, tc := range []struct {
		cfg  Config
		sink devices.Sink
		acc  Accounts
	}{{cfg, nil, book}, {cfg, storesink.New(st), nil},
		{Config{Serial: []serialport.Config{serialport.DefaultConfig("a", "/dev/x", "nonin"), serialport.DefaultConfig("a", "/dev/y", "and")}}, storesink.New(st), nil},
		{Config{Serial: []serialport.Config{serialport.DefaultConfig("a", "/dev/x", "smoke-signals")}}, storesink.New(st), nil},
	} {
		if r, err := Start(tc.cfg, tc.sink, tc.acc); err == nil {
			r.Close()
			t.Errorf("Start(%+v) succeeded", tc.cfg)
		} else if MessageZh(err) == "" {
			t.Errorf("%v: no Chinese message", err)
		}
	}
}

func TestFromFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mqtt.pw"), []byte("broker-secret\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := nodeconf.DevicesSection{MLLPListen: nodeconf.Off, MQTTListen: nodeconf.Off, MQTTBroker: "tcp://10.0.0.5:1883",
		MQTTUsername: "clinic", MQTTPasswordFile: "mqtt.pw",
		Serial: []nodeconf.SerialPort{{DeviceID: "bp-1", Path: "/dev/ttyUSB1", Baud: 19200, Parity: "even", Parser: "hl7"}}}
	cfg, err := FromFile(d, "node1", dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MLLP != nil || cfg.MQTT != nil || cfg.External == nil || len(cfg.Serial) != 1 {
		t.Fatalf("config %+v", cfg)
	}
	if e := cfg.External; e.Broker != d.MQTTBroker || e.Username != "clinic" || e.Password != "broker-secret" || e.NodeID != "node1" {
		t.Errorf("external %+v", e)
	}
	if p := cfg.Serial[0]; p.DeviceID != "bp-1" || p.Path != "/dev/ttyUSB1" || p.Baud != 19200 || p.Parity != "even" || p.Format != serialport.FormatHL7 {
		t.Errorf("serial %+v", p)
	}
	for _, pw := range []string{"", "\nsecond line\n"} {
		os.WriteFile(filepath.Join(dir, "mqtt.pw"), []byte(pw), 0o600)
		if _, err := FromFile(d, "node1", dir); !errors.Is(err, ErrPasswordFile) || MessageZh(err) == "" {
			t.Errorf("password file %q: %v", pw, err)
		}
	}
	d.MQTTPasswordFile = filepath.Join(dir, "missing")
	if _, err := FromFile(d, "node1", dir); !errors.Is(err, ErrPasswordFile) {
		t.Errorf("missing password file: %v", err)
	}
}

// TestParsersAgree: the parser names nodeconf accepts are exactly those
// the serial ports know (nodeconf may not import devices, so it keeps its
// own list).
func TestParsersAgree(t *testing.T) {
	want := []string{serialport.FormatHL7}
	for _, f := range lineformat.Formats() {
		want = append(want, f.Name)
	}
	got := nodeconf.SerialParsers()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("nodeconf.SerialParsers() = %v, serial ports know %v", got, want)
	}
	for _, p := range got {
		if _, err := serialport.New(serialport.DefaultConfig("d", "/dev/null", p), storesink.Sink{}); err != nil {
			t.Errorf("parser %s: %v", p, err)
		}
	}
}
