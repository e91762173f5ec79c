package scope_test

import (
	"errors"
	"slices"
	"testing"

	"carenode/crdt"
	"carenode/node/nodeconf"
	"carenode/node/store"
	"carenode/sync/scope"
	"carenode/sync/session"
	"carenode/sync/trust"
	"carenode/sync/wire"
)

type fakeRecords []store.RecordView

func (f fakeRecords) List(coll, after string, limit int) ([]store.RecordView, error) {
	var out []store.RecordView
	for _, v := range f {
		if v.Collection == coll && v.ID > after && len(out) < limit {
			out = append(out, v)
		}
	}
	return out, nil
}

// Get finds id as a survivor or among the ids merged into one.
func (f fakeRecords) Get(coll, id string) (store.RecordView, error) {
	for _, v := range f {
		if v.Collection == coll && (v.ID == id || slices.Contains(v.Merged, id)) {
			return v, nil
		}
	}
	return store.RecordView{}, store.ErrNotFound
}

func patient(id string, merged []string, nurses ...string) store.RecordView {
	return store.RecordView{Collection: "patients", ID: id, Merged: merged,
		View: crdt.View{Sets: map[string][]string{"assignees": nurses}}}
}

func TestPolicies(t *testing.T) {
	p := &scope.Policies{Records: fakeRecords{
		patient("a1", []string{"a0"}, "li"), patient("b1", nil, "wang"), patient("c1", nil, "li", "wang"),
	}}
	nurse := trust.Peer{ID: "N", Role: nodeconf.RoleNurse, Name: "li"}
	f, err := p.For(nurse).Filter("N", wire.Nurse("li"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		coll, rec string
		want      bool
	}{
		{"patients", "a1", true}, {"patients", "a0", true}, {"patients", "c1", true}, {"patients", "b1", false},
		{"audit", "a0.20250301", true}, {"audit", "b1.20250301", false}, {"audit", "a1", false},
		{"staff", "wang", true}, {"revocations", "X", true}, {"visits", "a1-v1", false},
		{"followup_plans", "a1.hypertension", true}, {"followup_tasks", "a1.hypertension.3", true},
		{"followup_alerts", "c1.x7k2", true}, {"followup_tasks", "b1.hypertension.1", false},
		{"followup_alerts", "b1.hypertension.1.lost", false}, {"followup_templates", "hypertension", true},
		{"followup_versions", "hypertension.ab12", true},
	} {
		if _, got := f(crdt.Change{Collection: tc.coll, Record: tc.rec}); got != tc.want {
			t.Errorf("nurse li, %s/%s: %v, want %v", tc.coll, tc.rec, got, tc.want)
		}
	}
	for _, tc := range []struct {
		role nodeconf.Role
		s    wire.Scope
		ok   bool
	}{
		{nodeconf.RoleNurse, wire.Nurse("wang"), false}, {nodeconf.RoleNurse, wire.Full(), false},
		{nodeconf.RoleNurse, wire.Kiosk(), false}, {nodeconf.RoleKiosk, wire.Full(), false},
		{nodeconf.RoleKiosk, wire.Nurse("li"), false}, {nodeconf.RoleKiosk, wire.Kiosk(), true},
		{nodeconf.RoleClinic, wire.Full(), true}, {nodeconf.RoleHub, wire.Nurse("wang"), true},
	} {
		_, err := p.For(trust.Peer{ID: "N", Role: tc.role, Name: "li"}).Filter("N", tc.s)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, session.ErrScopeRefused)) {
			t.Errorf("%s asking %s: %v", tc.role, tc.s, err)
		}
	}
	kiosk := scope.KioskFilter()
	name := []crdt.Mutation{{Kind: crdt.MutSet, Field: "name", Value: []byte(`"x"`)}}
	if _, ok := kiosk(crdt.Change{Collection: "audit", Record: "a1.20250301", Muts: name}); ok {
		t.Error("kiosk filter lets an audit day through")
	}
	if _, ok := kiosk(crdt.Change{Collection: "patients", Record: "b1", Muts: name}); !ok {
		t.Error("kiosk filter holds back a patient's name")
	}
}
