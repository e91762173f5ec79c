package scope_test

import (
	"context"
	"slices"
	"testing"

	"carenode/crdt"
	"carenode/node/nodeconf"
	"carenode/node/plans"
	"carenode/node/store"
	"carenode/sync/scope"
	"carenode/sync/session"
	"carenode/sync/trust"
	"carenode/sync/wire"
)

// TestNurseGetsNewlyAssignedPatientWhole: a patient assigned to a nurse
// after her laptop last synced arrives whole, chart and follow-up plan,
// tasks and alerts alike, though every change of them is older than the
// laptop's mark; another nurse's patient sends nothing.
func TestNurseGetsNewlyAssignedPatientWhole(t *testing.T) {
	hubSt, laptopSt := openStore(t, "HUB"), openStore(t, "LAPTOP")
	for _, p := range []string{"p-new", "p-other"} {
		write(t, hubSt, "patients", p, "name", p+"-name")
		write(t, hubSt, plans.PlansCollection, p+".hypertension", "status", "active")
		write(t, hubSt, plans.TasksCollection, p+".hypertension.1", "status", "open")
		write(t, hubSt, plans.AlertsCollection, p+".hypertension.1.lost", "status", "open")
	}
	write(t, hubSt, "patients", "p-mine", "name", "p-mine-name")
	assign(t, hubSt, "p-mine", "li", crdt.MutAdd)
	assign(t, hubSt, "p-other", "wang", crdt.MutAdd)
	// Appointments name their patient in a field, not in their id.
	book := &fakeBookings{appts: map[string]string{"a1": "p-mine", "a2": "p-new", "a3": "p-other"}}
	for id, p := range book.appts {
		write(t, hubSt, scope.AppointmentCollection, id, "patient", p)
	}
	pol := &scope.Policies{Records: hubSt, Bookings: book}
	hub, laptop := newEngine(t, hubSt, "HUB", wire.Full()), newEngine(t, laptopSt, "LAPTOP", wire.Nurse("li"))
	marks := scope.StoreMarks{Store: laptopSt, Peer: "HUB"}
	li := trust.Peer{ID: "LAPTOP", Role: nodeconf.RoleNurse, Name: "li"}
	syncEngines(t, laptop, hub, pol, li, marks)
	if got := ids(t, laptopSt, "patients"); !slices.Equal(got, []string{"p-mine"}) {
		t.Fatalf("laptop's patients before the assignment: %v", got)
	}
	if got := ids(t, laptopSt, scope.AppointmentCollection); !slices.Equal(got, []string{"a1"}) {
		t.Errorf("laptop's appointments before the assignment: %v, want p-mine's", got)
	}

	assign(t, hubSt, "p-new", "li", crdt.MutAdd)
	syncEngines(t, laptop, hub, pol, li, marks)
	for _, tc := range []struct {
		coll string
		want []string
	}{
		{"patients", []string{"p-mine", "p-new"}},
		{plans.PlansCollection, []string{"p-new.hypertension"}},
		{plans.TasksCollection, []string{"p-new.hypertension.1"}},
		{plans.AlertsCollection, []string{"p-new.hypertension.1.lost"}},
		{scope.AppointmentCollection, []string{"a1", "a2"}},
	} {
		if got := ids(t, laptopSt, tc.coll); !slices.Equal(got, tc.want) {
			t.Errorf("laptop's %s after p-new was assigned: %v, want %v", tc.coll, got, tc.want)
		}
	}
}

// TestNurseGetsNewAppointmentOfServedPatient: an appointment booked for a
// patient the laptop already holds, and missed by the session that was
// under way (the scope is read when a session starts), comes in the next
// session although its changes are below the laptop's mark by then.
func TestNurseGetsNewAppointmentOfServedPatient(t *testing.T) {
	hubSt, laptopSt := openStore(t, "HUB"), openStore(t, "LAPTOP")
	write(t, hubSt, "patients", "p-mine", "name", "p-mine-name")
	assign(t, hubSt, "p-mine", "li", crdt.MutAdd)
	book := &fakeBookings{appts: map[string]string{}}
	pol := &scope.Policies{Records: hubSt, Bookings: book}
	hub, laptop := newEngine(t, hubSt, "HUB", wire.Full()), newEngine(t, laptopSt, "LAPTOP", wire.Nurse("li"))
	marks := scope.StoreMarks{Store: laptopSt, Peer: "HUB"}
	li := trust.Peer{ID: "LAPTOP", Role: nodeconf.RoleNurse, Name: "li"}
	syncEngines(t, laptop, hub, pol, li, marks)

	// Booked, but the booking service does not list it yet: the session
	// leaves it out and the laptop's mark passes it.
	write(t, hubSt, scope.AppointmentCollection, "a-late", "patient", "p-mine")
	syncEngines(t, laptop, hub, pol, li, marks)
	if got := ids(t, laptopSt, scope.AppointmentCollection); len(got) != 0 {
		t.Fatalf("laptop's appointments while the booking service had not listed a-late: %v", got)
	}
	book.mu.Lock()
	book.appts["a-late"] = "p-mine"
	book.mu.Unlock()
	syncEngines(t, laptop, hub, pol, li, marks)
	if got := ids(t, laptopSt, scope.AppointmentCollection); !slices.Equal(got, []string{"a-late"}) {
		t.Errorf("laptop's appointments once a-late is listed: %v", got)
	}
	if r := syncEngines(t, laptop, hub, pol, li, marks); r.Received != 0 {
		t.Errorf("a-late sent again: %+v", r)
	}
}

// TestGrantForgetsWhatLeftAtOnce: a patient unassigned from the nurse is
// forgotten as served when the next session's grant is made, not only
// once that session completes: that session moves the laptop's mark past
// the patient's changes, and should it fail, the patient assigned again
// later must still come whole. A grant with nothing new has no Fresh, so
// the session does not scan the log for it.
func TestGrantForgetsWhatLeftAtOnce(t *testing.T) {
	hubSt := openStore(t, "HUB")
	for _, p := range []string{"p1", "p2"} {
		write(t, hubSt, "patients", p, "name", p)
	}
	assign(t, hubSt, "p1", "li", crdt.MutAdd)
	assign(t, hubSt, "p2", "li", crdt.MutAdd)
	grants := &scope.MemGrants{}
	pol := &scope.Policies{Records: hubSt, Grants: grants}
	li := trust.Peer{ID: "LAPTOP", Role: nodeconf.RoleNurse, Name: "li"}
	gp, ok := pol.For(li).(session.GrantPolicy)
	if !ok {
		t.Fatal("the nurse policy is not a session.GrantPolicy")
	}
	key := scope.MarkKey("LAPTOP", wire.Nurse("li"))
	grant := func() session.Grant {
		t.Helper()
		g, err := gp.Grant("LAPTOP", wire.Nurse("li"))
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	g := grant()
	if g.Fresh == nil || !g.Fresh(crdt.Change{Collection: "patients", Record: "p1"}) {
		t.Fatal("first grant: p1 not fresh")
	}
	if err := g.Served(); err != nil {
		t.Fatal(err)
	}
	if g := grant(); g.Fresh != nil {
		t.Error("a grant with nothing new has a Fresh: the session would scan the log for nothing")
	}

	assign(t, hubSt, "p2", "li", crdt.MutRemove) // unassigned; the next session fails before Served
	grant()
	if got, _ := grants.Granted(key); got["p2"] || !got["p1"] {
		t.Errorf("granted after a grant without p2: %v, want p1 only", got)
	}
	assign(t, hubSt, "p2", "li", crdt.MutAdd)
	if g := grant(); g.Fresh == nil || !g.Fresh(crdt.Change{Collection: "patients", Record: "p2"}) ||
		g.Fresh(crdt.Change{Collection: "patients", Record: "p1"}) {
		t.Error("p2 assigned again is not fresh, or p1 is")
	}
}

// assign adds nurse to (MutAdd) or removes her from (MutRemove) the
// assignees of patient p, as a desk does.
func assign(t *testing.T, st *store.Store, p, nurse string, kind crdt.MutKind) {
	t.Helper()
	if _, err := st.Write(context.Background(), store.WriteRequest{Collection: "patients", Record: p,
		Edits: []store.Edit{{Kind: kind, Field: "assignees", Elem: nurse, SeenCurrent: true}}}); err != nil {
		t.Fatal(err)
	}
}
