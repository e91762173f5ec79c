package mqtt

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"carenode/devices"
	"carenode/internal/testport"
)

// The "external" broker in these tests is mochi, the broker the embedded
// one is built on, as a plain broker that routes publishes to subscribers
// (the embedded Broker stores them instead, and lets no one subscribe).

// extBroker starts a routing mochi broker on addr ("127.0.0.1:0" picks a
// port) and returns it with the address it listens on and a stop function
// (also called at cleanup).
func extBroker(t *testing.T, addr string) (*mochi.Server, string, func()) {
	t.Helper()
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler), InlineClient: false})
	if err := srv.AddHook(new(allowAll), nil); err != nil {
		t.Fatal(err)
	}
	l := listeners.NewTCP(listeners.Config{ID: "ext", Address: addr})
	if err := srv.AddListener(l); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(func() { srv.Close() }) }
	t.Cleanup(stop)
	return srv, l.Address(), stop
}

// allowAll lets every client connect, publish and subscribe.
type allowAll struct{ mochi.HookBase }

func (allowAll) ID() string { return "allow-all" }
func (allowAll) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}
func (allowAll) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }
func (allowAll) OnACLCheck(*mochi.Client, string, bool) bool              { return true }

// flakySink stores in memory and fails its first failures calls.
type flakySink struct {
	mu       sync.Mutex
	batches  []devices.Batch
	failures atomic.Int32
}

func (s *flakySink) Store(_ context.Context, b devices.Batch) error {
	if s.failures.Add(-1) >= 0 {
		return errors.New("disk full")
	}
	s.mu.Lock()
	s.batches = append(s.batches, b)
	s.mu.Unlock()
	return nil
}

func (s *flakySink) all() []devices.Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]devices.Batch(nil), s.batches...)
}

func startSubscriber(t *testing.T, addr string, sink devices.Sink) *Subscriber {
	t.Helper()
	cfg := DefaultExternalConfig("tcp://"+addr, "node1")
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.ConnectTimeout = 2 * time.Second
	cfg.MaxReconnectInterval = 500 * time.Millisecond
	s, err := NewSubscriber(cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// devicePublish publishes payload at QoS 1 as device, waiting for its
// PUBACK from the broker.
func devicePublish(t *testing.T, addr, device string, payload []byte) {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(device + "-pub").SetCleanSession(true)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	if tok := c.Publish(Topic("node1", device), 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

// eventually waits up to 30 s for cond: generous, for a loaded machine
// under -race and paho's reconnection backoff.
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

const extJSON = `{"id":"ext-1","readings":[{"type":"body-temperature","value":"37.2","unit":"Cel"}]}`

func TestSubscriberStoresReadings(t *testing.T) {
	_, addr, _ := extBroker(t, "127.0.0.1:0")
	sink := &flakySink{}
	s := startSubscriber(t, addr, sink)
	eventually(t, "subscription", func() bool { return s.Stats().Subscribed == 1 })

	hl7msg, err := os.ReadFile("../hl7/testdata/valid-thermometer-continua-wan.hl7v2")
	if err != nil {
		t.Fatal(err)
	}
	devicePublish(t, addr, "thermo-1", []byte(extJSON))
	devicePublish(t, addr, "gw-2", hl7msg)
	devicePublish(t, addr, "thermo-1", []byte("not a reading"))
	eventually(t, "three stored", func() bool { return len(sink.all()) == 3 })

	// Order across publishers is the broker's: find each by what it is.
	byRaw := map[string]devices.Batch{}
	for _, b := range sink.all() {
		byRaw[string(b.Raw)] = b
	}
	if b := byRaw[extJSON]; b.DeviceID != "thermo-1" || b.Format != "json" || b.ControlID != "ext-1" || len(b.Observations) != 1 ||
		b.Observations[0].LOINC != "8310-5" || b.Source != "mqtt:"+addr || b.Received.IsZero() {
		t.Errorf("JSON batch: %+v", b)
	}
	if b := byRaw[string(hl7msg)]; b.DeviceID != "gw-2" || b.Format != "hl7" || b.ControlID != "MSGID1234" || len(b.Observations) != 1 {
		t.Errorf("HL7 batch: %+v", b)
	}
	if b := byRaw["not a reading"]; b.DeviceID != "thermo-1" || len(b.Unmapped) != 1 {
		t.Errorf("unreadable batch: %+v", b)
	}
	// The counts move just after the sink returns: wait for them.
	eventually(t, "stats of three stored", func() bool { return s.Stats().Stored == 3 })
	if st := s.Stats(); st.Stored != 3 || st.Unreadable != 1 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A reading whose Store failed is not acknowledged: the broker, which
// kept the session, delivers it again on the reconnection the failure
// causes, and it is stored once.
func TestSubscriberRedeliversAfterFailedStore(t *testing.T) {
	srv, addr, _ := extBroker(t, "127.0.0.1:0")
	sink := &flakySink{}
	sink.failures.Store(1)
	s := startSubscriber(t, addr, sink)
	eventually(t, "subscription", func() bool { return s.Stats().Subscribed == 1 })

	devicePublish(t, addr, "thermo-1", []byte(extJSON))
	eventually(t, "the failed store", func() bool { return s.Stats().Failed == 1 })
	// Not acknowledged: the broker still holds it in flight for the session.
	eventually(t, "stored after redelivery", func() bool { return len(sink.all()) == 1 })
	time.Sleep(300 * time.Millisecond) // room for a wrong second delivery
	if got := sink.all(); len(got) != 1 || got[0].ControlID != "ext-1" {
		t.Fatalf("stored %d batches: %+v", len(got), got)
	}
	// The broker resends the reading as soon as the session is back, while
	// paho's OnConnect (in a goroutine of its own) is still counting the
	// connection and subscribing; Stored moves just after the sink
	// returns. Wait for all of them rather than a fixed time.
	eventually(t, "the reconnection, resubscription and store counted", func() bool {
		st := s.Stats()
		return st.Connects >= 2 && st.Subscribed >= 2 && st.Stored >= 1
	})
	st := s.Stats()
	if st.Failed != 1 || st.Stored != 1 || st.Connects < 2 || st.Subscribed < 2 {
		t.Errorf("stats %+v", st)
	}
	// Acknowledged now: nothing left in flight for our session.
	eventually(t, "the PUBACK at the broker", func() bool {
		cl, ok := srv.Clients.Get("carenode-node1")
		return ok && cl.State.Inflight.Len() == 0
	})
}

// A broker that restarts loses its sessions; the Subscriber reconnects,
// subscribes again, and readings published after the restart arrive.
func TestSubscriberSurvivesBrokerRestart(t *testing.T) {
	// The broker comes back on the same port: one outside the ephemeral
	// range, which the subscriber's reconnection attempts (or any other
	// connection on the machine) could take while it is down.
	_, addr, stop := extBroker(t, testport.Addr(t))
	sink := &flakySink{}
	s := startSubscriber(t, addr, sink)
	eventually(t, "subscription", func() bool { return s.Stats().Subscribed == 1 })
	devicePublish(t, addr, "thermo-1", []byte(extJSON))
	eventually(t, "first stored", func() bool { return len(sink.all()) == 1 })

	stop()
	// The port was free a moment ago; wait until it can be bound again.
	eventually(t, "the port to be free", func() bool {
		l, err := net.Listen("tcp", addr)
		if err == nil {
			l.Close()
		}
		return err == nil
	})
	extBroker(t, addr)
	eventually(t, "resubscription", func() bool { return s.Stats().Subscribed >= 2 })

	second := `{"id":"ext-2","readings":[{"type":"body-temperature","value":"37.4","unit":"Cel"}]}`
	devicePublish(t, addr, "thermo-1", []byte(second))
	eventually(t, "second stored", func() bool { return len(sink.all()) == 2 })
	if got := sink.all(); got[0].ControlID != "ext-1" || got[1].ControlID != "ext-2" {
		t.Fatalf("batches %+v", got)
	}
}

func TestNewSubscriberConfig(t *testing.T) {
	for _, cfg := range []ExternalConfig{
		DefaultExternalConfig("tcp://127.0.0.1:1883", ""),
		DefaultExternalConfig("tcp://127.0.0.1:1883", "a/b"),
		DefaultExternalConfig("ws://127.0.0.1:1883", "n"),
		DefaultExternalConfig("127.0.0.1:1883", "n"),
	} {
		if _, err := NewSubscriber(cfg, &flakySink{}); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: err %v, want ErrConfig", cfg, err)
		}
	}
	if _, ok := deviceFromTopic("n", "carenode/n/devices/d1/readings"); !ok {
		t.Error("reading topic not recognised")
	}
	for _, topic := range []string{"carenode/m/devices/d1/readings", "carenode/n/devices//readings", "carenode/n/devices/d1/x"} {
		if _, ok := deviceFromTopic("n", topic); ok {
			t.Errorf("%s taken for a reading topic", topic)
		}
	}
}
