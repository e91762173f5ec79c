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
	assign := func(p, nurse string) {
		t.Helper()
		if _, err := hubSt.Write(context.Background(), store.WriteRequest{Collection: "patients", Record: p,
			Edits: []store.Edit{{Kind: crdt.MutAdd, Field: "assignees", Elem: nurse}}}); err != nil {
			t.Fatal(err)
		}
	}
	assign("p-mine", "li")
	assign("p-other", "wang")
	pol := &scope.Policies{Records: hubSt}
	hub, laptop := newEngine(t, hubSt, "HUB", wire.Full()), newEngine(t, laptopSt, "LAPTOP", wire.Nurse("li"))
	marks := scope.StoreMarks{Store: laptopSt, Peer: "HUB"}
	li := trust.Peer{ID: "LAPTOP", Role: nodeconf.RoleNurse, Name: "li"}
	syncEngines(t, laptop, hub, pol, li, marks)
	if got := ids(t, laptopSt, "patients"); !slices.Equal(got, []string{"p-mine"}) {
		t.Fatalf("laptop's patients before the assignment: %v", got)
	}

	assign("p-new", "li")
	syncEngines(t, laptop, hub, pol, li, marks)
	for _, tc := range []struct {
		coll string
		want []string
	}{
		{"patients", []string{"p-mine", "p-new"}},
		{plans.PlansCollection, []string{"p-new.hypertension"}},
		{plans.TasksCollection, []string{"p-new.hypertension.1"}},
		{plans.AlertsCollection, []string{"p-new.hypertension.1.lost"}},
	} {
		if got := ids(t, laptopSt, tc.coll); !slices.Equal(got, tc.want) {
			t.Errorf("laptop's %s after p-new was assigned: %v, want %v", tc.coll, got, tc.want)
		}
	}
}
