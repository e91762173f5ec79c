// Package corpus makes realistic sync traffic: the changes two nodes write
// when desk staff register node/sample patients through node/chart (sealed
// personal values, plain JSON fields, allergy and diagnosis set adds, audit
// facts), a nurse records vital signs and visits, and follow-up tasks are
// worked. The batch dictionary is trained on one corpus (cmd gendict) and
// measured on another made with a different seed (wire's benchmarks).
//
// Sealed values and record ids are random whatever the seed, as in real use,
// so two corpora of one seed differ in those bytes only.
package corpus

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync/atomic"
	"time"

	"carenode/crdt"
	"carenode/node/auth"
	"carenode/node/care"
	"carenode/node/chart"
	"carenode/node/identity"
	"carenode/node/sample"
	"carenode/node/store"
	"carenode/node/vault"
)

// node is one writer: its store and chart service.
type node struct {
	st  *store.Store
	svc *chart.Service
	id  crdt.NodeID
}

var (
	deskActor  = chart.Actor{Name: "desk-li", Role: auth.RoleDesk}
	docActor   = chart.Actor{Name: "dr-wang", Role: auth.RoleDoctor}
	nurseActor = chart.Actor{Name: "nurse-zhao", Role: auth.RoleNurse}
)

// vital is one kind of reading, shaped as devices/vitals makes them.
type vital struct {
	kind, loinc, unit string
	lo, hi            float64
}

var vitals = []vital{
	{"systolic", "8480-6", "mm[Hg]", 100, 180},
	{"diastolic", "8462-4", "mm[Hg]", 60, 110},
	{"heart-rate", "8867-4", "/min", 50, 110},
	{"spo2", "59408-5", "%", 88, 100},
	{"body-temp", "8310-5", "Cel", 35.8, 38.9},
	{"glucose", "14743-9", "mmol/L", 3.9, 16},
	{"body-weight", "29463-7", "kg", 35, 95},
}

// Make writes the traffic of patients registered patients into two stores
// under dir and returns every change, in the order a sync sends them (by
// origin, then sequence).
func Make(ctx context.Context, dir string, seed uint64, patients int) ([]crdt.Change, error) {
	rng := rand.New(rand.NewPCG(seed, 7))
	keys := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 'c', 'o', 'r', 'p', 'u', 's'})
	dk, err := vault.NewDataKey(keys)
	if err != nil {
		return nil, err
	}
	sealer, err := vault.NewSealer(dk, nil)
	if err != nil {
		return nil, err
	}
	var ms atomic.Int64
	start := time.Date(2026, time.November, 24, 8, 0, 0, 0, time.UTC)
	now := func() time.Time { return start.Add(time.Duration(ms.Add(1+rng.Int64N(3000))) * time.Millisecond) }
	open := func(name string) (*node, error) {
		ident, err := identity.Generate(keys)
		if err != nil {
			return nil, err
		}
		id := crdt.NodeID(ident.ID)
		opts := store.DefaultOptions(filepath.Join(dir, name+".db"), id)
		opts.Create, opts.NoSync, opts.Now = true, true, now
		opts.Logger = slog.New(slog.DiscardHandler)
		opts.Important = func(coll, f string) bool { return coll == chart.Collection && chart.Important(f) }
		st, err := store.Open(opts)
		if err != nil {
			return nil, err
		}
		svc := chart.New(chart.Config{Records: st, Node: string(id), Now: now, Location: time.UTC, Logger: opts.Logger})
		if err := svc.Unlock(sealer); err != nil {
			st.Close()
			return nil, err
		}
		return &node{st: st, svc: svc, id: id}, nil
	}
	desk, err := open("desk")
	if err != nil {
		return nil, err
	}
	defer desk.st.Close()
	nurse, err := open("nurse")
	if err != nil {
		return nil, err
	}
	defer nurse.st.Close()

	var ids []string
	for i, p := range sample.New(seed).Patients(patients) {
		res, err := desk.svc.Register(ctx, deskActor, care.PatientInput{Name: p.Name, Sex: p.Sex, BirthDate: p.BirthDate,
			IDNumber: p.IDNumber, Phones: []string{p.Phone}, Address: p.Address}, true)
		if err != nil {
			return nil, fmt.Errorf("register %d: %w", i, err)
		}
		id := res.ID
		ids = append(ids, id)
		for _, al := range p.Allergies {
			if _, err := desk.svc.AddAllergy(ctx, docActor, id, care.AllergyInput{Substance: al, Severity: "moderate"}); err != nil {
				return nil, fmt.Errorf("allergy: %w", err)
			}
		}
		for _, d := range p.Diagnoses {
			if _, _, err := desk.svc.AddDiagnosis(ctx, docActor, id, care.DiagnosisInput{Code: d}); err != nil {
				return nil, fmt.Errorf("diagnosis: %w", err)
			}
		}
		if rng.IntN(3) == 0 {
			if _, err := desk.svc.IssueCard(ctx, deskActor, id); err != nil {
				return nil, fmt.Errorf("card: %w", err)
			}
		}
		if rng.IntN(4) == 0 {
			if _, err := desk.svc.Assign(ctx, docActor, id, nurseActor.Name, false); err != nil {
				return nil, fmt.Errorf("assign: %w", err)
			}
		}
		if rng.IntN(10) == 0 {
			body := fmt.Appendf(nil, `{"phones":["1%d%09d"]}`, 3+rng.IntN(6), rng.IntN(1e9))
			if _, err := desk.svc.Update(ctx, deskActor, id, body, ""); err != nil {
				return nil, fmt.Errorf("update: %w", err)
			}
		}
		if rng.IntN(2) == 0 {
			if _, err := desk.svc.Get(ctx, docActor, id); err != nil {
				return nil, fmt.Errorf("read: %w", err)
			}
		}
		if err := followUp(ctx, desk, rng, id, now); err != nil {
			return nil, err
		}
	}
	if err := exchange(desk.st, nurse.st); err != nil {
		return nil, err
	}
	// The nurse's day: readings (the bulk of a clinic day's changes),
	// visit notes that replace what the desk wrote, chart reads.
	for range patients * 3 {
		id := ids[rng.IntN(len(ids))]
		if err := reading(ctx, nurse, rng, id, now); err != nil {
			return nil, err
		}
		if rng.IntN(8) == 0 {
			if err := followUp(ctx, nurse, rng, id, now); err != nil {
				return nil, err
			}
		}
		if rng.IntN(6) == 0 {
			if _, err := nurse.svc.Get(ctx, nurseActor, id); err != nil {
				return nil, fmt.Errorf("read: %w", err)
			}
		}
	}
	if err := exchange(nurse.st, desk.st); err != nil {
		return nil, err
	}
	var out []crdt.Change
	after := crdt.Vector{}
	for {
		page, err := desk.st.ChangesAfter(after, 1000)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Changes...)
		after = page.Next
		if !page.More {
			return out, nil
		}
	}
}

// reading records one vital sign as a fact of the patient's vitals record.
func reading(ctx context.Context, n *node, rng *rand.Rand, patient string, now func() time.Time) error {
	v := vitals[rng.IntN(len(vitals))]
	x := v.lo + rng.Float64()*(v.hi-v.lo)
	at := now().UTC()
	body := fmt.Appendf(nil, `{"kind":%q,"loinc":%q,"value":%.1f,"unit":%q,"rawValue":"%.1f","rawUnit":%q,"device":"omron-hem-7121/%04d","measuredAt":%q,"receivedAt":%q}`,
		v.kind, v.loinc, x, v.unit, x, v.unit, rng.IntN(20), at.Add(-2*time.Second).Format(time.RFC3339), at.Format(time.RFC3339Nano))
	_, err := n.st.Write(ctx, store.WriteRequest{Collection: "vitals", Record: patient,
		Edits: []store.Edit{{Kind: crdt.MutFact, Field: "readings", FactID: store.NewShortID(), Value: body}}})
	return err
}

// followUp writes or advances a follow-up task: plain JSON registers,
// each naming the value it replaces, and an attempt fact.
func followUp(ctx context.Context, n *node, rng *rand.Rand, patient string, now func() time.Time) error {
	task := patient + ".t1"
	due := now().AddDate(0, 0, []int{1, 3, 7, 14, 30}[rng.IntN(5)]).Format("2006-01-02")
	edits := []store.Edit{
		{Kind: crdt.MutSet, Field: "patient", Value: fmt.Appendf(nil, "%q", patient), SeenCurrent: true},
		{Kind: crdt.MutSet, Field: "due", Value: fmt.Appendf(nil, "%q", due), SeenCurrent: true},
		{Kind: crdt.MutSet, Field: "method", Value: fmt.Appendf(nil, "%q", []string{"phone", "sms", "home-visit", "video"}[rng.IntN(4)]), SeenCurrent: true},
		{Kind: crdt.MutSet, Field: "status", Value: fmt.Appendf(nil, "%q", []string{"open", "done", "unreachable"}[rng.IntN(3)]), SeenCurrent: true},
	}
	if rng.IntN(2) == 0 {
		edits = append(edits, store.Edit{Kind: crdt.MutFact, Field: "attempts", FactID: store.NewShortID(),
			Value: fmt.Appendf(nil, `{"at":%q,"by":"nurse-zhao","method":"phone","outcome":%q,"answers":{"bpControlled":%t,"takingMeds":%t}}`,
				now().UTC().Format(time.RFC3339), []string{"reached", "no-answer", "wrong-number"}[rng.IntN(3)], rng.IntN(2) == 0, rng.IntN(4) > 0)})
	}
	_, err := n.st.Write(ctx, store.WriteRequest{Collection: "followups", Record: task, Edits: edits})
	return err
}

// exchange sends from every change to lacks, as one sync direction would.
func exchange(from, to *store.Store) error {
	after := to.Vector()
	for {
		page, err := from.ChangesAfter(after, 500)
		if err != nil {
			return err
		}
		if len(page.Changes) > 0 {
			if _, err := to.ApplyRemote(page.Changes); err != nil {
				return err
			}
		}
		after = page.Next
		if !page.More {
			return nil
		}
	}
}
