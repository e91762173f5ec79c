package mllp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"carenode/devices"
	"carenode/devices/hl7"
)

// Config configures a Server. Start from DefaultConfig.
type Config struct {
	// Addr is where ListenAndServe listens, such as "127.0.0.1:2575".
	Addr string
	// MaxFrame bounds one message in bytes.
	MaxFrame int
	// MaxConns bounds open connections; one more is closed on accept.
	MaxConns int
	// ReadTimeout bounds the wait for one whole frame, including the idle
	// time before it: a monitor that sends every few minutes keeps its
	// connection, one that stalls mid-frame or goes silent longer loses it
	// and reconnects.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one ACK.
	WriteTimeout time.Duration
	// StoreTimeout bounds one Sink.Store.
	StoreTimeout time.Duration
	// Application and Facility name this node in ACKs (MSH-3/4).
	Application, Facility hl7.HD
	// Now is the node's clock; nil means time.Now.
	Now func() time.Time
	// Logger; nil means slog.Default.
	Logger *slog.Logger
}

// DefaultConfig returns a Config listening on addr with limits that suit a
// clinic's few monitors and gateways.
func DefaultConfig(addr string) Config {
	return Config{
		Addr:         addr,
		MaxFrame:     hl7.DefaultMaxFrame,
		MaxConns:     32,
		ReadTimeout:  10 * time.Minute,
		WriteTimeout: 10 * time.Second,
		StoreTimeout: DefaultStoreTimeout,
		Application:  hl7.HD{Namespace: "carenode"},
	}
}

// Server accepts MLLP connections over TCP and answers each message after
// storing it.
type Server struct {
	cfg     Config
	handler *Handler
	log     *slog.Logger

	conns   chan struct{} // a slot per open connection
	refused atomic.Uint64
	open    atomic.Int64
}

// New returns a Server storing into sink.
func New(cfg Config, sink devices.Sink) (*Server, error) {
	switch {
	case sink == nil:
		return nil, fmt.Errorf("sink is nil: %w", ErrConfig)
	case cfg.MaxFrame <= 0:
		return nil, fmt.Errorf("MaxFrame %d: %w", cfg.MaxFrame, ErrConfig)
	case cfg.MaxConns <= 0:
		return nil, fmt.Errorf("MaxConns %d: %w", cfg.MaxConns, ErrConfig)
	case cfg.ReadTimeout <= 0 || cfg.WriteTimeout <= 0 || cfg.StoreTimeout <= 0:
		return nil, fmt.Errorf("timeouts must be positive: %w", ErrConfig)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("subsystem", "mllp")
	return &Server{
		cfg: cfg,
		handler: &Handler{Sink: sink, Application: cfg.Application, Facility: cfg.Facility,
			StoreTimeout: cfg.StoreTimeout, Now: cfg.Now, Logger: log},
		log:   log,
		conns: make(chan struct{}, cfg.MaxConns),
	}, nil
}

// ServerStats is a Server's counts, for the API and metrics.
type ServerStats struct {
	Stats
	Open    int64  // connections open now
	Refused uint64 // connections closed at once because MaxConns were open
}

// Stats returns the counts so far.
func (s *Server) Stats() ServerStats {
	return ServerStats{Stats: s.handler.Stats(), Open: s.open.Load(), Refused: s.refused.Load()}
}

// ListenAndServe listens on cfg.Addr and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen for MLLP on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve accepts connections on ln until ctx ends, then closes ln and every
// connection, waits for their goroutines (a Store under way finishes or
// times out first) and returns ErrServerClosed. It returns another error
// if Accept fails for good.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like: wait, as net/http does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("accept", logErr, err, "retry_in", delay)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("accept MLLP connection: %w", err)
		}
		delay = 0
		select {
		case s.conns <- struct{}{}:
		default:
			s.refused.Add(1)
			s.log.Warn("MLLP connection refused: too many open", logSource, c.RemoteAddr().String(), "max", s.cfg.MaxConns)
			c.Close()
			continue
		}
		wg.Add(1)
		s.open.Add(1)
		go func() {
			defer wg.Done()
			// The slot is given back before Stats stops counting the
			// connection, so Open 0 means a new connection is served.
			defer s.open.Add(-1)
			defer func() { <-s.conns }()
			s.serveConn(ctx, c)
		}()
	}
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	source := "mllp:" + c.RemoteAddr().String()
	// Closing the connection when ctx ends unblocks a read; a Store under
	// way still finishes (or times out) and its ACK write then fails, so
	// the device resends: nothing is acknowledged that was not stored.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	defer c.Close()
	rw := &deadlineConn{Conn: c, write: s.cfg.WriteTimeout}
	err := s.handler.Session(ctx, rw, source, s.cfg.MaxFrame, func() error {
		return c.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
	})
	if err != nil && ctx.Err() == nil {
		s.log.Info("MLLP connection ended", logSource, source, logErr, err)
	}
}

// deadlineConn sets a write deadline before each write.
type deadlineConn struct {
	net.Conn
	write time.Duration
}

func (d *deadlineConn) Write(b []byte) (int, error) {
	if err := d.Conn.SetWriteDeadline(time.Now().Add(d.write)); err != nil {
		return 0, err
	}
	return d.Conn.Write(b)
}
