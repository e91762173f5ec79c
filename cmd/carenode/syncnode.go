package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"carenode/crdt"
	"carenode/node/atomicfile"
	"carenode/node/identity"
	"carenode/node/nodeconf"
	"carenode/node/store"
	"carenode/sync/peers"
	"carenode/sync/scope"
	syncsession "carenode/sync/session"
	"carenode/sync/transport"
	"carenode/sync/trust"
	"carenode/sync/wire"
)

// defaultSyncListen is where hubs and clinic desks take peers when
// --sync-listen is not given (issue 5's contract); kiosks and nurse
// laptops listen only when told to.
const defaultSyncListen = "0.0.0.0:7443"

// syncRuntimeFile names, while serve runs, the sync listener's address,
// so that carenode sync can reach the running node.
const syncRuntimeFile = "sync.json"

// grantsFile remembers, per partial replica, the records it was last served
// (sync/scope.FileGrants), so that records coming into its scope are sent
// whole.
const grantsFile = "sync-grants.json"

type syncRuntime struct {
	Addr      string `json:"addr"`
	Discovery string `json:"discovery,omitempty"` // gossip address, with --discovery-bind
}

func syncRuntimePath(dir string) string { return filepath.Join(dir, syncRuntimeFile) }

func writeSyncRuntime(dir, addr string) error { return writeSyncRuntimeDiscovery(dir, addr, "") }

func writeSyncRuntimeDiscovery(dir, addr, discovery string) error {
	b, _ := json.Marshal(syncRuntime{Addr: addr, Discovery: discovery})
	if err := atomicfile.Replace(syncRuntimePath(dir), b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", syncRuntimePath(dir), err)
	}
	return nil
}

func readSyncRuntime(dir string) (syncRuntime, error) {
	var rt syncRuntime
	b, err := os.ReadFile(syncRuntimePath(dir))
	if err != nil {
		return rt, err
	}
	return rt, json.Unmarshal(b, &rt)
}

// clockOffsetEnv names a test-only setting: a duration (like "3h" or
// "-5h") added to this process's wall clock, so that end-to-end tests can
// run nodes whose clocks disagree by hours. It is not a user setting and is
// not in the help; unset (the normal case) means the real clock.
const clockOffsetEnv = "CARENODE_TEST_CLOCK_OFFSET"

// nodeClock returns the wall clock of this process: time.Now, shifted by
// CARENODE_TEST_CLOCK_OFFSET when a test sets it.
func nodeClock() (func() time.Time, error) {
	s := os.Getenv(clockOffsetEnv)
	if s == "" {
		return time.Now, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return nil, usageError{fmt.Errorf("%s=%q: %v", clockOffsetEnv, s, err)}
	}
	return func() time.Time { return time.Now().Add(d) }, nil
}

// syncParts is what a node needs to sync: its trust material, an engine
// over its store, and (on the hub) the CA and tokens.
type syncParts struct {
	material *trust.Material
	engine   *syncsession.Engine
	cfg      transport.Config
	// policies decide what partial replicas are sent; serve gives them
	// the node's bookings when it has them.
	policies *scope.Policies
	// book records each session's end for carenode peers.
	book *peers.Book
}

// newSyncParts loads dir's trust files for id and builds an engine over st.
// It returns an error wrapping trust.ErrNotEnrolled for a node made with
// plain init.
func newSyncParts(dir string, id *identity.Identity, role nodeconf.Role, st *store.Store, log *slog.Logger) (*syncParts, error) {
	m, err := trust.Load(dir, id)
	if err != nil {
		return nil, err
	}
	now, err := nodeClock()
	if err != nil {
		return nil, err
	}
	scfg := syncsession.DefaultConfig(crdt.NodeID(id.ID), st)
	scfg.Logger = log
	// A kiosk or a nurse laptop is a partial replica: it asks for its
	// scope (a nurse laptop is enrolled under its nurse's staff name).
	switch m.Self.Role {
	case nodeconf.RoleKiosk:
		scfg.Scope = wire.Kiosk()
	case nodeconf.RoleNurse:
		scfg.Scope = wire.Nurse(m.Self.Name)
	}
	eng, err := syncsession.New(scfg)
	if err != nil {
		return nil, err
	}
	policies := &scope.Policies{Records: st, Now: now, Grants: &scope.FileGrants{Path: filepath.Join(dir, grantsFile)}}
	book := peers.Open(peers.Path(dir))
	if hub, err := trust.ReadHub(dir); err == nil {
		if err := book.Hub(hub.Node, hub.URL); err != nil {
			log.Warn("record the hub in the peer list", "err", err.Error())
		}
	}
	cfg := transport.Config{Material: m, Engine: eng, Logger: log, Now: now,
		Revoked: trust.NewRevocations(st, m.CA).Revoked,
		Policy:  policies.For,
		Marks:   func(peer crdt.NodeID) syncsession.Marks { return scope.StoreMarks{Store: st, Peer: peer} },
		OnSession: func(e transport.Ended) {
			if err := book.Ended(e); err != nil {
				log.Warn("record the session in the peer list", "peer", string(e.Peer.ID), "err", err.Error())
			}
		}}
	if role == nodeconf.RoleHub {
		ca, err := trust.LoadCA(dir)
		if err != nil {
			eng.Close()
			return nil, err
		}
		cfg.CA, cfg.Tokens = ca, trust.OpenTokens(dir, nil)
		cfg.Revoke = func(ctx context.Context, node identity.ID, reason string) error {
			if node == m.Self.ID {
				return errors.New("the hub cannot revoke itself / 中心节点不能吊销自己")
			}
			return ca.Revoke(ctx, st, node, reason, now())
		}
	}
	return &syncParts{material: m, engine: eng, cfg: cfg, policies: policies, book: book}, nil
}

// hubOf returns the URL and node ID of dir's hub, or an error saying there
// is none to sync with by default.
func hubOf(dir string) (trust.Hub, error) {
	h, err := trust.ReadHub(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return h, usageError{fmt.Errorf("this node has no hub to sync with (it is the hub, or was not made with --join); give --peer URL / 本节点没有默认中心节点，请用 --peer 指定")}
	}
	return h, err
}

// syncSoon passes local writes on soon: the first local commit after a
// quiet spell starts a timer of debounce; when it fires, every registered
// sync loop (the hub's, each discovered peer's) is woken. Writes during
// the wait ride along, so a burst of writes costs one session per peer, and
// a steady stream at most one per debounce. Each loop runs one session at
// a time and its wake channel holds one wake, so a peer never has two of
// this node's sessions in flight. Changes that came from peers wake
// nothing: they are passed on by the schedule, not echoed at once.
type syncSoon struct {
	debounce time.Duration
	fired    func() // after waking the loops (records this node's vector)

	mu      sync.Mutex
	wakes   map[identity.ID]chan struct{}
	pending bool
	timer   *time.Timer
	stopped bool
}

func newSyncSoon(debounce time.Duration, fired func()) *syncSoon {
	return &syncSoon{debounce: debounce, fired: fired, wakes: map[identity.ID]chan struct{}{}}
}

// wake returns the wake channel of peer's loop (nil when debounce is 0).
func (k *syncSoon) wake(peer identity.ID) <-chan struct{} {
	if k == nil || k.debounce <= 0 {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	ch, ok := k.wakes[peer]
	if !ok {
		ch = make(chan struct{}, 1)
		k.wakes[peer] = ch
	}
	return ch
}

// drop forgets peer's loop.
func (k *syncSoon) drop(peer identity.ID) {
	if k == nil {
		return
	}
	k.mu.Lock()
	delete(k.wakes, peer)
	k.mu.Unlock()
}

// changed is the store's Watch callback: it runs on the committing
// goroutine, so it only starts a timer.
func (k *syncSoon) changed(ch []store.Changed) {
	local := false
	for _, c := range ch {
		if !c.Remote {
			local = true
			break
		}
	}
	if !local || k.debounce <= 0 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.pending || k.stopped {
		return
	}
	k.pending = true
	k.timer = time.AfterFunc(k.debounce, k.fire)
}

func (k *syncSoon) fire() {
	k.mu.Lock()
	k.pending = false
	if k.stopped {
		k.mu.Unlock()
		return
	}
	for _, ch := range k.wakes {
		select {
		case ch <- struct{}{}:
		default: // a wake is queued already
		}
	}
	k.mu.Unlock()
	if k.fired != nil {
		k.fired()
	}
}

// stop cancels a pending wake; later writes wake nothing.
func (k *syncSoon) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopped = true
	if k.timer != nil {
		k.timer.Stop()
	}
}

// fromConfig fills the sync options from the config file's [sync] section
// where no flag was given: flags override the file.
// changed reports whether a flag was given (cobra's Flags().Changed).
func (so *syncOptions) fromConfig(c nodeconf.SyncSection, changed func(flag string) bool) {
	if !changed("sync-listen") {
		so.listen = c.Listen
	}
	if !changed("sync-interval") {
		so.interval = c.Interval.Duration
	}
	if !changed("sync-debounce") {
		so.debounce = c.Debounce.Duration
	}
	if !changed("discovery-bind") {
		so.disc.bind = c.DiscoveryBind
	}
	if !changed("discovery-join") {
		so.disc.join = c.Seeds()
	}
	if !changed("discovery-advertise") {
		so.disc.advertise = c.DiscoveryAdvertise
	}
}
