package booking

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"carenode/node/store"
)

// Service books appointments on the node's store and keeps an in-memory
// index of them (by slot, patient and day) that follows every commit,
// local or synced in. It is safe for concurrent use.
type Service struct {
	cfg  Config
	log  *slog.Logger
	stop func()

	// bookMu serialises this node's bookings and moves, so two requests
	// cannot both take a slot's last place here. Across nodes they can:
	// that is the over-booking Conflicts shows.
	bookMu sync.Mutex

	pendMu  sync.Mutex
	pending map[string]bool // appointments changed since the index last read them
	// catchMu serialises catching up: two readers each reading a record
	// and indexing it could otherwise put an older read over a newer one.
	catchMu sync.Mutex

	mu        sync.RWMutex
	appts     map[string]*Appointment
	bySlot    map[string]map[string]bool
	byPatient map[string]map[string]bool
	byDay     map[string]map[string]bool // clinic-local YYYY-MM-DD of the start
	open      map[string]bool            // status booked: what a no-show pass looks at
	live      map[string]int             // slot -> bookings booked or checked in: what Conflicts looks at
	bad       map[string]bool            // records that do not decode, logged once
}

// New opens the service: it reads every appointment into the index and
// watches the store for changes. Close stops the watch.
func New(cfg Config) (*Service, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, log: cfg.Logger.With("subsystem", "booking"), pending: map[string]bool{},
		appts: map[string]*Appointment{}, bySlot: map[string]map[string]bool{}, byPatient: map[string]map[string]bool{},
		byDay: map[string]map[string]bool{}, open: map[string]bool{}, live: map[string]int{}, bad: map[string]bool{}}
	// Watch before reading, so a change committed during the read is not missed.
	s.stop = cfg.Records.Watch(s.note)
	after := ""
	for {
		page, err := cfg.Records.List(CollAppointments, after, 1000)
		if err != nil {
			s.stop()
			return nil, fmt.Errorf("read appointments: %w", err)
		}
		s.mu.Lock()
		for _, v := range page {
			s.index(v)
		}
		s.mu.Unlock()
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].Asked
	}
	return s, nil
}

// Close stops following the store.
func (s *Service) Close() { s.stop() }

// note runs on the store's committing goroutine: it only notes ids.
func (s *Service) note(changed []store.Changed) {
	s.pendMu.Lock()
	for _, c := range changed {
		if c.Collection == CollAppointments {
			s.pending[c.Record] = true
		}
	}
	s.pendMu.Unlock()
}

// catchUp reads the appointments changed since the last call into the
// index. Every reader calls it first, so the index is current as of the
// call without a goroutine of its own.
func (s *Service) catchUp() error {
	s.catchMu.Lock()
	defer s.catchMu.Unlock()
	s.pendMu.Lock()
	ids := make([]string, 0, len(s.pending))
	for id := range s.pending {
		ids = append(ids, id)
	}
	clear(s.pending)
	s.pendMu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	views := make([]store.RecordView, 0, len(ids))
	var gone []string
	for _, id := range ids {
		v, err := s.cfg.Records.Get(CollAppointments, id)
		if errors.Is(err, store.ErrNotFound) {
			gone = append(gone, id)
			continue
		}
		if err != nil {
			s.pendMu.Lock()
			for _, id := range ids { // try again next time
				s.pending[id] = true
			}
			s.pendMu.Unlock()
			return fmt.Errorf("read appointment %s: %w", id, err)
		}
		views = append(views, v)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range gone {
		s.unindex(id)
	}
	for _, v := range views {
		s.index(v)
	}
	return nil
}

// index puts v in the maps; s.mu is held.
func (s *Service) index(v store.RecordView) {
	s.unindex(v.ID)
	a, err := decodeAppointment(v, s.cfg.Location)
	if err != nil {
		if !s.bad[v.ID] {
			s.bad[v.ID] = true
			s.log.Warn("appointment record cannot be read; left out of lists", "id", v.ID, "err", err)
		}
		return
	}
	delete(s.bad, v.ID)
	s.appts[a.ID] = a
	add(s.bySlot, a.Slot, a.ID)
	add(s.byPatient, a.Patient, a.ID)
	add(s.byDay, a.Start.In(s.cfg.Location).Format(time.DateOnly), a.ID)
	if a.Status == StatusBooked {
		s.open[a.ID] = true
	}
	if live(a) {
		s.live[a.Slot]++
	}
}

// live reports whether a booking takes its place in a slot.
func live(a *Appointment) bool { return a.Status == StatusBooked || a.Status == StatusCheckedIn }

func (s *Service) unindex(id string) {
	a := s.appts[id]
	if a == nil {
		return
	}
	del(s.bySlot, a.Slot, id)
	del(s.byPatient, a.Patient, id)
	del(s.byDay, a.Start.In(s.cfg.Location).Format(time.DateOnly), id)
	delete(s.open, id)
	if live(a) {
		if s.live[a.Slot]--; s.live[a.Slot] <= 0 {
			delete(s.live, a.Slot)
		}
	}
	delete(s.appts, id)
}

func add(m map[string]map[string]bool, k, id string) {
	if m[k] == nil {
		m[k] = map[string]bool{}
	}
	m[k][id] = true
}

func del(m map[string]map[string]bool, k, id string) {
	delete(m[k], id)
	if len(m[k]) == 0 {
		delete(m, k)
	}
}

// refresh reads one appointment into the index at once (after this
// node's own write, so the answer shows it) and returns it.
func (s *Service) refresh(id string) (*Appointment, error) {
	s.pendMu.Lock()
	s.pending[id] = true
	s.pendMu.Unlock()
	if err := s.catchUp(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.appts[id]
	if a == nil {
		return nil, fmt.Errorf("appointment %s does not decode after writing it", id)
	}
	c := *a
	return &c, nil
}

// appointmentsOf returns copies of the appointments with ids, sorted by
// start, then booking order; s.mu is held.
func (s *Service) appointmentsOf(ids map[string]bool, keep func(*Appointment) bool) []Appointment {
	out := make([]Appointment, 0, len(ids))
	for id := range ids {
		if a := s.appts[id]; a != nil && (keep == nil || keep(a)) {
			out = append(out, *a)
		}
	}
	slices.SortFunc(out, byStart)
	return out
}

func byStart(a, b Appointment) int {
	if c := a.Start.Compare(b.Start); c != 0 {
		return c
	}
	return byBooking(a, b)
}

// byBooking is the order bookings of one slot count against its capacity:
// creation stamp, then id. Every node has the same stamps, so every node
// puts the same bookings over capacity.
func byBooking(a, b Appointment) int {
	if c := a.bookedStamp.Compare(b.bookedStamp); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// decodeAppointment reads a record, which may have come from any peer:
// anything malformed is an error, never a panic.
func decodeAppointment(v store.RecordView, loc *time.Location) (*Appointment, error) {
	a := &Appointment{ID: v.ID, bookedStamp: v.Created, Booked: v.Created.String()}
	str := func(field string, dst *string, required bool) error {
		f, ok := v.Fields[field]
		if !ok {
			if required {
				return fmt.Errorf("no %s", field)
			}
			return nil
		}
		if err := unquote(f.Value, dst); err != nil {
			return fmt.Errorf("field %s: %w", field, err)
		}
		if required && *dst == "" {
			return fmt.Errorf("empty %s", field)
		}
		return nil
	}
	var start, end, channel string
	for _, f := range []struct {
		name string
		dst  *string
		req  bool
	}{{"patient", &a.Patient, true}, {"doctor", &a.Doctor, true}, {"department", &a.Department, false},
		{"slot", &a.Slot, true}, {"start", &start, true}, {"end", &end, false}, {"channel", &channel, false},
		{"bookedBy", &a.BookedBy, false}} {
		if err := str(f.name, f.dst, f.req); err != nil {
			return nil, err
		}
	}
	a.Channel = Channel(channel)
	var err error
	if a.Start, err = time.Parse(time.RFC3339, start); err != nil {
		return nil, fmt.Errorf("field start: %w", err)
	}
	a.Start = a.Start.In(loc)
	a.End = a.Start
	if end != "" {
		if t, err := time.Parse(time.RFC3339, end); err == nil {
			a.End = t.In(loc)
		}
	}
	if f := v.Fields["slot"]; len(f.Conflict) > 1 {
		for _, e := range f.Conflict {
			var k string
			if json.Unmarshal(e.Value, &k) == nil && k != a.Slot && !slices.Contains(a.SlotConflict, k) {
				a.SlotConflict = append(a.SlotConflict, k)
			}
		}
		slices.Sort(a.SlotConflict)
	}
	var checkedIn, cancelled, noShow bool
	for _, f := range v.Facts[factsEvents] {
		var e Event
		if err := json.Unmarshal(f.Value, &e); err != nil {
			continue // one unreadable event does not hide the appointment
		}
		e.ID = f.ID
		a.History = append(a.History, e)
		switch e.Kind {
		case EventCheckedIn:
			checkedIn = true
		case EventCancelled:
			cancelled = true
		case EventNoShow:
			noShow = noShow || e.Slot == a.Slot
		}
	}
	// The facts come in stamp order; history reads in the order things
	// happened where they happened.
	slices.SortStableFunc(a.History, func(x, y Event) int { return x.At.Compare(y.At) })
	switch {
	case checkedIn: // the patient came: that outweighs a cancel or no-show made elsewhere
		a.Status = StatusCheckedIn
	case cancelled:
		a.Status = StatusCancelled
	case noShow:
		a.Status = StatusNoShow
	default:
		a.Status = StatusBooked
	}
	return a, nil
}

// unquote reads a JSON string. Most values are plain ASCII or UTF-8 with
// nothing escaped, read without the decoder; anything else goes to it.
func unquote(b []byte, dst *string) error {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		plain := true
		for _, c := range b[1 : len(b)-1] {
			if c == '\\' || c == '"' || c < 0x20 {
				plain = false
				break
			}
		}
		if plain && utf8.Valid(b) {
			*dst = string(b[1 : len(b)-1])
			return nil
		}
	}
	return json.Unmarshal(b, dst)
}

// factsEvents is the fact list holding an appointment's history.
const factsEvents = "events"

// Important reports whether concurrent values of an appointment field are
// kept as a conflict to review: where it is and with whom, so two moves
// made apart are both seen. node.Important delegates here.
func Important(field string) bool {
	switch field {
	case "slot", "start", "doctor":
		return true
	}
	return false
}
