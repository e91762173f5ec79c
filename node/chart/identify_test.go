package chart_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"carenode/node/care"
	"carenode/node/chart"
)

// TestIdentify checks that an identifier from a device names a patient
// only when it matches a chart id, card number or ID number exactly, and
// that two charts sharing an ID number (a registration forced past the
// duplicate check) both come back, so the caller knows it is ambiguous.
func TestIdentify(t *testing.T) {
	n := newNode(t, "clinic1", newSealer(t), chart.Config{})
	ctx := context.Background()
	// An ID number whose check character is X, to look it up in lower case.
	var idA string
	for seq := 100; idA == "" || idA[17] != 'X'; seq++ {
		idA = idNumber(t, "530102", "19550505", fmt.Sprint(seq))
	}
	a := register(t, n.svc, care.PatientInput{Name: "张三", Sex: "male", BirthDate: "1955-05-05", IDNumber: idA,
		Phones: []string{"13800001111"}})
	pa, err := n.svc.IssueCard(ctx, desk, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	idB := idNumber(t, "530102", "19600606", "224")
	b := register(t, n.svc, care.PatientInput{Name: "李四", Sex: "female", BirthDate: "1960-06-06", IDNumber: idB})
	twin, err := n.svc.Register(ctx, desk, care.PatientInput{Name: "李肆", Sex: "female", BirthDate: "1960-06-06", IDNumber: idB}, true)
	if err != nil {
		t.Fatal(err)
	}
	c := register(t, n.svc, care.PatientInput{Name: "王五", Sex: "male", BirthDate: "1970-01-01"})
	if _, err := n.svc.Merge(ctx, doctor, c.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	spaced := pa.CardNumber[:4] + " " + pa.CardNumber[4:8] + "-" + pa.CardNumber[8:]

	for _, tc := range []struct {
		name, identifier string
		want             []string
	}{
		{"chart id", a.ID, []string{a.ID}},
		{"merged-away chart id names the survivor", c.ID, []string{a.ID}},
		{"card number", pa.CardNumber, []string{a.ID}},
		{"card number with spaces and dashes", spaced, []string{a.ID}},
		{"ID number", idA, []string{a.ID}},
		{"ID number, check character in lower case", idA[:17] + "x", []string{a.ID}},
		{"two charts share the ID number", idB, sorted(b.ID, twin.ID)},
		{"name is not an identifier", "张三", nil},
		{"phone is not an identifier", "13800001111", nil},
		{"unknown", "0000000000000000", nil},
		{"empty", "  ", nil},
	} {
		got, err := n.svc.Identify(tc.identifier)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: Identify(%q) = %v, want %v", tc.name, tc.identifier, got, tc.want)
		}
	}

	phone, _, err := n.svc.Contact(ctx, c.ID)
	if err != nil || phone != "13800001111" {
		t.Errorf("Contact(merged-away id) = %q, %v; want the survivor's phone", phone, err)
	}
	if _, _, err := n.svc.Contact(ctx, b.ID); !errors.Is(err, chart.ErrNoPhone) {
		t.Errorf("Contact(no phone) error %v, want ErrNoPhone", err)
	}
	if _, _, err := n.svc.Contact(ctx, "nosuchpatient"); !errors.Is(err, chart.ErrNotFound) {
		t.Errorf("Contact(unknown) error %v, want ErrNotFound", err)
	}

	n.svc.Lock()
	if _, err := n.svc.Identify(a.ID); !errors.Is(err, chart.ErrLocked) {
		t.Errorf("Identify on a locked node: %v, want ErrLocked", err)
	}
	if _, _, err := n.svc.Contact(ctx, a.ID); !errors.Is(err, chart.ErrLocked) {
		t.Errorf("Contact on a locked node: %v, want ErrLocked", err)
	}
}
