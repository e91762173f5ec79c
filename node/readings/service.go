package readings

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"carenode/crdt"
	"carenode/node/store"
	"carenode/node/vault"
)

// Records is what the service needs of the node's store.
type Records interface {
	Write(ctx context.Context, req store.WriteRequest) (store.WriteResult, error)
	WriteAll(ctx context.Context, reqs []store.WriteRequest) ([]store.WriteResult, error)
	Get(coll, id string) (store.RecordView, error)
	List(coll, after string, limit int) ([]store.RecordView, error)
	Watch(fn func([]store.Changed)) (stop func())
}

var _ Records = (*store.Store)(nil)

// Patients finds the patients an identifier names. The node's chart
// service implements it (chart.Service.Identify).
//
// Identify returns the ids of every patient whose chart id, card number or
// resident ID number is exactly identifier (nil for none), or an error —
// in particular while the node is locked, when it cannot read those
// numbers. It is called from device goroutines (inside Store) and API
// requests, concurrently; it must not block for long.
type Patients interface {
	Identify(identifier string) (patientIDs []string, err error)
}

// Metrics counts what Store does. Its methods are called from Store's
// goroutines, concurrently, and must not block.
type Metrics interface {
	// ReadingStored counts a new device message of format stored;
	// queued says it waits for review.
	ReadingStored(format string, queued bool)
	// ReadingDuplicate counts a message already held, delivered again.
	ReadingDuplicate(format string)
}

// Config configures a Service. Start from DefaultConfig.
type Config struct {
	Records Records
	// Patients identifies patients named in messages; nil sends every
	// reading without a measure-now session to review.
	Patients Patients
	Metrics  Metrics
	// Now is the node's clock.
	Now func() time.Time
	// Location is where a device clock written without a zone offset is
	// read, for the clock-drift check.
	Location *time.Location
	// MaxDrift is the difference between a device's clock and the node's
	// beyond which a reading is flagged.
	MaxDrift time.Duration
	// Session is the default length of a measure-now session, MaxSession
	// the longest one allowed.
	Session, MaxSession time.Duration
	// Rand supplies the drop box's ephemeral keys; nil is crypto/rand.
	Rand   io.Reader
	Logger *slog.Logger
}

// DefaultConfig returns the defaults of issue 6: a 10-minute clock-drift
// limit and 10-minute measure-now sessions (at most 4 hours).
func DefaultConfig(records Records) Config {
	return Config{Records: records, Now: time.Now, Location: time.Local, MaxDrift: 10 * time.Minute,
		Session: 10 * time.Minute, MaxSession: 4 * time.Hour, Rand: rand.Reader, Logger: slog.Default()}
}

// Service stores device readings (the devices' front ends hand it every
// message, through devices/readingsink), binds
// them to patients only through an explicit binding, and keeps the review
// queue. It is safe for concurrent use.
type Service struct {
	cfg       Config
	log       *slog.Logger
	stopWatch func()

	mu  sync.RWMutex
	pub vault.DropBoxKey // public key, from the key record
	box *vault.DropBox   // while unlocked

	idx *index
}

// Open reads the drop box key and indexes the stored readings and
// sessions. Close stops following the store.
func Open(cfg Config) (*Service, error) {
	if cfg.Records == nil {
		return nil, fmt.Errorf("readings: %w: no store", ErrBadRequest)
	}
	def := DefaultConfig(cfg.Records)
	if cfg.Now == nil {
		cfg.Now = def.Now
	}
	if cfg.Location == nil {
		cfg.Location = def.Location
	}
	if cfg.MaxDrift <= 0 {
		cfg.MaxDrift = def.MaxDrift
	}
	if cfg.Session <= 0 {
		cfg.Session = def.Session
	}
	if cfg.MaxSession <= 0 {
		cfg.MaxSession = def.MaxSession
	}
	if cfg.Session > cfg.MaxSession {
		return nil, fmt.Errorf("readings: %w: session %s longer than the maximum %s", ErrBadRequest, cfg.Session, cfg.MaxSession)
	}
	if cfg.Rand == nil {
		cfg.Rand = def.Rand
	}
	if cfg.Logger == nil {
		cfg.Logger = def.Logger
	}
	s := &Service{cfg: cfg, log: cfg.Logger.With("subsystem", "readings")}
	s.idx = newIndex(cfg.Records, s.log)
	// Follow first, then load, so nothing committed in between is missed.
	s.stopWatch = cfg.Records.Watch(s.idx.note)
	if err := s.loadKey(); err != nil {
		s.stopWatch()
		return nil, err
	}
	if err := s.idx.load(); err != nil {
		s.stopWatch()
		return nil, err
	}
	return s, nil
}

// Close stops following the store. It does not close the store.
func (s *Service) Close() { s.stopWatch() }

func (s *Service) loadKey() error {
	v, err := s.cfg.Records.Get(KeyCollection, keyRecord)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read drop box key: %w", err)
	}
	f, ok := v.Fields[fieldKey]
	if !ok || len(f.Value) == 0 {
		return nil
	}
	var text string
	var k vault.DropBoxKey
	if err := json.Unmarshal(f.Value, &text); err != nil {
		return fmt.Errorf("read drop box key: %w: %v", ErrDamaged, err)
	}
	if err := k.UnmarshalText([]byte(text)); err != nil {
		return fmt.Errorf("read drop box key: %w", err)
	}
	s.mu.Lock()
	if s.pub.IsZero() {
		s.pub = k
	}
	s.mu.Unlock()
	return nil
}

// Unlock hands the service the drop box of the unlocked data key (the
// service owns it from then on and wipes it at Lock). On a node unlocked
// for the first time it stores the public key, so that readings can be
// stored, sealed, while the node is locked.
func (s *Service) Unlock(ctx context.Context, box *vault.DropBox) error {
	pub := box.PublicKey()
	s.mu.RLock()
	stored := s.pub
	s.mu.RUnlock()
	if stored != pub {
		if err := s.loadKey(); err != nil {
			return err
		}
		s.mu.RLock()
		stored = s.pub
		s.mu.RUnlock()
	}
	if stored != pub {
		text, _ := pub.MarshalText()
		val, _ := json.Marshal(string(text))
		_, err := s.cfg.Records.Write(ctx, store.WriteRequest{Collection: KeyCollection, Record: keyRecord,
			Edits: []store.Edit{{Kind: crdt.MutSet, Field: fieldKey, Value: val, SeenCurrent: true}}})
		if err != nil {
			return fmt.Errorf("store the drop box key: %w", err)
		}
		s.log.Info("drop box key stored: readings can now be stored while the node is locked", "key_id", pub.KeyID.String())
	}
	s.mu.Lock()
	old := s.box
	s.pub, s.box = pub, box
	s.mu.Unlock()
	if old != nil && old != box {
		old.Wipe()
	}
	if n, err := s.bindWaiting(ctx, box); err != nil {
		s.log.Warn("readings that waited for the node to unlock were not all bound", "bound", n, "err", err)
	} else if n > 0 {
		s.log.Info("readings that arrived while the node was locked bound by their patient identifier", "readings", n)
	}
	return nil
}

// bindWaiting binds the readings that went to review only because the
// node was locked when they arrived (it could not check their patient
// identifiers), by the same rule as Store; call it once the patient
// service is unlocked. The decision names no earlier value as seen: a
// staff decision made meanwhile on another node then stands beside it as
// a conflict to review, never silently replaced.
func (s *Service) bindWaiting(ctx context.Context, box *vault.DropBox) (int, error) {
	if s.cfg.Patients == nil {
		return 0, nil
	}
	if err := s.refreshAll(); err != nil {
		return 0, err
	}
	type waiting struct {
		id       string
		device   string
		received time.Time
	}
	var todo []waiting
	s.idx.mu.RLock()
	for _, e := range s.idx.readings {
		if e.state() == StateWaiting && e.msg.Queued == ReasonLocked && e.msg.Identifiers > 0 {
			todo = append(todo, waiting{e.id, e.msg.Device, e.msg.Received})
		}
	}
	s.idx.mu.RUnlock()
	bound := 0
	for _, w := range todo {
		v, err := s.cfg.Records.Get(Collection, w.id)
		if err != nil {
			return bound, fmt.Errorf("reading %s: %w", w.id, err)
		}
		if _, decided := v.Fields[fieldReview]; decided || len(v.Facts[factList]) == 0 {
			continue
		}
		m, err := decodeMessage(v.Facts[factList][0].Value)
		if err != nil {
			continue // counted as damaged by the index
		}
		plain, err := box.Open(m.IDs, vault.FieldAAD(Collection, w.id, aadIDs))
		if err != nil {
			return bound, fmt.Errorf("reading %s: open identifiers: %w", w.id, err)
		}
		var ids []string
		if err := json.Unmarshal(plain, &ids); err != nil {
			continue
		}
		d, _ := s.bind(w.device, w.received, ids)
		if d == nil {
			continue
		}
		val, _ := json.Marshal(d)
		if _, err := s.cfg.Records.Write(ctx, store.WriteRequest{Collection: Collection, Record: w.id, MustExist: true,
			Edits: []store.Edit{{Kind: crdt.MutSet, Field: fieldReview, Value: val}}}); err != nil {
			return bound, fmt.Errorf("bind reading %s: %w", w.id, err)
		}
		bound++
	}
	return bound, nil
}

// Lock forgets the drop box's private key.
func (s *Service) Lock() {
	s.mu.Lock()
	old := s.box
	s.box = nil
	s.mu.Unlock()
	if old != nil {
		old.Wipe()
	}
}

// Locked reports whether the service cannot open what it sealed.
func (s *Service) Locked() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.box == nil
}

func (s *Service) keys() (vault.DropBoxKey, *vault.DropBox) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.pub, s.box
}

// Store stores one device message durably and returns only once it is on
// disk: the front end acknowledges the device right after. The same message delivered again, in sequence or
// concurrently, lands on the same record and adds nothing. It fails with
// ErrNoDropBox on a node that was never unlocked.
func (s *Service) Store(ctx context.Context, b Message) error {
	pub, _ := s.keys()
	if pub.IsZero() {
		// The key may have come from a peer since (sync carries it).
		if err := s.loadKey(); err != nil {
			return err
		}
		if pub, _ = s.keys(); pub.IsZero() {
			return ErrNoDropBox
		}
	}
	if b.Received.IsZero() {
		b.Received = s.cfg.Now()
	}
	ids := slices.Clone(b.Identifiers)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	retracts := slices.Clone(b.Retracts)
	slices.Sort(retracts)
	retracts = slices.Compact(retracts)
	b.Retracts = retracts
	id := recordID(&b)
	m := message{V: messageVersion, Device: b.DeviceID, Source: b.Source, Format: b.Format, ControlID: b.ControlID,
		Received: b.Received.UTC(), DeviceClock: b.DeviceClock, Retracts: retracts, Unmapped: b.Unmapped,
		Identifiers: len(ids), Observations: []observation{}}
	if !b.DeviceTime.IsZero() {
		dt := b.DeviceTime
		if !b.DeviceTimeZoned { // the device's wall clock, written as UTC
			dt = time.Date(dt.Year(), dt.Month(), dt.Day(), dt.Hour(), dt.Minute(), dt.Second(), dt.Nanosecond(), s.cfg.Location)
		}
		utc := dt.UTC()
		m.DeviceTime = &utc
		drift := b.Received.Sub(dt)
		m.DriftSeconds = int64(drift / time.Second)
		m.ClockDrift = drift > s.cfg.MaxDrift || drift < -s.cfg.MaxDrift
	}
	for _, o := range b.Observations {
		if o.Status == "D" {
			continue // a deletion: in Retracts
		}
		if math.IsNaN(o.Value) || math.IsInf(o.Value, 0) {
			return fmt.Errorf("message from %s: %w: observation %s is not a number", b.DeviceID, ErrBadRequest, o.Ref)
		}
		ob := observation{Ref: o.Ref, Kind: o.Kind, Name: o.Name, NameZh: o.NameZh, LOINC: o.LOINC, Value: o.Value,
			Unit: o.Unit, RawValue: o.RawValue, RawUnit: o.RawUnit, Implausible: o.Implausible, Status: o.Status, Slot: o.Slot}
		if !o.Time.IsZero() {
			t := o.Time.UTC()
			ob.Time = &t
		}
		m.Observations = append(m.Observations, ob)
	}
	d, why := s.bind(b.DeviceID, b.Received, ids)
	m.Queued = why
	var chunks []store.Edit
	if len(b.Raw) <= rawChunk {
		raw, err := pub.Seal(b.Raw, vault.FieldAAD(Collection, id, aadRaw), s.cfg.Rand)
		if err != nil {
			return fmt.Errorf("seal message from %s: %w", b.DeviceID, err)
		}
		m.Raw = raw
	} else {
		for i := 0; i*rawChunk < len(b.Raw); i++ {
			part := b.Raw[i*rawChunk : min((i+1)*rawChunk, len(b.Raw))]
			sealed, err := pub.Seal(part, vault.FieldAAD(Collection, id, aadRaw+"/"+strconv.Itoa(i)), s.cfg.Rand)
			if err != nil {
				return fmt.Errorf("seal message from %s: %w", b.DeviceID, err)
			}
			v, _ := json.Marshal(sealed)
			chunks = append(chunks, store.Edit{Kind: crdt.MutFact, Field: rawList, FactID: strconv.Itoa(i), Value: v})
		}
		m.RawChunks = len(chunks)
	}
	var err error
	if len(ids) > 0 {
		plain, _ := json.Marshal(ids)
		if m.IDs, err = pub.Seal(plain, vault.FieldAAD(Collection, id, aadIDs), s.cfg.Rand); err != nil {
			return fmt.Errorf("seal patient identifiers from %s: %w", b.DeviceID, err)
		}
	}
	val, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode message from %s: %w", b.DeviceID, err)
	}
	edits := append([]store.Edit{{Kind: crdt.MutFact, Field: factList, FactID: factID, Value: val}}, chunks...)
	if d != nil {
		dv, _ := json.Marshal(d)
		edits = append(edits, store.Edit{Kind: crdt.MutSet, Field: fieldReview, Value: dv})
	}
	_, err = s.cfg.Records.Write(ctx, store.WriteRequest{Collection: Collection, Record: id, Create: true, Edits: edits})
	if errors.Is(err, store.ErrExists) {
		// Stored before (and durably: it was committed before this write's
		// transaction looked), or by a concurrent delivery of the same
		// message committed in this very transaction.
		if s.cfg.Metrics != nil {
			s.cfg.Metrics.ReadingDuplicate(b.Format)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("store message %s from %s: %w", id, b.DeviceID, err)
	}
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.ReadingStored(b.Format, d == nil)
	}
	return nil
}

// bind decides, without guessing, whom a message from device at received
// carrying identifiers ids belongs to: the one patient its identifiers
// name, or the one patient a measure-now session binds the device to at
// that moment. Anything else (no identifier and no session, identifiers
// naming no one or several, a locked node that cannot read identifiers,
// two sessions at once, an identifier and a session that disagree) returns
// nil and the reason it waits for review.
func (s *Service) bind(device string, received time.Time, ids []string) (*decision, string) {
	sessions := s.idx.activeSessions(device, received)
	var byID string
	why := ""
	switch {
	case len(ids) == 0:
		why = reasonNoIdentifier
	case s.cfg.Patients == nil:
		why = ReasonLocked
	default:
		found := map[string]bool{}
		for _, id := range ids {
			pats, err := s.cfg.Patients.Identify(id)
			if err != nil {
				s.log.Debug("cannot identify the patient of a reading", "device", device, "err", err)
				why = ReasonLocked
				clear(found)
				break
			}
			for _, p := range pats {
				found[p] = true
			}
		}
		switch {
		case why != "":
		case len(found) == 1:
			for p := range found {
				byID = p
			}
		case len(found) == 0:
			why = ReasonUnknownIdentifier
		default:
			why = ReasonAmbiguousIdentifier
		}
	}
	now := s.cfg.Now().UTC()
	switch {
	case len(sessions) > 1:
		return nil, ReasonTwoSessions
	case byID != "" && len(sessions) == 1 && sessions[0].Patient != byID:
		return nil, ReasonSessionDisagrees
	case byID != "":
		return &decision{State: StateBound, Patient: byID, By: "identifier", At: now}, ""
	case len(sessions) == 1 && why != ReasonAmbiguousIdentifier:
		return &decision{State: StateBound, Patient: sessions[0].Patient, By: "session", Session: sessions[0].ID, At: now}, ""
	case len(sessions) == 1:
		return nil, ReasonAmbiguousIdentifier
	case why == reasonNoIdentifier:
		return nil, ReasonNoBinding
	}
	return nil, why
}
