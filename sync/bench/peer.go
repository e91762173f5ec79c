package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"carenode/crdt"
	"carenode/node/identity"
	"carenode/sync/session"
	"carenode/sync/transport"
	"carenode/sync/trust"
)

// A peer is driven over its standard input and output with one JSON object
// a line each way; the PouchDB peer (bench/pouchdb/peer.js) speaks the same.
//
//	→ {"op":"usage"}             ← {"cpuMs":…,"maxRssKiB":…,"requests":…}
//	→ {"op":"state"}             ← {"records":…,"state":"…"}
//	→ {"op":"sync","url":"…"}    ← {"wallMs":…,"sent":…,"received":…,"idle":…}
//	→ {"op":"load","file":"…"}   ← {"records":…}  (PouchDB: write documents locally)
//	→ {"op":"quit"}              ← {}
//
// A hub's first line is {"addr":"127.0.0.1:port"}, a desk's {"ready":true}.
type command struct {
	Op   string `json:"op"`
	URL  string `json:"url,omitempty"`
	File string `json:"file,omitempty"`
	// Keep syncs over a kept connection (transport.Link), opened by the
	// first such sync; carenode only.
	Keep bool `json:"keep,omitempty"`
}

// Reply is a peer's answer to one command.
type Reply struct {
	Addr  string `json:"addr,omitempty"`
	Ready bool   `json:"ready,omitempty"`
	Err   string `json:"err,omitempty"`

	// usage: the process's own CPU time and peak RSS (getrusage), and the
	// HTTP requests its server has answered.
	CPUms     float64 `json:"cpuMs,omitempty"`
	MaxRSSKiB int64   `json:"maxRssKiB,omitempty"`
	Requests  int64   `json:"requests,omitempty"`

	// state: records held and a summary that is equal on converged peers
	// (the version vector; PouchDB: the document count and a digest of
	// every winning revision).
	Records int64  `json:"records,omitempty"`
	State   string `json:"state,omitempty"`

	// sync
	WallMs   float64 `json:"wallMs,omitempty"`
	Sent     int64   `json:"sent,omitempty"`     // changes or documents sent
	Received int64   `json:"received,omitempty"` // received
	Idle     bool    `json:"idle,omitempty"`
	// ClientRequests is the requests the syncing side made (PouchDB).
	ClientRequests int64 `json:"clientRequests,omitempty"`
}

// PeerConfig configures one Go node of the benchmark.
type PeerConfig struct {
	Work   string // the work directory Generate made
	Role   string // "hub" (serves) or "desk" (syncs)
	DB     string // the node's store
	In     io.Reader
	Out    io.Writer
	Logger *slog.Logger
}

// RunPeer runs one Go node until it is told to quit or In ends.
func RunPeer(ctx context.Context, cfg PeerConfig) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Role != "hub" && cfg.Role != "desk" {
		return fmt.Errorf("bench peer: role %q: want hub or desk", cfg.Role)
	}
	l := Layout{cfg.Work}
	id, err := identity.Load(l.Key(cfg.Role))
	if err != nil {
		return fmt.Errorf("bench peer: %w", err)
	}
	m, err := trust.Load(l.NodeDir(cfg.Role), id)
	if err != nil {
		return fmt.Errorf("bench peer: %w", err)
	}
	// Durable like a real node (fsync on every commit).
	st, err := openStore(cfg.DB, id.ID, false, cfg.Logger)
	if err != nil {
		return fmt.Errorf("bench peer: %w", err)
	}
	defer st.Close()
	scfg := session.DefaultConfig(crdt.NodeID(id.ID), st)
	scfg.Logger = cfg.Logger
	eng, err := session.New(scfg)
	if err != nil {
		return err
	}
	defer eng.Close()
	tcfg := transport.Config{Material: m, Engine: eng, Logger: cfg.Logger}

	out := json.NewEncoder(cfg.Out)
	var requests atomic.Int64
	var client *transport.Client
	var hub identity.ID
	links := map[string]*transport.Link{}
	defer func() {
		for _, l := range links {
			l.Close()
		}
	}()
	if cfg.Role == "hub" {
		srv, err := transport.NewServer(tcfg)
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		h := srv.Handler()
		hs := &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				h.ServeHTTP(w, r)
			}),
			TLSConfig:         srv.TLSConfig(),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
		}
		go hs.ServeTLS(ln, "", "")
		defer hs.Close()
		if err := out.Encode(Reply{Addr: ln.Addr().String()}); err != nil {
			return err
		}
	} else {
		if client, err = transport.NewClient(tcfg); err != nil {
			return err
		}
		h, err := trust.ReadHub(l.NodeDir("desk"))
		if err != nil {
			return err
		}
		hub = h.Node
		if err := out.Encode(Reply{Ready: true}); err != nil {
			return err
		}
	}

	in := bufio.NewScanner(cfg.In)
	for in.Scan() {
		c, err := parseCommand(in.Bytes())
		if err != nil {
			return fmt.Errorf("bench peer: %w", err)
		}
		var r Reply
		switch c.Op {
		case "usage":
			cpu, rss := selfUsage()
			r = Reply{CPUms: float64(cpu) / 1e6, MaxRSSKiB: rss, Requests: requests.Load()}
		case "state":
			r = Reply{Records: int64(st.LogLen()), State: st.Vector().String()}
		case "sync":
			if client == nil {
				r.Err = "the hub does not sync; it serves"
				break
			}
			start := time.Now()
			var res session.Result
			if c.Keep {
				l := links[c.URL]
				if l == nil {
					l = client.Link(c.URL, hub)
					links[c.URL] = l
				}
				res, _, err = l.Sync(ctx)
			} else {
				res, _, err = client.Sync(ctx, c.URL, hub)
			}
			r = Reply{WallMs: float64(time.Since(start)) / 1e6, Sent: int64(res.Sent), Received: int64(res.Received), Idle: res.Idle}
			if err != nil {
				r.Err = err.Error()
			}
		case "quit":
			return out.Encode(Reply{})
		default:
			r.Err = fmt.Sprintf("op %q is not a Go peer's", c.Op)
		}
		if err := out.Encode(r); err != nil {
			return err
		}
	}
	if err := in.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// parseCommand decodes one command line. The benchmark syncs on loopback
// only, so a sync URL must be https to a loopback address.
func parseCommand(line []byte) (command, error) {
	var c command
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("command %.80q: %w", line, err)
	}
	if dec.More() {
		return c, fmt.Errorf("command %.80q: more than one value", line)
	}
	switch c.Op {
	case "usage", "state", "quit", "load":
	case "sync":
		u, err := url.Parse(c.URL)
		if err != nil {
			return c, fmt.Errorf("sync url: %w", err)
		}
		ip := net.ParseIP(u.Hostname())
		if u.Scheme != "https" || ip == nil || !ip.IsLoopback() {
			return c, fmt.Errorf("sync url %.80q: want https://<loopback address>:port", c.URL)
		}
	default:
		return c, fmt.Errorf("unknown op %.40q", c.Op)
	}
	return c, nil
}
