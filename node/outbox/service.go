package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"carenode/crdt"
	"carenode/node/store"
	"carenode/node/vault"
)

// Records is what the outbox needs of the node's store.
type Records interface {
	Write(ctx context.Context, req store.WriteRequest) (store.WriteResult, error)
	Get(coll, id string) (store.RecordView, error)
	List(coll, after string, limit int) ([]store.RecordView, error)
	// Watch tells the outbox which messages a commit changed (a message
	// queued here or synced in), so the sender loop wakes at once.
	Watch(fn func([]store.Changed)) (stop func())
}

var _ Records = (*store.Store)(nil)

// Deps are the services the outbox works with.
type Deps struct {
	Records  Records
	Patients Patients
	// Sender hands messages to the network; nil means this node sends
	// nothing (its messages wait for the sending node).
	Sender Sender
	// Wanted, when set, is asked just before a send whether the message is
	// still wanted (booking.Service.ReminderWanted: the appointment was
	// not moved or cancelled meanwhile, perhaps on another node). A
	// message no longer wanted is cancelled, not sent. It is called from
	// the sender loop and may read the store.
	Wanted func(m Message) bool
	// Now reads the wall clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Limits on a queued message.
const (
	MaxKeyLen   = 256
	MaxTextLen  = 700 // characters per language: ten SMS parts of Chinese text
	maxLangs    = 4
	maxErrorLen = 300
	listPage    = 500
)

// Log keys.
const (
	logMessage = "message"
	logErr     = "err"
	logStatus  = "status"
)

// Service is the outbox: it queues messages in the store, sends those
// this node is responsible for, and answers the API. Safe for concurrent
// use.
type Service struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	mu     sync.RWMutex
	sealer *vault.Sealer // nil while locked

	tickMu   sync.Mutex      // one Tick at a time
	inflight map[string]bool // start events of sends under way; guarded by tickMu

	idxMu   sync.Mutex
	loaded  bool
	pending map[string]bool // messages that may still need this node
	dirty   map[string]bool // changed since the last Tick

	wake      chan struct{}
	stopWatch func()
}

// New returns a locked outbox. Close stops it following the store.
func New(cfg Config, d Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Records == nil || d.Patients == nil {
		return nil, fmt.Errorf("%w: the outbox needs the store and the charts", ErrConfig)
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	s := &Service{cfg: cfg, deps: d, log: d.Logger.With("subsystem", "outbox"), inflight: map[string]bool{},
		pending: map[string]bool{}, dirty: map[string]bool{}, wake: make(chan struct{}, 1)}
	if d.Sender == nil && (cfg.SenderNode == "" || cfg.SenderNode == cfg.Node) {
		s.log.Warn("this node sends the messages it is responsible for, but no SMS sender is configured: they wait until they expire")
	}
	s.stopWatch = d.Records.Watch(s.changed)
	return s, nil
}

// Close stops following the store. It does not stop Run; cancel its
// context.
func (s *Service) Close() { s.stopWatch() }

// changed runs on the store's committing goroutine: note and wake, no more.
func (s *Service) changed(ch []store.Changed) {
	hit := false
	s.idxMu.Lock()
	for _, c := range ch {
		if c.Collection == Collection {
			s.dirty[c.Record] = true
			hit = true
		}
	}
	s.idxMu.Unlock()
	if hit {
		s.poke()
	}
}

func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Unlock gives the outbox the data key's Sealer: it seals message text
// and the numbers messages went to, and opens them to send.
func (s *Service) Unlock(sealer *vault.Sealer) error {
	s.mu.Lock()
	s.sealer = sealer
	s.mu.Unlock()
	s.poke()
	return nil
}

// Lock forgets the Sealer.
func (s *Service) Lock() {
	s.mu.Lock()
	s.sealer = nil
	s.mu.Unlock()
}

func (s *Service) session() *vault.Sealer {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sealer
}

// Queue stores m to be sent. It is idempotent by m.Key: a key already
// queued here, or synced in from another node, adds nothing (and its text
// is not replaced). It returns ErrLocked while the node is locked, since
// the text is sealed before it is stored, and an error wrapping ErrInvalid
// for a message that breaks a rule.
func (s *Service) Queue(ctx context.Context, m Message) error {
	if err := validateMessage(m); err != nil {
		return err
	}
	id := RecordID(m.Key)
	if v, err := s.deps.Records.Get(Collection, id); err == nil && !v.Deleted {
		return nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("queue %s: %w", m.Key, err)
	}
	sealer := s.session()
	if sealer == nil {
		return fmt.Errorf("queue %s: %w", m.Key, ErrLocked)
	}
	text, err := json.Marshal(m.Text)
	if err != nil {
		return fmt.Errorf("queue %s: %w", m.Key, err)
	}
	sealed, err := sealer.Seal(text, vault.FieldAAD(Collection, id, fieldText))
	if err != nil {
		if errors.Is(err, vault.ErrLocked) {
			err = ErrLocked
		}
		return fmt.Errorf("queue %s: seal text: %w", m.Key, err)
	}
	now := s.deps.Now()
	expires := m.Expires
	if expires.IsZero() {
		due := now
		if m.NotBefore.After(due) {
			due = m.NotBefore
		}
		expires = due.Add(s.cfg.DefaultExpiry)
	}
	sender := s.cfg.SenderNode
	if sender == "" {
		sender = s.cfg.Node
	}
	set := func(field string, v any) store.Edit {
		b, _ := json.Marshal(v) // strings and times always marshal
		return store.Edit{Kind: crdt.MutSet, Field: field, Value: b, SeenCurrent: true}
	}
	edits := []store.Edit{set(fieldKey, m.Key), set(fieldPatient, m.Patient), set(fieldKind, m.Kind),
		set(fieldExpires, expires.UTC()), set(fieldQueued, now.UTC()),
		{Kind: crdt.MutSet, Field: fieldText, Value: sealed, SeenCurrent: true},
		{Kind: crdt.MutAdd, Field: setSenders, Elem: sender}}
	if m.About != "" {
		edits = append(edits, set(fieldAbout, m.About))
	}
	if !m.NotBefore.IsZero() {
		edits = append(edits, set(fieldNotBefore, m.NotBefore.UTC()))
	}
	_, err = s.deps.Records.Write(ctx, store.WriteRequest{Collection: Collection, Record: id, Create: true, Edits: edits})
	if errors.Is(err, store.ErrExists) {
		return nil // queued by someone else a moment ago
	}
	if err != nil {
		return fmt.Errorf("queue %s: %w", m.Key, err)
	}
	return nil
}

func validateMessage(m Message) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	switch {
	case m.Key == "" || len(m.Key) > MaxKeyLen || !utf8.ValidString(m.Key):
		return bad("key: want 1 to %d bytes of UTF-8", MaxKeyLen)
	case !crdt.ValidName(m.Patient):
		return bad("patient %q: want a patient id", m.Patient)
	case !crdt.ValidName(m.Kind):
		return bad("kind %q: want a name such as reminder", m.Kind)
	case len(m.About) > 200:
		return bad("about: at most 200 bytes")
	case len(m.Text) == 0 || len(m.Text) > maxLangs:
		return bad("text: want the message in 1 to %d languages", maxLangs)
	case !m.Expires.IsZero() && !m.NotBefore.IsZero() && !m.Expires.After(m.NotBefore):
		return bad("expires %s is not after notBefore %s", m.Expires.Format(time.RFC3339), m.NotBefore.Format(time.RFC3339))
	}
	for lang, text := range m.Text {
		switch {
		case lang != "zh" && lang != "en":
			return bad("text language %q: want zh or en", lang)
		case strings.TrimSpace(text) == "":
			return bad("text %s is empty", lang)
		case !utf8.ValidString(text):
			return bad("text %s is not UTF-8", lang)
		case utf8.RuneCountInString(text) > MaxTextLen:
			return bad("text %s has %d characters; at most %d", lang, utf8.RuneCountInString(text), MaxTextLen)
		}
	}
	return nil
}

// pickText returns the text in lang, else Chinese, else English.
func pickText(texts map[string]string, lang string) (string, string) {
	for _, l := range []string{lang, "zh", "en"} {
		if t, ok := texts[l]; ok && l != "" {
			return t, l
		}
	}
	return "", ""
}
