package gsm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config configures a Modem.
type Config struct {
	// Timeout bounds the wait for the answer to a command and for the ">"
	// prompt of AT+CMGS.
	Timeout time.Duration
	// SendTimeout bounds the wait for "+CMGS: <ref>" after a PDU is
	// written: the network's answer, which can take tens of seconds.
	SendTimeout time.Duration
}

// DefaultConfig returns 10 s for commands and 60 s for the network.
func DefaultConfig() Config { return Config{Timeout: 10 * time.Second, SendTimeout: 60 * time.Second} }

// Modem speaks AT commands (3GPP TS 27.005 / 27.007) to a GSM modem over
// a line: it sets PDU mode and sends SMS-SUBMIT PDUs with AT+CMGS. One
// goroutine reads the line and hands over whole answers; commands are sent
// one at a time. Safe for concurrent use.
type Modem struct {
	cfg Config
	w   io.Writer
	c   io.Closer // nil when the caller owns the line

	lines chan string // answer lines, and ">" for the CMGS prompt
	done  chan struct{}
	errMu sync.Mutex
	err   error // why the reader stopped

	mu    sync.Mutex // one exchange at a time; guards ready
	ready bool       // echo off and PDU mode set
}

// New starts reading rw. If rw is an io.Closer, Close closes it. Reads on
// rw must block until data comes (a serial port's read timeout is the
// opener's business: see OpenPort); any read error stops the modem.
func New(rw io.ReadWriter, cfg Config) *Modem {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultConfig().Timeout
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = DefaultConfig().SendTimeout
	}
	m := &Modem{cfg: cfg, w: rw, lines: make(chan string, 64), done: make(chan struct{})}
	if c, ok := rw.(io.Closer); ok {
		m.c = c
	}
	go m.read(rw)
	return m
}

// Close closes the line (if the Modem owns it) and waits for the reader.
func (m *Modem) Close() error {
	var err error
	if m.c != nil {
		err = m.c.Close()
		<-m.done
	}
	return err
}

// read splits the line into answers. Modems end answers with CR LF and
// send the AT+CMGS prompt as "> " with no line end, so a pending ">" is an
// answer of its own.
func (m *Modem) read(r io.Reader) {
	defer close(m.done)
	buf := make([]byte, 256)
	var pending []byte
	for {
		n, err := r.Read(buf)
		for _, c := range buf[:n] {
			if c == '\r' || c == '\n' {
				if line := strings.TrimSpace(string(pending)); line != "" {
					m.emit(line)
				}
				pending = pending[:0]
				continue
			}
			pending = append(pending, c)
		}
		if t := bytes.TrimSpace(pending); len(t) == 1 && t[0] == '>' {
			m.emit(">")
			pending = pending[:0]
		}
		if len(pending) > 4096 {
			pending = pending[:0] // line noise, not an answer
		}
		if err != nil {
			m.errMu.Lock()
			m.err = fmt.Errorf("%w: %w", ErrClosed, err)
			m.errMu.Unlock()
			return
		}
	}
}

// emit hands over an answer; when nobody has read the last 64 (a chatty
// modem between commands) it is dropped rather than stall the reader.
func (m *Modem) emit(line string) {
	select {
	case m.lines <- line:
	default:
	}
}

func (m *Modem) readErr() error {
	m.errMu.Lock()
	defer m.errMu.Unlock()
	return m.err
}

// drain drops answers nobody waits for any more (the tail of a command
// that timed out, an unsolicited +CMTI).
func (m *Modem) drain() {
	for {
		select {
		case <-m.lines:
		default:
			return
		}
	}
}

// next returns the next answer line, or an error when d passes or ctx ends
// first, or the line is closed.
func (m *Modem) next(ctx context.Context, timer *time.Timer) (string, error) {
	select {
	case l := <-m.lines:
		return l, nil
	case <-m.done:
		select {
		case l := <-m.lines:
			return l, nil
		default:
		}
		return "", m.readErr()
	case <-timer.C:
		return "", ErrTimeout
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// final reads answers until a final result: OK returns the lines before
// it; ERROR, +CMS ERROR and +CME ERROR return errors. Echo of cmd is
// skipped.
func (m *Modem) final(ctx context.Context, cmd string, d time.Duration) ([]string, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	var got []string
	for {
		l, err := m.next(ctx, timer)
		if err != nil {
			return got, fmt.Errorf("%s: %w", cmd, err)
		}
		switch {
		case l == cmd:
		case l == "OK":
			return got, nil
		case l == "ERROR":
			return got, fmt.Errorf("%s: %w", cmd, ErrModem)
		case strings.HasPrefix(l, "+CMS ERROR:"):
			code, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(l, "+CMS ERROR:")))
			return got, fmt.Errorf("%s: %w", cmd, &CMSError{Code: code})
		case strings.HasPrefix(l, "+CME ERROR:"):
			return got, fmt.Errorf("%s: %w: %s", cmd, ErrModem, l)
		default:
			got = append(got, l)
		}
	}
}

func (m *Modem) command(ctx context.Context, cmd string) ([]string, error) {
	m.drain()
	if _, err := io.WriteString(m.w, cmd+"\r"); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", cmd, ErrClosed, err)
	}
	return m.final(ctx, cmd, m.cfg.Timeout)
}

// Init checks the modem answers and sets it up: AT, echo off (ATE0),
// numeric errors (AT+CMEE=1, optional) and PDU mode (AT+CMGF=0). Send
// calls it when needed.
func (m *Modem) Init(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.init(ctx)
}

func (m *Modem) init(ctx context.Context) error {
	m.ready = false
	for _, cmd := range []string{"AT", "ATE0", "AT+CMEE=1", "AT+CMGF=0"} {
		if _, err := m.command(ctx, cmd); err != nil {
			if cmd == "AT+CMEE=1" && errors.Is(err, ErrModem) {
				continue // an old modem without numeric errors still sends
			}
			return fmt.Errorf("set up modem: %w", err)
		}
	}
	m.ready = true
	return nil
}

// SendPDU sends one PDU with AT+CMGS and returns the message reference
// the network gave it. An error after the PDU was written and before the
// network answered wraps ErrUnconfirmed.
func (m *Modem) SendPDU(ctx context.Context, p PDU) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sendPDU(ctx, p)
}

func (m *Modem) sendPDU(ctx context.Context, p PDU) (int, error) {
	if !m.ready {
		if err := m.init(ctx); err != nil {
			return 0, err
		}
	}
	cmd := "AT+CMGS=" + strconv.Itoa(p.TPDULen)
	m.drain()
	if _, err := io.WriteString(m.w, cmd+"\r"); err != nil {
		m.ready = false
		return 0, fmt.Errorf("%s: %w: %w", cmd, ErrClosed, err)
	}
	timer := time.NewTimer(m.cfg.Timeout)
	defer timer.Stop()
	for prompt := false; !prompt; {
		l, err := m.next(ctx, timer)
		switch {
		case err != nil:
			m.ready = false
			io.WriteString(m.w, "\x1b") // leave PDU input, should the prompt come late
			return 0, fmt.Errorf("%s: waiting for the prompt: %w", cmd, err)
		case l == ">":
			prompt = true
		case l == "ERROR":
			return 0, fmt.Errorf("%s: %w", cmd, ErrModem)
		case strings.HasPrefix(l, "+CMS ERROR:"):
			code, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(l, "+CMS ERROR:")))
			return 0, fmt.Errorf("%s: %w", cmd, &CMSError{Code: code})
		}
	}
	if _, err := io.WriteString(m.w, p.Hex()+"\x1a"); err != nil {
		m.ready = false
		return 0, permanentErr{fmt.Errorf("%s: %w: %w", cmd, ErrUnconfirmed, err)}
	}
	// Errors name the command, never the PDU: it holds the number and text.
	lines, err := m.final(ctx, cmd, m.cfg.SendTimeout)
	if err != nil {
		var cms *CMSError
		if errors.As(err, &cms) || errors.Is(err, ErrModem) {
			return 0, err // refused: nothing was sent
		}
		m.ready = false
		return 0, permanentErr{fmt.Errorf("%s: %w: %w", cmd, ErrUnconfirmed, err)}
	}
	for _, l := range lines {
		if ref, ok := strings.CutPrefix(l, "+CMGS:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(ref))
			if err == nil {
				return n, nil
			}
		}
	}
	return 0, permanentErr{fmt.Errorf("%s: %w: OK without +CMGS", cmd, ErrUnconfirmed)}
}

// Send encodes text for number (EncodeSubmit) and sends every part; ref
// is the concatenation reference, the same for a retry of the same
// message so that a phone holding earlier parts joins them. It returns
// the network's reference of each part.
func (m *Modem) Send(ctx context.Context, number, text string, ref byte, validity time.Duration) ([]int, error) {
	pdus, err := EncodeSubmit(Submit{To: number, Text: text, Ref: ref, Validity: validity})
	if err != nil {
		return nil, permanentErr{err}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	refs := make([]int, 0, len(pdus))
	for i, p := range pdus {
		r, err := m.sendPDU(ctx, p)
		if err != nil {
			if len(pdus) > 1 {
				err = fmt.Errorf("part %d of %d: %w", i+1, len(pdus), err)
			}
			return refs, err
		}
		refs = append(refs, r)
	}
	return refs, nil
}
