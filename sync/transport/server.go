package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"carenode/crdt"
	"carenode/node/identity"
	"carenode/node/nodeconf"
	"carenode/sync/session"
	"carenode/sync/trust"
)

// Paths served on the sync listener.
const (
	SessionPath = "/sync/v1/session"
	EnrolPath   = "/enrol/v1"
	contentType = "application/x-carenode-sync"
)

// Log keys.
const (
	logPeer   = "peer"
	logRemote = "remote"
	logReason = "reason"
	logRole   = "role"
)

// Config configures a Server or a Client.
type Config struct {
	// Material is the node's CA, certificate and key.
	Material *trust.Material
	// Engine runs the sessions.
	Engine *session.Engine
	// CA and Tokens are set on the hub only: they enable enrolment.
	CA     *trust.CA
	Tokens *trust.Tokens
	// Revoke, on the hub, writes a node's revocation; it enables the
	// revoke request, which only the hub itself may make.
	Revoke func(ctx context.Context, node identity.ID, reason string) error
	// Now reads the clock (certificate validity); nil means time.Now.
	Now func() time.Time
	// Revoked reports revoked nodes; nil means none. Called during
	// handshakes, concurrently; must not block for long.
	Revoked func(identity.ID) bool
	// Policy returns what a peer may be sent, from its certificate (see
	// sync/scope). Nil serves full replicas only: kiosk and nurse
	// certificates are then refused with 403.
	Policy func(trust.Peer) session.Policy
	// Marks returns this node's marks for a peer (sync/scope.StoreMarks,
	// durable); nil keeps the engine's.
	Marks func(crdt.NodeID) session.Marks
	// OnSession, when not nil, is told of every session that ends, on
	// either side, completed or not (for `carenode peers`). It is called
	// on the session's goroutine after the session and must not block for
	// long.
	OnSession func(Ended)
	Logger    *slog.Logger
}

// Ended is a session that ended.
type Ended struct {
	// Peer is the peer (its ID alone when the handshake failed).
	Peer trust.Peer
	// URL is the peer's sync URL when this node dialled it; Remote its
	// address when it dialled this node.
	URL, Remote string
	Result      session.Result
	Err         error
	At          time.Time
}

func (c *Config) ended(e Ended) {
	// A session cut short by this node's own shutdown says nothing about
	// the peer.
	if c.OnSession != nil && !errors.Is(e.Err, context.Canceled) {
		e.At = c.Now()
		c.OnSession(e)
	}
}

// options returns the session options for peer.
func (c *Config) options(p trust.Peer) session.Options {
	var o session.Options
	if c.Policy != nil {
		o.Policy = c.Policy(p)
	}
	if c.Marks != nil {
		o.Marks = c.Marks(crdt.NodeID(p.ID))
	}
	return o
}

func (c *Config) defaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Server answers sync sessions and, on the hub, enrolment.
type Server struct {
	cfg      Config
	verifier *trust.Verifier
	log      *slog.Logger
	mux      *http.ServeMux
}

// NewServer returns a server for cfg.
func NewServer(cfg Config) (*Server, error) {
	cfg.defaults()
	if cfg.Material == nil || cfg.Engine == nil {
		return nil, errors.New("sync transport: no trust material or engine")
	}
	s := &Server{cfg: cfg, verifier: cfg.Material.Verifier(cfg.Now, cfg.Revoked),
		log: cfg.Logger.With("subsystem", "sync-transport"), mux: http.NewServeMux()}
	s.mux.HandleFunc("POST "+SessionPath, s.session)
	s.mux.HandleFunc("POST "+TriggerPath, s.trigger)
	if cfg.CA != nil && cfg.Tokens != nil {
		s.mux.HandleFunc("POST "+EnrolPath, s.enrol)
	}
	if cfg.Revoke != nil {
		s.mux.HandleFunc("POST "+RevokePath, s.revoke)
	}
	return s, nil
}

// Handler returns the server's handler; it expects requests over the TLS
// configuration TLSConfig returns.
func (s *Server) Handler() http.Handler { return s.mux }

// TLSConfig is the listener's TLS: 1.3 only, the node's certificate chain,
// a client certificate requested (enrolling nodes have none) and, when
// given, verified by trust.Verifier; a refused one fails the handshake.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{s.cfg.Material.TLSCertificate()},
		ClientAuth:   tls.RequestClientCert,
		Time:         s.cfg.Now,
		NextProtos:   []string{"h2"},
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return nil // enrolment; sessions require a certificate
			}
			if _, err := s.verifier.Verify(cs.PeerCertificates); err != nil {
				s.log.Warn("peer refused at TLS handshake", logReason, err.Error(),
					"subject", cs.PeerCertificates[0].Subject.CommonName)
				return err
			}
			return nil
		},
	}
}

// Serve answers on ln (a plain TCP listener; Serve adds TLS) until ctx
// ends, then shuts down, waiting up to grace for sessions in flight.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	srv := &http.Server{
		Handler:           s.mux,
		TLSConfig:         s.TLSConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// fullReplica reports whether a role may be sent everything. Kiosks and
// nurse laptops are partial replicas, whose scopes are decided from data by
// Config.Policy; a server without one refuses them rather than send what
// they may not hold.
func fullReplica(r nodeconf.Role) bool { return r == nodeconf.RoleClinic || r == nodeconf.RoleHub }

func (s *Server) session(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		s.log.Warn("session refused", logRemote, r.RemoteAddr, logReason, "no client certificate")
		http.Error(w, "client certificate required / 需要客户端证书", http.StatusUnauthorized)
		return
	}
	p, err := s.verifier.Verify(r.TLS.PeerCertificates)
	if err != nil {
		s.log.Warn("session refused", logRemote, r.RemoteAddr, logReason, err.Error())
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	if !fullReplica(p.Role) && s.cfg.Policy == nil {
		msg := fmt.Sprintf("%s replicas are not served by this node / 本节点不为%s节点提供同步", p.Role, p.Role)
		s.log.Warn("session refused", logRemote, r.RemoteAddr, logPeer, p.ID, logRole, p.Role, logReason, msg)
		http.Error(w, msg, http.StatusForbidden)
		return
	}
	rc := http.NewResponseController(w)
	if err := rc.EnableFullDuplex(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.log.Debug("full duplex", "err", err)
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}
	res, err := s.cfg.Engine.RespondWith(r.Context(), r.Body, w, crdt.NodeID(p.ID), s.cfg.options(p))
	s.cfg.ended(Ended{Peer: p, Remote: r.RemoteAddr, Result: res, Err: err})
	if err != nil {
		s.log.Warn("session failed", logPeer, p.ID, logRemote, r.RemoteAddr, "err", err)
		return
	}
	s.log.Info("session done", logPeer, p.ID, logRemote, r.RemoteAddr,
		"sent", res.Sent, "received", res.Received, "bytes_sent", res.BytesSent, "bytes_received", res.BytesReceived)
}
