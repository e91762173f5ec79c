package readings_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/devices"
	"carenode/devices/hl7"
	"carenode/devices/readingsink"
	"carenode/internal/testclock"
	"carenode/node/readings"
	"carenode/node/store"
	"carenode/node/vault"
)

// patients is a fake chart index: identifier -> patient ids. locked makes
// Identify fail as a locked chart service does.
type patients struct {
	mu     sync.Mutex
	ids    map[string][]string
	locked bool
}

var errChartLocked = errors.New("patient data is locked")

func (p *patients) Identify(identifier string) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.locked {
		return nil, errChartLocked
	}
	return p.ids[identifier], nil
}

func (p *patients) setLocked(v bool) {
	p.mu.Lock()
	p.locked = v
	p.mu.Unlock()
}

// counts is a readings.Metrics that counts.
type counts struct {
	mu                    sync.Mutex
	stored, queued, dupes int
	storedFmt, dupesByFmt map[string]int
}

func (c *counts) ReadingStored(format string, queued bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stored++
	if queued {
		c.queued++
	}
}

func (c *counts) ReadingDuplicate(format string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dupes++
}

func (c *counts) get() (stored, queued, dupes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stored, c.queued, c.dupes
}

// node is one node's store and readings service on a real bbolt file.
type node struct {
	path     string
	store    *store.Store
	svc      *readings.Service
	patients *patients
	metrics  *counts
	clock    *testclock.Clock
}

var t0 = time.Date(2026, 3, 1, 2, 15, 0, 0, time.UTC)

// dataKey is the network's data key in these tests; every node derives the
// same drop box from it.
func dataKey(t testing.TB) vault.DataKey {
	t.Helper()
	dk, err := vault.DataKeyFromBytes([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return dk
}

func dropBox(t testing.TB) *vault.DropBox {
	t.Helper()
	db, err := vault.NewDropBox(dataKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func openStore(t testing.TB, path string, id crdt.NodeID) *store.Store {
	t.Helper()
	opts := store.DefaultOptions(path, id)
	opts.Create = true
	opts.Important = func(coll, field string) bool { return coll == readings.Collection && readings.Important(field) }
	s, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newNode opens a node whose service has been unlocked once (so it has its
// drop box key) and is unlocked now, unless locked is given.
func newNode(t testing.TB, id crdt.NodeID, state ...string) *node {
	t.Helper()
	path := filepath.Join(t.TempDir(), "carenode.db")
	n := &node{path: path, store: openStore(t, path, id), clock: testclock.New(t0),
		patients: &patients{ids: map[string][]string{}}, metrics: &counts{}}
	t.Cleanup(func() {
		if n.svc != nil {
			n.svc.Close()
		}
		if err := n.store.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	n.open(t)
	st := ""
	if len(state) > 0 {
		st = state[0]
	}
	if st != "never-unlocked" {
		if err := n.svc.Unlock(context.Background(), dropBox(t)); err != nil {
			t.Fatal(err)
		}
	}
	if st == "locked" {
		n.svc.Lock()
	}
	return n
}

func (n *node) open(t testing.TB) {
	t.Helper()
	cfg := readings.DefaultConfig(n.store)
	cfg.Patients, cfg.Metrics, cfg.Now, cfg.Location = n.patients, n.metrics, n.clock.Now, time.UTC
	cfg.Logger = slog.New(slog.DiscardHandler)
	svc, err := readings.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n.svc = svc
}

// reopen closes and opens the store and the service again, as a restart.
func (n *node) reopen(t testing.TB, id crdt.NodeID) {
	t.Helper()
	n.svc.Close()
	if err := n.store.Close(); err != nil {
		t.Fatal(err)
	}
	n.store = openStore(t, n.path, id)
	n.open(t)
}

// sample reads a shared HL7 test message with CR segment ends.
func sample(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimRight(strings.ReplaceAll(string(b), "\n", "\r"), "\r")
}

// bpMessage is the blood-pressure sample with its control id, patient
// identifier, systolic value and result status replaced; pid "" drops
// the PID segment.
func bpMessage(t testing.TB, control, pid, systolic, status string) string {
	t.Helper()
	m := sample(t, "valid-bp-continua-wan.hl7v2")
	m = strings.Replace(m, "|MSGID1234|", "|"+control+"|", 1)
	if pid == "" {
		segs := strings.Split(m, "\r")
		var keep []string
		for _, s := range segs {
			if !strings.HasPrefix(s, "PID|") {
				keep = append(keep, s)
			}
		}
		m = strings.Join(keep, "\r")
	} else {
		m = strings.Replace(m, "789567^^^", pid+"^^^", 1)
	}
	m = strings.Replace(m, "|1.0.1.1|120|266016^MDC_DIM_MMHG^MDC|||||R", "|1.0.1.1|"+systolic+"|266016^MDC_DIM_MMHG^MDC|||||"+status, 1)
	return m
}

// batch parses an HL7 message into what the MLLP listener would hand the
// service through devices/readingsink, received now.
func batch(t testing.TB, msg string, now time.Time) readings.Message {
	t.Helper()
	m, err := hl7.Parse([]byte(msg))
	if err != nil {
		t.Fatalf("parse test message: %v\n%s", err, msg)
	}
	b := devices.BatchFromHL7(m, "")
	b.Source, b.Received = "mllp:127.0.0.1:50000", now
	return readingsink.Message(b)
}

func (n *node) store1(t testing.TB, b readings.Message) {
	t.Helper()
	if err := n.svc.Store(context.Background(), b); err != nil {
		t.Fatalf("store: %v", err)
	}
}

func (n *node) review(t testing.TB) []readings.Item {
	t.Helper()
	items, err := n.svc.Review(0)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func (n *node) observations(t testing.TB, history bool, patients ...string) []readings.Item {
	t.Helper()
	items, err := n.svc.Observations(patients, history)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// countRecords returns how many records coll holds.
func countRecords(t testing.TB, s *store.Store, coll string) int {
	t.Helper()
	vs, err := s.List(coll, "", 100000)
	if err != nil {
		t.Fatal(err)
	}
	return len(vs)
}

// exchange sends each store the changes the other lacks.
func exchange(t testing.TB, a, b *store.Store) {
	t.Helper()
	for _, p := range [][2]*store.Store{{a, b}, {b, a}} {
		from, to := p[0], p[1]
		for {
			page, err := from.ChangesAfter(to.Vector(), 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Changes) == 0 {
				break
			}
			if _, err := to.ApplyRemote(page.Changes); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// ids returns the distinct reading ids of items, in order.
func ids(items []readings.Item) []string {
	var out []string
	for _, it := range items {
		if len(out) == 0 || out[len(out)-1] != it.ID {
			out = append(out, it.ID)
		}
	}
	return out
}

// byLOINC returns the item with code loinc, failing if there is not one.
func byLOINC(t testing.TB, items []readings.Item, loinc string) readings.Item {
	t.Helper()
	var found []readings.Item
	for _, it := range items {
		if it.LOINC == loinc {
			found = append(found, it)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d items with LOINC %s, want 1: %+v", len(found), loinc, items)
	}
	return found[0]
}
