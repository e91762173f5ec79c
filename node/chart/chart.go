package chart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"carenode/crdt"
	"carenode/node/auth"
	"carenode/node/care"
	"carenode/node/dedup"
	"carenode/node/icd10"
	"carenode/node/search"
	"carenode/node/store"
	"carenode/node/vault"
)

// Records is what the service needs of the node's store.
type Records interface {
	Write(ctx context.Context, req store.WriteRequest) (store.WriteResult, error)
	// WriteAll commits several records in one transaction (import, export audit).
	WriteAll(ctx context.Context, reqs []store.WriteRequest) ([]store.WriteResult, error)
	Get(coll, id string) (store.RecordView, error)
	List(coll, after string, limit int) ([]store.RecordView, error)
	// ListOnly reads only some fields of every record (the index at unlock).
	ListOnly(coll, after string, limit int, only store.Only) ([]store.RecordView, error)
}

// Config configures a Service.
type Config struct {
	Records Records
	// Node is this node's ID, written into every audit event.
	Node string
	// Codes is the ICD-10 table; nil means icd10.Default().
	Codes *icd10.Table
	// Rules are the automatic tag rules; nil means care.DefaultRules().
	Rules []care.TagRule
	// NurseLaptop restricts nurses to the patients assigned to them: set on
	// a node whose role is nurse.
	NurseLaptop bool
	// MissedAppointments, when set, returns the dates (YYYY-MM-DD) of the
	// appointments a patient missed, for the auto-tag rules (node/booking
	// keeps appointments; the chart does not).
	MissedAppointments func(patient string) ([]string, error)
	// Now reads the wall clock; Location is the clinic's time zone, which
	// decides "today" for ages and birth dates. Nil means time.Now and
	// time.Local.
	Now      func() time.Time
	Location *time.Location
	Logger   *slog.Logger
}

// Actor is who asks: a signed-in staff member.
type Actor struct {
	Name string
	Role auth.Role
}

// Summary is a patient as a search result or duplicate list shows it.
type Summary struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Sex        string   `json:"sex"`
	BirthDate  string   `json:"birthDate"`
	Phones     []string `json:"phones,omitempty"`
	CardNumber string   `json:"cardNumber,omitempty"`
	// IDNumberTail is the last four characters of the ID number: enough to
	// tell two patients apart at the desk without showing the number.
	IDNumberTail string `json:"idNumberTail,omitempty"`
	// Why says what matched in a search (a search.Why… constant).
	Why string `json:"why,omitempty"`
}

// entry is what the service keeps in memory of one patient, opened, after
// unlock: the search and duplicate indexes and the summaries they return.
type entry struct {
	Summary
	idNumber  string
	assignees []string
}

// Service keeps the patient charts: it seals personal fields before they
// reach the store, opens them for reading, keeps the in-memory search and
// duplicate indexes, and writes an audit event for every read and change.
// It is safe for concurrent use.
type Service struct {
	cfg   Config
	codes *icd10.Table
	rules []care.TagRule
	log   *slog.Logger

	// building is set while Unlock reads the store; records changed by
	// peers meanwhile are noted in pending and indexed once it is done.
	pendingMu sync.Mutex
	building  bool
	pending   []string

	mu      sync.RWMutex
	sealer  *vault.Sealer // nil while locked
	index   *search.Index
	dups    *dedup.Index // nil when it must be (re)built: see duplicateIndex
	entries map[string]*entry
	gen     uint64 // counts changes to entries, so a rebuilt dups is known current

	unreadable atomic.Int64 // records the last unlock could not open
}

// New returns a locked service.
func New(cfg Config) *Service {
	if cfg.Codes == nil {
		cfg.Codes = icd10.Default()
	}
	if cfg.Rules == nil {
		cfg.Rules = care.DefaultRules()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{cfg: cfg, codes: cfg.Codes, rules: cfg.Rules, log: cfg.Logger.With("subsystem", "chart")}
}

func (s *Service) today() time.Time { return s.cfg.Now().In(s.cfg.Location) }

// Locked reports whether the service has no data key.
func (s *Service) Locked() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sealer == nil
}

// Unlock gives the service the data key's Sealer and builds the search and
// duplicate indexes from every patient the node holds, opening their sealed
// fields in memory. The indexes never touch the disk.
func (s *Service) Unlock(sealer *vault.Sealer) error {
	start := time.Now()
	s.pendingMu.Lock()
	s.building, s.pending = true, nil
	s.pendingMu.Unlock()
	defer func() {
		s.pendingMu.Lock()
		s.building, s.pending = false, nil
		s.pendingMu.Unlock()
	}()
	entries, err := s.loadEntries(sealer)
	if err != nil {
		return err
	}
	docs := make([]search.Doc, 0, len(entries))
	for _, e := range entries {
		docs = append(docs, e.doc())
	}
	idx := search.Build(docs)
	count := len(entries) // entries is the service's from here, written under s.mu
	s.mu.Lock()
	s.sealer, s.index, s.dups, s.entries = sealer, idx, nil, entries
	s.gen++
	s.mu.Unlock()
	// The duplicate index is needed by the first registration, not by
	// search: build it in the background rather than on unlock's path.
	go s.duplicateIndex()
	s.pendingMu.Lock()
	late := s.pending
	s.building, s.pending = false, nil
	s.pendingMu.Unlock()
	for _, id := range late {
		if err := s.reindex(sealer, id); err != nil {
			return err
		}
	}
	s.log.Info("patient data unlocked", "patients", count, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// Lock forgets the Sealer and the indexes.
func (s *Service) Lock() {
	s.mu.Lock()
	s.sealer, s.index, s.dups, s.entries = nil, nil, nil, nil
	s.mu.Unlock()
}

// loadEntries reads every patient and opens what the indexes need, on every
// CPU: opening is most of the work.
func (s *Service) loadEntries(sealer *vault.Sealer) (map[string]*entry, error) {
	const page = 1000
	var unreadable atomic.Int64
	defer func() {
		n := unreadable.Load()
		s.unreadable.Store(n)
		if n > 0 {
			s.log.Warn("patient records left out of search because they cannot be opened", "records", n)
		}
	}()
	pages := make(chan []store.RecordView, 2)
	results := make(chan []*entry, 2)
	errc := make(chan error, runtime.GOMAXPROCS(0)+1)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for views := range pages {
				out := make([]*entry, 0, len(views))
				for _, v := range views {
					if v.Deleted {
						continue
					}
					e, err := openEntry(sealer, v)
					if err != nil && !errors.Is(err, vault.ErrWrongKey) {
						// One damaged record (written raw through the
						// generic API, or by a faulty peer) must not keep
						// every other chart locked: it is left out of the
						// indexes, reported, and still readable raw.
						if unreadable.Add(1) <= 5 { // the first few; the count follows
							s.log.Warn("patient record cannot be opened; left out of search", "patient", v.ID, "err", err)
						}
						continue
					}
					if err != nil {
						// Sealed under another network's key: refuse the
						// unlock. Never block on a full channel (a wrong key
						// fails every record).
						select {
						case errc <- err:
						default:
						}
						continue
					}
					out = append(out, e)
				}
				results <- out
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()
	go func() {
		defer close(pages)
		after := ""
		for {
			views, err := s.cfg.Records.ListOnly(Collection, after, page, indexFields)
			if err != nil {
				select {
				case errc <- err:
				default:
				}
				return
			}
			if len(views) == 0 {
				return
			}
			after = views[len(views)-1].Asked
			pages <- views
			if len(views) < page {
				return
			}
		}
	}()
	entries := map[string]*entry{}
	for out := range results {
		for _, e := range out {
			entries[e.ID] = e
		}
	}
	select {
	case err := <-errc:
		return nil, fmt.Errorf("load patients: %w", err)
	default:
	}
	return entries, nil
}

// openEntry opens the index fields of one record.
func openEntry(sealer *vault.Sealer, v store.RecordView) (*entry, error) {
	o := newOpener(sealer, v)
	var p care.PatientInput
	for _, f := range []string{"name", "sex", "birthDate", "idNumber", "phones", "cardNumber"} {
		pt, err := o.fieldValue(v, f)
		if err != nil {
			return nil, fmt.Errorf("patient %s: %w", v.ID, err)
		}
		if pt != nil {
			if err := setDemographic(&p, f, pt); err != nil {
				return nil, fmt.Errorf("patient %s: %w", v.ID, err)
			}
		}
	}
	return newEntry(v.ID, p, v.Sets[setAssignees]), nil
}

// indexFields are what openEntry reads: ListOnly skips everything else.
var indexFields = store.Only{Fields: []string{"name", "sex", "birthDate", "idNumber", "phones", "cardNumber"},
	Sets: []string{setAssignees}}

func newEntry(id string, p care.PatientInput, assignees []string) *entry {
	e := &entry{Summary: Summary{ID: id, Name: p.Name, Sex: p.Sex, BirthDate: p.BirthDate,
		Phones: slices.Clone(p.Phones), CardNumber: p.CardNumber}, idNumber: p.IDNumber, assignees: slices.Clone(assignees)}
	if n := len(p.IDNumber); n >= 4 {
		e.IDNumberTail = p.IDNumber[n-4:]
	}
	return e
}

func (e *entry) doc() search.Doc {
	return search.Doc{ID: e.ID, Name: e.Name, Phones: e.Phones, IDNumber: e.idNumber, Card: e.CardNumber}
}

func (e *entry) dedup() dedup.Patient {
	return dedup.Patient{ID: e.ID, Name: e.Name, BirthDate: e.BirthDate, IDNumber: e.idNumber, Phones: e.Phones}
}

// session returns the Sealer, or ErrLocked.
func (s *Service) session() (*vault.Sealer, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.sealer == nil {
		return nil, ErrLocked
	}
	return s.sealer, nil
}

// mayAccess reports whether actor may see a patient with these assignees.
func (s *Service) mayAccess(a Actor, assignees []string) bool {
	return !s.cfg.NurseLaptop || a.Role != auth.RoleNurse || slices.Contains(assignees, a.Name)
}

// view reads a patient record and checks the actor may see it.
func (s *Service) view(a Actor, id string) (store.RecordView, error) {
	if !crdt.ValidName(id) {
		return store.RecordView{}, ErrNotFound
	}
	v, err := s.cfg.Records.Get(Collection, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && v.Deleted) {
		return store.RecordView{}, ErrNotFound
	}
	if err != nil {
		return store.RecordView{}, fmt.Errorf("read patient %s: %w", id, err)
	}
	if !s.mayAccess(a, v.Sets[setAssignees]) {
		return store.RecordView{}, ErrNotAssigned
	}
	return v, nil
}

// reindex brings the in-memory indexes up to date with the stored record id
// (after a local write or changes from a peer): a record merged away or
// deleted leaves them, its survivor is read again.
func (s *Service) reindex(sealer *vault.Sealer, id string) error {
	v, err := s.cfg.Records.Get(Collection, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reindex %s: %w", id, err)
	}
	var e *entry
	if !v.Deleted {
		if e, err = openEntry(sealer, v); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.index == nil {
		return nil // locked meanwhile
	}
	gone := append([]string{}, v.Merged...)
	if v.ID != id {
		gone = append(gone, id)
	}
	for _, g := range gone {
		s.index.Delete(g)
		delete(s.entries, g)
	}
	if e == nil {
		s.index.Delete(v.ID)
		delete(s.entries, v.ID)
		return nil
	}
	s.index.Put(e.doc())
	s.entries[e.ID] = e
	s.gen++
	// dedup.Index cannot delete: when records left (merges, deletions) it
	// is rebuilt in the background, not under this lock.
	switch {
	case len(gone) > 0 && s.dups != nil:
		s.dups = nil
		go s.duplicateIndex()
	case s.dups != nil:
		s.dups.Put(e.dedup())
	}
	return nil
}

// duplicateIndex returns the duplicate index, building it from the entries
// if it is missing, outside the lock so searches go on meanwhile. Callers use
// it under s.mu (read) only, as dedup.Index requires. Nil when locked.
func (s *Service) duplicateIndex() *dedup.Index {
	for attempt := 0; ; attempt++ {
		if attempt == 3 {
			// Writes keep coming faster than a build: build under the
			// lock once, pausing searches for its duration.
			s.mu.Lock()
			if s.dups == nil && s.entries != nil {
				ps := make([]dedup.Patient, 0, len(s.entries))
				for _, e := range s.entries {
					ps = append(ps, e.dedup())
				}
				s.dups = dedup.NewIndex(ps)
			}
			d := s.dups
			s.mu.Unlock()
			return d
		}
		s.mu.RLock()
		if s.dups != nil || s.entries == nil {
			d := s.dups
			s.mu.RUnlock()
			return d
		}
		gen := s.gen
		ps := make([]dedup.Patient, 0, len(s.entries))
		for _, e := range s.entries {
			ps = append(ps, e.dedup())
		}
		s.mu.RUnlock()
		d := dedup.NewIndex(ps)
		s.mu.Lock()
		if s.gen == gen && s.entries != nil && s.dups == nil {
			s.dups = d
		}
		s.mu.Unlock()
		// Entries changed while building (a registration, a sync): take a
		// new snapshot and build again.
	}
}

// Refresh brings the indexes up to date after changes to these patient
// records arrived from a peer. A locked service has nothing to refresh.
func (s *Service) Refresh(ids []string) error {
	s.pendingMu.Lock()
	if s.building {
		s.pending = append(s.pending, ids...)
		s.pendingMu.Unlock()
		return nil
	}
	s.pendingMu.Unlock()
	sealer, err := s.session()
	if err != nil {
		return nil
	}
	var errs []error
	for _, id := range ids {
		errs = append(errs, s.reindex(sealer, id))
	}
	return errors.Join(errs...)
}

// seal returns the stored bytes of a register value.
func seal(sealer *vault.Sealer, id, field string, plaintext []byte) ([]byte, error) {
	if !isSealed(field) {
		return plaintext, nil
	}
	b, err := sealer.Seal(plaintext, vault.FieldAAD(Collection, id, field))
	if err != nil {
		return nil, fmt.Errorf("seal %s: %w", field, err)
	}
	return b, nil
}

// setEdit is a register write of value, replacing the stamps seen.
func setEdit(sealer *vault.Sealer, id, field string, value []byte, seen []crdt.Stamp) (store.Edit, error) {
	b, err := seal(sealer, id, field, value)
	if err != nil {
		return store.Edit{}, err
	}
	return store.Edit{Kind: crdt.MutSet, Field: field, Value: b, Seen: seen}, nil
}

// write commits edits to patient id, then updates the indexes and audits.
func (s *Service) write(ctx context.Context, sealer *vault.Sealer, a Actor, req store.WriteRequest, action string, fields []string) (Patient, error) {
	res, err := s.cfg.Records.Write(ctx, req)
	if errors.Is(err, store.ErrNotFound) {
		return Patient{}, ErrNotFound
	}
	if err != nil {
		return Patient{}, fmt.Errorf("write patient %s: %w", req.Record, err)
	}
	id := res.Record
	if err := s.reindex(sealer, id); err != nil {
		s.log.Error("index update failed; search may miss this patient until the next unlock", "patient", id, "err", err)
	}
	v, err := s.cfg.Records.Get(Collection, id)
	if err != nil {
		return Patient{}, fmt.Errorf("read patient %s: %w", id, err)
	}
	// Audit under the chart shown: a merge is written to the merged-away
	// record, but belongs in the survivor's trail.
	if err := s.audit(ctx, a, v.ID, action, fields); err != nil {
		return Patient{}, err
	}
	return s.toPatient(sealer, v, s.today())
}

// cardTaken reports whether another patient than id holds card.
func (s *Service) cardTaken(id, card string) bool {
	if card == "" {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, e := range s.entries {
		if e.CardNumber == card && e.ID != id {
			return true
		}
	}
	return false
}

func cardTakenError() error {
	return &care.ValidationError{Problems: []care.Problem{{Field: "cardNumber", Code: "card_taken",
		En: "This card number belongs to another patient; check the card, or issue a new one.",
		Zh: "该就诊卡号已属于另一位患者，请核对卡片或补发新卡。"}}}
}

// RegisterResult is a new chart and the likely duplicates registration found.
type RegisterResult struct {
	Patient
	// PossibleDuplicates are existing patients who may be the same person
	// (same name, birth date and phone; similar name and same birth date):
	// the chart was made, and the desk should look.
	PossibleDuplicates []Candidate `json:"possibleDuplicates,omitempty"`
}

// Register makes a new chart from in (normalised and validated here). A
// patient whose ID number is already registered is refused with a
// *DuplicateError naming the existing chart, unless force is set.
func (s *Service) Register(ctx context.Context, a Actor, in care.PatientInput, force bool) (RegisterResult, error) {
	sealer, err := s.session()
	if err != nil {
		return RegisterResult{}, err
	}
	in = in.Normalize()
	if err := in.Validate(s.today()); err != nil {
		return RegisterResult{}, err
	}
	if s.cardTaken("", in.CardNumber) {
		return RegisterResult{}, cardTakenError()
	}
	s.duplicateIndex()
	s.mu.RLock()
	if s.dups == nil { // locked, or the index was dropped again meanwhile
		s.mu.RUnlock()
		if s.Locked() {
			return RegisterResult{}, ErrLocked
		}
		return s.Register(ctx, a, in, force)
	}
	cands := s.dups.Candidates(dedup.Patient{ID: "\x00new", Name: in.Name, BirthDate: in.BirthDate, IDNumber: in.IDNumber, Phones: in.Phones})
	dupList := s.candidates(cands, "\x00new")
	s.mu.RUnlock()
	if !force {
		var existing []Summary
		for _, d := range dupList {
			if slices.Contains(d.Reasons, dedup.SameIDNumber) {
				existing = append(existing, d.Summary)
			}
		}
		if len(existing) > 0 {
			return RegisterResult{}, &DuplicateError{Existing: existing}
		}
	}
	id := store.NewRecordID(s.cfg.Now())
	edits, err := newChartEdits(sealer, id, in)
	if err != nil {
		return RegisterResult{}, err
	}
	p, err := s.write(ctx, sealer, a, store.WriteRequest{Collection: Collection, Record: id, Create: true, Edits: edits}, "register", nil)
	if err != nil {
		return RegisterResult{}, err
	}
	return RegisterResult{Patient: p, PossibleDuplicates: dupList}, nil
}

// Get returns a chart and audits the read.
func (s *Service) Get(ctx context.Context, a Actor, id string) (Patient, error) {
	sealer, err := s.session()
	if err != nil {
		return Patient{}, err
	}
	v, err := s.view(a, id)
	if err != nil {
		return Patient{}, err
	}
	p, err := s.toPatient(sealer, v, s.today())
	if err != nil {
		return Patient{}, err
	}
	// No audit, no chart: an unrecorded read must not happen.
	if err := s.audit(ctx, a, v.ID, "read", nil); err != nil {
		return Patient{}, err
	}
	return p, nil
}

// Update lays a partial PatientInput (JSON body) over the stored chart, as
// care.Decode does, and writes the fields that changed. Each write names
// the stamps the stored chart showed, so a value that arrived from another
// node meanwhile stays as a conflict instead of being overwritten unseen.
// ifMatch, when not empty, must be the chart's Version (ErrStale otherwise).
func (s *Service) Update(ctx context.Context, a Actor, id string, body []byte, ifMatch string) (Patient, error) {
	sealer, err := s.session()
	if err != nil {
		return Patient{}, err
	}
	v, err := s.view(a, id)
	if err != nil {
		return Patient{}, err
	}
	if ifMatch != "" && strings.Trim(ifMatch, `"`) != v.Updated.String() {
		return Patient{}, ErrStale
	}
	cur, err := s.toPatient(sealer, v, s.today())
	if err != nil {
		return Patient{}, err
	}
	in := cur.PatientInput
	if err := care.Decode(body, &in); err != nil {
		return Patient{}, err
	}
	in = in.Normalize()
	if err := in.Validate(s.today()); err != nil {
		return Patient{}, err
	}
	if in.CardNumber != cur.CardNumber && s.cardTaken(v.ID, in.CardNumber) {
		return Patient{}, cardTakenError()
	}
	oldVals, err := demographicValues(cur.PatientInput)
	if err != nil {
		return Patient{}, err
	}
	newVals, err := demographicValues(in)
	if err != nil {
		return Patient{}, err
	}
	var edits []store.Edit
	var changed []string
	for _, spec := range demographics() {
		if string(oldVals[spec.name]) == string(newVals[spec.name]) {
			continue
		}
		e, err := setEdit(sealer, v.ID, spec.name, newVals[spec.name], v.Fields[spec.name].Seen)
		if err != nil {
			return Patient{}, err
		}
		edits = append(edits, e)
		changed = append(changed, spec.name)
	}
	if len(edits) == 0 {
		if err := s.audit(ctx, a, v.ID, "read", nil); err != nil {
			return Patient{}, err
		}
		return cur, nil
	}
	return s.write(ctx, sealer, a, store.WriteRequest{Collection: Collection, Record: v.ID, MustExist: true, Edits: edits}, "update", changed)
}

// Resolve ends the conflict on field by writing value (JSON, as the field
// takes it in the API) over every concurrent value.
func (s *Service) Resolve(ctx context.Context, a Actor, id, field string, value json.RawMessage) (Patient, error) {
	sealer, err := s.session()
	if err != nil {
		return Patient{}, err
	}
	v, err := s.view(a, id)
	if err != nil {
		return Patient{}, err
	}
	f, ok := v.Fields[field]
	if !ok || len(f.Conflict) < 2 {
		return Patient{}, ErrNoConflict
	}
	if _, _, _, isElem := splitElementField(field); isElem {
		return s.resolveElement(ctx, sealer, a, v, field, value)
	}
	cur, err := s.toPatient(sealer, v, s.today())
	if err != nil {
		return Patient{}, err
	}
	in := cur.PatientInput
	body, err := json.Marshal(map[string]json.RawMessage{field: value})
	if err != nil {
		return Patient{}, fmt.Errorf("%w: value is not JSON", ErrBadRequest)
	}
	if err := care.Decode(body, &in); err != nil {
		return Patient{}, err
	}
	in = in.Normalize()
	if err := in.Validate(s.today()); err != nil {
		return Patient{}, err
	}
	vals, err := demographicValues(in)
	if err != nil {
		return Patient{}, err
	}
	e, err := setEdit(sealer, v.ID, field, vals[field], f.Seen)
	if err != nil {
		return Patient{}, err
	}
	return s.write(ctx, sealer, a, store.WriteRequest{Collection: Collection, Record: v.ID, MustExist: true,
		Edits: []store.Edit{e}}, "resolve", []string{field})
}

// resolveElement resolves a conflict on an allergy's severity or a
// medication's dose or frequency: value is the JSON string to keep.
func (s *Service) resolveElement(ctx context.Context, sealer *vault.Sealer, a Actor, v store.RecordView, field string, value json.RawMessage) (Patient, error) {
	var str string
	if err := json.Unmarshal(value, &str); err != nil {
		return Patient{}, fmt.Errorf("%w: %s takes a text value", ErrBadRequest, field)
	}
	kind, _, sub, _ := splitElementField(field)
	if kind == elemAllergy && sub == "severity" {
		al := care.AllergyInput{Substance: "x", Severity: str}.Normalize()
		if err := al.Validate(); err != nil {
			return Patient{}, err
		}
		str = al.Severity
	}
	b, _ := json.Marshal(str)
	e, err := setEdit(sealer, v.ID, field, b, v.Fields[field].Seen)
	if err != nil {
		return Patient{}, err
	}
	return s.write(ctx, sealer, a, store.WriteRequest{Collection: Collection, Record: v.ID, MustExist: true,
		Edits: []store.Edit{e}}, "resolve", []string{field})
}

// elementEdits adds a set element with its fields.
func elementEdits(sealer *vault.Sealer, id, set, kind string, fields map[string]string) ([]store.Edit, string, error) {
	elem := store.NewShortID()
	edits := []store.Edit{{Kind: crdt.MutAdd, Field: set, Elem: elem}}
	for _, spec := range elementFields(kind) {
		val := fields[spec.name]
		if val == "" {
			continue
		}
		b, _ := json.Marshal(val)
		e, err := setEdit(sealer, id, elementField(kind, elem, spec.name), b, nil)
		if err != nil {
			return nil, "", err
		}
		edits = append(edits, e)
	}
	return edits, elem, nil
}

// AddAllergy adds an allergy to the chart.
func (s *Service) AddAllergy(ctx context.Context, a Actor, id string, in care.AllergyInput) (Patient, error) {
	in = in.Normalize()
	if err := in.Validate(); err != nil {
		return Patient{}, err
	}
	return s.addElement(ctx, a, id, setAllergies, elemAllergy, "allergy.add",
		map[string]string{"substance": in.Substance, "reaction": in.Reaction, "severity": in.Severity})
}

// AddDiagnosis adds a diagnosis, checked against the ICD-10 table. Warnings
// (a code accepted on its category) come back with the chart.
func (s *Service) AddDiagnosis(ctx context.Context, a Actor, id string, in care.DiagnosisInput) (Patient, []care.Problem, error) {
	in = in.Normalize()
	code, warnings, err := in.Validate(s.codes)
	if err != nil {
		return Patient{}, nil, err
	}
	p, err := s.addElement(ctx, a, id, setDiagnoses, elemDiagnosis, "diagnosis.add",
		map[string]string{"code": code.Code, "note": in.Note})
	return p, warnings, err
}

// AddMedication adds a current medication.
func (s *Service) AddMedication(ctx context.Context, a Actor, id string, in care.MedicationInput) (Patient, error) {
	in = in.Normalize()
	if err := in.Validate(); err != nil {
		return Patient{}, err
	}
	return s.addElement(ctx, a, id, setMedications, elemMedication, "medication.add",
		map[string]string{"name": in.Name, "dose": in.Dose, "frequency": in.Frequency})
}

func (s *Service) addElement(ctx context.Context, a Actor, id, set, kind, action string, fields map[string]string) (Patient, error) {
	sealer, err := s.session()
	if err != nil {
		return Patient{}, err
	}
	v, err := s.view(a, id)
	if err != nil {
		return Patient{}, err
	}
	edits, elem, err := elementEdits(sealer, v.ID, set, kind, fields)
	if err != nil {
		return Patient{}, err
	}
	return s.write(ctx, sealer, a, store.WriteRequest{Collection: Collection, Record: v.ID, MustExist: true, Edits: edits},
		action, []string{set + "." + elem})
}

// Sets a client may remove elements from, by their API name.
var removable = map[string]bool{setAllergies: true, setDiagnoses: true, setMedications: true, setTags: true}

// MaxTagLen caps a tag given by hand, in characters.
const MaxTagLen = 16

// AddTag gives the patient a tag by hand ("贫困户", "独居"): 1–16 characters,
// no control characters. Tags from rules are computed, never stored.
func (s *Service) AddTag(ctx context.Context, a Actor, id, tag string) (Patient, error) {
	tag = strings.TrimSpace(tag)
	n := utf8.RuneCountInString(tag)
	if n == 0 || n > MaxTagLen || strings.ContainsFunc(tag, unicode.IsControl) || !utf8.ValidString(tag) {
		return Patient{}, &care.ValidationError{Problems: []care.Problem{{Field: "tag", Code: care.CodeTooLong,
			En: fmt.Sprintf("A tag has 1 to %d characters and no line breaks.", MaxTagLen),
			Zh: fmt.Sprintf("标签应为1至%d个字符，且不能换行。", MaxTagLen)}}}
	}
	sealer, err := s.session()
	if err != nil {
		return Patient{}, err
	}
	v, err := s.view(a, id)
	if err != nil {
		return Patient{}, err
	}
	return s.write(ctx, sealer, a, store.WriteRequest{Collection: Collection, Record: v.ID, MustExist: true,
		Edits: []store.Edit{{Kind: crdt.MutAdd, Field: setTags, Elem: tag}}}, "tag.add", []string{tag})
}

// RemoveElement removes an allergy, diagnosis, medication or hand-given
// tag (set is "allergies", "diagnoses", "medications" or "tags"). The removal takes only the
// additions this node has seen: an element re-added elsewhere meanwhile stays.
func (s *Service) RemoveElement(ctx context.Context, a Actor, id, set, elem string) (Patient, error) {
	if !removable[set] {
		return Patient{}, fmt.Errorf("%w: %q is not a list of the chart", ErrBadRequest, set)
	}
	sealer, err := s.session()
	if err != nil {
		return Patient{}, err
	}
	v, err := s.view(a, id)
	if err != nil {
		return Patient{}, err
	}
	if !slices.Contains(v.Sets[set], elem) {
		return Patient{}, ErrNoSuchElement
	}
	return s.write(ctx, sealer, a, store.WriteRequest{Collection: Collection, Record: v.ID, MustExist: true,
		Edits: []store.Edit{{Kind: crdt.MutRemove, Field: set, Elem: elem, SeenCurrent: true}}}, set+".remove", []string{set + "." + elem})
}

// Assign adds (or with remove, takes away) a nurse to the patient's
// assignees: on a nurse laptop, a nurse sees only their assigned patients.
func (s *Service) Assign(ctx context.Context, a Actor, id, nurse string, remove bool) (Patient, error) {
	if !crdt.ValidName(nurse) {
		return Patient{}, fmt.Errorf("%w: %q is not a staff name", ErrBadRequest, nurse)
	}
	sealer, err := s.session()
	if err != nil {
		return Patient{}, err
	}
	v, err := s.view(a, id)
	if err != nil {
		return Patient{}, err
	}
	e := store.Edit{Kind: crdt.MutAdd, Field: setAssignees, Elem: nurse}
	action := "assign"
	if remove {
		e, action = store.Edit{Kind: crdt.MutRemove, Field: setAssignees, Elem: nurse, SeenCurrent: true}, "unassign"
	}
	return s.write(ctx, sealer, a, store.WriteRequest{Collection: Collection, Record: v.ID, MustExist: true,
		Edits: []store.Edit{e}}, action, []string{nurse})
}

// Merge merges the chart from into the chart into: the survivor keeps every
// field value, allergy, diagnosis, medication, fact and history entry of
// both (crdt.MergedRecord), and later changes to from land on it. Two nodes
// merging the same pair in opposite directions end with the same survivor.
func (s *Service) Merge(ctx context.Context, a Actor, from, into string) (Patient, error) {
	sealer, err := s.session()
	if err != nil {
		return Patient{}, err
	}
	vf, err := s.view(a, from)
	if err != nil {
		return Patient{}, err
	}
	vi, err := s.view(a, into)
	if err != nil {
		return Patient{}, err
	}
	if vf.ID == vi.ID {
		return Patient{}, ErrSelfMerge
	}
	p, err := s.write(ctx, sealer, a, store.WriteRequest{Collection: Collection, Record: vf.ID, MustExist: true,
		Edits: []store.Edit{{Kind: crdt.MutMerge, Into: vi.ID}}}, "merge", []string{vf.ID, vi.ID})
	if err != nil {
		return Patient{}, err
	}
	// The merged-away chart's audit trail records the merge too.
	if err := s.audit(ctx, a, vf.ID, "merged-into", []string{vi.ID}); err != nil {
		return Patient{}, err
	}
	return p, nil
}

// IssueCard gives the patient a new card number (a reissue replaces the old
// one, which stays in the record's history). Numbers are 16 digits, the last
// a Luhn check digit so a mistyped number is caught at once; 15 random
// digits make two offline nodes picking the same number vanishingly unlikely,
// and this node checks the ones it holds.
func (s *Service) IssueCard(ctx context.Context, a Actor, id string) (Patient, error) {
	sealer, err := s.session()
	if err != nil {
		return Patient{}, err
	}
	v, err := s.view(a, id)
	if err != nil {
		return Patient{}, err
	}
	var card string
	for {
		if card, err = newCardNumber(); err != nil {
			return Patient{}, err
		}
		if !s.cardTaken("", card) {
			break
		}
	}
	b, _ := json.Marshal(card)
	action := "card.issue"
	if _, had := v.Fields["cardNumber"]; had {
		action = "card.reissue"
	}
	e, err := setEdit(sealer, v.ID, "cardNumber", b, v.Fields["cardNumber"].Seen)
	if err != nil {
		return Patient{}, err
	}
	return s.write(ctx, sealer, a, store.WriteRequest{Collection: Collection, Record: v.ID, MustExist: true,
		Edits: []store.Edit{e}}, action, []string{"cardNumber"})
}

// Search finds patients by name, pinyin, phone, ID number or card number,
// best first. limit <= 0 means 20.
func (s *Service) Search(a Actor, q string, limit int) ([]Summary, error) {
	if _, err := s.session(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 20
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.index == nil {
		return nil, ErrLocked
	}
	ask := limit
	if s.cfg.NurseLaptop && a.Role == auth.RoleNurse {
		ask = 0 // filter first, then cut
	}
	out := []Summary{}
	for _, m := range s.index.Search(q, ask) {
		e := s.entries[m.ID]
		if e == nil || !s.mayAccess(a, e.assignees) {
			continue
		}
		sum := e.Summary
		sum.Phones = slices.Clone(e.Phones)
		sum.Why = m.Why
		out = append(out, sum)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// Duplicate is a likely duplicate pair, for review.
type Duplicate struct {
	A       Summary        `json:"a"`
	B       Summary        `json:"b"`
	Reasons []dedup.Reason `json:"reasons"`
	Score   int            `json:"score"`
}

// Candidate is an existing patient who may be the one being registered.
type Candidate struct {
	Summary
	Reasons []dedup.Reason `json:"reasons"`
}

// duplicatesOf turns dedup pairs into Duplicates. Callers hold s.mu.
func (s *Service) duplicatesOf(pairs []dedup.Pair) []Duplicate {
	var out []Duplicate
	for _, p := range pairs {
		a, b := s.entries[p.A], s.entries[p.B]
		if a == nil || b == nil {
			continue
		}
		out = append(out, Duplicate{A: a.Summary, B: b.Summary, Reasons: p.Reasons, Score: p.Score})
	}
	return out
}

// candidates turns the pairs a new record self forms into the existing
// patients it may duplicate. Callers hold s.mu.
func (s *Service) candidates(pairs []dedup.Pair, self string) []Candidate {
	var out []Candidate
	for _, p := range pairs {
		other := p.A
		if other == self {
			other = p.B
		}
		if e := s.entries[other]; e != nil {
			out = append(out, Candidate{Summary: e.Summary, Reasons: p.Reasons})
		}
	}
	return out
}

// Duplicates lists likely duplicate pairs among every patient the actor may
// see, most likely first.
func (s *Service) Duplicates(a Actor) ([]Duplicate, error) {
	if _, err := s.session(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.entries == nil {
		return nil, ErrLocked
	}
	ps := make([]dedup.Patient, 0, len(s.entries))
	for _, e := range s.entries {
		if s.mayAccess(a, e.assignees) {
			ps = append(ps, e.dedup())
		}
	}
	out := s.duplicatesOf(dedup.Find(ps))
	if out == nil {
		out = []Duplicate{}
	}
	return out, nil
}

// Unreadable returns how many patient records the last unlock could not
// open (damaged, or not sealed as this package seals): they are left out of
// search and listed in the node's log.
func (s *Service) Unreadable() int { return int(s.unreadable.Load()) }

// Count returns the number of patients in the index (0 while locked).
func (s *Service) Count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.entries)
}

// Conflicted is a patient with open conflicts, for the desk's review list.
type Conflicted struct {
	Summary
	Fields []string `json:"fields"`
}

// Conflicts lists the patients the actor may see that have important fields
// with differing concurrent values (after offline edits on two nodes, or a
// merge), by id. Each is resolved with Resolve. It reads every chart: a
// review list, not a hot path.
func (s *Service) Conflicts(a Actor) ([]Conflicted, error) {
	sealer, err := s.session()
	if err != nil {
		return nil, err
	}
	out := []Conflicted{}
	const page = 500
	for after := ""; ; {
		views, err := s.cfg.Records.List(Collection, after, page)
		if err != nil {
			return nil, fmt.Errorf("list conflicts: %w", err)
		}
		for _, v := range views {
			after = v.Asked
			if v.Deleted || !s.mayAccess(a, v.Sets[setAssignees]) || len(v.Conflicts()) == 0 {
				continue
			}
			o := newOpener(sealer, v)
			cs, err := conflicts(o, v)
			if err != nil {
				s.log.Warn("patient record cannot be opened; conflicts not listed", "patient", v.ID, "err", err)
				continue
			}
			if len(cs) == 0 {
				continue
			}
			var sum Summary
			s.mu.RLock()
			if e := s.entries[v.ID]; e != nil {
				sum = e.Summary
			}
			s.mu.RUnlock()
			sum.ID = v.ID
			c := Conflicted{Summary: sum}
			for _, x := range cs {
				c.Fields = append(c.Fields, x.Field)
			}
			out = append(out, c)
		}
		if len(views) < page {
			return out, nil
		}
	}
}

// newChartEdits are the register writes of a new chart: every demographic
// field that holds something, sealed where personal.
func newChartEdits(sealer *vault.Sealer, id string, in care.PatientInput) ([]store.Edit, error) {
	vals, err := demographicValues(in)
	if err != nil {
		return nil, err
	}
	var edits []store.Edit
	for _, spec := range demographics() {
		if isEmptyJSON(vals[spec.name]) {
			continue
		}
		e, err := setEdit(sealer, id, spec.name, vals[spec.name], nil)
		if err != nil {
			return nil, err
		}
		edits = append(edits, e)
	}
	return edits, nil
}
