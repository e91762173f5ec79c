package readings

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"carenode/node/store"
)

// Important says which fields of a reading keep concurrent values as a
// conflict for a person (the node's schema asks it): two staff members
// deciding one reading differently on two nodes must both be seen.
func Important(field string) bool { return field == fieldReview }

// index holds every reading's summary and every measure-now session in
// memory, for the review queue, a patient's observations and the binding
// of new readings. It follows the store through Watch: changed ids are
// noted on the committing goroutine and read back on the next query, so
// Store never waits on it and readings that sync brings in show up too.
type index struct {
	rec Records
	log *slog.Logger

	pendMu   sync.Mutex
	pendRead map[string]bool
	pendSess map[string]bool

	// One refresh of a collection at a time, so an older read never lands
	// last; two mutexes, so Store (sessions only) never waits behind a
	// long refresh of readings.
	refreshSess, refreshRead sync.Mutex

	mu       sync.RWMutex
	readings map[string]*entry
	sessions map[string]*Session
	slots    map[string][]slotEvent // corrections and retractions by slot
	damaged  map[string]bool
}

// entry is one reading as the index keeps it: the message without its
// sealed bytes (read from the store when asked for), and its decisions.
type entry struct {
	id        string
	msg       message
	decisions []decision
	// conflict: concurrent decisions (the register holds more than one).
	conflict bool
}

// state is where the reading stands: waiting, conflict, bound, attached
// or discarded.
func (e *entry) state() string {
	switch {
	case e.conflict:
		return StateConflict
	case len(e.decisions) == 0:
		return StateWaiting
	}
	return e.decisions[0].State
}

// patient is the patient the reading belongs to, or "".
func (e *entry) patient() string {
	switch e.state() {
	case StateBound, StateAttached:
		return e.decisions[0].Patient
	}
	return ""
}

// slotEvent is a row that corrects (C) or retracts (D) a slot.
type slotEvent struct {
	reading  string
	received time.Time
	retract  bool
}

func newIndex(rec Records, log *slog.Logger) *index {
	return &index{rec: rec, log: log, pendRead: map[string]bool{}, pendSess: map[string]bool{},
		readings: map[string]*entry{}, sessions: map[string]*Session{}, slots: map[string][]slotEvent{},
		damaged: map[string]bool{}}
}

// note is the store's Watch callback: it runs on the committing goroutine
// and only remembers ids.
func (x *index) note(changed []store.Changed) {
	x.pendMu.Lock()
	for _, c := range changed {
		switch c.Collection {
		case Collection:
			x.pendRead[c.Record] = true
		case SessionCollection:
			x.pendSess[c.Record] = true
		}
	}
	x.pendMu.Unlock()
}

// load reads every reading and session.
func (x *index) load() error {
	for _, coll := range []string{Collection, SessionCollection} {
		after := ""
		for {
			page, err := x.rec.List(coll, after, 1000)
			if err != nil {
				return fmt.Errorf("index %s: %w", coll, err)
			}
			if len(page) == 0 {
				break
			}
			x.mu.Lock()
			for _, v := range page {
				x.put(coll, v)
			}
			x.mu.Unlock()
			after = page[len(page)-1].Asked
		}
	}
	if n := len(x.damaged); n > 0 {
		x.log.Warn("stored readings that cannot be read are left out", "records", n)
	}
	return nil
}

// refresh reads back what changed since the last refresh. sessionsOnly
// skips readings (Store needs only sessions, and must stay quick).
func (x *index) refresh(sessionsOnly bool) error {
	err := x.refreshColl(SessionCollection, &x.refreshSess, &x.pendSess)
	if sessionsOnly {
		return err
	}
	return errors.Join(err, x.refreshColl(Collection, &x.refreshRead, &x.pendRead))
}

// refreshColl rereads the records of coll noted in *pending.
func (x *index) refreshColl(coll string, mu *sync.Mutex, pending *map[string]bool) error {
	mu.Lock()
	defer mu.Unlock()
	x.pendMu.Lock()
	todo := *pending
	if len(todo) > 0 {
		*pending = map[string]bool{}
	}
	x.pendMu.Unlock()
	var views []store.RecordView
	var failed error
	for id := range todo {
		v, err := x.rec.Get(coll, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			// Keep it pending, and say so: the next query tries again.
			x.pendMu.Lock()
			(*pending)[id] = true
			x.pendMu.Unlock()
			failed = fmt.Errorf("reindex %s/%s: %w", coll, id, err)
			continue
		}
		views = append(views, v)
	}
	x.mu.Lock()
	for _, v := range views {
		x.put(coll, v)
	}
	x.mu.Unlock()
	return failed
}

// put indexes one record; x.mu is held.
func (x *index) put(coll string, v store.RecordView) {
	if coll == SessionCollection {
		if s, ok := sessionFrom(v); ok {
			x.sessions[s.ID] = &s
		}
		return
	}
	e, err := entryFrom(v)
	if err != nil {
		if !x.damaged[v.ID] {
			x.log.Warn("stored reading cannot be read", "reading", v.ID, "err", err)
		}
		x.damaged[v.ID] = true
		return
	}
	delete(x.damaged, v.ID)
	if _, known := x.readings[v.ID]; !known {
		for _, o := range e.msg.Observations {
			if o.Slot != "" && o.Status == "C" {
				x.slots[o.Slot] = append(x.slots[o.Slot], slotEvent{reading: e.id, received: e.msg.Received})
			}
		}
		for _, sl := range e.msg.Retracts {
			x.slots[sl] = append(x.slots[sl], slotEvent{reading: e.id, received: e.msg.Received, retract: true})
		}
	}
	x.readings[v.ID] = e
}

func entryFrom(v store.RecordView) (*entry, error) {
	facts := v.Facts[factList]
	if len(facts) == 0 {
		return nil, fmt.Errorf("%w: no message", ErrDamaged)
	}
	// Two nodes that stored one message (both subscribed to one external
	// broker) wrote one fact id; the store keeps the same one everywhere.
	m, err := decodeMessage(facts[0].Value)
	if err != nil {
		return nil, err
	}
	m.Raw, m.IDs = nil, nil // read from the store when asked for
	e := &entry{id: v.ID, msg: m}
	if f, ok := v.Fields[fieldReview]; ok {
		vals := [][]byte{f.Value}
		if len(f.Conflict) > 0 {
			vals = vals[:0]
			for _, c := range f.Conflict {
				vals = append(vals, c.Value)
			}
		}
		for _, b := range vals {
			d, err := decodeDecision(b)
			if err != nil {
				return nil, err
			}
			e.decisions = append(e.decisions, d)
		}
		// Seen lists every current value even where the schema does not
		// keep the others visible.
		e.conflict = len(f.Seen) > 1
	}
	return e, nil
}

// current reports whether observation o of reading e still stands: no
// later row of its slot, in a reading not discarded, corrected or
// retracted it. If not, it returns the reading that did.
func (x *index) current(e *entry, o observation) (bool, string) {
	if o.Slot == "" {
		return true, ""
	}
	var by string
	var at time.Time
	for _, ev := range x.slots[o.Slot] {
		if ev.reading == e.id || !later(ev.received, ev.reading, e.msg.Received, e.id) {
			continue
		}
		if other := x.readings[ev.reading]; other == nil || other.state() == StateDiscarded {
			continue
		}
		if by == "" || later(ev.received, ev.reading, at, by) {
			by, at = ev.reading, ev.received
		}
	}
	return by == "", by
}

// later orders readings by receipt time, then id.
func later(at time.Time, id string, than time.Time, thanID string) bool {
	if !at.Equal(than) {
		return at.After(than)
	}
	return id > thanID
}

// activeSessions returns the sessions of device open at t.
func (x *index) activeSessions(device string, t time.Time) []Session {
	if err := x.refresh(true); err != nil {
		x.log.Warn("measure-now sessions not reread", "err", err)
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []Session
	for _, s := range x.sessions {
		if s.Device == device && !t.Before(s.Start) && t.Before(s.End) {
			out = append(out, *s)
		}
	}
	slices.SortFunc(out, func(a, b Session) int { return a.Start.Compare(b.Start) })
	return out
}

func sessionFrom(v store.RecordView) (Session, bool) {
	str := func(f string) string {
		var s string
		if fv, ok := v.Fields[f]; ok {
			_ = json.Unmarshal(fv.Value, &s)
		}
		return s
	}
	tm := func(f string) time.Time {
		t, _ := time.Parse(time.RFC3339Nano, str(f))
		return t
	}
	s := Session{ID: v.ID, Device: str(sessDevice), Patient: str(sessPatient), By: str(sessBy), Start: tm(sessStart), End: tm(sessEnd)}
	if s.Device == "" || s.Patient == "" || s.Start.IsZero() || s.End.IsZero() {
		return Session{}, false
	}
	return s, true
}
