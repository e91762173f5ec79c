package plans

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"carenode/crdt"
	"carenode/node/chart"
	"carenode/node/followup"
	"carenode/node/outbox"
	"carenode/node/store"
)

// Records is what the service needs of the node's store.
type Records interface {
	Write(ctx context.Context, req store.WriteRequest) (store.WriteResult, error)
	WriteAll(ctx context.Context, reqs []store.WriteRequest) ([]store.WriteResult, error)
	Get(coll, id string) (store.RecordView, error)
	ListOnly(coll, after string, limit int, only store.Only) ([]store.RecordView, error)
	Watch(fn func([]store.Changed)) (stop func())
}

var _ Records = (*store.Store)(nil)

// Queue takes a message for the patient: the node's outbox. Queue may
// block on the store; it is called from the goroutine that recorded the
// attempt, after the attempt is durable, and a failure is logged, never
// undoes the attempt (queueing the same Key again adds nothing).
type Queue interface {
	Queue(ctx context.Context, m outbox.Message) error
}

// Config configures a Service. Use DefaultConfig and set Records.
type Config struct {
	Records Records
	// Templates are the shipped templates; an admin's stored template of
	// the same id replaces one. Default: followup.DefaultTemplates().
	Templates []followup.Template
	// HorizonMonths: tasks are made this far ahead and extended as time
	// passes (Extend). Default 13: a year of monthly contacts and then some.
	HorizonMonths int
	// UpcomingDays is how far ahead a work list's "upcoming" reaches. Default 7.
	UpcomingDays int
	// Supervisor is the staff name (or role name) told when a task is lost
	// to follow-up. Default "supervisor".
	Supervisor string
	// Queue receives follow-up summaries for templates that send them; nil
	// sends none.
	Queue Queue
	// Now reads the wall clock and Location turns it into the clinic's
	// date; tests inject their own.
	Now      func() time.Time
	Location *time.Location
	Logger   *slog.Logger
}

// DefaultConfig returns the defaults for records.
func DefaultConfig(records Records) Config {
	return Config{Records: records, Templates: followup.DefaultTemplates(), HorizonMonths: 13, UpcomingDays: 7,
		Supervisor: "supervisor", Now: time.Now, Location: time.Local, Logger: slog.Default()}
}

// Service keeps follow-up plans, tasks, attempts and alerts. Its methods
// are safe for concurrent use.
type Service struct {
	cfg Config
	log *slog.Logger
	idx *index
	// mu serialises this node's check-then-write sequences (does the task
	// exist yet? is the alert acknowledged?); reads do not take it.
	mu      sync.Mutex
	applyMu sync.Mutex // see apply
	follow  *store.Follower
}

// Open reads every plan, task, alert and template into memory and starts
// following the store's commits (peers' changes included).
func Open(cfg Config) (*Service, error) {
	if cfg.Records == nil {
		return nil, errors.New("plans: Config.Records is required")
	}
	def := DefaultConfig(cfg.Records)
	if cfg.Templates == nil {
		cfg.Templates = def.Templates
	}
	if cfg.HorizonMonths <= 0 {
		cfg.HorizonMonths = def.HorizonMonths
	}
	if cfg.UpcomingDays <= 0 {
		cfg.UpcomingDays = def.UpcomingDays
	}
	if cfg.Supervisor == "" {
		cfg.Supervisor = def.Supervisor
	}
	if cfg.Now == nil {
		cfg.Now = def.Now
	}
	if cfg.Location == nil {
		cfg.Location = def.Location
	}
	if cfg.Logger == nil {
		cfg.Logger = def.Logger
	}
	s := &Service{cfg: cfg, log: cfg.Logger.With("subsystem", "plans"), idx: newIndex()}
	// Follow before building, so nothing committed during the build is
	// missed; refreshing a record twice is harmless.
	s.follow = newFollower(cfg.Records, s.refreshRemote, func(err error) {
		s.log.Warn("refresh follow-up records changed by a peer", "err", err)
	})
	if err := s.build(); err != nil {
		s.follow.Close()
		return nil, err
	}
	s.follow.Start()
	return s, nil
}

// Close stops following the store.
func (s *Service) Close() { s.follow.Close() }

func (s *Service) today() followup.Date { return followup.DateOf(s.cfg.Now().In(s.cfg.Location)) }

const buildPage = 4096

// build reads every record of the service's collections into the index.
func (s *Service) build() error {
	x := newIndex()
	list := func(coll string, only store.Only, put func(store.RecordView)) error {
		after := ""
		for {
			page, err := s.cfg.Records.ListOnly(coll, after, buildPage, only)
			if err != nil {
				return fmt.Errorf("plans: read %s: %w", coll, err)
			}
			for _, v := range page {
				if !v.Deleted && v.ID == v.Asked {
					put(v)
				}
			}
			if len(page) < buildPage {
				return nil
			}
			after = page[len(page)-1].Asked
		}
	}
	// Tasks, by far the most records, are read on a goroutine of their own
	// while the rest is read here: a node opens in about half the time on
	// two cores.
	var tasks []*taskEntry
	var taskErr error
	read := make(chan struct{})
	go func() {
		defer close(read)
		taskErr = list(TasksCollection, taskFields, func(v store.RecordView) { tasks = append(tasks, taskFromView(v.ID, v.View)) })
	}()
	names := map[string]string{}
	intern := func(s string) string {
		if v, ok := names[s]; ok {
			return v
		}
		names[s] = s
		return s
	}
	json1 := store.Only{Fields: []string{fJSON}}
	err := list(VersionsCollection, json1, func(v store.RecordView) { x.versions[v.ID] = loadCopy(v.View) })
	if err == nil {
		err = list(TemplatesCollection, json1, func(v store.RecordView) {
			if t := loadCopy(v.View); t != nil {
				x.templates[v.ID] = *t
			}
		})
	}
	if err == nil {
		err = list(PlansCollection, planFields, func(v store.RecordView) {
			p := planFromView(v.ID, v.View)
			p.version, p.doctor, p.assignee, p.method = intern(p.version), intern(p.doctor), intern(p.assignee), intern(p.method)
			if i := strings.IndexByte(p.id, '.'); i > 0 && p.id[:i] == p.patient {
				p.patient = p.id[:i]
			}
			x.plans[v.ID] = p
		})
	}
	if err == nil {
		err = list(AlertsCollection, alertFields, func(v store.RecordView) { x.putAlert(alertFromView(v.ID, v.View)) })
	}
	<-read
	if err != nil {
		return err
	}
	if taskErr != nil {
		return taskErr
	}
	for _, t := range tasks {
		x.tasks[t.id] = t
	}
	for _, p := range x.plans {
		if x.patients[p.patient] == nil {
			x.patients[p.patient] = map[string]bool{}
		}
		x.patients[p.patient][p.id] = true
	}
	// Evaluate every task, then sort each list once instead of inserting.
	// Tasks share their plan's strings and one copy of each method and
	// name: fewer objects for the garbage collector to trace in an index
	// of 300,000 tasks, which keeps its pauses off the work lists.
	for _, t := range x.tasks {
		if p := x.plans[t.plan]; p != nil && p.patient == t.patient {
			t.plan, t.patient = p.id, p.patient
		}
		t.dueMethod, t.method, t.assignee = intern(t.dueMethod), intern(t.method), intern(t.assignee)
		if x.planTasks[t.plan] == nil {
			x.planTasks[t.plan] = map[string]*taskEntry{}
		}
		x.planTasks[t.plan][t.id] = t
		p := x.plans[t.plan]
		t.status, t.step = x.status(p, t.outcomes)
		t.owner, t.how = effective(t, p)
		if openStatus(t.status) && t.owner != "" && t.due.Valid() {
			x.lists[t.owner] = append(x.lists[t.owner], t)
			t.listed, t.lDue = t.owner, t.due
		}
	}
	for _, l := range x.lists {
		slices.SortFunc(l, byDue)
	}
	s.idx = x // before the follower starts: nobody else holds the index yet
	return nil
}

// loadCopy reads a template or version record; nil when it does not load
// (a template written by a newer build with fields this one lacks).
func loadCopy(v crdt.View) *followup.Template {
	f, ok := v.Fields[fJSON]
	if !ok {
		return nil
	}
	t, err := followup.LoadTemplate(f.Value)
	if err != nil {
		return nil
	}
	return &t
}

func decodeJSON(b []byte, v any) error { return json.Unmarshal(b, v) }

// facts decodes the fact list field of v in its order, leaving out a
// fact that does not decode.
func facts[T any](v crdt.View, field string) []T {
	var out []T
	for _, f := range v.Facts[field] {
		var x T
		if decodeJSON(f.Value, &x) == nil {
			out = append(out, x)
		}
	}
	return out
}

// actorName is who acted, for history facts.
func actorName(a chart.Actor) string {
	if a.Name == "" {
		return "unknown"
	}
	return a.Name
}
