package serialport

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"carenode/devices"
	"carenode/devices/hl7"
)

// ptyPair is a linked pair of pseudo-terminals made by socat: what is
// written to one is read on the other. A and B are symlinks that stay the
// same when socat is restarted, as a device path does when a USB adapter
// is plugged in again.
type ptyPair struct {
	t    *testing.T
	A, B string
	pts  []string // the /dev/pts paths socat reported
	cmd  *exec.Cmd
}

var ptyLine = regexp.MustCompile(`PTY is (/dev/pts/\d+)`)

func newPtyPair(t *testing.T) *ptyPair {
	t.Helper()
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat is not installed (apt-get install socat); make test installs it as root, and CI fails without it")
	}
	dir := t.TempDir()
	p := &ptyPair{t: t, A: filepath.Join(dir, "ttyA"), B: filepath.Join(dir, "ttyB")}
	p.start()
	t.Cleanup(p.kill)
	return p
}

// start runs socat and waits until it has made both pseudo-terminals.
func (p *ptyPair) start() {
	p.t.Helper()
	os.Remove(p.A)
	os.Remove(p.B)
	cmd := exec.Command("socat", "-d", "-d", "pty,raw,echo=0,link="+p.A, "pty,raw,echo=0,link="+p.B)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.cmd = cmd
	ready := make(chan []string, 1)
	go func() {
		var pts []string
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := ptyLine.FindStringSubmatch(sc.Text()); m != nil {
				pts = append(pts, m[1])
			}
			if strings.Contains(sc.Text(), "starting data transfer loop") {
				ready <- pts
			}
		}
	}()
	select {
	case p.pts = <-ready:
	case <-time.After(30 * time.Second):
		p.t.Fatal("socat did not start within 30 s")
	}
	if len(p.pts) != 2 {
		p.t.Fatalf("socat reported %v, want two pseudo-terminals", p.pts)
	}
}

// kill ends socat at once, as when a device is unplugged: the device
// path goes first, then the pseudo-terminals. The links must not outlive
// socat: the kernel hands its /dev/pts numbers to the next pseudo-terminal
// made anywhere (another test package's socat, say), and a port reopening
// through a stale link would open that stranger's terminal.
func (p *ptyPair) kill() {
	if p.cmd == nil {
		return
	}
	os.Remove(p.A)
	os.Remove(p.B)
	p.cmd.Process.Kill()
	p.cmd.Wait()
	p.cmd = nil
}

// device opens the B side, where the simulated device sits.
func (p *ptyPair) device() *os.File {
	p.t.Helper()
	f, err := os.OpenFile(p.B, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { f.Close() })
	return f
}

func ptyConfig(pair *ptyPair, format string) Config {
	cfg := testConfig(format, Serial{ReadTimeout: 100 * time.Millisecond})
	cfg.Path = pair.A
	cfg.MinBackoff, cfg.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
	return cfg
}

// waitStatus polls p's status until ok, for at most 30 s.
func waitStatus(t *testing.T, p *Port, what string, ok func(Status) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok(p.Status()) {
		if time.Now().After(deadline) {
			t.Fatalf("port not %s within 30 s: %+v", what, p.Status())
		}
		time.Sleep(10 * time.Millisecond) // polls the status
	}
}

func TestOximeterOnPty(t *testing.T) {
	pair := newPtyPair(t)
	sink := newSink()
	p, err := New(ptyConfig(pair, "nonin"), sink)
	if err != nil {
		t.Fatal(err)
	}
	run(t, p)
	waitStatus(t, p, "open", func(s Status) bool { return s.Connected })
	dev := pair.device()
	write := func(s string) {
		t.Helper()
		if _, err := dev.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	write("Nonin 9560\r\n")
	for _, line := range []string{"SPO2=097 HR=072", "SPO2=096 HR=075", "SPO2=--- HR=---", "SPO2=098 HR=070"} {
		write(line + "\r\n")
		if line == "SPO2=--- HR=---" {
			continue
		}
		if b := next(t, sink); string(b.Raw) != line || len(b.Observations) != 2 {
			t.Fatalf("stored %q with %d observations, want %q", b.Raw, len(b.Observations), line)
		}
	}
	// Unplugged mid-line: the cut-off line must not be stored as a reading.
	write("SPO2=09")
	dev.Close()
	pair.kill()
	waitStatus(t, p, "closed", func(s Status) bool { return !s.Connected && s.ReadErrors > 0 })

	pair.start()
	waitStatus(t, p, "reopened", func(s Status) bool { return s.Connected && s.Opens >= 2 })
	dev = pair.device()
	dev.WriteString("SPO2=094 HR=080\r\n")
	if b := next(t, sink); string(b.Raw) != "SPO2=094 HR=080" {
		t.Fatalf("after reconnect stored %q", b.Raw)
	}
	waitStatus(t, p, "done storing", func(s Status) bool { return s.Stored == 4 && !s.LastReading.IsZero() })
	if n := len(sink.all()); n != 4 {
		t.Errorf("%d batches stored, want 4", n)
	}
}

// monitor is the device end of an HL7-over-MLLP serial line.
type monitor struct {
	t *testing.T
	f *os.File
	r *hl7.Reader
}

func (m *monitor) send(msg []byte) hl7.AckResult {
	m.t.Helper()
	if err := hl7.NewWriter(m.f).WriteFrame(msg); err != nil {
		m.t.Fatal(err)
	}
	m.f.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := m.r.ReadFrame()
	if err != nil {
		m.t.Fatalf("reading ACK: %v", err)
	}
	a, err := hl7.ParseACK(b)
	if err != nil {
		m.t.Fatal(err)
	}
	return a
}

func TestMonitorHL7OnPty(t *testing.T) {
	pair := newPtyPair(t)
	sink := newSink()
	var failing atomic.Bool
	sink.fail = func(b devices.Batch) error {
		if failing.Load() {
			return errors.New("disk full")
		}
		return nil
	}
	cfg := ptyConfig(pair, FormatHL7)
	cfg.DeviceID = "mon-1"
	p, err := New(cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	run(t, p)
	waitStatus(t, p, "open", func(s Status) bool { return s.Connected })
	f := pair.device()
	m := &monitor{t, f, hl7.NewReader(f, 0)}
	for i, name := range samples {
		a := m.send(sample(t, name))
		if a.Code != hl7.AA || a.ControlID != "MSGID1234" {
			t.Fatalf("%s: ACK %+v", name, a)
		}
		// Store returned before the ACK was written, so the batch is there.
		if n := len(sink.all()); n != i+1 {
			t.Fatalf("%s: ACK with %d batches stored, want %d", name, n, i+1)
		}
		b := <-sink.stored
		if b.DeviceID != "mon-1" || b.Format != "hl7" || b.ControlID != "MSGID1234" || len(b.Observations) == 0 ||
			!strings.HasPrefix(b.Source, "serial:") {
			t.Errorf("%s: batch %s %s %s %d %s", name, b.DeviceID, b.Format, b.ControlID, len(b.Observations), b.Source)
		}
	}

	// The store fails: AE with the reason, and nothing stored.
	failing.Store(true)
	if a := m.send(sample(t, samples[0])); a.Code != hl7.AE || a.ControlID != "MSGID1234" || !strings.Contains(a.Text, "disk full") {
		t.Fatalf("with the store failing: ACK %+v", a)
	}
	failing.Store(false)
	if n := len(sink.all()); n != 3 {
		t.Fatalf("%d batches stored, want 3", n)
	}

	// Unplugged mid-frame, plugged in again: the half frame is dropped, the
	// resent message is stored and acknowledged.
	frame, _ := hl7.AppendFrame(nil, sample(t, samples[0]))
	f.Write(frame[:len(frame)/2])
	f.Close()
	pair.kill()
	waitStatus(t, p, "closed", func(s Status) bool { return !s.Connected && s.ReadErrors > 0 })
	pair.start()
	waitStatus(t, p, "reopened", func(s Status) bool { return s.Connected && s.Opens >= 2 })
	f = pair.device()
	m = &monitor{t, f, hl7.NewReader(f, 0)}
	if a := m.send(sample(t, samples[0])); a.Code != hl7.AA {
		t.Fatalf("after reconnect: ACK %+v", a)
	}
	if n := len(sink.all()); n != 4 {
		t.Fatalf("%d batches stored, want 4", n)
	}
	if st := p.Status(); st.StoreErrors != 1 || st.Stored != 4 {
		t.Errorf("status %+v", st)
	}
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "hl7", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.ReplaceAll(strings.TrimRight(string(b), "\n"), "\n", "\r"))
}

var samples = []string{"valid-bp-continua-wan.hl7v2", "valid-oximeter-continua-wan.hl7v2", "valid-thermometer-continua-wan.hl7v2"}
