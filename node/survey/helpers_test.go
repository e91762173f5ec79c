package survey_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/internal/testclock"
	"carenode/node/outbox"
	"carenode/node/store"
	"carenode/node/survey"
	"carenode/node/vault"
)

// testStart is the clinic's clock at the start of every test.
var testStart = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)

// queue records what the service queues, keeping one message per key as
// the outbox does.
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
	if _, ok := q.msgs[m.Key]; ok {
		return nil
	}
	q.msgs[m.Key] = m
	q.keys = append(q.keys, m.Key)
	return nil
}

// node is one node's store and survey service.
type node struct {
	st    *store.Store
	svc   *survey.Service
	clock *testclock.Clock
	queue *queue
}

// newSealer returns a Sealer under a fresh data key.
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

// newNode opens a fresh store under t.TempDir as id, with a survey service
// unlocked by sealer (nil: locked).
func newNode(t testing.TB, id crdt.NodeID, sealer *vault.Sealer) *node {
	t.Helper()
	c := testclock.New(testStart)
	opts := store.DefaultOptions(filepath.Join(t.TempDir(), "carenode.db"), id)
	opts.Create = true
	opts.Now = c.Now
	opts.Logger = slog.New(slog.DiscardHandler)
	st, err := store.Open(opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	q := &queue{}
	cfg := survey.DefaultConfig(st)
	cfg.Now, cfg.Queue, cfg.Location = c.Now, q, time.UTC
	cfg.Logger = slog.New(slog.DiscardHandler)
	svc, err := survey.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sealer != nil {
		svc.Unlock(sealer)
	}
	return &node{st: st, svc: svc, clock: c, queue: q}
}

// exchange sends every change from has that to lacks, as sync would.
func exchange(t testing.TB, from, to *store.Store) {
	t.Helper()
	after := to.Vector()
	for {
		page, err := from.ChangesAfter(after, 100)
		if err != nil {
			t.Fatalf("changes after: %v", err)
		}
		if len(page.Changes) > 0 {
			if _, err := to.ApplyRemote(page.Changes); err != nil {
				t.Fatalf("apply remote: %v", err)
			}
		}
		after = page.Next
		if !page.More {
			return
		}
	}
}

func syncBoth(t testing.TB, a, b *node) {
	t.Helper()
	exchange(t, a.st, b.st)
	exchange(t, b.st, a.st)
}

// scores makes a score map in dimension order.
func scores(skill, attitude, environment, cost, waiting int) map[string]int {
	return map[string]int{survey.DimSkill: skill, survey.DimAttitude: attitude, survey.DimEnvironment: environment,
		survey.DimCost: cost, survey.DimWaiting: waiting}
}

// input is a valid kiosk survey of visit with the given scores.
func input(visit string, sc map[string]int) survey.Input {
	return survey.Input{Visit: visit, Patient: "p1", Department: "internal-medicine", Doctor: "dr-wang",
		Channel: survey.ChannelKiosk, Scores: sc}
}
