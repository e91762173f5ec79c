package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"carenode/node/identity"
	"carenode/sync/discovery"
	"carenode/sync/peers"
	"carenode/sync/transport"
	"carenode/sync/trust"
)

// discoveryOptions are serve's LAN discovery flags.
type discoveryOptions struct {
	bind      string   // ADDR:PORT; empty turns discovery off
	join      []string // seeds, host:port
	advertise string   // host announced in the sync URL
}

// discoveryLeaveTimeout bounds how long a stopping node waits for its
// leave message to spread.
const discoveryLeaveTimeout = 3 * time.Second

// check validates the flags' syntax (what does not depend on the node).
func (o discoveryOptions) check() error {
	if o.bind == "" {
		switch {
		case len(o.join) > 0:
			return usageError{fmt.Errorf("--discovery-join needs --discovery-bind / --discovery-join 需要同时指定 --discovery-bind")}
		case o.advertise != "":
			return usageError{fmt.Errorf("--discovery-advertise needs --discovery-bind / --discovery-advertise 需要同时指定 --discovery-bind")}
		}
		return nil
	}
	host, _, err := splitHostPort(o.bind)
	if err != nil {
		return usageError{fmt.Errorf("--discovery-bind %q: %v; want ADDR:PORT, e.g. 0.0.0.0:7946 / 格式应为 地址:端口", o.bind, err)}
	}
	if net.ParseIP(host) == nil {
		return usageError{fmt.Errorf("--discovery-bind %q: %q is not an IP address / 不是 IP 地址", o.bind, host)}
	}
	for _, s := range o.join {
		if _, p, err := splitHostPort(s); err != nil || p == 0 {
			if err == nil {
				err = fmt.Errorf("port 0")
			}
			return usageError{fmt.Errorf("--discovery-join %q: %v; want host:port,... / 种子地址格式应为 主机:端口", s, err)}
		}
	}
	if a := o.advertise; a != "" {
		if _, _, err := net.SplitHostPort(a); err == nil || strings.ContainsAny(a, "/@?#[] ") {
			return usageError{fmt.Errorf("--discovery-advertise %q: want a host name or IP address without port / 应为不带端口的主机名或 IP 地址", a)}
		}
	}
	return nil
}

// splitHostPort splits host:port with a non-empty host and a port in 0..65535.
func splitHostPort(s string) (string, int, error) {
	host, ps, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	if host == "" {
		return "", 0, fmt.Errorf("no host")
	}
	p, err := strconv.Atoi(ps)
	if err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("bad port %q", ps)
	}
	return host, p, nil
}

// advertiseHost returns the host to announce in the sync URL for a sync
// listener on listenAddr (as given, before listening).
func (o discoveryOptions) advertiseHost(listenAddr string) (string, error) {
	if o.advertise != "" {
		return o.advertise, nil
	}
	host, _, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return "", usageError{fmt.Errorf("--sync-listen %s listens on every address; give --discovery-advertise HOST, the address peers reach this node at / 同步监听所有地址时，请用 --discovery-advertise 指定其他节点访问本节点的地址", listenAddr)}
	}
	return host, nil
}

// syncURLFor returns https://host:port for host and the sync listener's
// bound address.
func syncURLFor(host string, bound net.Addr) (string, error) {
	_, port, err := net.SplitHostPort(bound.String())
	if err != nil {
		return "", err
	}
	u := "https://" + net.JoinHostPort(host, port)
	if _, err := discovery.EncodeMeta(u); err != nil {
		return "", usageError{fmt.Errorf("--discovery-advertise: sync URL %s: %v / 同步地址无效", u, err)}
	}
	return u, nil
}

// peerLoops runs one scheduled sync loop per discovered peer.
type peerLoops struct {
	ctx    context.Context
	client *transport.Client
	sched  transport.Schedule
	self   identity.ID
	hub    identity.ID // has its own loop; empty on the hub
	log    *slog.Logger
	soon   *syncSoon   // wakes the loops after local writes; may be nil
	book   *peers.Book // records peers found; may be nil

	mu     sync.Mutex
	closed bool
	loops  map[identity.ID]context.CancelFunc
	wg     sync.WaitGroup
}

// onEvent starts, restarts or stops the loop of the event's peer.
func (p *peerLoops) onEvent(e discovery.Event) {
	id := e.Peer.ID
	if id == p.self || (p.hub != "" && id == p.hub) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if cancel, ok := p.loops[id]; ok {
		cancel()
		delete(p.loops, id)
	}
	if e.Kind == discovery.Left {
		p.soon.drop(id)
		p.log.Info("discovered peer gone; stopping its sync loop", "peer", string(id))
		return
	}
	ctx, cancel := context.WithCancel(p.ctx)
	p.loops[id] = cancel
	p.log.Info("discovered peer; syncing with it", "peer", string(id), "url", e.Peer.URL, "event", e.Kind.String())
	if p.book != nil {
		if err := p.book.Discovered(id, e.Peer.URL, time.Now()); err != nil {
			p.log.Warn("record the discovered peer", "peer", string(id), "err", err.Error())
		}
	}
	wake := p.soon.wake(id)
	p.wg.Go(func() { p.client.LoopWake(ctx, e.Peer.URL, id, p.sched, wake) })
}

// close stops every loop and waits for them; later events are ignored.
func (p *peerLoops) close() {
	p.mu.Lock()
	p.closed = true
	for id, cancel := range p.loops {
		cancel()
		delete(p.loops, id)
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// gossipKey reads the network's gossip key with the node's trust files
// (the hub makes it if it predates keys). A node enrolled before hubs
// delivered keys has none: discovery then refuses to start, with the
// error saying how to get it, rather than gossip in clear.
func gossipKey(client *transport.Client) ([]byte, error) {
	if client == nil {
		return nil, errors.New("discovery: no sync client / 局域网发现：没有同步客户端")
	}
	key, err := client.Material().GossipKey()
	if errors.Is(err, trust.ErrNoGossipKey) {
		return nil, usageError{fmt.Errorf("--discovery-bind: %w", err)}
	}
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	return key, nil
}

// startDiscovery joins the LAN cluster announcing syncURL and syncs with
// each peer found, gossiping encrypted with the network's key. stop leaves
// the cluster and stops the loops; it must run before the store closes.
func startDiscovery(ctx context.Context, o discoveryOptions, self, hub identity.ID, syncURL string,
	client *transport.Client, sched transport.Schedule, log *slog.Logger, soon *syncSoon, book *peers.Book) (addr string, stop func(), err error) {
	loops := &peerLoops{ctx: ctx, client: client, sched: sched, self: self, hub: hub, log: log.With("subsystem", "discovery"),
		loops: make(map[identity.ID]context.CancelFunc), soon: soon, book: book}
	key, err := gossipKey(client)
	if err != nil {
		return "", nil, err
	}
	defer clear(key) // discovery keeps its own copy
	host, port, _ := splitHostPort(o.bind)
	cfg := discovery.Config{ID: self, SyncURL: syncURL, BindAddr: host, BindPort: port,
		Join: o.join, SecretKey: key, OnEvent: loops.onEvent, Logger: log}
	if ip := net.ParseIP(host); ip.IsUnspecified() {
		if a := net.ParseIP(o.advertise); a != nil {
			cfg.AdvertiseAddr = a.String()
		}
	}
	dn, err := discovery.Start(cfg)
	if dn == nil {
		return "", nil, fmt.Errorf("discovery on %s: %w", o.bind, err)
	}
	if err != nil {
		// The seeds may simply not be up yet: they will join us.
		log.Warn("discovery seeds not reached; waiting to be joined", "err", err.Error())
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			if err := dn.Leave(discoveryLeaveTimeout); err != nil {
				log.Warn("leaving discovery", "err", err.Error())
			}
			loops.close()
		})
	}
	log.Info("discovery listening", "addr", dn.Addr(), "sync_url", syncURL, "seeds", strings.Join(o.join, ","))
	return dn.Addr(), stop, nil
}
