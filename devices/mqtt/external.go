package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"carenode/devices"
)

// ExternalConfig configures a Subscriber, which reads devices' readings
// from an external broker instead of the embedded one. Start from
// DefaultExternalConfig.
type ExternalConfig struct {
	// Broker is the broker's URL: "tcp://host:1883" (or "mqtt://") or
	// "ssl://host:8883" (or "tls://", "mqtts://", "tcps://").
	Broker string
	// NodeID is the <node-id> of the topic scheme.
	NodeID string
	// ClientID is the MQTT client id; "" means "carenode-<node-id>". It
	// must stay the same across restarts, since the broker keeps the
	// session (and the readings not yet acknowledged) under it.
	ClientID string
	// Username and Password log in to the broker; "" sends none.
	Username, Password string
	// TLS is used for the ssl:// schemes; nil means the system roots.
	TLS *tls.Config
	// StoreTimeout bounds one Sink.Store.
	StoreTimeout time.Duration
	// ConnectTimeout bounds one connection attempt.
	ConnectTimeout time.Duration
	// MaxReconnectInterval caps the wait between reconnection attempts.
	MaxReconnectInterval time.Duration
	// KeepAlive is the MQTT keep-alive.
	KeepAlive time.Duration
	// Now is the node's clock; nil means time.Now.
	Now func() time.Time
	// Logger; nil means slog.Default.
	Logger *slog.Logger
}

// DefaultExternalConfig returns an ExternalConfig for node nodeID reading
// from the broker at brokerURL.
func DefaultExternalConfig(brokerURL, nodeID string) ExternalConfig {
	return ExternalConfig{Broker: brokerURL, NodeID: nodeID, StoreTimeout: 10 * time.Second,
		ConnectTimeout: 10 * time.Second, MaxReconnectInterval: 30 * time.Second, KeepAlive: 30 * time.Second}
}

// SubscriberStats counts what a Subscriber did.
type SubscriberStats struct {
	Stored     uint64 // stored and acknowledged
	Unreadable uint64 // of which the payload could not be read (kept raw)
	Failed     uint64 // Store failed: not acknowledged, connection dropped
	Connects   uint64 // connections made (the first and every reconnection)
	Subscribed uint64 // subscriptions the broker granted (one per connection)
}

// Subscriber reads readings from an external MQTT broker with
// github.com/eclipse/paho.mqtt.golang and stores them into a devices.Sink.
//
// It connects with a client id that is stable per node and clean session
// off, and subscribes at QoS 1 to carenode/<node-id>/devices/+/readings on
// every connection (the subscription is renewed on reconnect, so it also
// survives a broker that lost its sessions). Payloads are read with Decode,
// as the embedded broker reads them.
//
// Acknowledgement is manual: a PUBACK goes back only after Sink.Store
// returned nil. When Store fails the reading is not acknowledged and the
// Subscriber drops the connection; paho reconnects and the broker, which
// kept the session, delivers the reading again. Readings are stored one
// at a time, in the order they arrive, never concurrently.
type Subscriber struct {
	cfg    ExternalConfig
	sink   devices.Sink
	log    *slog.Logger
	client paho.Client
	filter string
	source string

	queue  chan paho.Message
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	mu   sync.Mutex
	conn *dropConn // the current connection, dropped to force a reconnection

	stored, unreadable, failed, connects, subscribed atomic.Uint64
}

// NewSubscriber returns a Subscriber that stores what it reads into sink.
// Start starts it.
func NewSubscriber(cfg ExternalConfig, sink devices.Sink) (*Subscriber, error) {
	switch {
	case sink == nil:
		return nil, fmt.Errorf("sink is nil: %w", ErrConfig)
	case cfg.NodeID == "" || strings.ContainsAny(cfg.NodeID, "/+#"):
		return nil, fmt.Errorf("node id %q: %w", cfg.NodeID, ErrConfig)
	case cfg.StoreTimeout <= 0:
		return nil, fmt.Errorf("store timeout %v: %w", cfg.StoreTimeout, ErrConfig)
	}
	u, err := url.Parse(cfg.Broker)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("broker %q: %w", cfg.Broker, ErrConfig)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "tcps":
	default:
		return nil, fmt.Errorf("broker %q: scheme %q not supported: %w", cfg.Broker, u.Scheme, ErrConfig)
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "carenode-" + cfg.NodeID
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.MaxReconnectInterval <= 0 {
		cfg.MaxReconnectInterval = 30 * time.Second
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 30 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Subscriber{cfg: cfg, sink: sink, log: log.With("subsystem", "mqtt-external", "broker", u.Redacted()),
		filter: "carenode/" + cfg.NodeID + "/devices/+/readings", source: "mqtt:" + u.Host,
		queue: make(chan paho.Message, 64), done: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())

	opts := paho.NewClientOptions().
		AddBroker(cfg.Broker).
		SetClientID(cfg.ClientID).
		SetCleanSession(false).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(cfg.MaxReconnectInterval).
		SetConnectTimeout(cfg.ConnectTimeout).
		SetKeepAlive(cfg.KeepAlive).
		SetProtocolVersion(4).
		SetAutoAckDisabled(true).
		SetOrderMatters(true).
		SetDefaultPublishHandler(s.handle).
		SetCustomOpenConnectionFn(s.dial).
		SetOnConnectHandler(s.onConnect).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			s.log.Warn("connection to MQTT broker lost; reconnecting", "err", err)
		})
	if cfg.Username != "" {
		opts.SetUsername(cfg.Username).SetPassword(cfg.Password)
	}
	s.client = paho.NewClient(opts)
	return s, nil
}

// Start connects in the background, retrying until it succeeds, and
// stores readings until Close.
func (s *Subscriber) Start() error {
	s.wg.Add(1)
	go s.work()
	s.client.Connect() // with connect retry, completes only once connected
	return nil
}

// Close disconnects and waits for the reading being stored, if any.
// Readings received but not yet stored stay unacknowledged; the broker
// delivers them again next time.
func (s *Subscriber) Close() error {
	s.once.Do(func() {
		close(s.done)
		s.cancel()
		s.wg.Wait()
		s.client.Disconnect(250)
	})
	return nil
}

// Stats returns the counts so far.
func (s *Subscriber) Stats() SubscriberStats {
	return SubscriberStats{s.stored.Load(), s.unreadable.Load(), s.failed.Load(), s.connects.Load(), s.subscribed.Load()}
}

// dial opens the network connection for paho and remembers it, so that a
// failed store can close it.
func (s *Subscriber) dial(u *url.URL, o paho.ClientOptions) (net.Conn, error) {
	d := &net.Dialer{Timeout: s.cfg.ConnectTimeout}
	var conn net.Conn
	var err error
	switch u.Scheme {
	case "ssl", "tls", "mqtts", "tcps":
		cfg := &tls.Config{}
		if s.cfg.TLS != nil {
			cfg = s.cfg.TLS.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		conn, err = tls.DialWithDialer(d, "tcp", u.Host, cfg)
	default:
		conn, err = d.Dial("tcp", u.Host)
	}
	if err != nil {
		return nil, err
	}
	dc := &dropConn{Conn: conn}
	s.mu.Lock()
	s.conn = dc
	s.mu.Unlock()
	return dc, nil
}

// dropConn closes the current connection; paho then reconnects, and the
// broker resends what was not acknowledged.
func (s *Subscriber) reconnect() {
	s.mu.Lock()
	if s.conn != nil {
		s.conn.drop()
	}
	s.mu.Unlock()
}

// errDropped is what a dropped connection reads and writes.
var errDropped = errors.New("connection dropped to have unacknowledged readings sent again")

// dropConn is a connection the Subscriber can drop. paho takes a
// connection closed under it for its own Disconnect and does not
// reconnect, so after drop reads and writes fail with errDropped instead.
type dropConn struct {
	net.Conn
	dropped atomic.Bool
}

func (c *dropConn) drop() {
	c.dropped.Store(true)
	c.Conn.Close()
}

func (c *dropConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && c.dropped.Load() {
		err = errDropped
	}
	return n, err
}

func (c *dropConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil && c.dropped.Load() {
		err = errDropped
	}
	return n, err
}

// onConnect renews the subscription on every connection. paho calls it in
// its own goroutine.
func (s *Subscriber) onConnect(c paho.Client) {
	s.connects.Add(1)
	tok := c.Subscribe(s.filter, 1, s.handle)
	if !tok.WaitTimeout(s.cfg.ConnectTimeout) || tok.Error() != nil {
		s.log.Error("MQTT subscribe failed; reconnecting", "filter", s.filter, "err", tok.Error())
		s.reconnect()
		return
	}
	var q byte = 0x80
	if st, ok := tok.(*paho.SubscribeToken); ok {
		if granted, ok := st.Result()[s.filter]; ok {
			q = granted
		}
	}
	if q > 2 {
		s.log.Error("MQTT broker refused the subscription; reconnecting", "filter", s.filter, "code", q)
		s.reconnect()
		return
	}
	s.subscribed.Add(1)
	s.log.Info("subscribed to device readings", "filter", s.filter)
}

// handle hands a message to the worker. paho calls it from its router
// goroutine, in order; it waits while the worker is behind.
func (s *Subscriber) handle(_ paho.Client, m paho.Message) {
	select {
	case s.queue <- m:
	case <-s.done: // not acknowledged: delivered again next time
	}
}

func (s *Subscriber) work() {
	defer s.wg.Done()
	for {
		select {
		case <-s.done:
			return
		case m := <-s.queue:
			s.store(m)
		}
	}
}

// store stores one message and acknowledges it only once stored.
func (s *Subscriber) store(m paho.Message) {
	device, ok := deviceFromTopic(s.cfg.NodeID, m.Topic())
	if !ok {
		// Not a reading topic of ours (we subscribe to none other): there
		// is nothing to store, and leaving it unacknowledged would only
		// bring it back.
		s.log.Warn("MQTT message on an unexpected topic; ignored", "topic", m.Topic())
		m.Ack()
		return
	}
	batch, perr := Decode(m.Payload(), device)
	batch.Source = s.source
	batch.Received = s.cfg.Now()
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.StoreTimeout)
	err := s.sink.Store(ctx, batch)
	cancel()
	if err != nil && s.ctx.Err() != nil {
		return // closing: not acknowledged, delivered again next time
	}
	if err != nil {
		s.failed.Add(1)
		s.log.Error("MQTT reading not stored; not acknowledged, reconnecting", "device", device, "err", err)
		s.reconnect()
		return
	}
	m.Ack()
	s.stored.Add(1)
	if perr != nil {
		s.unreadable.Add(1)
		s.log.Warn("MQTT payload unreadable; kept raw", "device", device, "err", perr)
	}
}

// deviceFromTopic returns the <device-id> of a reading topic of node.
func deviceFromTopic(node, topic string) (string, bool) {
	p := strings.Split(topic, "/")
	if len(p) != 5 || p[0] != "carenode" || p[1] != node || p[2] != "devices" || p[3] == "" || p[4] != "readings" {
		return "", false
	}
	return p[3], true
}
