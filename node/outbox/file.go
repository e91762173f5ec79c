package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// FileSender appends each message as one JSON line to a file: for demos
// and for trying the outbox without a modem. The file holds numbers and
// texts in the clear, so it is created owner-only; do not point it at a
// shared folder.
type FileSender struct {
	path string
	now  func() time.Time
	mu   sync.Mutex
}

var _ Sender = (*FileSender)(nil)

// NewFileSender returns a sender writing to path (created when missing).
func NewFileSender(path string) (*FileSender, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: file sender: path is required", ErrConfig)
	}
	return &FileSender{path: path, now: time.Now}, nil
}

// FileLine is one line of the file.
type FileLine struct {
	Time time.Time `json:"time"`
	ID   string    `json:"id"`
	To   string    `json:"to"`
	Lang string    `json:"lang"`
	Text string    `json:"text"`
}

// Kind implements Sender.
func (f *FileSender) Kind() string { return SenderFile }

// Send implements Sender: one line, synced to disk before it returns.
func (f *FileSender) Send(ctx context.Context, m SMS) (string, error) {
	line, err := json.Marshal(FileLine{Time: f.now().UTC(), ID: m.ID, To: m.To, Lang: m.Lang, Text: m.Text})
	if err != nil {
		return "", Permanent(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return "", fmt.Errorf("file sender: %w", err)
	}
	_, err = fh.Write(append(line, '\n'))
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("file sender %s: %w", f.path, err)
	}
	return "file:" + m.ID, nil
}

// NewSender builds the sender cfg names, for the kinds node code can
// build: gateway and file. It returns nil for SenderNone; the GSM modem
// is opened by devices/gsm (see its OpenSender), so for SenderGSM it
// returns an error saying so.
func NewSender(cfg SenderConfig) (Sender, error) {
	switch cfg.Kind {
	case SenderNone:
		return nil, nil
	case SenderGateway:
		return NewGateway(cfg.Gateway)
	case SenderFile:
		return NewFileSender(cfg.File.Path)
	case SenderGSM:
		return nil, fmt.Errorf("%w: the gsm sender is opened by devices/gsm, not by the outbox", ErrConfig)
	}
	return nil, fmt.Errorf("%w: sender %q: want gsm, gateway, file or nothing", ErrConfig, cfg.Kind)
}
