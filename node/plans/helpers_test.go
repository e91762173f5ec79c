package plans_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/node/auth"
	"carenode/node/chart"
	"carenode/node/outbox"
	"carenode/node/plans"
	"carenode/node/store"
)

var (
	doctor     = chart.Actor{Name: "dr-wang", Role: auth.RoleDoctor}
	nurse      = chart.Actor{Name: "nurse-zhao", Role: auth.RoleNurse}
	desk       = chart.Actor{Name: "desk-li", Role: auth.RoleDesk}
	admin      = chart.Actor{Name: "admin", Role: auth.RoleAdmin}
	testStart  = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)
	quietLog   = slog.New(slog.DiscardHandler)
	background = context.Background()
)

// clock is a test clock that moves on a millisecond at each reading, so
// attempts made one after another sort in order.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Millisecond)
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// queue records what the service queues for patients.
type queue struct {
	mu   sync.Mutex
	msgs []outbox.Message
}

func (q *queue) Queue(_ context.Context, m outbox.Message) error {
	q.mu.Lock()
	q.msgs = append(q.msgs, m)
	q.mu.Unlock()
	return nil
}

func (q *queue) all() []outbox.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]outbox.Message(nil), q.msgs...)
}

// node is one store on a bbolt file and its plans service.
type node struct {
	st    *store.Store
	svc   *plans.Service
	clock *clock
	queue *queue
}

// newNode opens a fresh store named id under t.TempDir with a service on
// it; both close at cleanup.
func newNode(t testing.TB, id crdt.NodeID) *node {
	t.Helper()
	opts := store.DefaultOptions(filepath.Join(t.TempDir(), string(id)+".db"), id)
	opts.Create = true
	opts.Logger = quietLog
	c := &clock{now: testStart}
	opts.Now = c.Now
	st, err := store.Open(opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	n := &node{st: st, clock: c, queue: &queue{}}
	n.svc = openService(t, n)
	return n
}

func serviceConfig(n *node) plans.Config {
	cfg := plans.DefaultConfig(n.st)
	cfg.Now, cfg.Location, cfg.Logger, cfg.Queue = n.clock.Now, time.UTC, quietLog, n.queue
	cfg.Supervisor = "head-nurse"
	return cfg
}

func openService(t testing.TB, n *node) *plans.Service {
	t.Helper()
	svc, err := plans.Open(serviceConfig(n))
	if err != nil {
		t.Fatalf("open plans: %v", err)
	}
	t.Cleanup(svc.Close)
	return svc
}

// patient writes a bare patient record (the service only checks that the
// chart exists) and returns its id.
func (n *node) patient(t tb) string {
	t.Helper()
	id := store.NewRecordID(n.clock.Now())
	if _, err := n.st.Write(background, store.WriteRequest{Collection: chart.Collection, Record: id, Create: true}); err != nil {
		t.Fatal(err)
	}
	return id
}

// exchange sends each store the changes the other lacks, both ways.
func exchange(t tb, a, b *node) {
	t.Helper()
	send := func(from, to *node) {
		for {
			page, err := from.st.ChangesAfter(to.st.Vector(), 500)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Changes) == 0 {
				return
			}
			if _, err := to.st.ApplyRemote(page.Changes); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(a, b)
	send(b, a)
}

// eventually waits (up to 30 s) for cond, which the service's follower
// makes true after a sync: it applies peers' changes on its own goroutine.
func eventually(t tb, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func hypertension(t tb, n *node, patient string) plans.Plan {
	t.Helper()
	ps, err := n.svc.Diagnosed(background, doctor, patient, "I10")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Template != "hypertension" {
		t.Fatalf("I10 started %+v, want one hypertension plan", ps)
	}
	return ps[0]
}

func attempt(t tb, n *node, who chart.Actor, task, outcome string, answers map[string]any) plans.AttemptResult {
	t.Helper()
	res, err := n.svc.Attempt(background, who, task, plans.AttemptInput{Outcome: outcome, Answers: answers})
	if err != nil {
		t.Fatalf("attempt %s on %s: %v", outcome, task, err)
	}
	return res
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tb is what the helpers need of a test: *testing.T, *testing.B and
// *rapid.T all have it.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}
