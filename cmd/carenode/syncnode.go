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
	"time"

	"carenode/crdt"
	"carenode/node/identity"
	"carenode/node/nodeconf"
	"carenode/node/store"
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

type syncRuntime struct {
	Addr      string `json:"addr"`
	Discovery string `json:"discovery,omitempty"` // gossip address, with --discovery-bind
}

func syncRuntimePath(dir string) string { return filepath.Join(dir, syncRuntimeFile) }

func writeSyncRuntime(dir, addr string) error { return writeSyncRuntimeDiscovery(dir, addr, "") }

func writeSyncRuntimeDiscovery(dir, addr, discovery string) error {
	b, _ := json.Marshal(syncRuntime{Addr: addr, Discovery: discovery})
	tmp := syncRuntimePath(dir) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, syncRuntimePath(dir))
}

func readSyncRuntime(dir string) (syncRuntime, error) {
	var rt syncRuntime
	b, err := os.ReadFile(syncRuntimePath(dir))
	if err != nil {
		return rt, err
	}
	return rt, json.Unmarshal(b, &rt)
}

// syncParts is what a node needs to sync: its trust material, an engine
// over its store, and (on the hub) the CA and tokens.
type syncParts struct {
	material *trust.Material
	engine   *syncsession.Engine
	cfg      transport.Config
}

// newSyncParts loads dir's trust files for id and builds an engine over st.
// It returns an error wrapping trust.ErrNotEnrolled for a node made with
// plain init.
func newSyncParts(dir string, id *identity.Identity, role nodeconf.Role, st *store.Store, log *slog.Logger) (*syncParts, error) {
	m, err := trust.Load(dir, id)
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
	policies := &scope.Policies{Records: st}
	cfg := transport.Config{Material: m, Engine: eng, Logger: log,
		Revoked: trust.NewRevocations(st, m.CA).Revoked,
		Policy:  policies.For,
		Marks:   func(peer crdt.NodeID) syncsession.Marks { return scope.StoreMarks{Store: st, Peer: peer} }}
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
			return ca.Revoke(ctx, st, node, reason, time.Now())
		}
	}
	return &syncParts{material: m, engine: eng, cfg: cfg}, nil
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
