package education

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"carenode/crdt"
	"carenode/node/chart"
	"carenode/node/outbox"
	"carenode/node/store"
)

// Collections this package writes.
const (
	ArticleCollection  = "articles"
	DeliveryCollection = "deliveries"
)

// Records is what the service needs of the node's store.
type Records interface {
	Write(ctx context.Context, req store.WriteRequest) (store.WriteResult, error)
	Get(coll, id string) (store.RecordView, error)
	List(coll, after string, limit int) ([]store.RecordView, error)
}

var _ Records = (*store.Store)(nil)

// Charts reads a patient's chart (the chart service; the read is audited).
type Charts interface {
	Get(ctx context.Context, a chart.Actor, id string) (chart.Patient, error)
}

var _ Charts = (*chart.Service)(nil)

// Queue takes a message for the outbox. Queueing a Key already queued adds
// nothing. It is called from the caller's goroutine and may block on the
// store; it must not call back into this service.
type Queue interface {
	Queue(ctx context.Context, m outbox.Message) error
}

// Config configures a Service. Start from DefaultConfig.
type Config struct {
	Records Records
	Charts  Charts
	// Queue receives the messages; nil makes sending return ErrNoQueue.
	Queue Queue
	// Rules are push rules in rules.json's form; nil means the shipped ones.
	Rules []byte
	// Location is the clinic's time zone, for ages.
	Location *time.Location
	Now      func() time.Time
	Logger   *slog.Logger
}

// DefaultConfig returns the defaults: the shipped rules, ages reckoned in
// China Standard Time.
func DefaultConfig(records Records, charts Charts) Config {
	return Config{Records: records, Charts: charts, Location: time.FixedZone("CST", 8*3600), Now: time.Now, Logger: slog.Default()}
}

// Service serves the library and sends articles.
type Service struct {
	cfg     Config
	shipped []Article
	rules   []Rule
	log     *slog.Logger
}

// New checks cfg and the shipped library and makes a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Records == nil || cfg.Charts == nil {
		return nil, fmt.Errorf("%w: records and charts are needed", ErrConfig)
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
	shipped, err := Shipped()
	if err != nil {
		return nil, err
	}
	rb := cfg.Rules
	if rb == nil {
		rb = shippedRules
	}
	rules, err := ParseRules(rb, shipped)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, shipped: shipped, rules: rules, log: cfg.Logger.With("subsystem", "education")}, nil
}

// Rules returns the push rules in force.
func (s *Service) Rules() []Rule { return slices.Clone(s.rules) }

// Library returns every article: the shipped ones and those added, by id.
func (s *Service) Library(ctx context.Context) ([]Article, error) {
	out := slices.Clone(s.shipped)
	after := ""
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		vs, err := s.cfg.Records.List(ArticleCollection, after, 500)
		if err != nil {
			return nil, fmt.Errorf("read articles: %w", err)
		}
		for _, v := range vs {
			if v.Deleted {
				continue
			}
			a, err := articleOf(v)
			if err != nil {
				// One bad record from a peer must not hide the library.
				s.log.Warn("unreadable article", "article", v.ID, "err", err)
				continue
			}
			if !slices.ContainsFunc(s.shipped, func(b Article) bool { return b.ID == a.ID }) {
				out = append(out, a)
			}
		}
		if len(vs) < 500 {
			break
		}
		after = vs[len(vs)-1].Asked
	}
	slices.SortFunc(out, func(a, b Article) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Article returns one article of the library.
func (s *Service) Article(id string) (Article, error) {
	if i := slices.IndexFunc(s.shipped, func(a Article) bool { return a.ID == id }); i >= 0 {
		return s.shipped[i], nil
	}
	if !crdt.ValidName(id) {
		return Article{}, fmt.Errorf("article %q: %w", id, ErrNoArticle)
	}
	v, err := s.cfg.Records.Get(ArticleCollection, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && v.Deleted) {
		return Article{}, fmt.Errorf("article %q: %w", id, ErrNoArticle)
	}
	if err != nil {
		return Article{}, fmt.Errorf("read article %s: %w", id, err)
	}
	return articleOf(v)
}

func articleOf(v store.RecordView) (Article, error) {
	var a Article
	if err := json.Unmarshal(v.Fields["article"].Value, &a); err != nil {
		return Article{}, fmt.Errorf("read article %s: %w", v.ID, err)
	}
	a.Shipped = false
	return a, nil
}

// AddArticle validates and stores an article added by an admin.
func (s *Service) AddArticle(ctx context.Context, by string, a Article) (Article, error) {
	if err := a.Validate(); err != nil {
		return Article{}, err
	}
	if slices.ContainsFunc(s.shipped, func(b Article) bool { return b.ID == a.ID }) {
		return Article{}, fmt.Errorf("article %s: %w", a.ID, ErrArticleExists)
	}
	a.Shipped, a.AddedBy = false, by
	b, err := json.Marshal(a)
	if err != nil {
		return Article{}, err
	}
	_, err = s.cfg.Records.Write(ctx, store.WriteRequest{Collection: ArticleCollection, Record: a.ID, Create: true,
		Edits: []store.Edit{{Kind: crdt.MutSet, Field: "article", Value: b, SeenCurrent: true}}})
	if errors.Is(err, store.ErrExists) {
		return Article{}, fmt.Errorf("article %s: %w", a.ID, ErrArticleExists)
	}
	if err != nil {
		return Article{}, fmt.Errorf("store article %s: %w", a.ID, err)
	}
	s.log.Info("article added", "article", a.ID, "by", by)
	return a, nil
}

// Delivery records an article queued for a patient.
type Delivery struct {
	Patient string    `json:"patient"`
	Article string    `json:"article"`
	Key     string    `json:"key"` // the outbox key
	Queued  time.Time `json:"queued"`
	By      string    `json:"by"`
	// Trigger says why: "manual", or "diagnosis <code>".
	Trigger string `json:"trigger"`
}

// Key is the outbox key of an article sent to a patient.
func Key(patient, article string) string { return "education/" + patient + "/" + article }

func deliveryID(patient, article string) string { return patient + "." + article }

// Summary is an article without its body, as lists show it.
type Summary struct {
	ID      string `json:"id"`
	Title   Text   `json:"title"`
	Summary Text   `json:"summary"`
	Source  string `json:"source"`
	// Sent is true when the article was already sent to the patient.
	Sent bool `json:"sent"`
}

// PatientEducation is what a patient is matched to and was sent.
type PatientEducation struct {
	Patient string     `json:"patient"`
	Matched []Summary  `json:"matched"`
	Sent    []Delivery `json:"sent"`
}

// ForPatient returns the articles matching a patient and what was sent.
func (s *Service) ForPatient(ctx context.Context, a chart.Actor, patient string) (PatientEducation, error) {
	p, err := s.cfg.Charts.Get(ctx, a, patient)
	if err != nil {
		return PatientEducation{}, err
	}
	lib, err := s.Library(ctx)
	if err != nil {
		return PatientEducation{}, err
	}
	out := PatientEducation{Patient: p.ID, Matched: []Summary{}, Sent: []Delivery{}}
	sent := map[string]bool{}
	for _, art := range lib {
		d, err := s.delivery(p.ID, art.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return PatientEducation{}, err
		}
		sent[art.ID] = true
		out.Sent = append(out.Sent, d)
	}
	for _, art := range Match(lib, ProfileOf(p, s.today())) {
		out.Matched = append(out.Matched, Summary{ID: art.ID, Title: art.Title, Summary: art.Summary, Source: art.Source, Sent: sent[art.ID]})
	}
	return out, nil
}

func (s *Service) today() time.Time { return s.cfg.Now().In(s.cfg.Location) }

// delivery reads the delivery record of article to patient.
func (s *Service) delivery(patient, article string) (Delivery, error) {
	id := deliveryID(patient, article)
	if !crdt.ValidName(id) {
		return Delivery{}, store.ErrNotFound
	}
	v, err := s.cfg.Records.Get(DeliveryCollection, id)
	if err != nil {
		return Delivery{}, err
	}
	var d Delivery
	if err := json.Unmarshal(v.Fields["delivery"].Value, &d); err != nil {
		return Delivery{}, fmt.Errorf("read delivery %s: %w", id, err)
	}
	return d, nil
}

// Send queues article for patient by hand. Sending an article already
// sent returns the earlier delivery with ErrAlreadySent.
func (s *Service) Send(ctx context.Context, a chart.Actor, patient, article string) (Delivery, error) {
	art, err := s.Article(article)
	if err != nil {
		return Delivery{}, err
	}
	p, err := s.cfg.Charts.Get(ctx, a, patient)
	if err != nil {
		return Delivery{}, err
	}
	return s.send(ctx, a, p.ID, art, "manual")
}

// send queues art for patient and records the delivery (see doc.go for
// the order).
func (s *Service) send(ctx context.Context, a chart.Actor, patient string, art Article, trigger string) (Delivery, error) {
	if s.cfg.Queue == nil {
		return Delivery{}, ErrNoQueue
	}
	id := deliveryID(patient, art.ID)
	if !crdt.ValidName(id) {
		return Delivery{}, fmt.Errorf("send article %s to %s: %w: ids too long", art.ID, patient, store.ErrInvalid)
	}
	if d, err := s.delivery(patient, art.ID); err == nil {
		return d, fmt.Errorf("article %s to patient %s: %w", art.ID, patient, ErrAlreadySent)
	} else if !errors.Is(err, store.ErrNotFound) {
		return Delivery{}, err
	}
	d := Delivery{Patient: patient, Article: art.ID, Key: Key(patient, art.ID), Queued: s.cfg.Now().UTC(), By: a.Name, Trigger: trigger}
	m := outbox.Message{Key: d.Key, Patient: patient, Kind: "education",
		Text: map[string]string{"zh": art.SMS.Zh, "en": art.SMS.En}, About: ArticleCollection + "/" + art.ID}
	if err := s.cfg.Queue.Queue(ctx, m); err != nil {
		return Delivery{}, fmt.Errorf("queue article %s for %s: %w", art.ID, patient, err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return Delivery{}, err
	}
	_, err = s.cfg.Records.Write(ctx, store.WriteRequest{Collection: DeliveryCollection, Record: id, Create: true,
		Edits: []store.Edit{{Kind: crdt.MutSet, Field: "delivery", Value: b, SeenCurrent: true}}})
	if errors.Is(err, store.ErrExists) {
		// Sent meanwhile by another request: the outbox kept one message.
		prev, perr := s.delivery(patient, art.ID)
		if perr != nil {
			return Delivery{}, perr
		}
		return prev, fmt.Errorf("article %s to patient %s: %w", art.ID, patient, ErrAlreadySent)
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("record delivery of %s to %s: %w", art.ID, patient, err)
	}
	s.log.Info("education queued", "patient", patient, "article", art.ID, "trigger", trigger)
	return d, nil
}

// Diagnosed applies the push rules to a diagnosis code just added to a
// patient's chart by a: every article a rule names for the code that also
// fits the patient's age and sex, and was not sent before, is queued. It
// returns the deliveries made. The chart side calls it after the
// diagnosis is stored; an error leaves the diagnosis in place, and calling
// again sends only what is missing.
func (s *Service) Diagnosed(ctx context.Context, a chart.Actor, patientID, code string) ([]Delivery, error) {
	ids := RulesFor(s.rules, code)
	if len(ids) == 0 {
		return nil, nil
	}
	p, err := s.cfg.Charts.Get(ctx, a, patientID)
	if err != nil {
		return nil, err
	}
	prof := ProfileOf(p, s.today())
	if !slices.Contains(prof.Codes, code) {
		prof.Codes = append(prof.Codes, code)
	}
	var out []Delivery
	for _, id := range ids {
		art, err := s.Article(id)
		if err != nil {
			return out, err
		}
		if !Matches(art, prof) {
			continue
		}
		d, err := s.send(ctx, a, p.ID, art, "diagnosis "+code)
		if errors.Is(err, ErrAlreadySent) {
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, d)
	}
	return out, nil
}
