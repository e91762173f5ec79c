package education_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/node/auth"
	"carenode/node/care"
	"carenode/node/chart"
	"carenode/node/education"
	"carenode/node/outbox"
	"carenode/node/store"
	"carenode/node/vault"
)

// testToday is the clinic's date in every test: ages are reckoned from it.
var testToday = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)

var (
	doctor = chart.Actor{Name: "dr-wang", Role: auth.RoleDoctor}
	admin  = chart.Actor{Name: "admin", Role: auth.RoleAdmin}
)

// queue keeps one message per key, as the outbox does.
type queue struct {
	mu   sync.Mutex
	msgs map[string]outbox.Message
	keys []string
}

func (q *queue) Queue(_ context.Context, m outbox.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.msgs == nil {
		q.msgs = map[string]outbox.Message{}
	}
	if _, ok := q.msgs[m.Key]; !ok {
		q.msgs[m.Key] = m
		q.keys = append(q.keys, m.Key)
	}
	return nil
}

func (q *queue) Keys() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.keys...)
}

// node is a store with the chart and education services, unlocked.
type node struct {
	st     *store.Store
	charts *chart.Service
	svc    *education.Service
	queue  *queue
}

func newSealer(t testing.TB) *vault.Sealer {
	t.Helper()
	dk, err := vault.NewDataKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := vault.NewSealer(dk, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newNode(t testing.TB, id crdt.NodeID, sealer *vault.Sealer) *node {
	t.Helper()
	now := func() time.Time { return testToday }
	opts := store.DefaultOptions(filepath.Join(t.TempDir(), "carenode.db"), id)
	opts.Create = true
	opts.Important = func(coll, f string) bool { return coll == chart.Collection && chart.Important(f) }
	opts.Logger = slog.New(slog.DiscardHandler)
	st, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	charts := chart.New(chart.Config{Records: st, Node: string(id), Now: now, Location: time.UTC, Logger: slog.New(slog.DiscardHandler)})
	if err := charts.Unlock(sealer); err != nil {
		t.Fatal(err)
	}
	q := &queue{}
	cfg := education.DefaultConfig(st, charts)
	cfg.Queue, cfg.Now, cfg.Location, cfg.Logger = q, now, time.UTC, slog.New(slog.DiscardHandler)
	svc, err := education.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &node{st: st, charts: charts, svc: svc, queue: q}
}

// register makes a patient born on birth with the diagnoses codes.
func (n *node) register(t testing.TB, name, sex, birth string, codes ...string) string {
	t.Helper()
	ctx := context.Background()
	r, err := n.charts.Register(ctx, doctor, care.PatientInput{Name: name, Sex: sex, BirthDate: birth,
		Phones: []string{"13800001111"}, Address: "云南省昆明市五华区"}, true)
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	for _, c := range codes {
		if _, _, err := n.charts.AddDiagnosis(ctx, doctor, r.ID, care.DiagnosisInput{Code: c}); err != nil {
			t.Fatalf("diagnose %s: %v", c, err)
		}
	}
	return r.ID
}

func exchange(t testing.TB, from, to *store.Store) {
	t.Helper()
	after := to.Vector()
	for {
		page, err := from.ChangesAfter(after, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Changes) > 0 {
			if _, err := to.ApplyRemote(page.Changes); err != nil {
				t.Fatal(err)
			}
		}
		after = page.Next
		if !page.More {
			return
		}
	}
}

func readArticle(t testing.TB, path string) education.Article {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := education.DecodeArticle(b)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func intp(n int) *int { return &n }
