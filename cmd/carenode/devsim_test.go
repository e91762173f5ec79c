package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/devices"
	"carenode/devices/hl7"
	"carenode/devices/lineformat"
	"carenode/devices/mllp"
	"carenode/devices/mqtt"
	"carenode/devices/runner"
	"carenode/devices/serialport"
	"carenode/node/auth"
	"carenode/node/store"
)

func testDevice(id string, seed uint64) *simDevice {
	s := &devsim{o: devsimOptions{faults: 1, rate: 1, seed: seed}, log: slog.New(slog.DiscardHandler), run: "r1"}
	return &simDevice{id: id, sim: s, rng: rand.New(rand.NewPCG(seed, 42))}
}

// TestDevsimMessagesMap: what the simulated devices send is read by the
// node's parsers and mapped to the LOINC codes of their kind, and the
// same seed gives the same readings.
func TestDevsimMessagesMap(t *testing.T) {
	msg := bpMessage("bp-1", time.Date(2026, 3, 1, 10, 15, 2, 0, time.FixedZone("CST", 8*3600)), 131, 84, 70, "0A1B2C3D4E5F0002", "P-1001")
	m, err := hl7.Parse(msg)
	if err != nil {
		t.Fatal(err)
	}
	b := devices.BatchFromHL7(m, "")
	var loincs []string
	for _, o := range b.Observations {
		loincs = append(loincs, o.LOINC)
	}
	slices.Sort(loincs)
	if want := []string{"8462-4", "8478-0", "8480-6", "8867-4"}; !slices.Equal(loincs, want) || len(b.Unmapped) != 0 || b.ControlID != "bp-1" {
		t.Errorf("BP message maps to %v (unmapped %v), want %v", loincs, b.Unmapped, want)
	}
	if len(m.Patients) != 1 || m.Patients[0].IDs[0].ID != "P-1001" {
		t.Errorf("patient %+v", m.Patients)
	}

	spo2, scale := testDevice("devsim-spo2", 7), testDevice("devsim-scale", 7)
	for _, tc := range []struct {
		format string
		d      *simDevice
		gen    func(d *simDevice) (string, bool)
		loinc  []string
	}{
		{"nonin", spo2, noninLine, []string{"59408-5", "8867-4"}},
		{"and", scale, andLine, []string{"29463-7"}},
	} {
		f, err := lineformat.Lookup(tc.format)
		if err != nil {
			t.Fatal(err)
		}
		readings := 0
		for range 200 {
			text, reading := tc.gen(tc.d)
			l, err := f.Parse([]byte(text))
			if err != nil {
				t.Fatalf("%s line %q: %v", tc.format, text, err)
			}
			if reading != (len(l.Readings) > 0) {
				t.Fatalf("%s line %q: reading %v, parsed %+v", tc.format, text, reading, l)
			}
			for i, r := range l.Readings {
				if r.LOINC != tc.loinc[i] || r.Implausible {
					t.Fatalf("%s line %q: reading %+v", tc.format, text, r)
				}
			}
			if reading {
				readings++
			}
		}
		if readings < 150 {
			t.Errorf("%s: only %d of 200 lines carry a reading", tc.format, readings)
		}
	}

	for _, dev := range []string{"devsim-thermo", "devsim-gluco"} {
		x := testDevice(dev, 3)
		for n := range 100 {
			var id string
			var body []byte
			if dev == "devsim-thermo" {
				id, body = thermoPayload(x, n)
			} else {
				id, body = glucoPayload(x, n)
			}
			b, err := mqtt.Decode(body, dev)
			if err != nil || len(b.Observations) != 1 || b.ControlID != id || b.Observations[0].Implausible {
				t.Fatalf("%s payload %s: %+v, %v", dev, body, b, err)
			}
		}
	}

	// Same seed, same readings.
	a, b2 := testDevice("devsim-spo2", 9), testDevice("devsim-spo2", 9)
	for range 50 {
		x, _ := noninLine(a)
		y, _ := noninLine(b2)
		if x != y {
			t.Fatalf("same seed, different lines: %q %q", x, y)
		}
	}
}

// storeSink stores each batch as one record of a real store, keyed on
// device, control id and raw bytes: a batch stored twice is one record.
type storeSink struct{ s *store.Store }

func (k storeSink) Store(ctx context.Context, b devices.Batch) error {
	sum := sha256.Sum256([]byte(b.DeviceID + "\x00" + b.ControlID + "\x00" + string(b.Raw)))
	key := hex.EncodeToString(sum[:16])
	str := func(s string) []byte { v, _ := json.Marshal(s); return v }
	n, _ := json.Marshal(len(b.Observations))
	_, err := k.s.Write(ctx, store.WriteRequest{Collection: "readings", Record: key, Edits: []store.Edit{
		{Kind: crdt.MutSet, Field: "device", Value: str(b.DeviceID), SeenCurrent: true},
		{Kind: crdt.MutSet, Field: "control", Value: str(b.ControlID), SeenCurrent: true},
		{Kind: crdt.MutSet, Field: "observations", Value: n, SeenCurrent: true},
	}})
	return err
}

// TestDevsimEndToEnd runs `carenode devsim` against the device front ends
// (serial ports on its pseudo-terminals, the MLLP listener, the embedded
// broker) storing into a real store, with faults made frequent (--faults 6): every
// reading devsim saw acknowledged is stored, none twice, and the device
// without an account is refused and asks to join.
func TestDevsimEndToEnd(t *testing.T) {
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat is not installed (apt-get install socat); make test installs it as root, and CI fails without it")
	}
	opts := store.DefaultOptions(filepath.Join(t.TempDir(), "node.db"), "nodeA")
	opts.Create = true
	opts.Logger = slog.New(slog.DiscardHandler)
	st, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bookCfg := mqtt.DefaultBookConfig(st)
	bookCfg.Hash, bookCfg.Logger = auth.TestParams(), slog.New(slog.DiscardHandler)
	book, err := mqtt.NewBook(bookCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := book.Approve(context.Background(), "devsim-thermo", "devsim-password", "admin"); err != nil {
		t.Fatal(err)
	}
	ptyDir := t.TempDir()
	port := func(id, name, format string) serialport.Config {
		c := serialport.DefaultConfig(id, filepath.Join(ptyDir, name), format)
		c.MinBackoff, c.MaxBackoff = 100*time.Millisecond, 300*time.Millisecond
		c.Opener = serialport.Serial{ReadTimeout: 100 * time.Millisecond}
		return c
	}
	mllpCfg := mllp.DefaultConfig("127.0.0.1:0")
	mqttCfg := mqtt.DefaultConfig("127.0.0.1:0", "node1")
	cfg := runner.Config{Serial: []serialport.Config{port("devsim-bp-pty", "bp", "hl7"), port("devsim-spo2", "spo2", "nonin"),
		port("devsim-scale", "scale", "and")}, MLLP: &mllpCfg, MQTT: &mqttCfg, Logger: slog.New(slog.DiscardHandler)}
	r, err := runner.Start(cfg, storeSink{st}, book)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	res := run(t, "devsim", "--pty-dir", ptyDir, "--mllp", r.MLLPAddr(), "--mqtt", r.MQTTAddr(), "--node", "node1",
		"--rate", "20", "--duration", "5s", "--seed", "7", "--faults", "6", "--json")
	if res.code != 0 {
		t.Fatalf("devsim: exit %d\n%s", res.code, tail(res.stderr, 40))
	}
	var sum devsimSummary
	if err := json.Unmarshal([]byte(res.stdout), &sum); err != nil {
		t.Fatalf("summary: %v\n%s", err, res.stdout)
	}
	// What the store holds, per control id (HL7 and JSON) and per device.
	views, err := st.List("readings", "", 100000)
	if err != nil {
		t.Fatal(err)
	}
	byControl, byDevice := map[string]int{}, map[string]int{}
	for _, v := range views {
		var dev, ctl string
		json.Unmarshal(v.Fields["device"].Value, &dev)
		json.Unmarshal(v.Fields["control"].Value, &ctl)
		byDevice[dev]++
		if ctl != "" {
			byControl[ctl]++
		}
	}
	for ctl, n := range byControl {
		if n != 1 {
			t.Errorf("message %s stored %d times", ctl, n)
		}
	}
	stats := map[string]deviceStats{}
	for _, d := range sum.Devices {
		stats[d.Device] = d
		for _, id := range d.AckedIDs {
			if byControl[id] != 1 {
				t.Errorf("%s: acknowledged %s is not stored", d.Device, id)
			}
		}
		if int64(len(d.AckedIDs)) != d.Acked {
			t.Errorf("%s: %d acked, %d ids", d.Device, d.Acked, len(d.AckedIDs))
		}
	}
	if len(stats) != 6 {
		t.Fatalf("devices %v", sum.Devices)
	}
	for _, dev := range []string{"devsim-bp-pty", "devsim-bp-net", "devsim-thermo"} {
		if d := stats[dev]; d.Acked < 10 || d.Sent < d.Acked || d.Refused != 0 {
			t.Errorf("%s: %+v", dev, d)
		}
	}
	for _, dev := range []string{"devsim-spo2", "devsim-scale"} {
		if d := stats[dev]; d.Sent < 10 || byDevice[dev] < 5 || int64(byDevice[dev]) > d.Sent {
			t.Errorf("%s: sent %d, stored %d; ports %+v", dev, d.Sent, byDevice[dev], r.Status().Serial)
		}
	}
	if g := stats["devsim-gluco"]; g.Acked != 0 || g.Refused == 0 {
		t.Errorf("gluco without an account: %+v", g)
	}
	if p, err := book.Pending(); err != nil || len(p) != 1 || p[0].DeviceID != "devsim-gluco" || !p[0].Adoptable {
		t.Errorf("asking to join: %+v, %v", p, err)
	}
	faults := int64(0)
	for _, d := range sum.Devices {
		faults += d.Garbage + d.Duplicates + d.Unplugged
	}
	if faults == 0 {
		t.Error("no faults played at --faults 6")
	}
	st2 := r.Status()
	if st2.MQTT.Unreadable == 0 && stats["devsim-thermo"].Garbage > 0 {
		t.Errorf("thermometer garbage not kept as unreadable: %+v", st2.MQTT)
	}
	if t.Failed() {
		t.Logf("summary:\n%s", res.stdout)
	}
}

// TestDevsimUsage: devsim refuses bad flags with exit 2 and a message in
// both languages.
func TestDevsimUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"devsim"}, "至少"},
		{[]string{"devsim", "--mllp", "127.0.0.1:1", "--rate", "0"}, "--rate"},
		{[]string{"devsim", "--mqtt", "127.0.0.1:1"}, "--node"},
		{[]string{"devsim", "--mqtt", "127.0.0.1:1", "--node", "n", "--mqtt-password", "short"}, "8"},
		{[]string{"devsim", "--mllp", "127.0.0.1:1", "--faults", "-1"}, "--faults"},
		{[]string{"devsim", "--mllp", "127.0.0.1:1", "--patient", "P|1"}, "--patient"},
	} {
		r := run(t, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, r.code, r.stderr)
		}
	}
	if r := run(t, "devsim", "--help"); r.code != 0 || !strings.Contains(r.stdout, "伪终端") || !strings.Contains(r.stdout, "pseudo-terminal") {
		t.Errorf("devsim --help: %d\n%s", r.code, r.stdout)
	}
}
