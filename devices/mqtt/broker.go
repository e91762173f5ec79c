package mqtt

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	boltstore "github.com/mochi-mqtt/server/v2/hooks/storage/bolt"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"carenode/devices"
)

// Accounts knows the devices allowed to connect. Book implements it over
// the node's store.
//
// Authenticate is called from the connecting client's goroutine, for
// several clients at once; it must not block for long (the client waits
// for its CONNACK).
type Accounts interface {
	Authenticate(deviceID string, password []byte) bool
}

// JoinRecorder keeps the devices asking to join. Book implements it over
// the node's store. Refused is told of every CONNECT refused for an
// unknown device or a wrong password whose user name passes
// CheckDeviceID; it is called like Authenticate and must not block long.
type JoinRecorder interface {
	Refused(a Attempt)
}

// Config configures a Broker. Start from DefaultConfig.
type Config struct {
	// Addr is where the broker listens, such as "127.0.0.1:1883".
	Addr string
	// NodeID is the <node-id> of the topic scheme.
	NodeID string
	// StoreTimeout bounds one Sink.Store.
	StoreTimeout time.Duration
	// SessionFile, when set, keeps the sessions of devices that connect
	// with clean session off (their subscriptions and messages in flight
	// to them) in that file, so they outlive a restart of the node. It is
	// a bbolt file of mochi's own, beside the node's store, not in it.
	SessionFile string
	// Joins, when set, records refused devices (a Book, so that they
	// outlive a restart and reach other nodes; Book.Pending lists them).
	Joins JoinRecorder
	// Now is the node's clock; nil means time.Now.
	Now func() time.Time
	// Logger; nil means slog.Default.
	Logger *slog.Logger
}

// DefaultConfig returns a Config for a broker on addr for node nodeID.
func DefaultConfig(addr, nodeID string) Config {
	return Config{Addr: addr, NodeID: nodeID, StoreTimeout: 10 * time.Second}
}

// Topic returns the topic device deviceID publishes its readings to.
func Topic(nodeID, deviceID string) string {
	return "carenode/" + nodeID + "/devices/" + deviceID + "/readings"
}

// CommandTopic returns the one topic device deviceID may subscribe to. It
// is reserved for messages from the node to the device; the node sends
// none yet, but a device that subscribes keeps its subscription across
// restarts when Config.SessionFile is set.
func CommandTopic(nodeID, deviceID string) string {
	return "carenode/" + nodeID + "/devices/" + deviceID + "/commands"
}

// Stats counts what the broker did with publishes.
type Stats struct {
	Stored     uint64 // stored and acknowledged
	Unreadable uint64 // of which the payload could not be read (kept raw)
	Failed     uint64 // Store failed: not acknowledged, connection closed
	Refused    uint64 // connections refused for an unknown account
}

// Broker is the embedded broker.
type Broker struct {
	cfg      Config
	server   *mochi.Server
	listener *listeners.TCP
	log      *slog.Logger

	stored, unreadable, failed, refused atomic.Uint64
}

// New returns a Broker that authenticates devices with accounts and stores
// their readings into sink. Start starts it.
func New(cfg Config, accounts Accounts, sink devices.Sink) (*Broker, error) {
	switch {
	case sink == nil || accounts == nil:
		return nil, fmt.Errorf("sink or accounts is nil: %w", ErrConfig)
	case cfg.NodeID == "" || strings.ContainsAny(cfg.NodeID, "/+#"):
		return nil, fmt.Errorf("node id %q: %w", cfg.NodeID, ErrConfig)
	case cfg.StoreTimeout <= 0:
		return nil, fmt.Errorf("store timeout %v: %w", cfg.StoreTimeout, ErrConfig)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("subsystem", "mqtt")
	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumQos = 1 // QoS 2 adds nothing here: a resent reading is deduplicated on store
	caps.RetainAvailable = 0
	// $SYS topics are not offered (no one may subscribe to them); a long
	// interval keeps the session file from being written every second.
	srv := mochi.New(&mochi.Options{Capabilities: caps, Logger: log, InlineClient: false, SysTopicResendInterval: 3600})
	b := &Broker{cfg: cfg, server: srv, log: log}
	if err := srv.AddHook(&hook{b: b, accounts: accounts, sink: sink}, nil); err != nil {
		return nil, fmt.Errorf("add MQTT hook: %w", err)
	}
	if cfg.SessionFile != "" {
		if err := srv.AddHook(sessionStore{new(boltstore.Hook)}, &boltstore.Options{Path: cfg.SessionFile}); err != nil {
			return nil, fmt.Errorf("open MQTT session file %s: %w", cfg.SessionFile, err)
		}
	}
	b.listener = listeners.NewTCP(listeners.Config{ID: "devices", Address: cfg.Addr})
	return b, nil
}

// Start listens on cfg.Addr and serves in the background until Close.
func (b *Broker) Start() error {
	if err := b.server.AddListener(b.listener); err != nil {
		return fmt.Errorf("listen for MQTT on %s: %w", b.cfg.Addr, err)
	}
	if err := b.server.Serve(); err != nil {
		return fmt.Errorf("start MQTT broker: %w", err)
	}
	return nil
}

// Addr returns the address the broker listens on (after Start).
func (b *Broker) Addr() string { return b.listener.Address() }

// Close stops the broker and closes every connection.
func (b *Broker) Close() error { return b.server.Close() }

// Stats returns the counts so far.
func (b *Broker) Stats() Stats {
	return Stats{b.stored.Load(), b.unreadable.Load(), b.failed.Load(), b.refused.Load()}
}

// hook is the broker's policy: accounts, topics, and store before PUBACK.
// mochi calls it from each client's own goroutine.
type hook struct {
	mochi.HookBase
	b        *Broker
	accounts Accounts
	sink     devices.Sink
}

func (h *hook) ID() string { return "carenode-devices" }

func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{mochi.OnConnectAuthenticate, mochi.OnACLCheck, mochi.OnPublish}, []byte{b})
}

func (h *hook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	user := string(pk.Connect.Username)
	if CheckDeviceID(user) == nil && h.accounts.Authenticate(user, pk.Connect.Password) {
		return true
	}
	h.b.refused.Add(1)
	if CheckDeviceID(user) == nil {
		if h.b.cfg.Joins != nil {
			h.b.cfg.Joins.Refused(Attempt{DeviceID: user, ClientID: pk.Connect.ClientIdentifier, Remote: cl.Net.Remote,
				Password: pk.Connect.Password})
		}
	}
	h.b.log.Warn("MQTT device refused: unknown account", "device", user, "remote", cl.Net.Remote)
	return false
}

func (h *hook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	device := string(cl.Properties.Username)
	if write {
		return topic == Topic(h.b.cfg.NodeID, device)
	}
	return topic == CommandTopic(h.b.cfg.NodeID, device)
}

func (h *hook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	device := string(cl.Properties.Username)
	batch, perr := Decode(pk.Payload, device)
	batch.Source = "mqtt:" + cl.Net.Remote
	batch.Received = h.b.cfg.Now()
	ctx, cancel := context.WithTimeout(context.Background(), h.b.cfg.StoreTimeout)
	err := h.sink.Store(ctx, batch)
	cancel()
	if err != nil {
		// No PUBACK, and the connection goes: the device resends.
		h.b.failed.Add(1)
		h.b.log.Error("MQTT reading not stored; closing the connection", "device", device, "err", err)
		cl.Stop(fmt.Errorf("reading not stored: %w", err))
		return pk, packets.ErrRejectPacket
	}
	h.b.stored.Add(1)
	if perr != nil {
		h.b.unreadable.Add(1)
		h.b.log.Warn("MQTT payload unreadable; kept raw", "device", device, "err", perr)
	}
	// Readings go to the store, not to other clients.
	return pk, packets.CodeSuccessIgnore
}
