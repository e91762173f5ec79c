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

// TestMissedAppointmentsTag checks that the appointments a patient missed,
// which the chart learns from its MissedAppointments hook, feed the
// often-missed auto tag (two within 90 days), and that a failing hook
// leaves the chart readable without the tag.
func TestMissedAppointmentsTag(t *testing.T) {
	missed := map[string][]string{}
	fail := false
	n := newNode(t, "clinic1", newSealer(t), chart.Config{MissedAppointments: func(id string) ([]string, error) {
		if fail {
			return nil, errors.New("appointments unreadable")
		}
		return missed[id], nil
	}})
	ctx := context.Background()
	p := register(t, n.svc, care.PatientInput{Name: "赵六", Sex: "female", BirthDate: "1990-02-02"})
	hasTag := func() bool {
		t.Helper()
		got, err := n.svc.Get(ctx, desk, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range got.Tags {
			if tg.Tag == "often-missed" && tg.Auto {
				return true
			}
		}
		return false
	}
	for _, tc := range []struct {
		dates []string
		want  bool
	}{
		{nil, false},
		{[]string{"2026-02-20"}, false},
		{[]string{"2026-02-20", "2026-01-10"}, true},
		{[]string{"2026-02-20", "2025-10-01"}, false}, // one of them more than 90 days before testToday
	} {
		missed[p.ID] = tc.dates
		if got := hasTag(); got != tc.want {
			t.Errorf("missed %v: often-missed tag %v, want %v", tc.dates, got, tc.want)
		}
	}
	missed[p.ID] = []string{"2026-02-20", "2026-01-10"}
	fail = true
	if hasTag() {
		t.Error("tag shown although the appointments could not be read")
	}
}
