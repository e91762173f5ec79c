package plans

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/node/followup"
	"carenode/node/store"
)

// The work-list benchmark's dataset (issue 7): 100,000 patients, each
// with a hypertension plan and three open tasks (300,000), due from 60
// days ago to 90 days ahead, assigned to 50 staff members. Only the
// follow-up records are written: the index reads no patient record.
const (
	benchPatients = 100_000
	benchTasksPer = 3
	benchStaff    = 50
	benchSeed     = 7
)

var benchToday = followup.Date{Year: 2026, Month: time.March, Day: 2}

// generate writes the dataset into a new store at path, seeded, with
// store.WriteAll in batches of 10,000 records (NoSync: a generator, not a
// clinic).
func generate(path string, seed uint64, patients, tasksPer, staff int) error {
	opts := store.DefaultOptions(path, "bench")
	opts.Create, opts.NoSync, opts.MaxBatch = true, true, 4096
	opts.Logger = slog.New(slog.DiscardHandler)
	st, err := store.Open(opts)
	if err != nil {
		return err
	}
	defer st.Close()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var tmpl followup.Template
	for _, t := range followup.DefaultTemplates() {
		if t.ID == "hypertension" {
			tmpl = t
		}
	}
	vid, vjson := versionID(tmpl)
	batch := []store.WriteRequest{{Collection: VersionsCollection, Record: vid, Create: true,
		Edits: []store.Edit{{Kind: crdt.MutSet, Field: fJSON, Value: vjson}}}}
	flush := func() error {
		if _, err := st.WriteAll(context.Background(), batch); err != nil {
			return err
		}
		batch = batch[:0]
		return nil
	}
	const alphabet = "0123456789abcdefghijklmnopqrstuv"
	for i := range patients {
		var id [21]byte
		for j := range id {
			id[j] = alphabet[rng.IntN(32)]
		}
		patient := string(id[:])
		plan := patient + ".hypertension"
		who := fmt.Sprintf("staff-%02d", rng.IntN(staff))
		start := benchToday.AddDays(rng.IntN(150) - 90)
		batch = append(batch, store.WriteRequest{Collection: PlansCollection, Record: plan, Create: true, Edits: []store.Edit{
			set(fPatient, patient), set(fVersion, vid), set(fStart, start.String()), set(fDoctor, "dr-"+who[6:]),
			set(fAssignee, who), set(fPaused, false), set(fScheduled, benchToday.AddMonths(13).String())}})
		for seq := 1; seq <= tasksPer; seq++ {
			d := followup.Due{Seq: seq, Date: start.AddDays(30 * seq), Method: tmpl.Schedule.Repeat.Methods[(seq-1)%3]}
			batch = append(batch, newTask(plan, patient, d))
		}
		if len(batch) >= 10_000 || i == patients-1 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

var bench struct {
	once sync.Once
	dir  string
	path string
	gen  time.Duration
	err  error
}

// benchStore generates the dataset once per test binary and opens it.
func benchStore(b *testing.B) *store.Store {
	b.Helper()
	bench.once.Do(func() {
		bench.dir, bench.err = os.MkdirTemp("", "plans-bench-")
		if bench.err != nil {
			return
		}
		bench.path = filepath.Join(bench.dir, "bench.db")
		start := time.Now()
		bench.err = generate(bench.path, benchSeed, benchPatients, benchTasksPer, benchStaff)
		bench.gen = time.Since(start)
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	opts := store.DefaultOptions(bench.path, "bench")
	opts.Logger = slog.New(slog.DiscardHandler)
	st, err := store.Open(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.dir != "" {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

func benchService(b *testing.B, st *store.Store) *Service {
	cfg := DefaultConfig(st)
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Now = func() time.Time { return time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC) }
	cfg.Location = time.UTC
	svc, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return svc
}

// BenchmarkIndexBuild300k opens the service over the dataset: every
// plan, task and alert read with ListOnly, every task evaluated, the
// work lists sorted.
func BenchmarkIndexBuild300k(b *testing.B) {
	st := benchStore(b)
	var cpu time.Duration
	b.ResetTimer()
	for b.Loop() {
		c0 := cpuTime()
		svc := benchService(b, st)
		cpu += cpuTime() - c0
		svc.Close()
	}
	b.ReportMetric(cpu.Seconds()*1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(bench.gen.Seconds(), "gen-s") // writing the dataset, once per binary
}

// cpuTime is the process's user and system CPU time so far: steadier than
// wall time on a machine shared with other work.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWorkList300k asks for one staff member's work list (overdue,
// today, next 7 days), a different member each time, and reports the
// latency percentiles of single calls.
func BenchmarkWorkList300k(b *testing.B) {
	st := benchStore(b)
	svc := benchService(b, st)
	defer svc.Close()
	if n := len(svc.idx.tasks); n != benchPatients*benchTasksPer {
		b.Fatalf("index holds %d tasks, want %d", n, benchPatients*benchTasksPer)
	}
	var lat []time.Duration
	items := 0
	i := 0
	b.ResetTimer()
	for b.Loop() {
		user := fmt.Sprintf("staff-%02d", i%benchStaff)
		i++
		t0 := time.Now()
		w := svc.WorkListOn(user, benchToday)
		lat = append(lat, time.Since(t0))
		items += len(w.Overdue) + len(w.Today) + len(w.Upcoming)
	}
	b.StopTimer()
	slices.Sort(lat)
	ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
	b.ReportMetric(float64(items)/float64(len(lat)), "tasks/list")
}
