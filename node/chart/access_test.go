package chart_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"carenode/node/care"
	"carenode/node/chart"
	"carenode/node/vault"
)

// lockedCalls are every call of the service that touches patient data.
func lockedCalls(svc *chart.Service, id string) map[string]func() error {
	ctx := context.Background()
	return map[string]func() error{
		"Register": func() error {
			_, err := svc.Register(ctx, desk, care.PatientInput{Name: "张三", Sex: "male", BirthDate: "1980-01-01"}, false)
			return err
		},
		"Get":     func() error { _, err := svc.Get(ctx, doctor, id); return err },
		"Update":  func() error { _, err := svc.Update(ctx, desk, id, []byte(`{"occupation":"农民"}`), ""); return err },
		"Resolve": func() error { _, err := svc.Resolve(ctx, desk, id, "name", json.RawMessage(`"张三"`)); return err },
		"AddAllergy": func() error {
			_, err := svc.AddAllergy(ctx, doctor, id, care.AllergyInput{Substance: "青霉素"})
			return err
		},
		"AddDiagnosis": func() error {
			_, _, err := svc.AddDiagnosis(ctx, doctor, id, care.DiagnosisInput{Code: "I10"})
			return err
		},
		"AddMedication": func() error {
			_, err := svc.AddMedication(ctx, doctor, id, care.MedicationInput{Name: "氨氯地平"})
			return err
		},
		"RemoveElement": func() error { _, err := svc.RemoveElement(ctx, doctor, id, "allergies", "x"); return err },
		"Assign":        func() error { _, err := svc.Assign(ctx, admin, id, nurse.Name, false); return err },
		"Merge":         func() error { _, err := svc.Merge(ctx, doctor, id, id+"x"); return err },
		"IssueCard":     func() error { _, err := svc.IssueCard(ctx, desk, id); return err },
		"Search":        func() error { _, err := svc.Search(desk, "zhangsan", 0); return err },
		"Duplicates":    func() error { _, err := svc.Duplicates(admin); return err },
		"Audit":         func() error { _, err := svc.Audit(ctx, admin, id); return err },
	}
}

func checkLocked(t *testing.T, svc *chart.Service, id string) {
	t.Helper()
	if !svc.Locked() {
		t.Errorf("Locked() = false")
	}
	if svc.Count() != 0 {
		t.Errorf("Count() = %d while locked", svc.Count())
	}
	for name, call := range lockedCalls(svc, id) {
		if err := call(); !errors.Is(err, chart.ErrLocked) {
			t.Errorf("%s while locked = %v, want ErrLocked", name, err)
		}
	}
	if err := svc.Refresh([]string{id}); err != nil {
		t.Errorf("Refresh while locked = %v, want nil: nothing to refresh", err)
	}
}

func TestLocked(t *testing.T) {
	dk, err := vault.NewDataKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "clinic.db")
	st := openStore(t, path, "clinic1")
	n := startNode(t, st, sealerOf(t, dk), chart.Config{})
	r := register(t, n.svc, care.PatientInput{Name: "张三丰", Sex: "male", BirthDate: "1950-03-15", Phones: []string{"13812345678"}})
	ctx := context.Background()
	if _, err := n.svc.AddAllergy(ctx, doctor, r.ID, care.AllergyInput{Substance: "青霉素"}); err != nil {
		t.Fatal(err)
	}

	t.Run("new service starts locked", func(t *testing.T) {
		checkLocked(t, chart.New(chart.Config{Records: st, Node: "clinic1", Logger: quiet}), r.ID)
	})
	t.Run("Lock locks", func(t *testing.T) {
		svc := chart.New(chart.Config{Records: st, Node: "clinic1", Logger: quiet})
		if err := svc.Unlock(sealerOf(t, dk)); err != nil {
			t.Fatal(err)
		}
		if svc.Locked() || svc.Count() != 1 {
			t.Fatalf("after Unlock: locked %v count %d", svc.Locked(), svc.Count())
		}
		svc.Lock()
		checkLocked(t, svc, r.ID)
	})
	t.Run("wrong data key", func(t *testing.T) {
		// More patients than CPUs, so that every opener goroutine fails.
		for i := range 20 {
			register(t, n.svc, care.PatientInput{Name: fmt.Sprintf("王%c", '一'+rune(i)), Sex: "male", BirthDate: "1990-01-01"})
		}
		svc := chart.New(chart.Config{Records: st, Node: "clinic1", Logger: quiet})
		done := make(chan error, 1)
		go func() { done <- svc.Unlock(newSealer(t)) }()
		select {
		case err := <-done:
			if !errors.Is(err, vault.ErrWrongKey) {
				t.Errorf("Unlock with another network's key = %v, want vault.ErrWrongKey", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("Unlock with a wrong key hangs")
		}
		checkLocked(t, svc, r.ID)
	})
	t.Run("restart", func(t *testing.T) {
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		st2 := openStore(t, path, "clinic1")
		svc := chart.New(chart.Config{Records: st2, Node: "clinic1", Now: testClock(), Location: time.UTC, Logger: quiet})
		checkLocked(t, svc, r.ID)
		if err := svc.Unlock(sealerOf(t, dk)); err != nil {
			t.Fatal(err)
		}
		if svc.Count() != 21 {
			t.Errorf("Count after restart = %d, want 21", svc.Count())
		}
		for _, q := range []string{"张三丰", "zhangsanfeng", "zsf", "13812345678", "5678"} {
			if ids := searchIDs(t, svc, desk, q); !slices.Equal(ids, []string{r.ID}) {
				t.Errorf("after restart, search %q = %v, want %s", q, ids, r.ID)
			}
		}
		p, err := svc.Get(ctx, doctor, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != "张三丰" || !slices.Equal(allergyNames(p), []string{"青霉素"}) {
			t.Errorf("after restart: %s", describe(p))
		}
	})
}

func TestNurseLaptop(t *testing.T) {
	n := newNode(t, "laptop1", newSealer(t), chart.Config{NurseLaptop: true})
	ctx := context.Background()
	mine := register(t, n.svc, care.PatientInput{Name: "张三", Sex: "male", BirthDate: "1950-01-01", Phones: []string{"13800000001"}})
	other := register(t, n.svc, care.PatientInput{Name: "张四", Sex: "male", BirthDate: "1950-01-01", Phones: []string{"13800000001"}})
	otherNurse := chart.Actor{Name: "nurse-qian", Role: nurse.Role}

	for name, err := range map[string]error{
		"Get": func() error { _, err := n.svc.Get(ctx, nurse, mine.ID); return err }(),
		"Update": func() error {
			_, err := n.svc.Update(ctx, nurse, mine.ID, []byte(`{"occupation":"x"}`), "")
			return err
		}(),
		"AddAllergy": func() error {
			_, err := n.svc.AddAllergy(ctx, nurse, mine.ID, care.AllergyInput{Substance: "青霉素"})
			return err
		}(),
		"Merge": func() error { _, err := n.svc.Merge(ctx, nurse, mine.ID, other.ID); return err }(),
	} {
		if !errors.Is(err, chart.ErrNotAssigned) {
			t.Errorf("unassigned %s = %v, want ErrNotAssigned", name, err)
		}
	}
	if ids := searchIDs(t, n.svc, nurse, "zhang"); len(ids) != 0 {
		t.Errorf("nurse search before assignment = %v", ids)
	}
	if dups, _ := n.svc.Duplicates(nurse); len(dups) != 0 {
		t.Errorf("nurse sees duplicates of patients not assigned: %+v", dups)
	}

	if _, err := n.svc.Assign(ctx, admin, mine.ID, "bad name!", false); !errors.Is(err, chart.ErrBadRequest) {
		t.Errorf("Assign with a bad name = %v", err)
	}
	p, err := n.svc.Assign(ctx, admin, mine.ID, nurse.Name, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Assignees, []string{nurse.Name}) {
		t.Errorf("assignees = %v", p.Assignees)
	}
	if _, err := n.svc.Get(ctx, nurse, mine.ID); err != nil {
		t.Errorf("assigned Get = %v", err)
	}
	if _, err := n.svc.AddAllergy(ctx, nurse, mine.ID, care.AllergyInput{Substance: "青霉素"}); err != nil {
		t.Errorf("assigned AddAllergy = %v", err)
	}
	if _, err := n.svc.Get(ctx, nurse, other.ID); !errors.Is(err, chart.ErrNotAssigned) {
		t.Errorf("the other patient: %v, want ErrNotAssigned", err)
	}
	for _, q := range []string{"zhang", "张", "13800000001", "0001"} {
		if ids := searchIDs(t, n.svc, nurse, q); !slices.Equal(ids, []string{mine.ID}) {
			t.Errorf("nurse search %q = %v, want only %s", q, ids, mine.ID)
		}
		if ids := searchIDs(t, n.svc, otherNurse, q); len(ids) != 0 {
			t.Errorf("another nurse's search %q = %v, want nothing", q, ids)
		}
		for _, a := range []chart.Actor{admin, doctor, desk} {
			if ids := searchIDs(t, n.svc, a, q); len(ids) != 2 {
				t.Errorf("%s search %q = %v, want both", a.Role, q, ids)
			}
		}
	}
	for _, a := range []chart.Actor{admin, doctor, desk} {
		if _, err := n.svc.Get(ctx, a, other.ID); err != nil {
			t.Errorf("%s Get = %v", a.Role, err)
		}
	}
	// The nurse's search limit applies after filtering.
	if res, _ := n.svc.Search(nurse, "zhang", 1); len(res) != 1 || res[0].ID != mine.ID {
		t.Errorf("nurse search with limit 1 = %+v", res)
	}

	if _, err := n.svc.Assign(ctx, admin, mine.ID, nurse.Name, true); err != nil {
		t.Fatal(err)
	}
	if _, err := n.svc.Get(ctx, nurse, mine.ID); !errors.Is(err, chart.ErrNotAssigned) {
		t.Errorf("after unassigning: %v, want ErrNotAssigned", err)
	}
	if ids := searchIDs(t, n.svc, nurse, "zhang"); len(ids) != 0 {
		t.Errorf("nurse search after unassigning = %v", ids)
	}

	// A node that is not a nurse laptop does not restrict nurses.
	m := newNode(t, "clinic1", newSealer(t), chart.Config{})
	r := register(t, m.svc, care.PatientInput{Name: "张三", Sex: "male", BirthDate: "1950-01-01"})
	if _, err := m.svc.Get(ctx, nurse, r.ID); err != nil {
		t.Errorf("nurse on a clinic node: %v", err)
	}
	if ids := searchIDs(t, m.svc, nurse, "zhang"); len(ids) != 1 {
		t.Errorf("nurse search on a clinic node = %v", ids)
	}
}

func TestAudit(t *testing.T) {
	n := newNode(t, "clinic1", newSealer(t), chart.Config{})
	ctx := context.Background()
	a := register(t, n.svc, care.PatientInput{Name: "貂蝉", Sex: "female", BirthDate: "1990-02-02"})
	b := register(t, n.svc, care.PatientInput{Name: "貂婵", Sex: "female", BirthDate: "1990-02-02"})
	if _, err := n.svc.Get(ctx, doctor, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := n.svc.Update(ctx, desk, a.ID, []byte(`{"address":"山西省忻州市"}`), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := n.svc.AddAllergy(ctx, doctor, b.ID, care.AllergyInput{Substance: "青霉素"}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.svc.Merge(ctx, doctor, a.ID, b.ID); err != nil {
		t.Fatal(err)
	}

	evs, err := n.svc.Audit(ctx, admin, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	type ev struct{ who, role, action, patient string }
	want := []ev{
		{desk.Name, "desk", "register", a.ID},
		{desk.Name, "desk", "register", b.ID},
		{doctor.Name, "doctor", "read", a.ID},
		{desk.Name, "desk", "update", a.ID},
		{doctor.Name, "doctor", "allergy.add", b.ID},
		{doctor.Name, "doctor", "merge", b.ID},
		{doctor.Name, "doctor", "merged-into", a.ID},
	}
	var got []ev
	for i, e := range evs {
		got = append(got, ev{e.Who, e.Role, e.Action, e.Patient})
		if e.Node != "clinic1" || e.ID == "" {
			t.Errorf("event %d: node %q id %q", i, e.Node, e.ID)
		}
		at, err := time.Parse(time.RFC3339Nano, e.At)
		if err != nil || at.Before(testToday) || at.After(testToday.Add(time.Minute)) {
			t.Errorf("event %d at %q (%v): not the test clock's time", i, e.At, err)
		}
		if i > 0 && e.At < evs[i-1].At {
			t.Errorf("event %d at %s before event %d at %s: not oldest first", i, e.At, i-1, evs[i-1].At)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit trail:\n got %v\nwant %v", got, want)
	}
	for _, e := range evs {
		switch e.Action {
		case "update":
			if !slices.Equal(e.Fields, []string{"address"}) {
				t.Errorf("update event fields %v, want [address]", e.Fields)
			}
		case "merge":
			if !slices.Equal(e.Fields, []string{a.ID, b.ID}) {
				t.Errorf("merge event fields %v", e.Fields)
			}
		}
	}

	// Reading the trail is audited too, and asking by the merged-away id
	// gives the same trail.
	again, err := n.svc.Audit(ctx, admin, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != len(evs)+1 || again[len(again)-1].Action != "audit.read" || again[len(again)-1].Who != admin.Name {
		t.Errorf("second audit read: %d events, last %+v", len(again), again[len(again)-1])
	}
	if _, err := n.svc.Audit(ctx, admin, "nobody"); !errors.Is(err, chart.ErrNotFound) {
		t.Errorf("audit of a missing patient: %v", err)
	}
	// A refused call leaves no trace: nothing was read or changed.
	if _, err := n.svc.Update(ctx, desk, b.ID, []byte(`{"phones":["1"]}`), ""); err == nil {
		t.Fatal("bad update accepted")
	}
	third, _ := n.svc.Audit(ctx, admin, b.ID)
	if len(third) != len(again)+1 {
		t.Errorf("a refused update was audited: %d events, want %d", len(third), len(again)+1)
	}
}

// TestAuditAcrossDays checks a trail spread over several days' records
// comes back whole and in order.
func TestAuditAcrossDays(t *testing.T) {
	var hours atomic.Int64
	clock := func() time.Time { return testToday.Add(time.Duration(hours.Add(7)) * time.Hour) }
	n := newNode(t, "clinic1", newSealer(t), chart.Config{Now: clock})
	ctx := context.Background()
	r := register(t, n.svc, care.PatientInput{Name: "吕布", Sex: "male", BirthDate: "1970-07-07"})
	for range 10 {
		if _, err := n.svc.Get(ctx, doctor, r.ID); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := n.svc.Audit(ctx, admin, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 11 || evs[0].Action != "register" {
		t.Fatalf("%d events, first %+v", len(evs), evs[0])
	}
	days := map[string]bool{}
	for i, e := range evs {
		days[e.At[:10]] = true
		if i > 0 && e.At <= evs[i-1].At {
			t.Errorf("event %d not after event %d", i, i-1)
		}
	}
	if len(days) < 3 {
		t.Errorf("events span %d days, want several", len(days))
	}
}

// TestLockWhileBusy locks and unlocks the service while the desk registers
// and searches: every call either works or says the node is locked.
func TestLockWhileBusy(t *testing.T) {
	dk, err := vault.NewDataKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	n := newNode(t, "clinic1", sealerOf(t, dk), chart.Config{})
	ctx := context.Background()
	// Each registration kicks off one Lock and Unlock that runs beside it.
	kick := make(chan struct{}, 1)
	toggled := make(chan error, 1)
	go func() {
		defer close(toggled)
		for range kick {
			n.svc.Lock()
			if err := n.svc.Unlock(sealerOf(t, dk)); err != nil {
				toggled <- err
				return
			}
		}
	}()
	registered := 0
	for i := range 300 {
		select {
		case kick <- struct{}{}:
		default:
		}
		_, err := n.svc.Register(ctx, desk, care.PatientInput{Name: "钱" + string(rune('一'+i)), Sex: "male", BirthDate: "1980-01-01",
			Phones: []string{fmt.Sprintf("138%08d", i)}}, false)
		switch {
		case err == nil:
			registered++
		case !errors.Is(err, chart.ErrLocked):
			t.Fatalf("register while locking: %v", err)
		}
		if _, err := n.svc.Search(desk, "qian", 0); err != nil && !errors.Is(err, chart.ErrLocked) {
			t.Fatalf("search while locking: %v", err)
		}
	}
	close(kick)
	if err := <-toggled; err != nil {
		t.Fatal(err)
	}
	// A write that lands while Unlock reads the store can miss the index
	// Unlock installs; the next unlock finds it.
	if err := n.svc.Unlock(sealerOf(t, dk)); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of 300 registered while the node locked and unlocked", registered)
	if err := <-toggled; err != nil {
		t.Fatal(err)
	}
	if n.svc.Count() != registered {
		t.Errorf("Count = %d after %d registrations", n.svc.Count(), registered)
	}
}
