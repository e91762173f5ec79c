package serialport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"carenode/devices"
	"carenode/devices/hl7"
	"carenode/devices/lineformat"
	"carenode/devices/mllp"
)

// FormatHL7 is the Config.Format of a device that sends HL7 over MLLP.
const FormatHL7 = "hl7"

// Config configures one port. Start from DefaultConfig.
type Config struct {
	// DeviceID names the device on this port; it becomes Batch.DeviceID.
	DeviceID string
	// Path is the port, such as /dev/ttyUSB0 or COM3.
	Path string
	// Baud and Parity ("none", "odd", "even") are the line settings; data
	// bits are 8 and stop bits 1, as on every device we support.
	Baud   int
	Parity string
	// Format is a devices/lineformat name ("nonin", "and", "accutorr") or
	// FormatHL7.
	Format string
	// MaxLine bounds a line, MaxFrame an MLLP frame, in bytes.
	MaxLine, MaxFrame int
	// MinBackoff and MaxBackoff bound the wait before reopening.
	MinBackoff, MaxBackoff time.Duration
	// StoreTimeout bounds one Sink.Store.
	StoreTimeout time.Duration
	// Application and Facility name this node in HL7 ACKs.
	Application, Facility hl7.HD

	// Opener opens the line; nil means Serial{}.
	Opener Opener
	// Now is the node's clock; nil means time.Now.
	Now func() time.Time
	// Logger; nil means slog.Default.
	Logger *slog.Logger
}

// DefaultConfig returns the Config of a device at path speaking format, at
// 9600 baud without parity (what the Nonin, A&D and Accutorr ship with).
func DefaultConfig(deviceID, path, format string) Config {
	return Config{
		DeviceID: deviceID, Path: path, Baud: 9600, Parity: "none", Format: format,
		MaxLine: lineformat.DefaultMaxLine, MaxFrame: hl7.DefaultMaxFrame,
		MinBackoff: 500 * time.Millisecond, MaxBackoff: 30 * time.Second,
		StoreTimeout: mllp.DefaultStoreTimeout,
		Application:  hl7.HD{Namespace: "carenode"},
	}
}

// Status is a port's state, for the API and metrics.
type Status struct {
	DeviceID, Path, Format string
	Connected              bool
	Since                  time.Time // when Connected last changed; zero before the first open
	LastReading            time.Time // when a batch was last stored
	Stored                 uint64    // batches stored
	Opens                  uint64    // successful opens; more than one means reconnects
	OpenErrors             uint64    // failed opens
	ReadErrors             uint64    // disconnects and read failures
	ParseErrors            uint64    // lines or HL7 messages that could not be read
	StoreErrors            uint64    // failed Sink.Store calls
	LastError              string
}

// Port reads one device. Its methods are safe for concurrent use.
type Port struct {
	cfg    Config
	sink   devices.Sink
	format lineformat.Format
	hl7    *mllp.Handler
	log    *slog.Logger

	mu sync.Mutex
	st Status
}

// New checks cfg and returns a Port storing into sink. Run starts it.
func New(cfg Config, sink devices.Sink) (*Port, error) {
	p := &Port{cfg: cfg, sink: sink}
	switch {
	case sink == nil:
		return nil, fmt.Errorf("sink is nil: %w", ErrConfig)
	case cfg.DeviceID == "":
		return nil, fmt.Errorf("port %s: no device id: %w", cfg.Path, ErrConfig)
	case cfg.Path == "":
		return nil, fmt.Errorf("device %s: no path: %w", cfg.DeviceID, ErrConfig)
	case cfg.Baud <= 0:
		return nil, fmt.Errorf("port %s: baud %d: %w", cfg.Path, cfg.Baud, ErrConfig)
	case cfg.MinBackoff <= 0 || cfg.MaxBackoff < cfg.MinBackoff:
		return nil, fmt.Errorf("port %s: backoff %v to %v: %w", cfg.Path, cfg.MinBackoff, cfg.MaxBackoff, ErrConfig)
	case cfg.StoreTimeout <= 0:
		return nil, fmt.Errorf("port %s: store timeout %v: %w", cfg.Path, cfg.StoreTimeout, ErrConfig)
	}
	if _, err := parity(cfg.Parity); err != nil {
		return nil, fmt.Errorf("port %s: %w", cfg.Path, err)
	}
	if p.cfg.Opener == nil {
		p.cfg.Opener = Serial{}
	}
	if p.cfg.Now == nil {
		p.cfg.Now = time.Now
	}
	p.log = cfg.Logger
	if p.log == nil {
		p.log = slog.Default()
	}
	p.log = p.log.With("subsystem", "serialport", "port", cfg.Path, "device", cfg.DeviceID)
	if cfg.Format == FormatHL7 {
		p.hl7 = &mllp.Handler{Sink: statusSink{p}, DeviceID: cfg.DeviceID, Application: cfg.Application, Facility: cfg.Facility,
			StoreTimeout: cfg.StoreTimeout, Now: p.cfg.Now, Logger: p.log}
	} else {
		f, err := lineformat.Lookup(cfg.Format)
		if err != nil {
			return nil, fmt.Errorf("port %s: %w", cfg.Path, err)
		}
		p.format = f
	}
	p.st = Status{DeviceID: cfg.DeviceID, Path: cfg.Path, Format: cfg.Format}
	return p, nil
}

// Status returns the port's state now.
func (p *Port) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.st
	if p.hl7 != nil {
		h := p.hl7.Stats()
		s.ParseErrors += h.Rejected + h.BadFrames
	}
	return s
}

func (p *Port) update(f func(s *Status)) {
	p.mu.Lock()
	f(&p.st)
	p.mu.Unlock()
}

// Run opens the port and reads it until ctx ends, reopening it with
// backoff whenever it fails to open or goes away. It returns ctx's error.
func (p *Port) Run(ctx context.Context) error {
	wait := p.cfg.MinBackoff
	for {
		rw, err := p.cfg.Opener.Open(p.cfg)
		if err != nil {
			p.update(func(s *Status) { s.OpenErrors++; s.LastError = err.Error() })
			p.log.Debug("open failed", "err", err, "retry_in", wait)
		} else {
			now := p.cfg.Now()
			p.update(func(s *Status) { s.Connected, s.Since = true, now; s.Opens++ })
			p.log.Info("port open")
			got, err := p.read(ctx, rw)
			rw.Close()
			now = p.cfg.Now()
			p.update(func(s *Status) {
				s.Connected, s.Since = false, now
				if err != nil && ctx.Err() == nil {
					s.ReadErrors++
					s.LastError = err.Error()
				}
			})
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p.log.Warn("port closed", "err", err, "retry_in", wait)
			if got {
				wait = p.cfg.MinBackoff // it worked for a while: come back quickly
			}
		}
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
		wait = min(2*wait, p.cfg.MaxBackoff)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// read serves one open port until it fails or ctx ends; got reports
// whether anything was read.
func (p *Port) read(ctx context.Context, rw io.ReadWriteCloser) (got bool, err error) {
	stop := context.AfterFunc(ctx, func() { rw.Close() })
	defer stop()
	cr := &countingReader{r: rw}
	if p.hl7 != nil {
		err := p.hl7.Session(ctx, struct {
			io.Reader
			io.Writer
		}{cr, rw}, "serial:"+p.cfg.Path, p.cfg.MaxFrame, nil)
		if err == nil {
			err = io.EOF
		}
		return cr.n > 0, err
	}
	lr := lineformat.NewReader(cr, p.format, p.cfg.MaxLine)
	for {
		l, err := lr.Next()
		if err != nil {
			if errors.Is(err, lineformat.ErrLine) || errors.Is(err, lineformat.ErrValue) ||
				errors.Is(err, lineformat.ErrUnit) || errors.Is(err, lineformat.ErrLineTooLong) {
				p.update(func(s *Status) { s.ParseErrors++; s.LastError = err.Error() })
				p.log.Warn("line refused", "err", err)
				continue
			}
			return cr.n > 0, err // io.EOF, a cut-off line, a read error
		}
		if len(l.Readings) == 0 {
			continue // no data, unstable, overload, a header
		}
		b := devices.BatchFromLine(l, p.cfg.DeviceID, p.cfg.Now())
		b.Source = "serial:" + p.cfg.Path
		if err := p.store(ctx, b); err != nil {
			return true, err
		}
	}
}

// store hands b to the sink, retrying with backoff until it is stored or
// ctx ends: a line device keeps no copy to resend.
func (p *Port) store(ctx context.Context, b devices.Batch) error {
	wait := p.cfg.MinBackoff
	for {
		sctx, cancel := context.WithTimeout(ctx, p.cfg.StoreTimeout)
		err := statusSink{p}.Store(sctx, b)
		cancel()
		if err == nil {
			return nil
		}
		p.log.Error("reading not stored; retrying", "err", err, "retry_in", wait)
		if !sleep(ctx, wait) {
			return fmt.Errorf("reading not stored before stop: %w", err)
		}
		wait = min(2*wait, p.cfg.MaxBackoff)
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// statusSink stores through the port's sink and keeps the port's status.
type statusSink struct{ p *Port }

func (s statusSink) Store(ctx context.Context, b devices.Batch) error {
	err := s.p.sink.Store(ctx, b)
	s.p.update(func(st *Status) {
		if err != nil {
			st.StoreErrors++
			st.LastError = err.Error()
			return
		}
		st.Stored++
		st.LastReading = b.Received
	})
	return err
}
