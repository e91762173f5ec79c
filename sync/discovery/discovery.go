package discovery

import (
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"carenode/node/identity"
)

// Peer is another node found on the LAN: its claimed node ID and the URL
// of its sync listener. Neither is authenticated (see the package doc).
type Peer struct {
	ID  identity.ID
	URL string
}

// EventKind says what happened to a peer.
type EventKind int

const (
	// Joined: the peer appeared with valid metadata.
	Joined EventKind = iota + 1
	// Updated: the peer announced a different sync URL.
	Updated
	// Left: the peer left, was found dead, or its metadata became invalid.
	Left
)

func (k EventKind) String() string {
	switch k {
	case Joined:
		return "joined"
	case Updated:
		return "updated"
	case Left:
		return "left"
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event reports a change in the set of peers.
type Event struct {
	Kind EventKind
	Peer Peer
}

// Config configures a discovery node.
type Config struct {
	// ID is this node's ID, used as its member name.
	ID identity.ID
	// SyncURL is this node's https://host:port sync listener, announced
	// in its metadata.
	SyncURL string
	// BindAddr and BindPort are where the gossip listens (UDP and TCP).
	// BindAddr defaults to 127.0.0.1, so that a node gossips on the LAN
	// only when an address is configured; BindPort 0 picks a free port.
	BindAddr string
	BindPort int
	// AdvertiseAddr and AdvertisePort, if set, are what peers are told
	// to reach this node at (behind NAT, or with BindAddr 0.0.0.0).
	AdvertiseAddr string
	AdvertisePort int
	// Join lists seed addresses (host:port) to join at Start. Without
	// seeds a node waits for others to join it. No multicast or broadcast
	// is ever used.
	Join []string
	// SecretKey (16, 24 or 32 bytes; carenode uses the network's 32-byte
	// gossip key, trust.GossipKeySize) encrypts and authenticates all
	// gossip, both ways. All members must share it. Required: Start
	// refuses to gossip in clear (ErrNoKey).
	SecretKey []byte
	// OnEvent, if set, is called for each event, in order, from one
	// goroutine of this package; it may block without stalling the gossip.
	OnEvent func(Event)
	// Logger receives this package's and memberlist's log lines; nil
	// discards them.
	Logger *slog.Logger
	// Memberlist, if set, is the base memberlist configuration (timings);
	// nil means memberlist.DefaultLANConfig(). Name, addresses, keys,
	// delegates and logging are overwritten from the fields above.
	Memberlist *memberlist.Config
}

// ErrNoKey means Start was given no gossip key. Discovery never gossips in
// clear: the sync URLs and node IDs of a clinic's machines are not for
// anyone on the LAN to read.
var ErrNoKey = errors.New("discovery: no gossip key; refusing to gossip unencrypted / 局域网发现：没有通信密钥，拒绝明文通信")

// ErrBadKey means the gossip key has a size AES does not take.
var ErrBadKey = errors.New("discovery: bad gossip key / 局域网发现：通信密钥无效")

// Node is this node's membership in the LAN cluster.
type Node struct {
	ml  *memberlist.Memberlist
	log *slog.Logger
	cfg Config

	mu     sync.Mutex
	known  map[identity.ID]Peer // peers reported as joined
	queue  []Event
	wake   chan struct{}
	done   chan struct{}
	closed bool
	wg     sync.WaitGroup
}

// Start joins the cluster: it binds the gossip listener, then contacts the
// seeds in cfg.Join. A failure to reach every seed is returned with the
// running node, which keeps its listener so that others can join it.
func Start(cfg Config) (*Node, error) {
	if ok, err := canonicalID(string(cfg.ID)); !ok {
		return nil, fmt.Errorf("discovery: node ID: %v", err)
	}
	switch len(cfg.SecretKey) {
	case 16, 24, 32:
	case 0:
		return nil, ErrNoKey
	default:
		return nil, fmt.Errorf("%w: %d bytes, want 16, 24 or 32", ErrBadKey, len(cfg.SecretKey))
	}
	meta, err := EncodeMeta(cfg.SyncURL)
	if err != nil {
		return nil, fmt.Errorf("discovery: own sync URL: %w", err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	logger = logger.With("subsystem", "discovery")

	mc := cfg.Memberlist
	if mc == nil {
		mc = memberlist.DefaultLANConfig()
	} else {
		c := *mc
		mc = &c
	}
	mc.Name = string(cfg.ID)
	mc.BindAddr = cfg.BindAddr
	if mc.BindAddr == "" {
		mc.BindAddr = "127.0.0.1"
	}
	mc.BindPort = cfg.BindPort
	mc.AdvertiseAddr = cfg.AdvertiseAddr
	mc.AdvertisePort = cfg.AdvertisePort
	if cfg.AdvertisePort == 0 {
		mc.AdvertisePort = cfg.BindPort // memberlist fills in a picked port
	}
	// Encrypted and verified both ways: a member without the key can
	// neither read the gossip nor be read.
	mc.SecretKey = append([]byte(nil), cfg.SecretKey...)
	mc.Keyring = nil
	mc.GossipVerifyIncoming = true
	mc.GossipVerifyOutgoing = true
	mc.LogOutput = nil
	mc.Logger = log.New(logWriter{logger}, "", 0)

	n := &Node{
		log:   logger,
		cfg:   cfg,
		known: make(map[identity.ID]Peer),
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	mc.Delegate = metaDelegate{meta}
	mc.Events = (*events)(n)

	n.wg.Add(1)
	go n.dispatch()
	ml, err := memberlist.Create(mc)
	if err != nil {
		n.stop()
		return nil, fmt.Errorf("discovery: %w", err)
	}
	n.ml = ml
	if len(cfg.Join) > 0 {
		if _, err := n.Join(cfg.Join); err != nil {
			return n, err
		}
	}
	return n, nil
}

// canonicalID reports whether s is a node ID in canonical form (as a
// member name must be).
func canonicalID(s string) (bool, error) {
	id, err := identity.ParseID(s)
	if err != nil {
		return false, err
	}
	if string(id) != s {
		return false, fmt.Errorf("node ID %q is not in canonical form", s)
	}
	return true, nil
}

// Join contacts the given seeds (host:port) and returns how many answered.
func (n *Node) Join(seeds []string) (int, error) {
	got, err := n.ml.Join(seeds)
	if err != nil {
		n.log.Warn("joining seeds failed", "seeds", seeds, "reached", got, "err", err.Error())
		return got, fmt.Errorf("discovery: join %v: %w", seeds, err)
	}
	return got, nil
}

// Addr returns the host:port this node's gossip is advertised at, for
// others to use as a seed.
func (n *Node) Addr() string {
	l := n.ml.LocalNode()
	return net.JoinHostPort(l.Addr.String(), strconv.Itoa(int(l.Port)))
}

// Peers returns the peers currently known with valid metadata, this node
// excluded.
func (n *Node) Peers() []Peer {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Peer, 0, len(n.known))
	for _, p := range n.known {
		out = append(out, p)
	}
	return out
}

// Leave tells the others that this node is going (waiting up to timeout
// for the message to spread), then stops gossiping. Events already queued
// are still delivered before Leave returns.
func (n *Node) Leave(timeout time.Duration) error {
	err := n.ml.Leave(timeout)
	if serr := n.ml.Shutdown(); err == nil {
		err = serr
	}
	n.stop()
	return err
}

// Close stops gossiping without telling the others, who will find this
// node dead after their failure detection runs.
func (n *Node) Close() error {
	err := n.ml.Shutdown()
	n.stop()
	return err
}

func (n *Node) stop() {
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		close(n.done)
	}
	n.mu.Unlock()
	n.wg.Wait()
}

// dispatch calls OnEvent for queued events, in order.
func (n *Node) dispatch() {
	defer n.wg.Done()
	for {
		n.mu.Lock()
		q := n.queue
		n.queue = nil
		n.mu.Unlock()
		for _, e := range q {
			if n.cfg.OnEvent != nil {
				n.cfg.OnEvent(e)
			}
		}
		if len(q) > 0 {
			continue
		}
		select {
		case <-n.wake:
		case <-n.done:
			n.mu.Lock()
			empty := len(n.queue) == 0
			n.mu.Unlock()
			if empty {
				return
			}
		}
	}
}

// metaDelegate gives memberlist this node's metadata; it carries no user
// messages and no state.
type metaDelegate struct{ meta []byte }

func (d metaDelegate) NodeMeta(limit int) []byte {
	if len(d.meta) > limit {
		return nil // cannot happen: MaxMeta < memberlist.MetaMaxSize
	}
	return d.meta
}
func (metaDelegate) NotifyMsg([]byte)                           {}
func (metaDelegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (metaDelegate) LocalState(join bool) []byte                { return nil }
func (metaDelegate) MergeRemoteState(buf []byte, join bool)     {}

// events receives memberlist's notifications. memberlist calls it with its
// locks held and never concurrently, so it only updates the peer set and
// queues events for dispatch.
type events Node

func (e *events) NotifyJoin(m *memberlist.Node)   { (*Node)(e).seen(m, false) }
func (e *events) NotifyUpdate(m *memberlist.Node) { (*Node)(e).seen(m, false) }
func (e *events) NotifyLeave(m *memberlist.Node)  { (*Node)(e).seen(m, true) }

// errName is logged for a member whose name is not a node ID.
var errName = errors.New("member name is not a canonical node ID")

func (n *Node) seen(m *memberlist.Node, left bool) {
	if m.Name == string(n.cfg.ID) {
		return
	}
	addr := net.JoinHostPort(m.Addr.String(), strconv.Itoa(int(m.Port)))
	n.mu.Lock()
	defer n.mu.Unlock()
	id := identity.ID(m.Name)
	old, wasKnown := n.known[id]
	if left {
		if wasKnown {
			delete(n.known, id)
			n.push(Event{Left, old})
		}
		return
	}
	if ok, err := canonicalID(m.Name); !ok {
		n.log.Warn("ignoring member", "member", m.Name, "addr", addr, "reason", fmt.Errorf("%w: %v", errName, err).Error())
		return
	}
	u, err := DecodeMeta(m.Meta)
	if err != nil {
		n.log.Warn("ignoring member", "member", m.Name, "addr", addr, "reason", err.Error())
		if wasKnown {
			delete(n.known, id)
			n.push(Event{Left, old})
		}
		return
	}
	p := Peer{ID: id, URL: u}
	switch {
	case !wasKnown:
		n.known[id] = p
		n.log.Info("peer joined", "peer", id, "url", u, "addr", addr)
		n.push(Event{Joined, p})
	case old != p:
		n.known[id] = p
		n.log.Info("peer updated", "peer", id, "url", u, "addr", addr)
		n.push(Event{Updated, p})
	}
}

// push queues e; n.mu is held.
func (n *Node) push(e Event) {
	if e.Kind == Left {
		n.log.Info("peer left", "peer", e.Peer.ID)
	}
	n.queue = append(n.queue, e)
	select {
	case n.wake <- struct{}{}:
	default:
	}
}
