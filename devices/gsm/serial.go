package gsm

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tarm/serial"

	"carenode/node/outbox"
)

// OpenPort opens a serial line (or a pseudo-terminal) with tarm/serial at
// baud, 8N1. tarm/serial reports its read timeout as io.EOF; the returned
// reader waits through those and returns only data, or an error once the
// line is closed.
func OpenPort(path string, baud int) (io.ReadWriteCloser, error) {
	p, err := serial.OpenPort(&serial.Config{Name: path, Baud: baud, Size: 8, StopBits: serial.Stop1,
		ReadTimeout: 200 * time.Millisecond})
	if err != nil {
		return nil, fmt.Errorf("open modem port %s: %w", path, err)
	}
	return &port{p: p, path: path}, nil
}

type port struct {
	p      *serial.Port
	path   string
	closed atomic.Bool
}

func (t *port) Read(b []byte) (int, error) {
	for {
		n, err := t.p.Read(b)
		if t.closed.Load() {
			return n, os.ErrClosed
		}
		if n > 0 {
			return n, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("read %s: %w", t.path, err)
		}
		// (0, EOF) is the read timeout: wait on.
	}
}

func (t *port) Write(b []byte) (int, error) {
	n, err := t.p.Write(b)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", t.path, err)
	}
	return n, nil
}

func (t *port) Close() error {
	t.closed.Store(true)
	return t.p.Close()
}

// Sender is the outbox's GSM sender: a Modem on a serial port.
type Sender struct {
	modem *Modem
}

var _ outbox.Sender = (*Sender)(nil)

// OpenSender opens the modem cfg names (the outbox config's modem part);
// sendTimeout is the outbox's bound on one send.
func OpenSender(cfg outbox.ModemConfig) (*Sender, error) {
	rw, err := OpenPort(cfg.Port, cfg.Baud)
	if err != nil {
		return nil, err
	}
	return NewSender(New(rw, Config{Timeout: cfg.Timeout, SendTimeout: DefaultConfig().SendTimeout})), nil
}

// NewSender wraps a Modem as an outbox.Sender.
func NewSender(m *Modem) *Sender { return &Sender{modem: m} }

// Close closes the modem's line.
func (s *Sender) Close() error { return s.modem.Close() }

// Kind implements outbox.Sender.
func (s *Sender) Kind() string { return outbox.SenderGSM }

// Send implements outbox.Sender. The concatenation reference is derived
// from the message id, so a retry repeats it; the validity period is the
// time left until the message expires, so the network drops it in time.
func (s *Sender) Send(ctx context.Context, m outbox.SMS) (string, error) {
	if m.Validity < 0 {
		return "", permanentErr{fmt.Errorf("gsm: the message expired before it was sent")}
	}
	h := fnv.New32a()
	h.Write([]byte(m.ID))
	refs, err := s.modem.Send(ctx, m.To, m.Text, byte(h.Sum32()), m.Validity)
	if err != nil {
		return "", fmt.Errorf("gsm: %w", err)
	}
	parts := make([]string, len(refs))
	for i, r := range refs {
		parts[i] = strconv.Itoa(r)
	}
	return "cmgs:" + strings.Join(parts, ","), nil
}
