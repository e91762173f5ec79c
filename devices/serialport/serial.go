package serialport

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/tarm/serial"
)

// Opener opens a port's line. Open is called from the Port's goroutine
// only, again after each disconnect; it may block up to the open's own
// timeout. Reads on what it returns must return, with an error, soon after
// Close is called (the Port closes it to stop); a read that returns io.EOF
// means the device is gone and the Port reopens.
type Opener interface {
	Open(cfg Config) (io.ReadWriteCloser, error)
}

// Serial opens real serial ports (and pseudo-terminals) with tarm/serial.
type Serial struct {
	// ReadTimeout is how long one read waits for data; it bounds how long
	// Close and unplug detection take. The line counts it in tenths of a
	// second, from 0.1 s to 25.5 s; 0 means 200 ms.
	ReadTimeout time.Duration
}

var _ Opener = Serial{}

// Open opens cfg.Path at cfg.Baud with cfg.Parity, 8 data bits, 1 stop bit.
func (s Serial) Open(cfg Config) (io.ReadWriteCloser, error) {
	timeout := s.ReadTimeout
	if timeout <= 0 {
		timeout = 200 * time.Millisecond
	}
	timeout = min(max(timeout.Truncate(100*time.Millisecond), 100*time.Millisecond), 25500*time.Millisecond)
	par, err := parity(cfg.Parity)
	if err != nil {
		return nil, err
	}
	p, err := serial.OpenPort(&serial.Config{Name: cfg.Path, Baud: cfg.Baud, Parity: par, Size: 8,
		StopBits: serial.Stop1, ReadTimeout: timeout})
	if err != nil {
		return nil, fmt.Errorf("open serial port %s: %w", cfg.Path, err)
	}
	return &tarmPort{p: p, path: cfg.Path, timeout: timeout}, nil
}

func parity(s string) (serial.Parity, error) {
	switch s {
	case "", "none", "N":
		return serial.ParityNone, nil
	case "odd", "O":
		return serial.ParityOdd, nil
	case "even", "E":
		return serial.ParityEven, nil
	}
	return 0, fmt.Errorf("parity %q (want none, odd or even): %w", s, ErrConfig)
}

// hangupEOFs is how many EOFs in a row, each much faster than the read
// timeout, mean the line hung up: a hung-up tty answers at once, an idle
// one after the timeout.
const hangupEOFs = 5

// tarmPort turns tarm/serial's timeout-EOF into waiting, and a hangup
// into ErrGone.
type tarmPort struct {
	p       *serial.Port
	path    string
	timeout time.Duration
	closed  atomic.Bool
}

func (t *tarmPort) Read(b []byte) (int, error) {
	quick := 0
	for {
		start := time.Now()
		n, err := t.p.Read(b)
		if n > 0 {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return n, err
		}
		if t.closed.Load() {
			return 0, os.ErrClosed
		}
		// A timeout is (0, io.EOF) on POSIX and (0, nil) on Windows.
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("read %s: %w: %w", t.path, ErrGone, err)
		}
		if time.Since(start) >= t.timeout/2 {
			quick = 0
			continue // idle
		}
		if filepath.IsAbs(t.path) { // not COM3, which has no file to stat
			if _, serr := os.Stat(t.path); serr != nil {
				return 0, fmt.Errorf("read %s: %w: %w", t.path, ErrGone, serr)
			}
		}
		if quick++; quick >= hangupEOFs {
			return 0, fmt.Errorf("read %s: hung up: %w", t.path, ErrGone)
		}
	}
}

func (t *tarmPort) Write(b []byte) (int, error) {
	n, err := t.p.Write(b)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", t.path, err)
	}
	return n, nil
}

func (t *tarmPort) Close() error {
	t.closed.Store(true)
	return t.p.Close()
}
