package booking_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/node/auth"
	"carenode/node/booking"
	"carenode/node/chart"
	"carenode/node/outbox"
	"carenode/node/store"
)

var (
	shanghai = mustLoc("Asia/Shanghai")
	desk     = chart.Actor{Name: "desk1", Role: auth.RoleDesk}
	kiosk    = chart.Actor{Name: "kiosk1", Role: auth.RoleKiosk}
	// monday is the tests' "now": Monday 23 November 2026, 07:00 in the clinic.
	monday = time.Date(2026, 11, 23, 7, 0, 0, 0, shanghai)
)

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// at is a clinic-local time on the tests' calendar.
func at(day, hhmm string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hhmm, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

// testClock is a store clock that moves 1 ms per reading from a fixed
// start, so stamps (and so booking order) do not depend on the wall clock.
func testClock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Millisecond)
		return t
	}
}

// queue records queued reminders by key, as the outbox does: queueing a
// key twice keeps one message.
type queue struct {
	mu   sync.Mutex
	msgs map[string]outbox.Message
	n    int
}

func (q *queue) Queue(_ context.Context, m outbox.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.n++
	if q.msgs == nil {
		q.msgs = map[string]outbox.Message{}
	}
	if _, ok := q.msgs[m.Key]; !ok {
		q.msgs[m.Key] = m
	}
	return nil
}

// node is a store on a real bbolt file with the booking service on it.
type node struct {
	id    crdt.NodeID
	store *store.Store
	svc   *booking.Service
	queue *queue
}

func newNode(t testing.TB, id crdt.NodeID) *node {
	t.Helper()
	opts := store.DefaultOptions(filepath.Join(t.TempDir(), "carenode.db"), id)
	opts.Create = true
	opts.Now = testClock()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.Important = func(coll, field string) bool { return coll == booking.CollAppointments && booking.Important(field) }
	st, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return startNode(t, st, id)
}

func startNode(t testing.TB, st *store.Store, id crdt.NodeID) *node {
	t.Helper()
	q := &queue{}
	cfg := booking.DefaultConfig()
	cfg.Records, cfg.Node, cfg.Outbox = st, string(id), q
	cfg.ClinicZh, cfg.ClinicEn = "青山卫生院", "Qingshan Health Centre"
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Now = func() time.Time { t.Fatal("the service read the wall clock"); return time.Time{} }
	svc, err := booking.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return &node{id: id, store: st, svc: svc, queue: q}
}

// clinicFile is testdata/clinic.json.
type clinicFile struct {
	Departments []booking.Department `json:"departments"`
	Doctors     []booking.Doctor     `json:"doctors"`
	Schedules   []booking.Schedule   `json:"schedules"`
	Closures    []booking.Closure    `json:"closures"`
}

// setUp loads the clinic's catalogue and registers patients p1…pN (bare
// chart records: booking only needs them to exist).
func (n *node) setUp(t testing.TB, patients int) {
	t.Helper()
	b, err := os.ReadFile("testdata/clinic.json")
	if err != nil {
		t.Fatal(err)
	}
	var c clinicFile
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, d := range c.Departments {
		if _, err := n.svc.PutDepartment(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range c.Doctors {
		if _, err := n.svc.PutDoctor(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range c.Schedules {
		if _, err := n.svc.AddSchedule(ctx, s, monday); err != nil {
			t.Fatal(err)
		}
	}
	for _, cl := range c.Closures {
		if _, err := n.svc.PutClosure(ctx, cl); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= patients; i++ {
		addPatient(t, n.store, patientID(i))
	}
}

func patientID(i int) string { return "p" + string(rune('0'+i/10)) + string(rune('0'+i%10)) }

func addPatient(t testing.TB, st *store.Store, id string) {
	t.Helper()
	_, err := st.Write(context.Background(), store.WriteRequest{Collection: chart.Collection, Record: id, Create: true,
		Edits: []store.Edit{{Kind: crdt.MutSet, Field: "sex", Value: []byte(`"female"`)}}})
	if err != nil {
		t.Fatal(err)
	}
}

// exchange sends from's changes that to lacks, in pages, as sync does.
func exchange(t testing.TB, from, to *node) {
	t.Helper()
	after := to.store.Vector()
	for {
		page, err := from.store.ChangesAfter(after, 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Changes) > 0 {
			if _, err := to.store.ApplyRemote(page.Changes); err != nil {
				t.Fatal(err)
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
	exchange(t, a, b)
	exchange(t, b, a)
}

func book(t testing.TB, n *node, patient, slot string, now time.Time) booking.Appointment {
	t.Helper()
	a, err := n.svc.Book(context.Background(), desk, booking.BookInput{Patient: patient, Slot: slot}, now)
	if err != nil {
		t.Fatalf("book %s in %s: %v", patient, slot, err)
	}
	return a
}

func wantErr(t testing.TB, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("got error %v, want %v", err, kind)
	}
	var be *booking.Error
	if !errors.As(err, &be) || be.En == "" || be.Zh == "" {
		t.Fatalf("error %v is not a bilingual booking.Error", err)
	}
}

// equalJSON compares two values by their JSON.
func equalJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
