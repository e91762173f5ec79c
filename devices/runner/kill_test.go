package runner

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"carenode/devices/hl7"
	"carenode/devices/internal/storesink"
	"carenode/devices/mqtt"
	"carenode/internal/testport"
	"carenode/node/auth"
	"carenode/node/nodeconf"
)

// childEnv, when set, makes the test binary a node's device side (see
// runChild) instead of running tests: TestKillNine kills it with SIGKILL.
const childEnv = "CARENODE_RUNNER_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(runChild(dir, os.Getenv("CHILD_MLLP"), os.Getenv("CHILD_MQTT")))
	}
	os.Exit(m.Run())
}

// runChild runs the MLLP listener and the embedded broker over the store
// in dir until killed, and says READY on stdout once both listen.
func runChild(dir, mllpAddr, mqttAddr string) int {
	st, err := openStoreAt(filepath.Join(dir, "node.db"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cfg := mqtt.DefaultBookConfig(st)
	cfg.Hash, cfg.Logger = auth.TestParams(), quiet()
	book, err := mqtt.NewBook(cfg)
	if err == nil {
		err = book.Approve(context.Background(), "thermo-1", "thermo-1-secret", "admin")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rc, err := FromFile(nodeconf.DevicesSection{MLLPListen: mllpAddr, MQTTListen: mqttAddr}, "node1", dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rc.Logger = quiet()
	if _, err := Start(rc, storesink.New(st), book); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("READY")
	select {}
}

// child is the node process.
type child struct {
	t                   *testing.T
	dir, mllpAddr, mqtt string
	cmd                 *exec.Cmd
}

func (c *child) start() {
	c.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+c.dir, "CHILD_MLLP="+c.mllpAddr, "CHILD_MQTT="+c.mqtt)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
		io.Copy(io.Discard, out)
	}()
	select {
	case line := <-ready:
		if strings.TrimSpace(line) != "READY" {
			cmd.Process.Kill()
			cmd.Wait()
			c.t.Fatalf("child said %q", line)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		c.t.Fatal("child not ready within 30 s")
	}
	c.cmd = cmd
}

func (c *child) kill() {
	if c.cmd == nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
	c.cmd = nil
}

// freeAddr returns a loopback address for the child to listen on, again
// after each restart. It lies below the ephemeral port range: while the
// child is down, the devices' reconnection attempts (or any other process
// connecting anywhere) could otherwise take the port for their own end
// and make the restarted child fail to listen.
func freeAddr(t *testing.T) string { return testport.Addr(t) }

// TestKillNine: a thermometer publishes over MQTT QoS 1 (clean session
// off) and a monitor sends HL7 over MLLP while the node is killed with
// SIGKILL and started again. Every reading a device was told was received
// (PUBACK, ACK AA) is in the store afterwards.
func TestKillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills node processes")
	}
	c := &child{t: t, dir: t.TempDir(), mllpAddr: freeAddr(t), mqtt: freeAddr(t)}
	c.start()
	t.Cleanup(c.kill)

	var mu sync.Mutex
	acked := map[string]string{} // control id -> device
	ack := func(dev, id string) {
		mu.Lock()
		acked[id] = dev
		mu.Unlock()
	}
	var mqttAcks, mllpAcks atomic.Int64
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup

	// The thermometer: paho keeps what is in flight and resends it after
	// reconnecting.
	wg.Add(1)
	go func() {
		defer wg.Done()
		opts := paho.NewClientOptions().AddBroker("tcp://" + c.mqtt).SetClientID("thermo-1").SetUsername("thermo-1").
			SetPassword("thermo-1-secret").SetCleanSession(false).SetProtocolVersion(4).SetAutoReconnect(true).
			SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).SetMaxReconnectInterval(300 * time.Millisecond)
		cl := paho.NewClient(opts)
		cl.Connect().WaitTimeout(10 * time.Second)
		defer cl.Disconnect(50)
		for n := 1; ctx.Err() == nil; n++ {
			id := fmt.Sprintf("t-%d", n)
			body := fmt.Sprintf(`{"id":%q,"readings":[{"type":"body-temperature","value":"36.%d","unit":"Cel"}]}`, id, n%10)
			for ctx.Err() == nil {
				tok := cl.Publish(mqtt.Topic("node1", "thermo-1"), 1, false, body)
				if tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
					ack("thermo-1", id)
					mqttAcks.Add(1)
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}()

	// The monitor: sends each message until it is answered AA.
	tmpl, err := os.ReadFile("../hl7/testdata/valid-bp-continua-wan.hl7v2")
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		var conn net.Conn
		var err error
		for n := 1; ctx.Err() == nil; n++ {
			id := fmt.Sprintf("m-%d", n)
			msg := strings.Replace(strings.ReplaceAll(string(tmpl), "\n", "\r"), "|MSGID1234|", "|"+id+"|", 1)
			for ctx.Err() == nil {
				if conn == nil {
					if conn, err = net.DialTimeout("tcp", c.mllpAddr, time.Second); err != nil {
						conn = nil
						time.Sleep(50 * time.Millisecond)
						continue
					}
				}
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				if hl7.NewWriter(conn).WriteFrame([]byte(msg)) == nil {
					if a, err := hl7.NewReader(conn, 1<<16).ReadFrame(); err == nil {
						if res, err := hl7.ParseACK(a); err == nil && res.Code == hl7.AA && res.ControlID == id {
							ack("monitor", id)
							mllpAcks.Add(1)
							break
						}
					}
				}
				conn.Close()
				conn = nil
			}
		}
		if conn != nil {
			conn.Close()
		}
	}()

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		// Generous: under -race on a loaded machine a restarted child
		// and paho's reconnection backoff take seconds.
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				stop()
				t.Fatalf("timed out waiting for %s (MQTT %d, MLLP %d acknowledged)", what, mqttAcks.Load(), mllpAcks.Load())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for round := range 2 {
		m0, l0 := mqttAcks.Load(), mllpAcks.Load()
		waitFor("readings before the kill", func() bool { return mqttAcks.Load() >= m0+20 && mllpAcks.Load() >= l0+20 })
		c.kill() // mid-stream: both devices have a reading in flight, or nearly
		time.Sleep(time.Duration(100+200*round) * time.Millisecond)
		c.start()
	}
	m0, l0 := mqttAcks.Load(), mllpAcks.Load()
	waitFor("readings after the restarts", func() bool { return mqttAcks.Load() >= m0+20 && mllpAcks.Load() >= l0+20 })
	stop()
	wg.Wait()
	c.kill()

	st, err := openStoreAt(filepath.Join(c.dir, "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	views, err := st.List("readings", "", 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	for _, v := range views {
		var id string
		json.Unmarshal(v.Fields["control"].Value, &id)
		stored[id]++
	}
	missing := 0
	for id, dev := range acked {
		if stored[id] != 1 {
			missing++
			t.Errorf("%s's %s was acknowledged but is stored %d times", dev, id, stored[id])
		}
	}
	t.Logf("%d readings acknowledged across two SIGKILLs, %d records stored, %d missing", len(acked), len(views), missing)
}
