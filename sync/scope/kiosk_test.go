package scope_test

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/node/nodeconf"
	"carenode/node/store"
	"carenode/sync/scope"
	"carenode/sync/session"
	"carenode/sync/trust"
	"carenode/sync/wire"
)

// fakeBookings holds appointment start times by patient, and appointment
// ids with their patients, and records the windows it was asked about.
type fakeBookings struct {
	mu    sync.Mutex
	at    map[string]time.Time
	appts map[string]string // appointment id -> patient
	asked [][2]time.Time
}

func (f *fakeBookings) AppointmentsOf(patients map[string]bool) (map[string]bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]bool{}
	for id, p := range f.appts {
		if patients[p] {
			out[id] = true
		}
	}
	return out, nil
}

func (f *fakeBookings) PatientsBooked(from, to time.Time) (map[string]bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, [2]time.Time{from, to})
	out := map[string]bool{}
	for p, t := range f.at {
		if !t.Before(from) && t.Before(to) {
			out[p] = true
		}
	}
	return out, nil
}

func openStore(t testing.TB, node crdt.NodeID) *store.Store {
	t.Helper()
	opts := store.DefaultOptions(filepath.Join(t.TempDir(), string(node)+".db"), node)
	opts.Create, opts.NoSync = true, true
	st, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func write(t testing.TB, st *store.Store, coll, rec, field, value string) {
	t.Helper()
	if _, err := st.Write(context.Background(), store.WriteRequest{Collection: coll, Record: rec,
		Edits: []store.Edit{{Kind: crdt.MutSet, Field: field, Value: []byte(`"` + value + `"`), SeenCurrent: true}}}); err != nil {
		t.Fatal(err)
	}
}

// syncKiosk runs one session, the kiosk initiating, the hub serving it
// under pol as a kiosk certificate would be.
func syncKiosk(t testing.TB, kiosk, hub *session.Engine, pol *scope.Policies, marks session.Marks) session.Result {
	t.Helper()
	return syncEngines(t, kiosk, hub, pol, trust.Peer{ID: "KIOSK", Role: nodeconf.RoleKiosk, Name: "kiosk1"}, marks)
}

// syncEngines runs one session, n initiating, the hub serving it under pol
// as the holder of peer's certificate.
func syncEngines(t testing.TB, n, hub *session.Engine, pol *scope.Policies, peer trust.Peer, marks session.Marks) session.Result {
	t.Helper()
	ar, bw := io.Pipe()
	br, aw := io.Pipe()
	var wg sync.WaitGroup
	var rn session.Result
	var en error
	wg.Go(func() {
		rn, en = n.InitiateWith(context.Background(), ar, aw, "HUB", session.Options{Marks: marks})
	})
	_, eh := hub.RespondWith(context.Background(), br, bw, crdt.NodeID(peer.ID), session.Options{Policy: pol.For(peer)})
	if eh != nil {
		ar.Close()
		br.Close()
	}
	wg.Wait()
	if en != nil || eh != nil {
		t.Fatalf("sync %s: %v; hub: %v", peer.Name, en, eh)
	}
	return rn
}

// newEngine is a sync engine over st for node, asking for scope s.
func newEngine(t testing.TB, st *store.Store, node crdt.NodeID, s wire.Scope) *session.Engine {
	t.Helper()
	cfg := session.DefaultConfig(node, st)
	cfg.Scope = s
	e, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func ids(t *testing.T, st *store.Store, coll string) []string {
	t.Helper()
	views, err := st.List(coll, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range views {
		out = append(out, v.ID)
	}
	return out
}

// TestKioskScopeFromBookings: a kiosk gets the patients booked today and
// tomorrow (clinic time), the appointments and staff, nothing else; a
// patient booked later arrives whole although all its changes are older
// than the kiosk's mark; grants survive in a file.
func TestKioskScopeFromBookings(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	// 23:30 UTC on 1 March is 07:30 on 2 March in the clinic.
	now := time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC)
	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, shanghai) }
	book := &fakeBookings{at: map[string]time.Time{
		"p-today": day(2, 9), "p-tomorrow": day(3, 16), "p-yesterday": day(1, 9), "p-later": day(4, 0)}}

	hubSt, kioskSt := openStore(t, "HUB"), openStore(t, "KIOSK")
	for _, p := range []string{"p-today", "p-tomorrow", "p-yesterday", "p-later", "p-none"} {
		for _, f := range []string{"name", "phones", "cardNumber"} { // fields a kiosk holds
			write(t, hubSt, "patients", p, f, p+"-"+f)
		}
		write(t, hubSt, "audit", p+".20260301", "read", "x")
		write(t, hubSt, scope.AppointmentCollection, "a-"+p, "patient", p)
	}
	write(t, hubSt, "staff", "li", "role", "nurse")
	write(t, hubSt, "visits", "v1", "note", "x")

	grants := &scope.FileGrants{Path: filepath.Join(t.TempDir(), "grants.json")}
	pol := &scope.Policies{Records: hubSt, Bookings: book, Now: func() time.Time { return now }, Location: shanghai, Grants: grants}
	hub, kiosk := newEngine(t, hubSt, "HUB", wire.Full()), newEngine(t, kioskSt, "KIOSK", wire.Kiosk())
	marks := scope.StoreMarks{Store: kioskSt, Peer: "HUB"}
	syncKiosk(t, kiosk, hub, pol, marks)

	if got := book.asked[0]; !got[0].Equal(day(2, 0)) || !got[1].Equal(day(4, 0)) {
		t.Errorf("asked for bookings in [%s, %s), want the clinic's today and tomorrow", got[0], got[1])
	}
	for _, tc := range []struct {
		coll string
		want []string
	}{
		{"patients", []string{"p-today", "p-tomorrow"}},
		{scope.AppointmentCollection, []string{"a-p-later", "a-p-none", "a-p-today", "a-p-tomorrow", "a-p-yesterday"}},
		{"staff", []string{"li"}}, {"audit", nil}, {"visits", nil},
	} {
		if got := ids(t, kioskSt, tc.coll); !slices.Equal(got, tc.want) {
			t.Errorf("kiosk's %s: %v, want %v", tc.coll, got, tc.want)
		}
	}
	if r := syncKiosk(t, kiosk, hub, pol, marks); !r.Idle {
		t.Errorf("second sync not idle: %+v", r)
	}

	// The next morning p-later is tomorrow's: it comes whole, though none
	// of its changes is new. p-today has left the scope; its copy stays.
	now = now.Add(24 * time.Hour)
	write(t, hubSt, "patients", "p-today", "name", "done")
	pol2 := &scope.Policies{Records: hubSt, Bookings: book, Now: func() time.Time { return now }, Location: shanghai,
		Grants: &scope.FileGrants{Path: grants.Path}} // as after a restart of the hub
	r := syncKiosk(t, kiosk, hub, pol2, marks)
	if got := ids(t, kioskSt, "patients"); !slices.Equal(got, []string{"p-later", "p-today", "p-tomorrow"}) {
		t.Fatalf("kiosk's patients the next day: %v", got)
	}
	if r.Received != 3 {
		t.Errorf("received %d changes, want p-later's 3", r.Received)
	}
	v, err := kioskSt.Get("patients", "p-today")
	if err != nil {
		t.Fatal(err)
	}
	if string(v.Fields["name"].Value) != `"p-today-name"` {
		t.Errorf("p-today, out of scope, was sent its new name: %s", v.Fields["name"].Value)
	}
	if r := syncKiosk(t, kiosk, hub, pol2, marks); r.Received != 0 {
		t.Errorf("p-later sent again: %+v", r)
	}
}

// TestKioskFollowsMergedBookedPatient: a patient booked under a record
// that is then merged into another (a duplicate found at the desk) is
// found at the kiosk under the survivor: the survivor comes whole, though
// it has no booking of its own, and the booked id reads as it.
func TestKioskFollowsMergedBookedPatient(t *testing.T) {
	now := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	book := &fakeBookings{at: map[string]time.Time{"p-dup": now.Add(2 * time.Hour)}}
	hubSt, kioskSt := openStore(t, "HUB"), openStore(t, "KIOSK")
	for _, p := range []string{"p-dup", "p-main", "p-other"} {
		write(t, hubSt, "patients", p, "name", p+"-name")
	}
	write(t, hubSt, "patients", "p-main", "phones", "13800138000")
	pol := &scope.Policies{Records: hubSt, Bookings: book, Now: func() time.Time { return now }, Location: time.UTC}
	hub, kiosk := newEngine(t, hubSt, "HUB", wire.Full()), newEngine(t, kioskSt, "KIOSK", wire.Kiosk())
	marks := scope.StoreMarks{Store: kioskSt, Peer: "HUB"}
	syncKiosk(t, kiosk, hub, pol, marks)
	if got := ids(t, kioskSt, "patients"); !slices.Equal(got, []string{"p-dup"}) {
		t.Fatalf("kiosk's patients before the merge: %v", got)
	}

	if _, err := hubSt.Write(context.Background(), store.WriteRequest{Collection: "patients", Record: "p-dup",
		Edits: []store.Edit{{Kind: crdt.MutMerge, Into: "p-main"}}}); err != nil {
		t.Fatal(err)
	}
	syncKiosk(t, kiosk, hub, pol, marks)
	if got := ids(t, kioskSt, "patients"); !slices.Equal(got, []string{"p-main"}) {
		t.Errorf("kiosk's patients after the merge: %v, want the survivor only", got)
	}
	v, err := kioskSt.Get("patients", "p-dup")
	if err != nil {
		t.Fatalf("booked id at the kiosk after the merge: %v", err)
	}
	if v.ID != "p-main" || string(v.Fields["phones"].Value) != `"13800138000"` || !slices.Equal(v.Merged, []string{"p-dup"}) {
		t.Errorf("booked id reads as %s %v, phones %s; want p-main with p-dup merged in and its phone", v.ID, v.Merged, v.Fields["phones"].Value)
	}
	if _, err := kioskSt.Get("patients", "p-other"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("p-other, not booked, at the kiosk: %v", err)
	}
}
