package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/internal/testclock"
	"carenode/node/outbox"
	"carenode/node/store"
	"carenode/node/vault"
)

// shanghai is the clinics' time zone in these tests.
var shanghai = time.FixedZone("CST", 8*3600)

// at is a wall-clock time in Shanghai on 2026-03-10 (plus days).
func at(days, hour, min int) time.Time {
	return time.Date(2026, 3, 10+days, hour, min, 0, 0, shanghai)
}

// contact is what the fake chart knows of a patient.
type contact struct {
	phone, lang string
	err         error
}

type fakePatients struct {
	mu sync.Mutex
	m  map[string]contact
}

func (f *fakePatients) Contact(_ context.Context, id string) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.m[id]
	if !ok {
		return "", "", fmt.Errorf("patient %s: %w", id, outbox.ErrNoContact)
	}
	return c.phone, c.lang, c.err
}

// recorder is a Sender that keeps what it was given and fails on demand.
type recorder struct {
	mu   sync.Mutex
	sent []outbox.SMS
	errs []error // returned by the next sends, in order
}

func (r *recorder) Kind() string { return "test" }

func (r *recorder) Send(_ context.Context, m outbox.SMS) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) > 0 {
		err := r.errs[0]
		r.errs = r.errs[1:]
		if err != nil {
			return "", err
		}
	}
	r.sent = append(r.sent, m)
	return fmt.Sprintf("ref-%d", len(r.sent)), nil
}

func (r *recorder) Sent() []outbox.SMS {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]outbox.SMS(nil), r.sent...)
}

func (r *recorder) failNext(errs ...error) {
	r.mu.Lock()
	r.errs = append(r.errs, errs...)
	r.mu.Unlock()
}

var testKey = func() vault.DataKey {
	dk, err := vault.NewDataKey(nil)
	if err != nil {
		panic(err)
	}
	return dk
}()

func newSealer(t testing.TB) *vault.Sealer {
	t.Helper()
	s, err := vault.NewSealer(testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openStore opens a fresh store for node under t.TempDir, closed at cleanup.
func openStore(t testing.TB, node string) *store.Store {
	t.Helper()
	opts := store.DefaultOptions(filepath.Join(t.TempDir(), "carenode.db"), crdt.NodeID(node))
	opts.Create = true
	opts.Logger = quiet()
	s, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// box is one node's outbox on a real store.
type box struct {
	node     string
	store    *store.Store
	svc      *outbox.Service
	sender   *recorder
	patients *fakePatients
	clock    *testclock.Clock
}

type boxOption func(*outbox.Config, *outbox.Deps)

func withSenderNode(n string) boxOption {
	return func(c *outbox.Config, _ *outbox.Deps) { c.SenderNode = n }
}

func withoutSender() boxOption {
	return func(_ *outbox.Config, d *outbox.Deps) { d.Sender = nil }
}

func newBox(t testing.TB, node string, opts ...boxOption) *box {
	t.Helper()
	b := &box{node: node, store: openStore(t, node), sender: &recorder{}, clock: testclock.New(at(0, 9, 0)),
		patients: &fakePatients{m: map[string]contact{
			"p1": {phone: "13812345678", lang: "zh"},
			"p2": {phone: "+8613900001111", lang: "en"},
		}}}
	cfg := outbox.DefaultConfig(node)
	cfg.Location = shanghai
	d := outbox.Deps{Records: b.store, Patients: b.patients, Sender: b.sender, Now: b.clock.Now, Logger: quiet()}
	for _, o := range opts {
		o(&cfg, &d)
	}
	svc, err := outbox.New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	if err := svc.Unlock(newSealer(t)); err != nil {
		t.Fatal(err)
	}
	b.svc = svc
	return b
}

func (b *box) queue(t testing.TB, m outbox.Message) {
	t.Helper()
	if err := b.svc.Queue(context.Background(), m); err != nil {
		t.Fatalf("%s: queue %s: %v", b.node, m.Key, err)
	}
}

func (b *box) tick(t testing.TB, now time.Time) outbox.TickReport {
	t.Helper()
	b.clock.Set(now)
	rep, err := b.svc.Tick(context.Background(), now)
	if err != nil {
		t.Fatalf("%s: tick at %s: %v", b.node, now, err)
	}
	return rep
}

func (b *box) get(t testing.TB, key string) outbox.View {
	t.Helper()
	v, err := b.svc.Get(outbox.RecordID(key))
	if err != nil {
		t.Fatalf("%s: get %s: %v", b.node, key, err)
	}
	return v
}

// exchange sends each store's changes to the other, as a sync does.
func exchange(t testing.TB, a, b *store.Store) {
	t.Helper()
	for _, p := range [][2]*store.Store{{a, b}, {b, a}} {
		from, to := p[0], p[1]
		for {
			page, err := from.ChangesAfter(to.Vector(), 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Changes) > 0 {
				if _, err := to.ApplyRemote(page.Changes); err != nil {
					t.Fatal(err)
				}
			}
			if !page.More {
				break
			}
		}
	}
}

func reminder(key, patient string) outbox.Message {
	return outbox.Message{Key: key, Patient: patient, Kind: "reminder",
		Text:  map[string]string{"zh": "您明天上午9点在内科有预约，请准时就诊。", "en": "You have an appointment tomorrow at 9:00."},
		About: "appointments/a1"}
}

var errModem = errors.New("modem: no network")
