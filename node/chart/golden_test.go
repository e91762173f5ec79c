package chart_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"carenode/node/care"
	"carenode/node/chart"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// volatile matches what differs from run to run in a chart's JSON: record
// and element ids, stamps and versions (the store's clock is the wall
// clock).
var (
	recordID  = regexp.MustCompile(`"[0-9a-v]{21}"`)
	elementID = regexp.MustCompile(`"[0-9a-v]{12}"`)
	stampJSON = regexp.MustCompile(`"(version|created|updated)": "[^"]*"`)
	stampStr  = regexp.MustCompile(`"stamp": "[^"]*"`)
)

func scrub(b []byte) []byte {
	b = recordID.ReplaceAll(b, []byte(`"RECORD"`))
	b = elementID.ReplaceAll(b, []byte(`"ELEMENT"`))
	b = stampJSON.ReplaceAll(b, []byte(`"$1": "STAMP"`))
	return stampStr.ReplaceAll(b, []byte(`"stamp": "STAMP"`))
}

// TestGoldenChart pins the JSON of a full chart as the API shows it: the
// patient body of issue 4's contract, the clinical lists with titles, auto
// tags and a conflict. Run with -update after a deliberate change.
func TestGoldenChart(t *testing.T) {
	n := newNode(t, "clinic1", newSealer(t), chart.Config{})
	ctx := context.Background()
	a := register(t, n.svc, care.PatientInput{Name: "张三丰", Sex: "男", BirthDate: "1950-03-15",
		IDNumber: idNumber(t, "420381", "19500315", "011"), Phones: []string{"+86 138 1234 5678"},
		Address: "湖北省十堰市武当山特区", Occupation: "道士", MaritalStatus: "未婚",
		EmergencyContacts: []care.Contact{{Name: "张翠山", Relation: "徒弟", Phone: "13698765432"}},
		History:           "高血压十年", FamilyHistory: "无", Notes: "耳背，说话请大声"})
	b := register(t, n.svc, care.PatientInput{Name: "张君宝", Sex: "male", BirthDate: "1950-03-15", Phones: []string{"13812345678"}})
	if _, err := n.svc.AddAllergy(ctx, doctor, a.ID, care.AllergyInput{Substance: "青霉素", Reaction: "皮疹", Severity: "重度"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := n.svc.AddDiagnosis(ctx, doctor, b.ID, care.DiagnosisInput{Code: "I10", Note: "控制良好"}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.svc.AddMedication(ctx, doctor, b.ID, care.MedicationInput{Name: "氨氯地平", Dose: "5 mg", Frequency: "qd"}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.svc.Merge(ctx, doctor, b.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	p, err := n.svc.Get(ctx, doctor, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Conflict values come newest first; the fixed clock fixes the order.
	got, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(scrub(got), '\n')
	path := filepath.Join("testdata", "chart.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("chart JSON differs from %s (run with -update if the change is meant):\n%s", path, got)
	}
}
