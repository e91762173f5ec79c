package node

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"carenode/crdt"
	"carenode/node/api"
	"carenode/node/atomicfile"
	"carenode/node/auth"
	"carenode/node/chart"
	"carenode/node/identity"
	"carenode/node/metrics"
	"carenode/node/nodeconf"
	"carenode/node/outbox"
	"carenode/node/readings"
	"carenode/node/staff"
	"carenode/node/store"
	"carenode/node/vault"
)

// Config is the runtime configuration of a node.
type Config struct {
	// Dir is the data directory.
	Dir string
	// Identity and File are read from Dir when nil / zero.
	Identity *identity.Identity
	File     nodeconf.File
	// Version is the build's version, shown in status.
	Version string
	Logger  *slog.Logger
	// Now reads the wall clock; tests inject their own.
	Now func() time.Time
	// ShutdownTimeout bounds graceful shutdown of in-flight requests.
	ShutdownTimeout time.Duration
	// KeyFile, when set, is a kiosk key file that unlocks patient data at
	// start; otherwise the node starts locked until a staff member signs in.
	KeyFile string
	// FastHashes makes password hashing and key wrapping cheap: for tests
	// only, never for a node with real patients.
	FastHashes bool
	// Location is the clinic's time zone (ages, quiet hours, report
	// months); nil means each service's default, China Standard Time.
	Location *time.Location
	// Outbox configures the SMS outbox; zero means outbox.DefaultConfig.
	Outbox outbox.Config
	// SMSSender, when set, sends the outbox's messages (a GSM modem opened
	// by the caller, since node does not import devices); otherwise the
	// sender Outbox.Sender names, if any.
	SMSSender outbox.Sender
}

// Node is an open node.
type Node struct {
	cfg     Config
	id      *identity.Identity
	Store   *store.Store
	Metrics *metrics.Metrics
	Charts  *chart.Service
	Staff   *staff.Directory
	control string // token of the local CLI, written to serve.json
	api     *api.Server
	log     *slog.Logger
	follow  *store.Follower
	// Readings stores what vital-signs devices send (devices.go).
	Readings *readings.Service
	devices  devicesState
	careServices
}

// Open opens the node in cfg.Dir: identity, config and store.
func Open(cfg Config) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	if cfg.Identity == nil {
		id, file, err := LoadConfig(cfg.Dir)
		if err != nil {
			return nil, err
		}
		cfg.Identity, cfg.File = id, file
	}
	m := metrics.New()
	sopts := store.DefaultOptions(DBPath(cfg.Dir), crdt.NodeID(cfg.Identity.ID))
	sopts.MaxBatch = cfg.File.Store.MaxBatch
	sopts.MaxSkew = cfg.File.Store.MaxClockSkew.Duration
	sopts.NoSync = cfg.File.Store.NoSync
	sopts.FoldAfter = cfg.File.Store.FoldAfter
	sopts.Important = Important
	sopts.Now = cfg.Now
	sopts.Logger = cfg.Logger
	sopts.Observer = m
	s, err := store.Open(sopts)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %w", ErrNoNode, err)
		}
		return nil, err
	}
	m.SetLogLength(s.LogLen())
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "carenode_store_remote_changes_waiting",
		Help: "Remote changes stored in the log and read by every read, not yet folded into their records."},
		func() float64 { return float64(s.Waiting()) }))
	n := &Node{cfg: cfg, id: cfg.Identity, Store: s, Metrics: m, log: cfg.Logger.With("node", string(cfg.Identity.ID))}
	// A step that fails below leaves no goroutine or open file behind:
	// the services opened so far stop, then the store closes.
	opened := false
	defer func() {
		if !opened {
			n.closeCare()
			if n.Readings != nil {
				n.Readings.Close()
			}
			s.Close()
		}
	}()
	n.Charts = chart.New(chart.Config{Records: s, Node: string(cfg.Identity.ID), Now: cfg.Now, Logger: cfg.Logger,
		NurseLaptop: cfg.File.Node.Role == nodeconf.RoleNurse, Location: cfg.Location,
		MissedAppointments: func(patient string) ([]string, error) {
			if n.Bookings == nil {
				return nil, nil
			}
			return n.Bookings.MissedAppointments(patient)
		}})
	if err := n.openReadings(); err != nil {
		return nil, err
	}
	if err := n.openCare(cfg); err != nil {
		return nil, err
	}
	scfg := staff.Config{Records: s, Logger: cfg.Logger, OnUnlock: func(sl *vault.Sealer) error {
		if err := n.Charts.Unlock(sl); err != nil {
			return err
		}
		n.unlockReadingsFrom(n.Staff.DropBox)
		return n.unlockCare(sl)
	}}
	if cfg.FastHashes {
		scfg.Hash, scfg.Vault.Argon2 = auth.TestParams(), vault.TestArgon2Params()
	}
	if n.Staff, err = staff.Open(scfg); err != nil {
		return nil, fmt.Errorf("open staff accounts: %w", err)
	}
	if cfg.KeyFile != "" {
		kf, err := vault.ReadKeyFile(cfg.KeyFile)
		if err == nil {
			err = n.Staff.UnlockWithKeyFile(kf)
			kf.Wipe()
		}
		if err != nil {
			return nil, fmt.Errorf("unlock with key file %s: %w", cfg.KeyFile, err)
		}
	}
	n.follow = newFollower(s, n.Charts.Refresh, func(err error) {
		n.log.Warn("reindex patients changed by a peer", "err", err)
	})
	n.control = rand.Text()
	n.api = api.New(api.Options{
		Staff:        n.Staff,
		Patients:     n.Charts,
		Outbox:       n.Outbox,
		Booking:      n.Bookings,
		Followup:     n.Plans,
		Devices:      n.deviceAdmin,
		Feedback:     api.NewFeedback(n.Surveys, n.Education),
		Readings:     n.Readings,
		ControlToken: n.control,
		Now:          cfg.Now,
		Records:      s,
		Info: api.Info{Node: string(cfg.Identity.ID), Name: cfg.File.Node.Name, Role: string(cfg.File.Node.Role),
			Version: cfg.Version},
		MaxBody:    cfg.File.HTTP.MaxBodyBytes,
		Logger:     cfg.Logger,
		Instrument: m.Instrument,
		Metrics:    m.Handler(),
	})
	opened = true
	return n, nil
}

// ID returns the node's ID.
func (n *Node) ID() identity.ID { return n.id.ID }

// Config returns the node's configuration file contents.
func (n *Node) Config() nodeconf.File { return n.cfg.File }

// Handler is the node's HTTP handler: API, /healthz and /metrics.
func (n *Node) Handler() http.Handler { return n.api }

// Serve answers HTTP on ln until ctx ends, then stops taking requests,
// lets in-flight ones finish (up to ShutdownTimeout), commits every queued
// write and closes the store. While it serves, serve.json in the data
// directory names its address.
func (n *Node) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           n.api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       n.cfg.File.HTTP.ReadTimeout.Duration,
		WriteTimeout:      n.cfg.File.HTTP.WriteTimeout.Duration,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelWarn),
	}
	rt := Runtime{PID: os.Getpid(), Addr: ln.Addr().String(), Node: string(n.id.ID), Started: n.cfg.Now().UTC(),
		Control: n.control}
	if err := writeRuntime(n.cfg.Dir, rt); err != nil {
		return err
	}
	defer os.Remove(RuntimePath(n.cfg.Dir))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	careCtx, stopCare := context.WithCancel(ctx)
	defer stopCare()
	n.runCare(careCtx)
	n.log.Info("serving", "addr", rt.Addr, "name", n.cfg.File.Node.Name, "role", n.cfg.File.Node.Role)
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
		n.log.Info("shutting down: finishing requests and committing queued writes")
		sctx, cancel := context.WithTimeout(context.Background(), n.cfg.ShutdownTimeout)
		if err := srv.Shutdown(sctx); err != nil {
			n.log.Warn("requests still running at shutdown timeout", "err", err)
		}
		cancel()
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			serveErr = err
		}
	}
	if err := n.Close(); err != nil {
		return errors.Join(serveErr, err)
	}
	n.log.Info("stopped")
	return serveErr
}

// Close commits queued writes and closes the store.
func (n *Node) Close() error {
	devErr := n.stopDevices()
	n.closeCare()
	n.follow.Close()
	if err := n.Store.Close(); err != nil {
		return errors.Join(devErr, fmt.Errorf("close store: %w", err))
	}
	return devErr
}

func writeRuntime(dir string, rt Runtime) error {
	b, err := json.MarshalIndent(rt, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Replace(RuntimePath(dir), b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", RuntimePath(dir), err)
	}
	return nil
}
