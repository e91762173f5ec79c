package survey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"carenode/crdt"
	"carenode/node/outbox"
	"carenode/node/store"
	"carenode/node/vault"
)

// Collections this package writes.
const (
	Collection     = "surveys"
	CaseCollection = "cases"
)

// Records is what the service needs of the node's store.
type Records interface {
	Write(ctx context.Context, req store.WriteRequest) (store.WriteResult, error)
	WriteAll(ctx context.Context, reqs []store.WriteRequest) ([]store.WriteResult, error)
	Get(coll, id string) (store.RecordView, error)
	List(coll, after string, limit int) ([]store.RecordView, error)
	ListOnly(coll, after string, limit int, only store.Only) ([]store.RecordView, error)
}

var _ Records = (*store.Store)(nil)

// Queue takes a message for the outbox. Queueing a Key already queued adds
// nothing. It is called from the request's goroutine and may block on the
// store; it must not call back into this service.
type Queue interface {
	Queue(ctx context.Context, m outbox.Message) error
}

// Config configures a Service. Start from DefaultConfig.
type Config struct {
	Records Records
	// Queue receives survey links; nil makes QueueLink return ErrNoQueue.
	Queue Queue
	// Routing is a routing table in routing.json's form; nil means the
	// shipped one.
	Routing []byte
	// CaseDeadline is how long a department has to resolve a case.
	CaseDeadline time.Duration
	// LinkURL is the survey form's address; the visit id is appended as
	// ?visit=<id>.
	LinkURL string
	// LinkDelay is how long after the visit the link is sent: patients
	// answer better once home than in the corridor.
	LinkDelay time.Duration
	// LinkExpiry is how long a queued link stays worth sending.
	LinkExpiry time.Duration
	// Location is the clinic's time zone, for report months.
	Location *time.Location
	Now      func() time.Time
	Logger   *slog.Logger
}

// DefaultConfig returns the defaults: a week to resolve a case, links sent
// an hour after the visit and dropped after three days, months reckoned in
// China Standard Time.
func DefaultConfig(records Records) Config {
	return Config{
		Records:      records,
		CaseDeadline: 7 * 24 * time.Hour,
		LinkURL:      "http://carenode.local/survey",
		LinkDelay:    time.Hour,
		LinkExpiry:   3 * 24 * time.Hour,
		Location:     time.FixedZone("CST", 8*3600),
		Now:          time.Now,
		Logger:       slog.Default(),
	}
}

// Service takes surveys and manages feedback cases.
type Service struct {
	cfg     Config
	routing *Routing
	log     *slog.Logger

	mu     sync.RWMutex
	sealer *vault.Sealer // nil while locked
}

// New checks cfg and makes a Service. It starts locked: surveys without a
// comment, cases and reports work; comments and responses need Unlock.
func New(cfg Config) (*Service, error) {
	if cfg.Records == nil {
		return nil, fmt.Errorf("%w: no records", ErrConfig)
	}
	if cfg.CaseDeadline <= 0 || cfg.LinkExpiry <= 0 || cfg.LinkDelay < 0 {
		return nil, fmt.Errorf("%w: case deadline and link expiry must be positive, link delay not negative", ErrConfig)
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var r *Routing
	var err error
	if cfg.Routing == nil {
		r, err = ShippedRouting()
	} else {
		r, err = ParseRouting(cfg.Routing)
	}
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, routing: r, log: cfg.Logger.With("subsystem", "survey")}, nil
}

// Routing returns the routing table in use.
func (s *Service) Routing() *Routing { return s.routing }

// Unlock gives the service the data key's Sealer.
func (s *Service) Unlock(sealer *vault.Sealer) {
	s.mu.Lock()
	s.sealer = sealer
	s.mu.Unlock()
}

// Lock forgets the Sealer.
func (s *Service) Lock() {
	s.mu.Lock()
	s.sealer = nil
	s.mu.Unlock()
}

func (s *Service) session() *vault.Sealer {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sealer
}

// Survey is a stored survey as readers see it. The comment shows only on
// an unlocked node; HasComment says whether there is one.
type Survey struct {
	Visit      string         `json:"visit"`
	Patient    string         `json:"patient,omitempty"`
	Department string         `json:"department"`
	Doctor     string         `json:"doctor"`
	Channel    string         `json:"channel"`
	Scores     map[string]int `json:"scores"`
	Comment    string         `json:"comment,omitempty"`
	HasComment bool           `json:"hasComment"`
	Submitted  time.Time      `json:"submitted"`
	By         string         `json:"by,omitempty"`
}

// Result is what Submit made.
type Result struct {
	Survey Survey `json:"survey"`
	// Cases are the feedback cases the survey opened (empty when no score
	// was 2 or below).
	Cases []Case `json:"cases"`
}

// LowScore is the highest score that opens a case.
const LowScore = 2

// Submit validates and stores a survey taken by by (the account at the
// kiosk or phone), and opens a case for every dimension scored LowScore or
// below, in one transaction: a survey is never stored without its cases.
func (s *Service) Submit(ctx context.Context, by string, in Input) (Result, error) {
	if err := in.Validate(s.routing); err != nil {
		return Result{}, err
	}
	now := s.cfg.Now().UTC()
	sv := Survey{Visit: in.Visit, Patient: in.Patient, Department: in.Department, Doctor: in.Doctor, Channel: in.Channel,
		Scores: in.Scores, Submitted: now, By: by, Comment: in.Comment, HasComment: in.Comment != ""}
	edits, err := jsonEdits(map[string]any{"visit": sv.Visit, "patient": sv.Patient, "department": sv.Department,
		"doctor": sv.Doctor, "channel": sv.Channel, "scores": sv.Scores, "submitted": sv.Submitted, "by": sv.By})
	if err != nil {
		return Result{}, err
	}
	comment := []byte("null") // written even when empty: see jsonEdits
	if in.Comment != "" {
		sealer := s.session()
		if sealer == nil {
			return Result{}, fmt.Errorf("seal survey comment: %w", ErrLocked)
		}
		plain, _ := json.Marshal(in.Comment)
		if comment, err = sealer.Seal(plain, vault.FieldAAD(Collection, in.Visit, "comment")); err != nil {
			return Result{}, fmt.Errorf("seal survey comment: %w", err)
		}
	}
	edits = append(edits, store.Edit{Kind: crdt.MutSet, Field: "comment", Value: comment, SeenCurrent: true})
	reqs := []store.WriteRequest{{Collection: Collection, Record: in.Visit, Create: true, Edits: edits}}
	res := Result{Survey: sv, Cases: []Case{}}
	for _, dim := range Dimensions() {
		if in.Scores[dim] > LowScore {
			continue
		}
		c := Case{ID: CaseID(in.Visit, dim), Visit: in.Visit, Dimension: dim, Score: in.Scores[dim],
			Department: s.routing.Department(dim, in.Department), VisitDepartment: in.Department, Doctor: in.Doctor,
			Channel: in.Channel, State: StateOpen, Opened: now, Deadline: now.Add(s.cfg.CaseDeadline), History: []Event{}}
		ce, err := jsonEdits(map[string]any{"visit": c.Visit, "dimension": c.Dimension, "score": c.Score,
			"department": c.Department, "visitDepartment": c.VisitDepartment, "doctor": c.Doctor, "channel": c.Channel,
			"opened": c.Opened, "deadline": c.Deadline})
		if err != nil {
			return Result{}, err
		}
		reqs = append(reqs, store.WriteRequest{Collection: CaseCollection, Record: c.ID, Edits: ce})
		res.Cases = append(res.Cases, c)
	}
	if _, err := s.cfg.Records.WriteAll(ctx, reqs); err != nil {
		if errors.Is(err, store.ErrExists) {
			return Result{}, fmt.Errorf("survey of visit %s: %w", in.Visit, ErrAnswered)
		}
		return Result{}, fmt.Errorf("store survey of visit %s: %w", in.Visit, err)
	}
	s.log.Info("survey taken", "visit", in.Visit, "department", in.Department, "channel", in.Channel, "cases", len(res.Cases))
	return res, nil
}

// Get returns the survey of a visit.
func (s *Service) Get(visit string) (Survey, error) {
	v, err := s.cfg.Records.Get(Collection, visit)
	if errors.Is(err, store.ErrNotFound) {
		return Survey{}, fmt.Errorf("survey of visit %s: %w", visit, store.ErrNotFound)
	}
	if err != nil {
		return Survey{}, fmt.Errorf("read survey of visit %s: %w", visit, err)
	}
	sv, err := surveyOf(v)
	if err != nil {
		return Survey{}, err
	}
	if sealed := v.Fields["comment"].Value; vault.IsSealed(sealed) {
		sv.HasComment = true
		if sealer := s.session(); sealer != nil {
			plain, err := sealer.Open(sealed, vault.FieldAAD(Collection, v.ID, "comment"))
			if err != nil {
				return Survey{}, fmt.Errorf("open comment of survey %s: %w", v.ID, err)
			}
			if err := json.Unmarshal(plain, &sv.Comment); err != nil {
				return Survey{}, fmt.Errorf("read comment of survey %s: %w", v.ID, err)
			}
		}
	}
	return sv, nil
}

// surveyOf reads the readable fields of a survey record.
func surveyOf(v store.RecordView) (Survey, error) {
	var sv Survey
	err := readFields(v, map[string]any{"visit": &sv.Visit, "patient": &sv.Patient, "department": &sv.Department,
		"doctor": &sv.Doctor, "channel": &sv.Channel, "scores": &sv.Scores, "submitted": &sv.Submitted, "by": &sv.By})
	if err != nil {
		return Survey{}, fmt.Errorf("read survey %s: %w", v.ID, err)
	}
	sv.HasComment = vault.IsSealed(v.Fields["comment"].Value)
	return sv, nil
}
