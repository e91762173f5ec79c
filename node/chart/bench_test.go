package chart

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"carenode/node/auth"
	"carenode/node/care"
	"carenode/node/sample"
	"carenode/node/search"
	"carenode/node/store"
	"carenode/node/vault"
)

// The issue 4 targets for 100,000 patients on a clinic machine: the index
// built at unlock in under 2 s, and search p99 under 10 ms. Each benchmark
// writes its 100,000 sample patients once, outside the timer.

const benchPatients = 100_000

// benchStore writes n sample patients (with their allergies and diagnoses)
// into a new store under dir, sealed exactly as Register seals them, and
// returns the store, the Sealer and the patients. Writing goes straight to
// the store from many goroutines with NoSync: through Register every write
// would wait for its own fsync and keep the live index current, which is
// not what is measured.
func benchStore(b *testing.B, dir string, n int) (*store.Store, *vault.Sealer, []sample.Patient) {
	b.Helper()
	start := time.Now()
	opts := store.DefaultOptions(filepath.Join(dir, "bench.db"), "bench1")
	opts.Create, opts.NoSync = true, true
	opts.Logger = slog.New(slog.DiscardHandler)
	opts.Important = func(coll, f string) bool { return coll == Collection && Important(f) }
	st, err := store.Open(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	dk, err := vault.NewDataKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	sealer, err := vault.NewSealer(dk, nil)
	if err != nil {
		b.Fatal(err)
	}
	patients := sample.New(4).Patients(n)
	now := sample.DefaultRefDate()

	const workers = 64
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(patients); i += workers {
				req, err := benchRequest(sealer, patients[i], now)
				if err == nil {
					_, err = st.Write(context.Background(), req)
				}
				if err != nil {
					errc <- fmt.Errorf("patient %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		b.Fatal(err)
	}
	b.Logf("wrote %d patients in %v", n, time.Since(start).Round(time.Millisecond))
	return st, sealer, patients
}

// benchRequest is the store write Register makes for p, with p's allergies
// and diagnoses added in the same write.
func benchRequest(sealer *vault.Sealer, p sample.Patient, now time.Time) (store.WriteRequest, error) {
	in := care.PatientInput{Name: p.Name, Sex: p.Sex, BirthDate: p.BirthDate, IDNumber: p.IDNumber,
		Phones: []string{p.Phone}, Address: p.Address}.Normalize()
	id := store.NewRecordID(now)
	vals, err := demographicValues(in)
	if err != nil {
		return store.WriteRequest{}, err
	}
	var edits []store.Edit
	for _, spec := range demographics() {
		if isEmptyJSON(vals[spec.name]) {
			continue
		}
		e, err := setEdit(sealer, id, spec.name, vals[spec.name], nil)
		if err != nil {
			return store.WriteRequest{}, err
		}
		edits = append(edits, e)
	}
	for _, a := range p.Allergies {
		e, _, err := elementEdits(sealer, id, setAllergies, elemAllergy, map[string]string{"substance": a, "severity": care.SeverityUnknown})
		if err != nil {
			return store.WriteRequest{}, err
		}
		edits = append(edits, e...)
	}
	for _, c := range p.Diagnoses {
		e, _, err := elementEdits(sealer, id, setDiagnoses, elemDiagnosis, map[string]string{"code": c})
		if err != nil {
			return store.WriteRequest{}, err
		}
		edits = append(edits, e...)
	}
	return store.WriteRequest{Collection: Collection, Record: id, Create: true, Edits: edits}, nil
}

func benchService(st *store.Store) *Service {
	return New(Config{Records: st, Node: "bench1", Logger: slog.New(slog.DiscardHandler)})
}

// BenchmarkUnlock100k measures Unlock: reading 100,000 patients, opening
// their indexed fields and building the search and duplicate indexes.
// Target: under 2 s.
func BenchmarkUnlock100k(b *testing.B) {
	if testing.Short() {
		b.Skip("100,000 patients: not in short mode")
	}
	st, sealer, _ := benchStore(b, b.TempDir(), benchPatients)
	// CPU time says what the unlock costs whatever else the shared machine
	// runs: wall time on an idle 2-core machine is at least half of it.
	var cpu time.Duration
	for b.Loop() {
		c0 := cpuTime()
		svc := benchService(st)
		if err := svc.Unlock(sealer); err != nil {
			b.Fatal(err)
		}
		if svc.Count() != benchPatients {
			b.Fatalf("Count = %d", svc.Count())
		}
		cpu += cpuTime() - c0
		// Unlock leaves the duplicate index to a background build; let it
		// finish outside the timer so it does not slow the next unlock.
		b.StopTimer()
		if svc.duplicateIndex() == nil {
			b.Fatal("no duplicate index after unlock")
		}
		b.StartTimer()
	}
	b.ReportMetric(cpu.Seconds()*1000/float64(b.N), "cpu-ms/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDuplicateIndex100k measures the background build of the
// duplicate index that follows an unlock.
func BenchmarkDuplicateIndex100k(b *testing.B) {
	if testing.Short() {
		b.Skip("100,000 patients: not in short mode")
	}
	st, sealer, _ := benchStore(b, b.TempDir(), benchPatients)
	svc := benchService(st)
	if err := svc.Unlock(sealer); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		svc.mu.Lock()
		svc.dups = nil
		svc.mu.Unlock()
		if svc.duplicateIndex() == nil {
			b.Fatal("no duplicate index")
		}
	}
}

// BenchmarkSearch100k measures Search over 100,000 patients with a mix of
// the queries a desk types (names, parts of names, pinyin, initials,
// phones, last four digits, ID numbers) and reports the latency
// percentiles. Target: p99 under 10 ms.
func BenchmarkSearch100k(b *testing.B) {
	if testing.Short() {
		b.Skip("100,000 patients: not in short mode")
	}
	st, sealer, patients := benchStore(b, b.TempDir(), benchPatients)
	svc := benchService(st)
	if err := svc.Unlock(sealer); err != nil {
		b.Fatal(err)
	}
	queries := benchQueries(patients, 2000)
	a := Actor{Name: "desk1", Role: auth.RoleDesk}
	var lat []time.Duration
	i := 0
	for b.Loop() {
		q := queries[i%len(queries)]
		i++
		t0 := time.Now()
		res, err := svc.Search(a, q, 20)
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		if len(res) == 0 {
			b.Fatalf("query %q found nothing", q)
		}
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Nanoseconds()) / 1e6
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
}

// benchQueries returns n queries for patients, each found: a mix weighted
// the way desks search (names and pinyin most, identifiers less).
func benchQueries(patients []sample.Patient, n int) []string {
	rng := rand.New(rand.NewPCG(7, 7))
	kinds := []func(p sample.Patient) string{
		func(p sample.Patient) string { return p.Name }, // the whole name, twice as often
		func(p sample.Patient) string { return p.Name },
		func(p sample.Patient) string { return string([]rune(p.Name)[:2]) }, // 张伟 of 张伟华, or a two-character name
		func(p sample.Patient) string { return string([]rune(p.Name)[:1]) }, // the surname alone
		func(p sample.Patient) string { // the given name
			r := []rune(p.Name)
			return string(r[len(r)-2:])
		},
		func(p sample.Patient) string { full, _ := search.Pinyin(p.Name); return full[0] },
		func(p sample.Patient) string { full, _ := search.Pinyin(p.Name); return full[0][:min(5, len(full[0]))] },
		func(p sample.Patient) string { _, ini := search.Pinyin(p.Name); return ini[0] },
		func(p sample.Patient) string { return p.Phone },
		func(p sample.Patient) string { return p.Phone[len(p.Phone)-4:] },
		func(p sample.Patient) string { return p.IDNumber },
	}
	out := make([]string, n)
	for i := range out {
		p := patients[rng.IntN(len(patients))]
		out[i] = kinds[i%len(kinds)](p)
	}
	return out
}

// TestBenchSetup checks on a few patients that the benchmark's direct
// writes make the charts Register makes: else the benchmarks measure
// something else.
func TestBenchSetup(t *testing.T) {
	opts := store.DefaultOptions(filepath.Join(t.TempDir(), "bench.db"), "bench1")
	opts.Create = true
	opts.Important = func(coll, f string) bool { return coll == Collection && Important(f) }
	st, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dk, _ := vault.NewDataKey(nil)
	sealer, _ := vault.NewSealer(dk, nil)
	patients := sample.New(4).Patients(50)
	for _, p := range patients {
		req, err := benchRequest(sealer, p, sample.DefaultRefDate())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Write(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	svc := benchService(st)
	if err := svc.Unlock(sealer); err != nil {
		t.Fatal(err)
	}
	if svc.Count() != len(patients) {
		t.Fatalf("Count = %d", svc.Count())
	}
	a := Actor{Name: "doc", Role: auth.RoleDoctor}
	for _, q := range benchQueries(patients, 200) {
		res, err := svc.Search(a, q, 20)
		if err != nil || len(res) == 0 {
			t.Fatalf("search %q: %v, %v", q, res, err)
		}
	}
	res, _ := svc.Search(a, patients[0].IDNumber, 1)
	p, err := svc.Get(context.Background(), a, res[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != patients[0].Name || p.Phones[0] != patients[0].Phone || len(p.Allergies) != len(patients[0].Allergies) ||
		len(p.Diagnoses) != len(patients[0].Diagnoses) {
		t.Errorf("chart %+v, from %+v", p, patients[0])
	}
}
