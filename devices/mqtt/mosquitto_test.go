package mqtt

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"carenode/internal/testport"
)

// mosquitto is a real Mosquitto broker on a loopback port, run by the test.
type mosquitto struct {
	t    *testing.T
	bin  string
	conf string
	addr string

	mu  sync.Mutex
	cmd *exec.Cmd
	log bytes.Buffer
}

// mosquittoBin finds the broker: on PATH, or where Debian's package puts
// it (/usr/sbin, which is not on a normal user's PATH).
func mosquittoBin() (string, bool) {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p, true
	}
	if _, err := os.Stat("/usr/sbin/mosquitto"); err == nil {
		return "/usr/sbin/mosquitto", true
	}
	return "", false
}

// startMosquitto writes a config in a temporary directory (one listener,
// 127.0.0.1 only, anonymous clients allowed, no persistence: a restart
// forgets every session) and starts the broker.
func startMosquitto(t *testing.T) *mosquitto {
	t.Helper()
	bin, ok := mosquittoBin()
	if !ok {
		t.Skip("mosquitto is not installed (apt-get install mosquitto); make test installs it as root, and CI fails without it")
	}
	// Mosquitto is restarted on the same port: pick one outside the
	// ephemeral range, which the subscriber's reconnection attempts (or
	// any other connection on the machine) could take while it is down.
	addr := testport.Addr(t)
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	text := fmt.Sprintf("listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type error\nlog_type warning\n", port)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &mosquitto{t: t, bin: bin, conf: conf, addr: addr}
	m.start()
	t.Cleanup(m.stop)
	return m
}

func (m *mosquitto) start() {
	m.t.Helper()
	m.mu.Lock()
	cmd := exec.Command(m.bin, "-c", m.conf)
	cmd.Stderr, cmd.Stdout = &m.log, &m.log
	if err := cmd.Start(); err != nil {
		m.mu.Unlock()
		m.t.Fatal(err)
	}
	m.cmd = cmd
	m.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", m.addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("mosquitto did not listen on %s: %v\n%s", m.addr, err, m.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the broker as an operator would (SIGTERM) and waits for it.
func (m *mosquitto) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { m.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		m.cmd.Process.Kill()
		<-done
	}
	m.cmd = nil
}

// TestMosquittoExternalBroker reads readings from a real Mosquitto: the
// subscription is renewed when the broker restarts and has forgotten it,
// readings published while the node was away are delivered when it comes
// back (clean session off), and each reading is stored once.
func TestMosquittoExternalBroker(t *testing.T) {
	m := startMosquitto(t)
	sink := &flakySink{}
	count := func(raw string) int {
		n := 0
		for _, b := range sink.all() {
			if string(b.Raw) == raw {
				n++
			}
		}
		return n
	}
	doc := func(id string) string {
		return `{"id":"` + id + `","readings":[{"type":"body-temperature","value":"37.` + id[len(id)-1:] + `","unit":"Cel"}]}`
	}
	s := startSubscriber(t, m.addr, sink)
	eventually(t, "the first subscription", func() bool { return s.Stats().Subscribed == 1 })
	devicePublish(t, m.addr, "thermo-1", []byte(doc("a-1")))
	eventually(t, "reading a-1", func() bool { return count(doc("a-1")) == 1 })

	// Restart: this Mosquitto keeps no sessions, so the reading after it
	// arrives only because the subscriber subscribed again.
	m.stop()
	m.start()
	eventually(t, "the renewed subscription", func() bool { return s.Stats().Subscribed == 2 })
	devicePublish(t, m.addr, "thermo-1", []byte(doc("b-2")))
	eventually(t, "reading b-2", func() bool { return count(doc("b-2")) == 1 })

	// The node goes away; the broker keeps its session and queues.
	s.Close()
	devicePublish(t, m.addr, "gluco-1", []byte(doc("c-3")))
	devicePublish(t, m.addr, "gluco-1", []byte(doc("d-4")))
	s2 := startSubscriber(t, m.addr, sink)
	eventually(t, "readings queued while away", func() bool { return count(doc("c-3")) == 1 && count(doc("d-4")) == 1 })
	// Nothing is stored twice: give a late duplicate a moment to show up.
	devicePublish(t, m.addr, "thermo-1", []byte(doc("e-5")))
	eventually(t, "reading e-5", func() bool { return count(doc("e-5")) == 1 })
	if n := len(sink.all()); n != 5 {
		t.Fatalf("%d batches stored, want 5: %+v", n, sink.all())
	}
	// The counts move just after the sink returns: wait for them.
	eventually(t, "the second subscriber's count of three stored", func() bool { return s2.Stats().Stored >= 3 })
	if st := s2.Stats(); st.Stored != 3 || st.Failed != 0 {
		t.Errorf("second subscriber %+v", st)
	}
}
