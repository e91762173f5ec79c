package scope_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/node/auth"
	"carenode/node/care"
	"carenode/node/chart"
	"carenode/node/nodeconf"
	"carenode/node/residentid"
	"carenode/node/store"
	"carenode/node/vault"
	"carenode/sync/scope"
	"carenode/sync/session"
	"carenode/sync/trust"
	"carenode/sync/wire"
)

// TestKioskFilterTrims: the kiosk filter keeps, of a patient change, the
// writes of KioskFields and the record-wide mutations, leaves the change it
// was given untouched, and refuses a change with nothing left.
func TestKioskFilterTrims(t *testing.T) {
	set := func(f string) crdt.Mutation { return crdt.Mutation{Kind: crdt.MutSet, Field: f, Value: []byte(`"v"`)} }
	add := func(f, e string) crdt.Mutation { return crdt.Mutation{Kind: crdt.MutAdd, Field: f, Elem: e} }
	merge := crdt.Mutation{Kind: crdt.MutMerge, Into: "p2"}
	touch := crdt.Mutation{Kind: crdt.MutTouch}
	del := crdt.Mutation{Kind: crdt.MutDelete}
	fact := crdt.Mutation{Kind: crdt.MutFact, Field: "events", FactID: "f1", Value: []byte(`{}`)}
	kiosk := scope.KioskFilter()
	for _, tc := range []struct {
		name string
		coll string
		in   []crdt.Mutation
		want []crdt.Mutation // nil: not sent
	}{
		{"registration", "patients",
			[]crdt.Mutation{touch, set("name"), set("sex"), set("birthDate"), set("idNumber"), set("phones"), set("address"),
				set("occupation"), set("maritalStatus"), set("emergencyContacts"), set("cardNumber"), set("history"),
				set("familyHistory"), set("notes")},
			[]crdt.Mutation{touch, set("name"), set("sex"), set("birthDate"), set("idNumber"), set("phones"), set("cardNumber")}},
		{"name and address edited together", "patients", []crdt.Mutation{set("address"), set("name")}, []crdt.Mutation{set("name")}},
		{"diagnosis added", "patients", []crdt.Mutation{add("diagnoses", "d1"), set("diagnosis.d1.code"), set("diagnosis.d1.note")}, nil},
		{"allergy severity", "patients", []crdt.Mutation{set("allergy.a1.severity")}, nil},
		{"medication removed", "patients", []crdt.Mutation{{Kind: crdt.MutRemove, Field: "medications", Elem: "m1",
			Seen: []crdt.Stamp{{Wall: 1, Node: "HUB"}}}}, nil},
		{"assigned and tagged", "patients", []crdt.Mutation{add("assignees", "nurse-li"), add("tags", "独居")}, nil},
		{"history", "patients", []crdt.Mutation{set("history")}, nil},
		{"an unknown register", "patients", []crdt.Mutation{set("religion")}, nil},
		{"merge", "patients", []crdt.Mutation{merge}, []crdt.Mutation{merge}},
		{"delete", "patients", []crdt.Mutation{del}, []crdt.Mutation{del}},
		{"a fact", "patients", []crdt.Mutation{fact}, nil},
		{"staff are not trimmed", "staff", []crdt.Mutation{set("role"), set("hash")}, []crdt.Mutation{set("role"), set("hash")}},
		{"audit", "audit", []crdt.Mutation{fact}, nil},
		{"visits", "visits", []crdt.Mutation{set("name")}, nil},
	} {
		in := crdt.Change{Origin: "HUB", Seq: 7, Stamp: crdt.Stamp{Wall: 5, Node: "HUB"}, Collection: tc.coll, Record: "p1",
			Muts: slices.Clone(tc.in)}
		got, ok := kiosk(in)
		if !reflect.DeepEqual(in.Muts, tc.in) {
			t.Errorf("%s: the filter changed the change it was given", tc.name)
		}
		if tc.want == nil {
			if ok {
				t.Errorf("%s: sent %+v, want nothing", tc.name, got.Muts)
			}
			continue
		}
		if !ok || !reflect.DeepEqual(got.Muts, tc.want) {
			t.Errorf("%s: %v %+v, want %+v", tc.name, ok, got.Muts, tc.want)
			continue
		}
		if got.Origin != in.Origin || got.Seq != in.Seq || got.Stamp != in.Stamp || got.Record != in.Record {
			t.Errorf("%s: the trimmed change lost its identity: %+v", tc.name, got)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// chartNode is a node with a real chart service over a real store file.
type chartNode struct {
	path string
	st   *store.Store
	svc  *chart.Service
	eng  *session.Engine
}

func newChartNode(t *testing.T, id crdt.NodeID, s wire.Scope, sealer *vault.Sealer) *chartNode {
	t.Helper()
	path := filepath.Join(t.TempDir(), string(id)+".db")
	opts := store.DefaultOptions(path, id)
	opts.Create, opts.NoSync, opts.Logger = true, true, slog.New(slog.DiscardHandler)
	opts.Important = func(coll, f string) bool { return coll == chart.Collection && chart.Important(f) }
	st, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := chart.New(chart.Config{Records: st, Node: string(id), Location: time.UTC, Logger: slog.New(slog.DiscardHandler)})
	if err := svc.Unlock(sealer); err != nil {
		t.Fatal(err)
	}
	cfg := session.DefaultConfig(id, st)
	cfg.Scope, cfg.Logger = s, slog.New(slog.DiscardHandler)
	eng, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	return &chartNode{path: path, st: st, svc: svc, eng: eng}
}

// syncAs runs one session, n initiating, the hub serving it under pol as
// the holder of peer's certificate.
func syncAs(t *testing.T, n, hub *chartNode, pol *scope.Policies, peer trust.Peer, marks session.Marks) session.Result {
	t.Helper()
	return syncEngines(t, n.eng, hub.eng, pol, peer, marks)
}

// presented is the vector a partial replica tells its peers it has: its
// store's vector joined with its mark.
func presented(t *testing.T, st *store.Store, marks session.Marks) crdt.Vector {
	t.Helper()
	m, err := marks.Mark(wire.Kiosk())
	if err != nil {
		t.Fatal(err)
	}
	v := st.Vector()
	for o, n := range m {
		v[o] = max(v[o], n)
	}
	return v
}

// TestKioskHoldsOnlyCheckInFields runs the hub's and a kiosk's real chart
// services over real stores and syncs them through the session engine with
// the scope policies: the kiosk holds the booked patient's check-in fields
// and none of the chart (no diagnosis, allergy, medication, history, ID
// number, address …, not even as ciphertext in its file); a later
// diagnosis is not sent but the kiosk does not ask for it again; a later
// name edit is, trimmed of the address edited with it; a merge of two
// booked duplicates reaches it; a clinic desk still gets everything.
func TestKioskHoldsOnlyCheckInFields(t *testing.T) {
	ctx := context.Background()
	dk, err := vault.NewDataKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := vault.NewSealer(dk, nil)
	if err != nil {
		t.Fatal(err)
	}
	desk := chart.Actor{Name: "desk-li", Role: auth.RoleDesk}
	hub := newChartNode(t, "HUB", wire.Full(), sealer)
	kiosk := newChartNode(t, "KIOSK", wire.Kiosk(), sealer)

	check, err := residentid.CheckChar("11010519560302002")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := hub.svc.Register(ctx, desk, care.PatientInput{
		Name: "王秀英", Sex: care.SexFemale, BirthDate: "1956-03-02", IDNumber: "11010519560302002" + string(check),
		Phones: []string{"13800000001"}, Address: "李家村 3 组", Occupation: "农民", MaritalStatus: care.MaritalMarried,
		EmergencyContacts: []care.Contact{{Name: "李强", Relation: "儿子", Phone: "13900000002"}},
		History:           "高血压十年", FamilyHistory: "父亲脑卒中", Notes: "耳背，说话大声些",
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	pid := reg.Patient.ID
	if _, err := hub.svc.IssueCard(ctx, desk, pid); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.svc.AddAllergy(ctx, desk, pid, care.AllergyInput{Substance: "青霉素", Reaction: "皮疹", Severity: care.SeveritySevere}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := hub.svc.AddDiagnosis(ctx, desk, pid, care.DiagnosisInput{Code: "I10", Note: "晨起头晕"}); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.svc.AddMedication(ctx, desk, pid, care.MedicationInput{Name: "氨氯地平", Dose: "5 mg", Frequency: "qd"}); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.svc.Assign(ctx, desk, pid, "nurse-li", false); err != nil {
		t.Fatal(err)
	}
	other, err := hub.svc.Register(ctx, desk, care.PatientInput{Name: "李桂兰", Sex: care.SexFemale, BirthDate: "1961-07-09"}, false)
	if err != nil {
		t.Fatal(err)
	}

	// The policy's clock is pinned to the bookings': read again at each
	// session, time.Now would move pid's appointment to yesterday when
	// the test runs across midnight (UTC).
	now := time.Now()
	book := &fakeBookings{at: map[string]time.Time{pid: now, other.Patient.ID: now.AddDate(0, 0, 5)}}
	pol := &scope.Policies{Records: hub.st, Bookings: book, Now: func() time.Time { return now }, Location: time.UTC}
	kioskPeer := trust.Peer{ID: "KIOSK", Role: nodeconf.RoleKiosk, Name: "kiosk1"}
	marks := scope.StoreMarks{Store: kiosk.st, Peer: "HUB"}
	syncAs(t, kiosk, hub, pol, kioskPeer, marks)

	if got := ids(t, kiosk.st, chart.Collection); !slices.Equal(got, []string{pid}) {
		t.Fatalf("kiosk's patients: %v, want %v", got, pid)
	}
	hv, err := hub.st.Get(chart.Collection, pid)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := kiosk.st.Get(chart.Collection, pid)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range scope.KioskFields() {
		if !reflect.DeepEqual(kv.Fields[f], hv.Fields[f]) || len(kv.Fields[f].Value) == 0 {
			t.Errorf("kiosk's %s differs from the hub's, or is empty", f)
		}
	}
	var withheld [][]byte // the sealed values the kiosk must not hold
	for f, fv := range hv.Fields {
		if _, ok := kv.Fields[f]; ok && !slices.Contains(scope.KioskFields(), f) {
			t.Errorf("kiosk holds %s", f)
		}
		if !slices.Contains(scope.KioskFields(), f) && len(fv.Value) > 40 {
			withheld = append(withheld, fv.Value)
		}
	}
	// address, occupation, contacts, history, family history, notes; an
	// allergy's substance and reaction, a diagnosis's note, a medication's
	// name, dose and frequency.
	if len(withheld) < 12 {
		t.Fatalf("only %d sealed values to look for", len(withheld))
	}
	if len(kv.Sets) != 0 || len(kv.Facts) != 0 || len(hv.Sets) < 4 {
		t.Errorf("kiosk holds sets %v, facts %v (the hub has sets %v)", kv.Sets, kv.Facts, hv.Sets)
	}
	for _, coll := range []string{chart.AuditCollection, "visits"} {
		if got := ids(t, kiosk.st, coll); len(got) != 0 {
			t.Errorf("kiosk holds %s %v", coll, got)
		}
	}
	// The kiosk holds every change of the hub's up to here, or has been
	// told it need not: it will not ask again.
	if p, h := presented(t, kiosk.st, marks), hub.st.Vector(); p["HUB"] != h["HUB"] {
		t.Errorf("kiosk presents HUB/%d, the hub is at %d", p["HUB"], h["HUB"])
	}
	if r := syncAs(t, kiosk, hub, pol, kioskPeer, marks); !r.Idle || r.Received != 0 {
		t.Errorf("second sync not idle: %+v", r)
	}

	// A diagnosis added later is not sent: nothing of it is a kiosk's. The
	// kiosk's mark passes it, so the next sync is idle.
	if _, _, err := hub.svc.AddDiagnosis(ctx, desk, pid, care.DiagnosisInput{Code: "E11.9"}); err != nil {
		t.Fatal(err)
	}
	if r := syncAs(t, kiosk, hub, pol, kioskPeer, marks); r.Received != 0 {
		t.Errorf("a diagnosis sent to the kiosk: received %d", r.Received)
	}
	if p, h := presented(t, kiosk.st, marks), hub.st.Vector(); p["HUB"] != h["HUB"] {
		t.Errorf("after a diagnosis the kiosk presents HUB/%d, the hub is at %d", p["HUB"], h["HUB"])
	}
	if r := syncAs(t, kiosk, hub, pol, kioskPeer, marks); !r.Idle {
		t.Errorf("the kiosk asks again after a diagnosis: %+v", r)
	}

	// The name and the address edited in one change: the kiosk gets the
	// change, with the name only.
	if _, err := hub.svc.Update(ctx, desk, pid, []byte(`{"name":"王秀瑛","address":"张家村 1 组"}`), ""); err != nil {
		t.Fatal(err)
	}
	hv, _ = hub.st.Get(chart.Collection, pid)
	if r := syncAs(t, kiosk, hub, pol, kioskPeer, marks); r.Received != 1 || r.Applied != 1 {
		t.Errorf("name edit: received %d, applied %d, want 1", r.Received, r.Applied)
	}
	kv, _ = kiosk.st.Get(chart.Collection, pid)
	if !reflect.DeepEqual(kv.Fields["name"], hv.Fields["name"]) || !bytes.Equal(kv.Fields["address"].Value, nil) {
		t.Errorf("after the name edit the kiosk's name differs from the hub's, or it holds an address")
	}
	// One change on the hub, applied on the kiosk (the name's stamp is
	// that change's) without its address.
	if c := changeStamped(t, hub.st, hv.Fields["name"].Stamp); len(c.Muts) != 2 || c.Muts[1].Field != "address" {
		t.Errorf("the hub's edit: %+v", c.Muts)
	}
	withheld = append(withheld, hv.Fields["address"].Value)

	// Two booked duplicates merged on the hub: the merge reaches the kiosk.
	dup, err := hub.svc.Register(ctx, desk, care.PatientInput{Name: "王秀瑛", Sex: care.SexFemale, BirthDate: "1956-03-02",
		Phones: []string{"13800000009"}, Address: "李家村"}, true)
	if err != nil {
		t.Fatal(err)
	}
	book.mu.Lock()
	book.at[dup.Patient.ID] = now
	book.mu.Unlock()
	if _, err := hub.svc.Merge(ctx, desk, dup.Patient.ID, pid); err != nil {
		t.Fatal(err)
	}
	syncAs(t, kiosk, hub, pol, kioskPeer, marks)
	if v, err := kiosk.st.Get(chart.Collection, dup.Patient.ID); err != nil || v.ID != pid || !slices.Contains(v.Merged, dup.Patient.ID) {
		t.Errorf("the merged duplicate on the kiosk: %s merged %v, %v", v.ID, v.Merged, err)
	}
	if p, h := presented(t, kiosk.st, marks), hub.st.Vector(); p["HUB"] != h["HUB"] {
		t.Errorf("after the merge the kiosk presents HUB/%d, the hub is at %d", p["HUB"], h["HUB"])
	}

	// The kiosk's own chart service shows what check-in needs, and nothing
	// of the chart.
	if err := kiosk.svc.Refresh([]string{pid, dup.Patient.ID}); err != nil {
		t.Fatal(err)
	}
	kp, err := kiosk.svc.Get(ctx, chart.Actor{Name: "kiosk1", Role: auth.RoleKiosk}, pid)
	if err != nil {
		t.Fatal(err)
	}
	hp, err := hub.svc.Get(ctx, desk, pid)
	if err != nil {
		t.Fatal(err)
	}
	if kp.Name != "王秀瑛" || kp.CardNumber == "" || kp.CardNumber != hp.CardNumber || !slices.Equal(kp.Phones, hp.Phones) ||
		kp.BirthDate != "1956-03-02" || kp.Sex != care.SexFemale {
		t.Errorf("kiosk shows %+v", kp.PatientInput)
	}
	if kp.IDNumber != hp.IDNumber || kp.Address != "" || kp.History != "" || kp.FamilyHistory != "" || kp.Notes != "" ||
		len(kp.EmergencyContacts) != 0 || len(kp.Allergies)+len(kp.Diagnoses)+len(kp.Medications)+len(kp.Assignees) != 0 {
		t.Errorf("kiosk shows chart data: %+v", kp)
	}
	if len(hp.Allergies) != 1 || len(hp.Diagnoses) != 2 || hp.IDNumber == "" {
		t.Fatalf("the hub's chart lacks what the kiosk must not have: %+v", hp)
	}

	// Not even as ciphertext: the kiosk's store file holds none of the
	// withheld sealed values, and does hold its name (so the search can
	// fail).
	file, err := os.ReadFile(kiosk.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range withheld {
		if bytes.Contains(file, v) {
			t.Errorf("the kiosk's store file holds a withheld sealed value (%d bytes)", len(v))
		}
	}
	if !bytes.Contains(file, hv.Fields["name"].Value) {
		t.Error("the kiosk's store file lacks the patient's sealed name: the search above proves nothing")
	}

	// A clinic desk served by the same hub and policies gets everything.
	deskNode := newChartNode(t, "DESK", wire.Full(), sealer)
	syncAs(t, deskNode, hub, pol, trust.Peer{ID: "DESK", Role: nodeconf.RoleClinic, Name: "desk1"}, nil)
	if !reflect.DeepEqual(deskNode.st.Vector(), hub.st.Vector()) {
		t.Fatalf("desk %v, hub %v", deskNode.st.Vector(), hub.st.Vector())
	}
	for _, coll := range []string{chart.Collection, chart.AuditCollection} {
		hl, _ := hub.st.List(coll, "", 1000)
		dl, _ := deskNode.st.List(coll, "", 1000)
		if len(hl) == 0 || !reflect.DeepEqual(hl, dl) {
			t.Errorf("the desk's %s (%d) differ from the hub's (%d)", coll, len(dl), len(hl))
		}
	}
}

// changeStamped returns the change of st's log stamped s.
func changeStamped(t *testing.T, st *store.Store, s crdt.Stamp) crdt.Change {
	t.Helper()
	page, err := st.ChangesAfter(crdt.Vector{}, 100000)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range page.Changes {
		if c.Stamp == s {
			return c
		}
	}
	t.Fatalf("no change stamped %s", s)
	return crdt.Change{}
}
