package readings

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"carenode/node/store"
	"carenode/node/vault"
)

// Item is one observation as lists show it, with the message it came in.
// A message with no mapped observation (an unreadable payload, a device
// code the table does not know) is one Item with no LOINC code and the
// reasons in Unmapped, so that it can still be reviewed.
type Item struct {
	// ID is the reading (device message) the observation belongs to:
	// attach and discard act on the whole message.
	ID          string   `json:"id"`
	Ref         string   `json:"ref,omitempty"`
	Kind        string   `json:"kind,omitempty"`
	LOINC       string   `json:"loinc,omitempty"`
	Name        string   `json:"name,omitempty"`
	NameZh      string   `json:"nameZh,omitempty"`
	Value       *float64 `json:"value,omitempty"`
	Unit        string   `json:"unit,omitempty"` // UCUM
	RawValue    string   `json:"rawValue,omitempty"`
	RawUnit     string   `json:"rawUnit,omitempty"`
	Implausible bool     `json:"implausible"`
	Status      string   `json:"status,omitempty"`
	// Time is when the device says it measured; Received when this node
	// (or the node that stored it) read the message.
	Time         *time.Time `json:"time,omitempty"`
	Device       string     `json:"device"`
	Format       string     `json:"format"`
	Received     time.Time  `json:"received"`
	DeviceTime   *time.Time `json:"deviceTime,omitempty"`
	ClockDrift   bool       `json:"clockDrift"`
	DriftSeconds int64      `json:"driftSeconds,omitempty"`
	State        string     `json:"state"`
	Patient      string     `json:"patient,omitempty"`
	BoundBy      string     `json:"boundBy,omitempty"`
	Reason       *Reason    `json:"reason,omitempty"`
	Unmapped     []string   `json:"unmapped,omitempty"`
	// Current is false for an observation a later correction (C)
	// replaced or a deletion (D) retracted; ReplacedBy names that reading.
	Current    bool   `json:"current"`
	ReplacedBy string `json:"replacedBy,omitempty"`
}

// Decision is one decision about a reading, as the API shows it.
type Decision struct {
	State   string    `json:"state"`
	Patient string    `json:"patient,omitempty"`
	By      string    `json:"by"`
	Session string    `json:"session,omitempty"`
	At      time.Time `json:"at"`
	// Reason is a discard's reason, opened when the node is unlocked.
	Reason string `json:"reason,omitempty"`
}

// Reading is one device message whole: its observations, where it stands,
// and, on an unlocked node, the raw message and the patient identifiers it
// carried.
type Reading struct {
	ID           string     `json:"id"`
	Device       string     `json:"device"`
	Source       string     `json:"source,omitempty"`
	Format       string     `json:"format"`
	ControlID    string     `json:"controlId,omitempty"`
	Received     time.Time  `json:"received"`
	DeviceTime   *time.Time `json:"deviceTime,omitempty"`
	DeviceClock  string     `json:"deviceClock,omitempty"`
	ClockDrift   bool       `json:"clockDrift"`
	DriftSeconds int64      `json:"driftSeconds,omitempty"`
	State        string     `json:"state"`
	Reason       *Reason    `json:"reason,omitempty"`
	Decisions    []Decision `json:"decisions,omitempty"`
	Observations []Item     `json:"observations"`
	Retracts     int        `json:"retracts,omitempty"`
	Unmapped     []string   `json:"unmapped,omitempty"`
	// Identifiers and Raw are opened only while the node is unlocked;
	// Sealed says they exist but the node is locked.
	Identifiers []string `json:"identifiers,omitempty"`
	Raw         string   `json:"raw,omitempty"`
	Sealed      bool     `json:"sealed,omitempty"`
}

// Session is a measure-now session: device Device is bound to Patient from
// Start until End.
type Session struct {
	ID      string    `json:"id"`
	Device  string    `json:"device"`
	Patient string    `json:"patient"`
	By      string    `json:"by"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
}

// Device is a device that has sent readings.
type Device struct {
	ID           string    `json:"id"`
	Format       string    `json:"format"`
	Readings     int       `json:"readings"`
	Waiting      int       `json:"waiting"`
	LastReceived time.Time `json:"lastReceived"`
	// Last is the last message's observations.
	Last []Item `json:"last"`
	// Session is the measure-now session open now, if any.
	Session *Session `json:"session,omitempty"`
}

// items turns reading e into its list rows; x.mu is held for reading.
func (x *index) items(e *entry) []Item {
	base := Item{ID: e.id, Device: e.msg.Device, Format: e.msg.Format, Received: e.msg.Received,
		DeviceTime: e.msg.DeviceTime, ClockDrift: e.msg.ClockDrift, DriftSeconds: e.msg.DriftSeconds,
		State: e.state(), Patient: e.patient(), Current: true}
	switch base.State {
	case StateBound, StateAttached:
		base.BoundBy = e.decisions[0].By
	case StateWaiting:
		r := ReasonFor(e.msg.Queued)
		base.Reason = &r
	case StateConflict:
		r := ReasonFor(ReasonConflict)
		base.Reason = &r
	}
	if len(e.msg.Observations) == 0 {
		base.Unmapped = e.msg.Unmapped
		return []Item{base}
	}
	out := make([]Item, 0, len(e.msg.Observations))
	for _, o := range e.msg.Observations {
		it := base
		v := o.Value
		it.Ref, it.Kind, it.LOINC, it.Value, it.Unit = o.Ref, o.Kind, o.LOINC, &v, o.Unit
		it.RawValue, it.RawUnit, it.Implausible, it.Status, it.Time = o.RawValue, o.RawUnit, o.Implausible, o.Status, o.Time
		it.Name, it.NameZh = o.Name, o.NameZh
		it.Current, it.ReplacedBy = x.current(e, o)
		out = append(out, it)
	}
	return out
}

func (s *Service) refreshAll() error {
	if err := s.idx.refresh(false); err != nil {
		return fmt.Errorf("readings: %w", err)
	}
	return nil
}

// Review lists the readings waiting for a patient (no decision yet, or
// concurrent decisions), oldest first, up to limit messages (0: all).
func (s *Service) Review(limit int) ([]Item, error) {
	if err := s.refreshAll(); err != nil {
		return nil, err
	}
	x := s.idx
	x.mu.RLock()
	defer x.mu.RUnlock()
	var es []*entry
	for _, e := range x.readings {
		if st := e.state(); st == StateWaiting || st == StateConflict {
			es = append(es, e)
		}
	}
	sortEntries(es)
	if limit > 0 && len(es) > limit {
		es = es[:limit]
	}
	out := []Item{}
	for _, e := range es {
		out = append(out, x.items(e)...)
	}
	return out, nil
}

func sortEntries(es []*entry) {
	slices.SortFunc(es, func(a, b *entry) int {
		if c := a.msg.Received.Compare(b.msg.Received); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
}

// Observations lists the observations of the readings bound or attached
// to any of patients (a chart and the charts merged into it), in the order
// they were taken. Observations a later correction replaced or a deletion
// retracted are left out unless history is true; then they are marked.
func (s *Service) Observations(patients []string, history bool) ([]Item, error) {
	if err := s.refreshAll(); err != nil {
		return nil, err
	}
	x := s.idx
	x.mu.RLock()
	defer x.mu.RUnlock()
	var es []*entry
	for _, e := range x.readings {
		if p := e.patient(); p != "" && slices.Contains(patients, p) {
			es = append(es, e)
		}
	}
	sortEntries(es)
	out := []Item{}
	for _, e := range es {
		for _, it := range x.items(e) {
			if it.LOINC == "" || (!it.Current && !history) {
				continue
			}
			out = append(out, it)
		}
	}
	slices.SortStableFunc(out, func(a, b Item) int { return itemTime(a).Compare(itemTime(b)) })
	return out, nil
}

func itemTime(it Item) time.Time {
	if it.Time != nil {
		return *it.Time
	}
	return it.Received
}

// Reading returns reading id whole. On an unlocked node it opens the raw
// message, the identifiers and discard reasons; a locked node says Sealed.
func (s *Service) Reading(id string) (Reading, error) {
	if err := s.refreshAll(); err != nil {
		return Reading{}, err
	}
	v, err := s.cfg.Records.Get(Collection, id)
	if errors.Is(err, store.ErrNotFound) {
		return Reading{}, fmt.Errorf("reading %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Reading{}, fmt.Errorf("reading %s: %w", id, err)
	}
	e, err := entryFrom(v)
	if err != nil {
		return Reading{}, fmt.Errorf("reading %s: %w", id, err)
	}
	full, err := decodeMessage(v.Facts[factList][0].Value)
	if err != nil {
		return Reading{}, fmt.Errorf("reading %s: %w", id, err)
	}
	_, box := s.keys()
	x := s.idx
	x.mu.RLock()
	items := x.items(e)
	x.mu.RUnlock()
	m := e.msg
	r := Reading{ID: e.id, Device: m.Device, Source: m.Source, Format: m.Format, ControlID: m.ControlID,
		Received: m.Received, DeviceTime: m.DeviceTime, DeviceClock: m.DeviceClock, ClockDrift: m.ClockDrift,
		DriftSeconds: m.DriftSeconds, State: e.state(), Reason: items[0].Reason, Observations: items,
		Retracts: len(m.Retracts), Unmapped: m.Unmapped}
	if len(m.Observations) == 0 {
		r.Observations = []Item{}
	}
	open := func(b []byte, field string) ([]byte, error) {
		return box.Open(b, vault.FieldAAD(Collection, id, field))
	}
	for _, d := range e.decisions {
		dv := Decision{State: d.State, Patient: d.Patient, By: d.By, Session: d.Session, At: d.At}
		if len(d.Reason) > 0 && box != nil {
			if b, err := open(d.Reason, aadReason); err == nil {
				dv.Reason = string(b)
			}
		}
		r.Decisions = append(r.Decisions, dv)
	}
	if box == nil {
		r.Sealed = true
		return r, nil
	}
	raw, err := openRaw(v, full, open)
	if errors.Is(err, vault.ErrLocked) { // locked meanwhile
		r.Sealed = true
		return r, nil
	}
	if err != nil {
		return Reading{}, fmt.Errorf("reading %s: open raw message: %w", id, err)
	}
	r.Raw = string(raw)
	if len(full.IDs) > 0 {
		b, err := open(full.IDs, aadIDs)
		if err != nil {
			return Reading{}, fmt.Errorf("reading %s: open identifiers: %w", id, err)
		}
		if err := json.Unmarshal(b, &r.Identifiers); err != nil {
			return Reading{}, fmt.Errorf("reading %s: identifiers: %w: %v", id, ErrDamaged, err)
		}
	}
	return r, nil
}

// Devices lists the devices that have sent readings, most recent first,
// with their last message and the measure-now session open now.
func (s *Service) Devices() ([]Device, error) {
	if err := s.refreshAll(); err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	x := s.idx
	x.mu.RLock()
	defer x.mu.RUnlock()
	byID := map[string]*Device{}
	last := map[string]*entry{}
	for _, e := range x.readings {
		d := byID[e.msg.Device]
		if d == nil {
			d = &Device{ID: e.msg.Device}
			byID[e.msg.Device] = d
		}
		d.Readings++
		if st := e.state(); st == StateWaiting || st == StateConflict {
			d.Waiting++
		}
		if l := last[d.ID]; l == nil || later(e.msg.Received, e.id, l.msg.Received, l.id) {
			last[d.ID] = e
		}
	}
	out := make([]Device, 0, len(byID))
	for id, d := range byID {
		l := last[id]
		d.Format, d.LastReceived, d.Last = l.msg.Format, l.msg.Received, x.items(l)
		for _, sess := range x.sessions {
			if sess.Device == id && !now.Before(sess.Start) && now.Before(sess.End) {
				c := *sess
				d.Session = &c
			}
		}
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b Device) int {
		if c := b.LastReceived.Compare(a.LastReceived); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Sessions lists the measure-now sessions of device open at now or later.
func (s *Service) Sessions(device string) ([]Session, error) {
	if err := s.idx.refresh(true); err != nil {
		return nil, fmt.Errorf("readings: %w", err)
	}
	now := s.cfg.Now()
	x := s.idx
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := []Session{}
	for _, sess := range x.sessions {
		if sess.Device == device && now.Before(sess.End) {
			out = append(out, *sess)
		}
	}
	slices.SortFunc(out, func(a, b Session) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// openRaw opens a reading's raw bytes, whole or from its chunks.
func openRaw(v store.RecordView, m message, open func([]byte, string) ([]byte, error)) ([]byte, error) {
	if m.RawChunks == 0 {
		return open(m.Raw, aadRaw)
	}
	parts := map[string][]byte{}
	for _, f := range v.Facts[rawList] {
		parts[f.ID] = f.Value
	}
	var raw []byte
	for i := range m.RawChunks {
		var sealed []byte
		if err := json.Unmarshal(parts[strconv.Itoa(i)], &sealed); err != nil {
			return nil, fmt.Errorf("%w: chunk %d of %d: %v", ErrDamaged, i, m.RawChunks, err)
		}
		b, err := open(sealed, aadRaw+"/"+strconv.Itoa(i))
		if err != nil {
			return nil, fmt.Errorf("chunk %d: %w", i, err)
		}
		raw = append(raw, b...)
	}
	return raw, nil
}
