package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"carenode/crdt"
	"carenode/node/auth"
	"carenode/node/care"
	"carenode/node/chart"
	"carenode/node/identity"
	"carenode/node/nodeconf"
	"carenode/node/sample"
	"carenode/node/store"
	"carenode/node/vault"
	"carenode/sync/trust"
)

// Sizes is how much data a dataset and its clinic day hold.
type Sizes struct {
	Patients     int `json:"patients"`
	Observations int `json:"observations"`
	Tasks        int `json:"tasks"`

	DayPatients     int `json:"dayPatients"`
	DayObservations int `json:"dayObservations"`
	DayTaskUpdates  int `json:"dayTaskUpdates"`
	DayEdits        int `json:"dayEdits"`      // demographic edits on the desk
	DayConcurrent   int `json:"dayConcurrent"` // patients edited on both the desk and the hub
}

// DefaultSizes are issue 5's: 10,000 patients, 100,000 observations,
// 20,000 tasks; a day of 50 new patients, 1,500 observations, 300 task
// updates, 20 demographic edits and 10 edits made on both sides.
func DefaultSizes() Sizes {
	return Sizes{Patients: 10_000, Observations: 100_000, Tasks: 20_000,
		DayPatients: 50, DayObservations: 1_500, DayTaskUpdates: 300, DayEdits: 20, DayConcurrent: 10}
}

// Validate checks that the sizes make a dataset: counts not negative, at
// least one patient, enough patients and tasks for the clinic day.
func (s Sizes) Validate() error {
	for _, n := range []int{s.Patients, s.Observations, s.Tasks, s.DayPatients, s.DayObservations, s.DayTaskUpdates, s.DayEdits, s.DayConcurrent} {
		if n < 0 {
			return fmt.Errorf("bench sizes: negative count in %+v", s)
		}
	}
	if s.Patients == 0 {
		return errors.New("bench sizes: at least one patient")
	}
	if s.DayEdits+s.DayConcurrent > s.Patients {
		return fmt.Errorf("bench sizes: %d day edits and %d concurrent edits need as many patients (have %d)", s.DayEdits, s.DayConcurrent, s.Patients)
	}
	if s.DayTaskUpdates > s.Tasks {
		return fmt.Errorf("bench sizes: %d task updates but %d tasks", s.DayTaskUpdates, s.Tasks)
	}
	return nil
}

// Collections of the generic records (no care package stores them yet).
const (
	ObservationCollection = "observations"
	TaskCollection        = "tasks"
)

// Layout names the files under a work directory.
type Layout struct{ Dir string }

// Manifest is the work directory's manifest.json: what Generate made.
func (l Layout) Manifest() string { return filepath.Join(l.Dir, "manifest.json") }

// Key is a node's identity key file ("hub" or "desk").
func (l Layout) Key(role string) string { return filepath.Join(l.Dir, "keys", role+".key") }

// NodeDir holds a node's trust files (trust/…).
func (l Layout) NodeDir(role string) string { return filepath.Join(l.Dir, "nodes", role) }

// Full is the hub's store with the whole dataset, before any sync.
func (l Layout) Full() string { return filepath.Join(l.Dir, "data", "full.db") }

// Day is a node's store after the initial sync and its part of the
// clinic day, before the day is synced.
func (l Layout) Day(role string) string { return filepath.Join(l.Dir, "data", "day-"+role+".db") }

// Docs is the PouchDB side's documents: "dataset", "day-desk", "day-hub".
func (l Layout) Docs(name string) string { return filepath.Join(l.Dir, "pouch", name+".ndjson") }

// Run is a scratch directory for one measurement.
func (l Layout) Run(name string) string { return filepath.Join(l.Dir, "run", name) }

// Manifest says what a work directory holds.
type Manifest struct {
	Version int         `json:"version"`
	Seed    uint64      `json:"seed"`
	Sizes   Sizes       `json:"sizes"`
	Hub     identity.ID `json:"hub"`
	Desk    identity.ID `json:"desk"`
	// Records and Changes are the dataset's; DeskChanges and HubChanges the
	// clinic day's on each side, DeskDocs and HubDocs the records they touch.
	Records     int     `json:"records"`
	Changes     int     `json:"changes"`
	DeskChanges int     `json:"deskChanges"`
	HubChanges  int     `json:"hubChanges"`
	DeskDocs    int     `json:"deskDocs"`
	HubDocs     int     `json:"hubDocs"`
	DocBytes    int64   `json:"docBytes"` // dataset.ndjson's size
	GenSeconds  float64 `json:"genSeconds"`
}

// manifestVersion changes whenever Generate makes different data, so an
// old work directory is regenerated rather than measured.
const manifestVersion = 1

// GenConfig configures Generate.
type GenConfig struct {
	Dir   string
	Seed  uint64
	Sizes Sizes
	// Progress, when set, is told what Generate is doing.
	Progress func(stage string, done, total int)
	Logger   *slog.Logger
}

// Generate makes the dataset under cfg.Dir, or keeps the one there when its
// manifest says it was made with the same seed and sizes.
func Generate(ctx context.Context, cfg GenConfig) (Manifest, error) {
	if err := cfg.Sizes.Validate(); err != nil {
		return Manifest{}, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Progress == nil {
		cfg.Progress = func(string, int, int) {}
	}
	l := Layout{cfg.Dir}
	if err := claim(cfg.Dir); err != nil {
		return Manifest{}, err
	}
	if m, err := ReadManifest(cfg.Dir); err == nil && m.Version == manifestVersion && m.Seed == cfg.Seed && m.Sizes == cfg.Sizes {
		return m, nil
	}
	for _, d := range []string{"keys", "nodes", "data", "pouch", "run"} {
		if err := os.RemoveAll(filepath.Join(cfg.Dir, d)); err != nil {
			return Manifest{}, err
		}
	}
	os.Remove(l.Manifest())
	for _, d := range []string{"keys", "nodes", "data", "pouch"} {
		if err := os.MkdirAll(filepath.Join(cfg.Dir, d), 0o700); err != nil {
			return Manifest{}, err
		}
	}
	start := time.Now()
	g := &generator{cfg: cfg, l: l, rng: rand.New(rand.NewPCG(cfg.Seed, 0xbe7c4))}
	m, err := g.run(ctx)
	if err != nil {
		return Manifest{}, fmt.Errorf("generate bench dataset in %s: %w", cfg.Dir, err)
	}
	m.GenSeconds = time.Since(start).Seconds()
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, err
	}
	return m, os.WriteFile(l.Manifest(), b, 0o600)
}

// markerName marks a directory as a bench work directory, which Generate
// may empty and refill.
const markerName = ".carenode-bench-work"

// claim makes dir a work directory, or checks that it is one: Generate
// deletes what it made there before, and must never delete anything else.
func claim(dir string) error {
	marker := filepath.Join(dir, markerName)
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty and not a bench work directory (no %s): choose an empty or new one / 工作目录非空且不是基准测试目录", dir, markerName)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(marker, []byte("carenode bench sync work directory: its contents are regenerated\n"), 0o600)
}

// ReadManifest reads dir's manifest.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(Layout{dir}.Manifest())
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("read %s: %w", Layout{dir}.Manifest(), err)
	}
	return m, nil
}

type generator struct {
	cfg GenConfig
	l   Layout
	rng *rand.Rand

	sealer   *vault.Sealer
	patients []string // ids in registration order
	tasks    []string
	now      time.Time // the dataset's "today"
}

var (
	deskActor  = chart.Actor{Name: "desk-li", Role: auth.RoleDesk}
	docActor   = chart.Actor{Name: "dr-wang", Role: auth.RoleDoctor}
	nurseActor = chart.Actor{Name: "nurse-zhao", Role: auth.RoleNurse}
)

// important is what node.Open gives the store: chart's fields keep
// concurrent values as conflicts.
func important(coll, field string) bool { return coll == chart.Collection && chart.Important(field) }

// openStore opens a store as a node would; noSync only while generating.
func openStore(path string, id identity.ID, noSync bool, log *slog.Logger) (*store.Store, error) {
	opts := store.DefaultOptions(path, crdt.NodeID(id))
	opts.Create, opts.NoSync, opts.Logger, opts.Important = true, noSync, log, important
	return store.Open(opts)
}

func (g *generator) run(ctx context.Context) (Manifest, error) {
	m := Manifest{Version: manifestVersion, Seed: g.cfg.Seed, Sizes: g.cfg.Sizes}
	// Keys and sealed values are random in real use; only the data key is
	// derived from the seed, so that a rerun can open what it sealed.
	dk, err := vault.NewDataKey(rand.NewChaCha8(seedKey(g.cfg.Seed, "data-key")))
	if err != nil {
		return m, err
	}
	if g.sealer, err = vault.NewSealer(dk, nil); err != nil {
		return m, err
	}
	hubID, deskID, err := g.trust()
	if err != nil {
		return m, err
	}
	m.Hub, m.Desk = hubID.ID, deskID.ID
	g.now = time.Now()

	hub, err := openStore(g.l.Full(), hubID.ID, true, g.cfg.Logger)
	if err != nil {
		return m, err
	}
	if err := g.dataset(ctx, hub); err != nil {
		hub.Close()
		return m, err
	}
	g.cfg.Progress("PouchDB documents / PouchDB 文档", 0, 1)
	if m.Records, m.Changes, err = exportDocs(hub, crdt.Vector{}, g.l.Docs("dataset")); err != nil {
		hub.Close()
		return m, err
	}
	if fi, err := os.Stat(g.l.Docs("dataset")); err == nil {
		m.DocBytes = fi.Size()
	}
	if err := hub.Close(); err != nil {
		return m, err
	}
	if err := copyFile(g.l.Full(), g.l.Day("hub")); err != nil {
		return m, err
	}
	if hub, err = openStore(g.l.Day("hub"), hubID.ID, true, g.cfg.Logger); err != nil {
		return m, err
	}
	defer hub.Close()
	desk, err := openStore(g.l.Day("desk"), deskID.ID, true, g.cfg.Logger)
	if err != nil {
		return m, err
	}
	defer desk.Close()
	g.cfg.Progress("initial sync (unmeasured) / 初始同步", 0, 1)
	if err := exchange(hub, desk); err != nil {
		return m, err
	}
	before := desk.Vector()
	if err := g.day(ctx, hub, desk); err != nil {
		return m, err
	}

	// The hub's own day is what it wrote past the common vector; the same
	// for the desk. Each is exported from its own side, before the merge,
	// as each PouchDB database would hold it.
	if m.DeskDocs, m.DeskChanges, err = exportDocs(desk, before, g.l.Docs("day-desk")); err != nil {
		return m, err
	}
	if m.HubDocs, m.HubChanges, err = exportDocs(hub, before, g.l.Docs("day-hub")); err != nil {
		return m, err
	}
	return m, nil
}

// seedKey derives a ChaCha8 seed from the dataset's seed and a purpose.
func seedKey(seed uint64, purpose string) [32]byte {
	var k [32]byte
	for i := range 8 {
		k[i] = byte(seed >> (8 * i))
	}
	copy(k[8:], purpose)
	return k
}

// trust makes the network: a CA, the hub and one clinic desk, each with a
// key and a certificate, as init --role hub and an enrolment would.
func (g *generator) trust() (hub, desk *identity.Identity, err error) {
	if hub, err = identity.Generate(nil); err != nil {
		return nil, nil, err
	}
	if desk, err = identity.Generate(nil); err != nil {
		return nil, nil, err
	}
	for role, id := range map[string]*identity.Identity{"hub": hub, "desk": desk} {
		if err := os.MkdirAll(filepath.Dir(g.l.Key(role)), 0o700); err != nil {
			return nil, nil, err
		}
		if err := id.Save(g.l.Key(role)); err != nil {
			return nil, nil, err
		}
	}
	now := time.Now()
	hubM, err := trust.CreateNetwork(g.l.NodeDir("hub"), hub, "bench-hub", now)
	if err != nil {
		return nil, nil, err
	}
	ca, err := trust.LoadCA(g.l.NodeDir("hub"))
	if err != nil {
		return nil, nil, err
	}
	csr, err := trust.NewCSR(desk)
	if err != nil {
		return nil, nil, err
	}
	cert, err := ca.Sign(csr, "bench-desk", nodeconf.RoleClinic, now, trust.NodeValidity)
	if err != nil {
		return nil, nil, err
	}
	if err := trust.SaveEnrolment(g.l.NodeDir("desk"), hubM.CA, cert, trust.Hub{Node: hub.ID}); err != nil {
		return nil, nil, err
	}
	return hub, desk, nil
}

func (g *generator) charts(st *store.Store) (*chart.Service, error) {
	svc := chart.New(chart.Config{Records: st, Node: string(st.Node()), Location: time.UTC, Logger: g.cfg.Logger})
	if err := svc.Unlock(g.sealer); err != nil {
		return nil, err
	}
	return svc, nil
}

// dataset writes the full dataset on the hub.
func (g *generator) dataset(ctx context.Context, st *store.Store) error {
	svc, err := g.charts(st)
	if err != nil {
		return err
	}
	s := g.cfg.Sizes
	people := sample.New(g.cfg.Seed).Patients(s.Patients)
	if g.patients, err = g.register(ctx, svc, people, "patients / 患者"); err != nil {
		return err
	}
	obs := make([]store.WriteRequest, 0, s.Observations)
	for range s.Observations {
		obs = append(obs, g.observation(g.patients[g.rng.IntN(len(g.patients))], g.now.AddDate(0, 0, -1-g.rng.IntN(365))))
	}
	if err := g.writeAll(ctx, st, obs, "observations / 体征"); err != nil {
		return err
	}
	tasks := make([]store.WriteRequest, 0, s.Tasks)
	for range s.Tasks {
		req := g.task(g.patients[g.rng.IntN(len(g.patients))])
		g.tasks = append(g.tasks, req.Record)
		tasks = append(tasks, req)
	}
	return g.writeAll(ctx, st, tasks, "tasks / 随访任务")
}

// register registers people through the chart service from a few writers,
// as a busy clinic would, with their allergies and diagnoses; it returns
// the ids in the order of people.
func (g *generator) register(ctx context.Context, svc *chart.Service, people []sample.Patient, stage string) ([]string, error) {
	ids := make([]string, len(people))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		done  int
	)
	work := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				id, err := registerOne(ctx, svc, people[i])
				mu.Lock()
				ids[i] = id
				if err != nil && first == nil {
					first = fmt.Errorf("register sample patient %d: %w", i, err)
				}
				done++
				if done%500 == 0 || done == len(people) {
					g.cfg.Progress(stage, done, len(people))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range people {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return ids, first
}

func registerOne(ctx context.Context, svc *chart.Service, p sample.Patient) (string, error) {
	res, err := svc.Register(ctx, deskActor, care.PatientInput{Name: p.Name, Sex: p.Sex, BirthDate: p.BirthDate,
		IDNumber: p.IDNumber, Phones: []string{p.Phone}, Address: p.Address}, true)
	if err != nil {
		return "", err
	}
	for _, al := range p.Allergies {
		if _, err := svc.AddAllergy(ctx, docActor, res.ID, care.AllergyInput{Substance: al, Severity: "moderate"}); err != nil {
			return "", err
		}
	}
	for _, d := range p.Diagnoses {
		if _, _, err := svc.AddDiagnosis(ctx, docActor, res.ID, care.DiagnosisInput{Code: d}); err != nil {
			return "", err
		}
	}
	return res.ID, nil
}

// writeAll writes reqs in transactions of 500 records.
func (g *generator) writeAll(ctx context.Context, st *store.Store, reqs []store.WriteRequest, stage string) error {
	for i := 0; i < len(reqs); i += 500 {
		j := min(i+500, len(reqs))
		if _, err := st.WriteAll(ctx, reqs[i:j]); err != nil {
			return fmt.Errorf("%s: %w", stage, err)
		}
		g.cfg.Progress(stage, j, len(reqs))
	}
	return nil
}

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

func set(field string, value []byte) store.Edit {
	return store.Edit{Kind: crdt.MutSet, Field: field, Value: value, SeenCurrent: true}
}

func jsonString(s string) []byte { b, _ := json.Marshal(s); return b }

// observation is one vital-sign reading: a record of its own, as a device
// gateway or a nurse's entry would make it.
func (g *generator) observation(patient string, day time.Time) store.WriteRequest {
	v := vitals[g.rng.IntN(len(vitals))]
	x := v.lo + g.rng.Float64()*(v.hi-v.lo)
	at := time.Date(day.Year(), day.Month(), day.Day(), 8+g.rng.IntN(9), g.rng.IntN(60), g.rng.IntN(60), 0, time.UTC)
	return store.WriteRequest{Collection: ObservationCollection, Record: store.NewRecordID(at), Create: true, Edits: []store.Edit{
		set("patient", jsonString(patient)),
		set("kind", jsonString(v.kind)),
		set("loinc", jsonString(v.loinc)),
		set("value", fmt.Appendf(nil, "%.1f", x)),
		set("unit", jsonString(v.unit)),
		set("device", jsonString(fmt.Sprintf("omron-hem-7121/%04d", g.rng.IntN(20)))),
		set("by", jsonString(nurseActor.Name)),
		set("measuredAt", jsonString(at.Format(time.RFC3339))),
		set("receivedAt", jsonString(at.Add(time.Duration(2+g.rng.IntN(30))*time.Second).Format(time.RFC3339))),
	}}
}

var (
	taskKinds   = []string{"bp-check", "diabetes-review", "medication-refill", "elderly-annual-check", "post-discharge-call"}
	taskMethods = []string{"phone", "sms", "home-visit", "video"}
	taskNotes   = []string{"血压控制不佳，下周复测", "按时服药，继续观察", "电话未接通，改日再联系", "需上门随访", "空腹血糖偏高，调整饮食", ""}
	outcomes    = []string{"reached", "no-answer", "wrong-number"}
)

// task is one follow-up task: plain registers, as node/plans is expected
// to keep them.
func (g *generator) task(patient string) store.WriteRequest {
	created := g.now.AddDate(0, 0, -g.rng.IntN(365))
	due := created.AddDate(0, 0, []int{7, 14, 30, 90}[g.rng.IntN(4)])
	status := "open"
	if due.Before(g.now) {
		status = []string{"done", "done", "done", "unreachable", "open"}[g.rng.IntN(5)]
	}
	return store.WriteRequest{Collection: TaskCollection, Record: store.NewRecordID(created), Create: true, Edits: []store.Edit{
		set("patient", jsonString(patient)),
		set("kind", jsonString(taskKinds[g.rng.IntN(len(taskKinds))])),
		set("method", jsonString(taskMethods[g.rng.IntN(len(taskMethods))])),
		set("assignee", jsonString(nurseActor.Name)),
		set("created", jsonString(created.Format("2006-01-02"))),
		set("due", jsonString(due.Format("2006-01-02"))),
		set("status", jsonString(status)),
		set("note", jsonString(taskNotes[g.rng.IntN(len(taskNotes))])),
	}}
}

// taskUpdate is a nurse working a task: a new status and an attempt fact.
func (g *generator) taskUpdate(task string) store.WriteRequest {
	outcome := outcomes[g.rng.IntN(len(outcomes))]
	status := map[string]string{"reached": "done", "no-answer": "open", "wrong-number": "unreachable"}[outcome]
	return store.WriteRequest{Collection: TaskCollection, Record: task, MustExist: true, Edits: []store.Edit{
		set("status", jsonString(status)),
		{Kind: crdt.MutFact, Field: "attempts", FactID: store.NewShortID(),
			Value: fmt.Appendf(nil, `{"at":%q,"by":%q,"method":"phone","outcome":%q,"answers":{"bpControlled":%t,"takingMeds":%t}}`,
				g.now.UTC().Format(time.RFC3339), nurseActor.Name, outcome, g.rng.IntN(2) == 0, g.rng.IntN(4) > 0)},
	}}
}

// day makes the clinic day: on the desk, new patients, readings, task
// updates and demographic edits; on both, edits of the same patients.
func (g *generator) day(ctx context.Context, hub, desk *store.Store) error {
	s := g.cfg.Sizes
	svc, err := g.charts(desk)
	if err != nil {
		return err
	}
	newIDs, err := g.register(ctx, svc, sample.New(g.cfg.Seed+1).Patients(s.DayPatients), "clinic day / 门诊日")
	if err != nil {
		return err
	}
	everyone := append(slices.Clone(g.patients), newIDs...)
	obs := make([]store.WriteRequest, 0, s.DayObservations)
	for range s.DayObservations {
		obs = append(obs, g.observation(everyone[g.rng.IntN(len(everyone))], g.now))
	}
	if err := g.writeAll(ctx, desk, obs, "clinic day / 门诊日"); err != nil {
		return err
	}
	var updates []store.WriteRequest
	for _, i := range g.rng.Perm(len(g.tasks))[:s.DayTaskUpdates] {
		updates = append(updates, g.taskUpdate(g.tasks[i]))
	}
	if err := g.writeAll(ctx, desk, updates, "clinic day / 门诊日"); err != nil {
		return err
	}
	picked := g.rng.Perm(len(g.patients))[:s.DayEdits+s.DayConcurrent]
	for k, i := range picked[:s.DayEdits] {
		body := fmt.Appendf(nil, `{"phones":[%q]}`, g.phone())
		if k%2 == 1 {
			body = fmt.Appendf(nil, `{"address":%q}`, fmt.Sprintf("%s%d号", []string{"幸福村", "新华路", "东风组"}[g.rng.IntN(3)], 1+g.rng.IntN(200)))
		}
		if _, err := svc.Update(ctx, deskActor, g.patients[i], body, ""); err != nil {
			return fmt.Errorf("demographic edit: %w", err)
		}
	}
	hsvc, err := g.charts(hub)
	if err != nil {
		return err
	}
	for _, i := range picked[s.DayEdits:] {
		if _, err := svc.Update(ctx, deskActor, g.patients[i], fmt.Appendf(nil, `{"phones":[%q]}`, g.phone()), ""); err != nil {
			return fmt.Errorf("concurrent edit on the desk: %w", err)
		}
		if _, err := hsvc.Update(ctx, deskActor, g.patients[i], fmt.Appendf(nil, `{"phones":[%q]}`, g.phone()), ""); err != nil {
			return fmt.Errorf("concurrent edit on the hub: %w", err)
		}
	}
	return nil
}

func (g *generator) phone() string {
	return fmt.Sprintf("1%d%d%08d", 3+g.rng.IntN(6), g.rng.IntN(10), g.rng.IntN(100_000_000))
}

// exchange sends to every change from lacks, as one sync direction would.
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

// exportDocs writes, as newline-delimited JSON, one document for every
// record that a change after vector touched, in its state in st; it
// returns the documents and changes counted.
func exportDocs(st *store.Store, after crdt.Vector, path string) (docs, changes int, err error) {
	type key struct{ coll, id string }
	seen := map[key]bool{}
	var order []key
	for {
		page, err := st.ChangesAfter(after, 2000)
		if err != nil {
			return 0, 0, err
		}
		for _, c := range page.Changes {
			changes++
			k := key{c.Collection, c.Record}
			if !seen[k] {
				seen[k] = true
				order = append(order, k)
			}
		}
		after = page.Next
		if !page.More {
			break
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, k := range order {
		v, err := st.Get(k.coll, k.id)
		if err != nil {
			f.Close()
			return 0, 0, fmt.Errorf("export %s/%s: %w", k.coll, k.id, err)
		}
		if err := writeDoc(w, v); err != nil {
			f.Close()
			return 0, 0, err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, 0, err
	}
	return len(order), changes, f.Close()
}

// DocID is a record's PouchDB document id.
func DocID(coll, id string) string { return coll + ":" + id }

// writeDoc writes a record as the JSON document a PouchDB application would
// keep: its registers' current values as they are (sealed ones are JSON
// strings of ciphertext), each set as a sorted array, each fact list as an
// array of {id, value} sorted by id. A name PouchDB reserves (a leading
// underscore) is prefixed with "f".
func writeDoc(w io.Writer, v store.RecordView) error {
	doc := map[string]json.RawMessage{"_id": jsonString(DocID(v.Collection, v.ID))}
	name := func(n string) string {
		if len(n) > 0 && n[0] == '_' {
			return "f" + n
		}
		return n
	}
	for f, fv := range v.Fields {
		if fv.Value == nil {
			continue
		}
		val := json.RawMessage(fv.Value)
		if !json.Valid(val) {
			val = jsonString(string(fv.Value))
		}
		doc[name(f)] = val
	}
	for s, elems := range v.Sets {
		b, err := json.Marshal(elems)
		if err != nil {
			return err
		}
		doc[name(s)] = b
	}
	for f, facts := range v.Facts {
		type fact struct {
			ID    string          `json:"id"`
			Value json.RawMessage `json:"value"`
		}
		out := make([]fact, 0, len(facts))
		for _, fv := range facts {
			val := json.RawMessage(fv.Value)
			if !json.Valid(val) {
				val = jsonString(string(fv.Value))
			}
			out = append(out, fact{fv.ID, val})
		}
		slices.SortFunc(out, func(a, b fact) int { return strings.Compare(a.ID, b.ID) })
		b, err := json.Marshal(out)
		if err != nil {
			return err
		}
		doc[name(f)] = b
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
