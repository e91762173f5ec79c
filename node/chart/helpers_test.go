package chart_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/node/auth"
	"carenode/node/care"
	"carenode/node/chart"
	"carenode/node/residentid"
	"carenode/node/store"
	"carenode/node/vault"
)

// Staff the tests act as.
var (
	admin  = chart.Actor{Name: "admin", Role: auth.RoleAdmin}
	doctor = chart.Actor{Name: "dr-wang", Role: auth.RoleDoctor}
	desk   = chart.Actor{Name: "desk-li", Role: auth.RoleDesk}
	nurse  = chart.Actor{Name: "nurse-zhao", Role: auth.RoleNurse}
)

// quiet discards the service's logs.
var quiet = slog.New(slog.DiscardHandler)

// testToday is the clinic's date in every test: ages and auto tags are
// reckoned from it.
var testToday = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)

// testClock returns a clock starting at testToday that moves on by one
// millisecond at every reading, so audit events written one after another
// sort in the order they were written.
func testClock() func() time.Time {
	var ms atomic.Int64
	return func() time.Time { return testToday.Add(time.Duration(ms.Add(1)) * time.Millisecond) }
}

// openStore opens (creating it if needed) the bbolt file path as node, with
// the chart's important fields, and closes it at the end of the test. A
// test that closes it itself may: Close twice is harmless.
func openStore(t testing.TB, path string, node crdt.NodeID) *store.Store {
	t.Helper()
	opts := store.DefaultOptions(path, node)
	opts.Create = true
	opts.Important = func(coll, f string) bool { return coll == chart.Collection && chart.Important(f) }
	st, err := store.Open(opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newSealer returns a Sealer under a fresh data key.
func newSealer(t testing.TB) *vault.Sealer {
	t.Helper()
	dk, err := vault.NewDataKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return sealerOf(t, dk)
}

func sealerOf(t testing.TB, dk vault.DataKey) *vault.Sealer {
	t.Helper()
	s, err := vault.NewSealer(dk, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// node is one node under test: its store and its unlocked chart service.
type node struct {
	st  *store.Store
	svc *chart.Service
}

// newNode opens a fresh store named id in t.TempDir() and an unlocked
// service over it; cfg's Records, Node and Now are filled in when unset.
func newNode(t testing.TB, id crdt.NodeID, sealer *vault.Sealer, cfg chart.Config) *node {
	t.Helper()
	st := openStore(t, filepath.Join(t.TempDir(), string(id)+".db"), id)
	return startNode(t, st, sealer, cfg)
}

func startNode(t testing.TB, st *store.Store, sealer *vault.Sealer, cfg chart.Config) *node {
	t.Helper()
	cfg.Records = st
	if cfg.Node == "" {
		cfg.Node = string(st.Node())
	}
	if cfg.Now == nil {
		cfg.Now = testClock()
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	svc := chart.New(cfg)
	if err := svc.Unlock(sealer); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	return &node{st: st, svc: svc}
}

// idNumber returns a valid GB 11643 resident ID number for a person born
// on birth (YYYYMMDD) in region (6 digits), with sequence seq (the last
// digit's parity gives the sex: odd male, even female).
func idNumber(t testing.TB, region, birth, seq string) string {
	t.Helper()
	first17 := region + birth + seq
	c, err := residentid.CheckChar(first17)
	if err != nil {
		t.Fatalf("check char of %s: %v", first17, err)
	}
	return first17 + string(c)
}

// register registers in as desk and fails the test on error.
func register(t testing.TB, svc *chart.Service, in care.PatientInput) chart.RegisterResult {
	t.Helper()
	r, err := svc.Register(context.Background(), desk, in, false)
	if err != nil {
		t.Fatalf("register %s: %v", in.Name, err)
	}
	return r
}

// searchIDs returns the ids Search gives for q, in order.
func searchIDs(t testing.TB, svc *chart.Service, a chart.Actor, q string) []string {
	t.Helper()
	res, err := svc.Search(a, q, 0)
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	ids := make([]string, len(res))
	for i, r := range res {
		ids[i] = r.ID
	}
	return ids
}

// exchange sends every patient change from has that to lacks, as sync
// would, and returns the ids of the patient records they touched: what
// the receiving service must Refresh.
func exchange(t testing.TB, from, to *store.Store) []string {
	t.Helper()
	var ids []string
	after := to.Vector()
	for {
		page, err := from.ChangesAfter(after, 100)
		if err != nil {
			t.Fatalf("changes after: %v", err)
		}
		if len(page.Changes) > 0 {
			if _, err := to.ApplyRemote(page.Changes); err != nil {
				t.Fatalf("apply remote: %v", err)
			}
		}
		for _, c := range page.Changes {
			if c.Collection == chart.Collection && !slices.Contains(ids, c.Record) {
				ids = append(ids, c.Record)
			}
		}
		after = page.Next
		if !page.More {
			return ids
		}
	}
}

// syncBoth exchanges changes both ways between two nodes and refreshes
// both services.
func syncBoth(t testing.TB, a, b *node) {
	t.Helper()
	toB := exchange(t, a.st, b.st)
	toA := exchange(t, b.st, a.st)
	if err := b.svc.Refresh(toB); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if err := a.svc.Refresh(toA); err != nil {
		t.Fatalf("refresh: %v", err)
	}
}

// validationCodes returns the problem codes of a *care.ValidationError, or
// fails the test when err is not one.
func validationCodes(t testing.TB, err error) []string {
	t.Helper()
	var ve *care.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v (%T), want *care.ValidationError", err, err)
	}
	var codes []string
	for _, p := range ve.Problems {
		codes = append(codes, p.Code)
	}
	return codes
}

// elementIDs returns the ids of a chart's allergies, diagnoses or medications.
func allergyNames(p chart.Patient) []string {
	var out []string
	for _, a := range p.Allergies {
		out = append(out, a.Substance)
	}
	slices.Sort(out)
	return out
}

func diagnosisCodes(p chart.Patient) []string {
	var out []string
	for _, d := range p.Diagnoses {
		out = append(out, d.Code)
	}
	slices.Sort(out)
	return out
}

func medicationNames(p chart.Patient) []string {
	var out []string
	for _, m := range p.Medications {
		out = append(out, m.Name)
	}
	slices.Sort(out)
	return out
}

func tagNames(p chart.Patient) []string {
	var out []string
	for _, tg := range p.Tags {
		out = append(out, tg.Tag)
	}
	slices.Sort(out)
	return out
}

func describe(p chart.Patient) string {
	return fmt.Sprintf("%s %s allergies=%v diagnoses=%v medications=%v", p.ID, p.Name, allergyNames(p), diagnosisCodes(p), medicationNames(p))
}
