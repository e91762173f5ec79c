package chart_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"carenode/node/care"
	"carenode/node/chart"
)

// fillChart gives a chart allergies, diagnoses and medications.
func fillChart(t *testing.T, svc *chart.Service, id string, allergies, codes, meds []string) {
	t.Helper()
	ctx := context.Background()
	for _, a := range allergies {
		if _, err := svc.AddAllergy(ctx, doctor, id, care.AllergyInput{Substance: a, Severity: "moderate"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range codes {
		if _, _, err := svc.AddDiagnosis(ctx, doctor, id, care.DiagnosisInput{Code: c, Note: "随访"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range meds {
		if _, err := svc.AddMedication(ctx, doctor, id, care.MedicationInput{Name: m, Dose: "1片", Frequency: "每日一次"}); err != nil {
			t.Fatal(err)
		}
	}
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestMergeKeepsEverything is the OpenMRS bug: after a merge, the
// allergies, conditions and medications recorded on the merged-away
// record must all be on the survivor.
func TestMergeKeepsEverything(t *testing.T) {
	n := newNode(t, "clinic1", newSealer(t), chart.Config{})
	ctx := context.Background()
	a := register(t, n.svc, care.PatientInput{Name: "张三", Sex: "male", BirthDate: "1955-05-05",
		Phones: []string{"13800001111"}, Address: "云南省昆明市五华区"})
	b := register(t, n.svc, care.PatientInput{Name: "张叁", Sex: "male", BirthDate: "1955-05-05",
		Phones: []string{"13900002222"}, Address: "云南省昆明市五华区"})
	fillChart(t, n.svc, a.ID, []string{"青霉素", "头孢"}, []string{"I10"}, []string{"氨氯地平"})
	fillChart(t, n.svc, b.ID, []string{"磺胺"}, []string{"E11", "J45"}, []string{"二甲双胍", "沙丁胺醇"})

	p, err := n.svc.Merge(ctx, doctor, a.ID, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, p chart.Patient) {
		t.Helper()
		if p.ID != b.ID || !slices.Equal(p.Merged, []string{a.ID}) {
			t.Errorf("%s: id %s merged %v, want %s with %s merged", what, p.ID, p.Merged, b.ID, a.ID)
		}
		if got, want := allergyNames(p), sorted("青霉素", "头孢", "磺胺"); !slices.Equal(got, want) {
			t.Errorf("%s: allergies %v, want %v", what, got, want)
		}
		if got, want := diagnosisCodes(p), sorted("I10", "E11", "J45"); !slices.Equal(got, want) {
			t.Errorf("%s: diagnoses %v, want %v", what, got, want)
		}
		if got, want := medicationNames(p), sorted("氨氯地平", "二甲双胍", "沙丁胺醇"); !slices.Equal(got, want) {
			t.Errorf("%s: medications %v, want %v", what, got, want)
		}
		for _, al := range p.Allergies {
			if al.Severity != care.SeverityModerate {
				t.Errorf("%s: allergy %+v lost its severity", what, al)
			}
		}
		for _, d := range p.Diagnoses {
			if d.Note != "随访" || d.Title == "" {
				t.Errorf("%s: diagnosis %+v lost its note or title", what, d)
			}
		}
		if got := tagNames(p); !slices.Equal(got, []string{"diabetes", "elderly", "hypertension"}) {
			t.Errorf("%s: tags %v", what, got)
		}
	}
	check("Merge", p)
	survivor, err := n.svc.Get(ctx, doctor, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	check("Get survivor", survivor)
	away, err := n.svc.Get(ctx, doctor, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	check("Get merged-away id", away)

	// Search shows one chart: the merged-away id never comes back.
	for _, q := range []string{"zhang", "张", "13900002222", "2222", "zs"} {
		if ids := searchIDs(t, n.svc, desk, q); !slices.Equal(ids, []string{b.ID}) {
			t.Errorf("search %q = %v, want only the survivor %s", q, ids, b.ID)
		}
	}
	if n.svc.Count() != 1 {
		t.Errorf("Count = %d after merge, want 1", n.svc.Count())
	}
	if dups, _ := n.svc.Duplicates(admin); len(dups) != 0 {
		t.Errorf("Duplicates after merge = %+v", dups)
	}

	// The names and phones differ: conflicts for the desk. The birth date
	// and address are the same once opened: no conflict.
	var fields []string
	for _, c := range survivor.Conflicts {
		fields = append(fields, c.Field)
		if len(c.Values) != 2 {
			t.Errorf("conflict %s has %d values", c.Field, len(c.Values))
		}
	}
	if !slices.Equal(fields, []string{"name", "phones"}) {
		t.Fatalf("conflicts on %v, want name and phones", fields)
	}
	var names []string
	for _, v := range survivor.Conflicts[0].Values {
		var s string
		if err := json.Unmarshal(v.Value, &s); err != nil {
			t.Fatal(err)
		}
		names = append(names, s)
	}
	if slices.Sort(names); !slices.Equal(names, sorted("张三", "张叁")) {
		t.Errorf("name conflict values %v", names)
	}

	// Resolve each; a resolve names the merged-away id too.
	p, err = n.svc.Resolve(ctx, desk, a.ID, "name", json.RawMessage(`"张三"`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "张三" || len(p.Conflicts) != 1 {
		t.Errorf("after resolving the name: %q, conflicts %+v", p.Name, p.Conflicts)
	}
	p, err = n.svc.Resolve(ctx, desk, b.ID, "phones", json.RawMessage(`["13900002222","13800001111"]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Conflicts) != 0 || !slices.Equal(p.Phones, []string{"13900002222", "13800001111"}) {
		t.Errorf("after resolving phones: %v, conflicts %+v", p.Phones, p.Conflicts)
	}
	if _, err := n.svc.Resolve(ctx, desk, b.ID, "phones", json.RawMessage(`["13900002222"]`)); !errors.Is(err, chart.ErrNoConflict) {
		t.Errorf("resolving again: %v, want ErrNoConflict", err)
	}
	got, err := n.svc.Get(ctx, doctor, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	check("after resolve", got)
	if len(got.Conflicts) != 0 {
		t.Errorf("conflicts after resolve: %+v", got.Conflicts)
	}
	// Both phones now find the survivor.
	for _, q := range []string{"13800001111", "1111", "zhangsan"} {
		if ids := searchIDs(t, n.svc, desk, q); !slices.Equal(ids, []string{b.ID}) {
			t.Errorf("search %q = %v, want %s", q, ids, b.ID)
		}
	}

	// Edits addressed to the merged-away id land on the survivor.
	if _, err := n.svc.AddAllergy(ctx, doctor, a.ID, care.AllergyInput{Substance: "碘造影剂"}); err != nil {
		t.Fatal(err)
	}
	got, _ = n.svc.Get(ctx, doctor, b.ID)
	if !slices.Contains(allergyNames(got), "碘造影剂") {
		t.Errorf("allergy added through the merged-away id missing: %v", allergyNames(got))
	}

	if _, err := n.svc.Merge(ctx, doctor, a.ID, b.ID); !errors.Is(err, chart.ErrSelfMerge) {
		t.Errorf("merging again: %v, want ErrSelfMerge", err)
	}
	if _, err := n.svc.Merge(ctx, doctor, b.ID, b.ID); !errors.Is(err, chart.ErrSelfMerge) {
		t.Errorf("merging into itself: %v, want ErrSelfMerge", err)
	}
	if _, err := n.svc.Merge(ctx, doctor, b.ID, "nobody"); !errors.Is(err, chart.ErrNotFound) {
		t.Errorf("merging into a missing chart: %v, want ErrNotFound", err)
	}
}

// TestMergeAfterRestart checks the merged chart is built from the store, not
// from memory: a restarted node shows the same survivor and index.
func TestMergeAfterRestart(t *testing.T) {
	sealer := newSealer(t)
	n := newNode(t, "clinic1", sealer, chart.Config{})
	ctx := context.Background()
	a := register(t, n.svc, care.PatientInput{Name: "诸葛亮", Sex: "male", BirthDate: "1981-04-04"})
	b := register(t, n.svc, care.PatientInput{Name: "诸葛孔明", Sex: "male", BirthDate: "1981-04-04"})
	fillChart(t, n.svc, a.ID, []string{"青霉素"}, []string{"I10"}, nil)
	fillChart(t, n.svc, b.ID, []string{"花粉"}, nil, []string{"布洛芬"})
	if _, err := n.svc.Merge(ctx, doctor, b.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	path := n.st.Path()
	if err := n.st.Close(); err != nil {
		t.Fatal(err)
	}
	m := startNode(t, openStore(t, path, "clinic1"), sealer, chart.Config{})
	p, err := m.svc.Get(ctx, doctor, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != a.ID || !slices.Equal(allergyNames(p), sorted("青霉素", "花粉")) || len(p.Diagnoses) != 1 || len(p.Medications) != 1 {
		t.Errorf("after restart: %s", describe(p))
	}
	if m.svc.Count() != 1 {
		t.Errorf("Count = %d, want 1", m.svc.Count())
	}
	if ids := searchIDs(t, m.svc, desk, "zhuge"); !slices.Equal(ids, []string{a.ID}) {
		t.Errorf("search = %v, want %s", ids, a.ID)
	}
}

// TestConcurrentMergeTwoNodes merges A into B on one node while another
// merges B into A; once they exchange changes both show the same single
// survivor with everything of both charts.
func TestConcurrentMergeTwoNodes(t *testing.T) {
	sealer := newSealer(t) // one network, one data key
	n1 := newNode(t, "node1", sealer, chart.Config{})
	n2 := newNode(t, "node2", sealer, chart.Config{})
	ctx := context.Background()
	a := register(t, n1.svc, care.PatientInput{Name: "欧阳修", Sex: "male", BirthDate: "1957-08-01", Phones: []string{"13611112222"}})
	fillChart(t, n1.svc, a.ID, []string{"青霉素"}, []string{"I10"}, []string{"氨氯地平"})
	b := register(t, n2.svc, care.PatientInput{Name: "欧阳修", Sex: "male", BirthDate: "1957-08-01", Phones: []string{"13733334444"}})
	fillChart(t, n2.svc, b.ID, []string{"磺胺"}, []string{"E11"}, []string{"二甲双胍"})

	// Changes from a peer reach the index only through Refresh.
	toN2 := exchange(t, n1.st, n2.st)
	toN1 := exchange(t, n2.st, n1.st)
	if !slices.Contains(toN2, a.ID) || !slices.Contains(toN1, b.ID) {
		t.Fatalf("exchange touched %v and %v", toN2, toN1)
	}
	if ids := searchIDs(t, n2.svc, desk, "13611112222"); len(ids) != 0 {
		t.Fatalf("search found %v before Refresh: the test cannot tell Refresh works", ids)
	}
	if err := n2.svc.Refresh(toN2); err != nil {
		t.Fatal(err)
	}
	if err := n1.svc.Refresh(toN1); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		n  *node
		q  string
		id string
	}{{n2, "13611112222", a.ID}, {n1, "13733334444", b.ID}} {
		if ids := searchIDs(t, tt.n.svc, desk, tt.q); !slices.Equal(ids, []string{tt.id}) {
			t.Errorf("after Refresh, search %s = %v, want %s", tt.q, ids, tt.id)
		}
	}
	for _, n := range []*node{n1, n2} {
		if ids := searchIDs(t, n.svc, desk, "ouyangxiu"); len(ids) != 2 {
			t.Fatalf("before merging, %s finds %v", n.st.Node(), ids)
		}
	}

	// Concurrently: node 1 merges A into B, node 2 merges B into A, and
	// node 2 adds an allergy to B, which node 1 has not seen.
	if _, err := n1.svc.Merge(ctx, doctor, a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := n2.svc.AddAllergy(ctx, doctor, b.ID, care.AllergyInput{Substance: "阿司匹林", Severity: "severe"}); err != nil {
		t.Fatal(err)
	}
	if _, err := n2.svc.Merge(ctx, doctor, b.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	syncBoth(t, n1, n2)

	var views []chart.Patient
	for _, n := range []*node{n1, n2} {
		pa, err := n.svc.Get(ctx, doctor, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		pb, err := n.svc.Get(ctx, doctor, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if pa.ID != pb.ID {
			t.Fatalf("%s: A shows %s, B shows %s: two survivors", n.st.Node(), pa.ID, pb.ID)
		}
		if got, want := allergyNames(pa), sorted("青霉素", "磺胺", "阿司匹林"); !slices.Equal(got, want) {
			t.Errorf("%s: allergies %v, want %v", n.st.Node(), got, want)
		}
		if got, want := diagnosisCodes(pa), sorted("I10", "E11"); !slices.Equal(got, want) {
			t.Errorf("%s: diagnoses %v, want %v", n.st.Node(), got, want)
		}
		if got, want := medicationNames(pa), sorted("氨氯地平", "二甲双胍"); !slices.Equal(got, want) {
			t.Errorf("%s: medications %v, want %v", n.st.Node(), got, want)
		}
		if n.svc.Count() != 1 {
			t.Errorf("%s: Count = %d, want 1", n.st.Node(), n.svc.Count())
		}
		for _, q := range []string{"ouyangxiu", "欧阳修", "oyx"} {
			if ids := searchIDs(t, n.svc, desk, q); !slices.Equal(ids, []string{pa.ID}) {
				t.Errorf("%s: search %q = %v, want only %s", n.st.Node(), q, ids, pa.ID)
			}
		}
		views = append(views, pa)
	}
	if views[0].ID != views[1].ID {
		t.Fatalf("node1 survivor %s, node2 survivor %s", views[0].ID, views[1].ID)
	}
	// Everything a reader sees is the same on both nodes.
	for i := range views {
		views[i].Tags = nil // computed the same way; kept out of the comparison of stored state
	}
	j1, _ := json.Marshal(views[0])
	j2, _ := json.Marshal(views[1])
	if string(j1) != string(j2) {
		t.Errorf("the nodes disagree:\n%s\n%s", j1, j2)
	}
	// The phones differ: one conflict, the same on both.
	if len(views[0].Conflicts) != 1 || views[0].Conflicts[0].Field != "phones" {
		t.Errorf("conflicts = %+v, want phones", views[0].Conflicts)
	}
}

// TestConcurrentPhoneEdits edits an important field on two nodes at once:
// both keep the same conflict until one resolves it, and the resolution
// reaches the other.
func TestConcurrentPhoneEdits(t *testing.T) {
	sealer := newSealer(t)
	n1 := newNode(t, "node1", sealer, chart.Config{})
	n2 := newNode(t, "node2", sealer, chart.Config{})
	ctx := context.Background()
	r := register(t, n1.svc, care.PatientInput{Name: "司马懿", Sex: "male", BirthDate: "1979-01-01", Phones: []string{"13500000001"},
		Occupation: "教师"})
	syncBoth(t, n1, n2)
	p2, err := n2.svc.Get(ctx, desk, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n1.svc.Update(ctx, desk, r.ID, []byte(`{"phones":["13500000002"],"occupation":"农民"}`), r.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := n2.svc.Update(ctx, desk, r.ID, []byte(`{"phones":["13500000003"],"occupation":"医生"}`), p2.Version); err != nil {
		t.Fatal(err)
	}
	syncBoth(t, n1, n2)
	var got [2]chart.Patient
	for i, n := range []*node{n1, n2} {
		if got[i], err = n.svc.Get(ctx, desk, r.ID); err != nil {
			t.Fatal(err)
		}
		// Occupation is not important: the newest value shows, no conflict.
		if len(got[i].Conflicts) != 1 || got[i].Conflicts[0].Field != "phones" || len(got[i].Conflicts[0].Values) != 2 {
			t.Fatalf("%s: conflicts %+v, want one on phones with two values", n.st.Node(), got[i].Conflicts)
		}
	}
	c1, _ := json.Marshal(got[0].Conflicts)
	c2, _ := json.Marshal(got[1].Conflicts)
	if string(c1) != string(c2) {
		t.Errorf("conflicts differ:\n%s\n%s", c1, c2)
	}
	if got[0].Occupation != got[1].Occupation || !slices.Equal(got[0].Phones, got[1].Phones) {
		t.Errorf("shown values differ: %q %v / %q %v", got[0].Occupation, got[0].Phones, got[1].Occupation, got[1].Phones)
	}
	var vals []string
	for _, v := range got[0].Conflicts[0].Values {
		vals = append(vals, string(v.Value))
	}
	if slices.Sort(vals); !slices.Equal(vals, []string{`["13500000002"]`, `["13500000003"]`}) {
		t.Errorf("conflict values %v", vals)
	}

	// An update that did not see the conflict cannot end it silently: it is
	// refused as stale when it names the old version.
	if _, err := n1.svc.Update(ctx, desk, r.ID, []byte(`{"phones":["13500000009"]}`), r.Version); !errors.Is(err, chart.ErrStale) {
		t.Errorf("stale update: %v", err)
	}
	p, err := n1.svc.Resolve(ctx, desk, r.ID, "phones", json.RawMessage(`["13500000003"]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Conflicts) != 0 {
		t.Errorf("after resolve on node1: %+v", p.Conflicts)
	}
	syncBoth(t, n1, n2)
	for _, n := range []*node{n1, n2} {
		p, err := n.svc.Get(ctx, desk, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Conflicts) != 0 || !slices.Equal(p.Phones, []string{"13500000003"}) {
			t.Errorf("%s after resolve: phones %v, conflicts %+v", n.st.Node(), p.Phones, p.Conflicts)
		}
		if ids := searchIDs(t, n.svc, desk, "13500000003"); !slices.Equal(ids, []string{r.ID}) {
			t.Errorf("%s: search resolved phone = %v", n.st.Node(), ids)
		}
	}
	if _, err := n2.svc.Resolve(ctx, desk, r.ID, "name", json.RawMessage(`"x"`)); !errors.Is(err, chart.ErrNoConflict) {
		t.Errorf("resolve without conflict: %v", err)
	}
}
