package booking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"carenode/crdt"
	"carenode/node/auth"
	"carenode/node/chart"
	"carenode/node/store"
)

// BookInput is a booking request.
type BookInput struct {
	Patient string  `json:"patient"`
	Slot    string  `json:"slot"`
	Channel Channel `json:"channel,omitempty"`
	// Overbook books a full slot anyway (the desk's call).
	Overbook bool `json:"overbook,omitempty"`
}

// RescheduleInput moves an appointment to another slot.
type RescheduleInput struct {
	Slot     string `json:"slot"`
	Reason   string `json:"reason,omitempty"`
	Overbook bool   `json:"overbook,omitempty"`
}

// channelFor decides the channel recorded: a kiosk account always books as
// the kiosk; others may say, and default to the desk (desk staff) or the API.
func channelFor(a chart.Actor, asked Channel) (Channel, error) {
	if a.Role == auth.RoleKiosk {
		return ChannelKiosk, nil
	}
	if asked != "" {
		if !asked.valid() {
			return "", invalid(fmt.Sprintf("channel is desk, kiosk or api, not %q.", asked),
				fmt.Sprintf("channel 取 desk、kiosk 或 api，不能是“%s”。", clip(string(asked))))
		}
		return asked, nil
	}
	if a.Role == auth.RoleDesk {
		return ChannelDesk, nil
	}
	return ChannelAPI, nil
}

// patient returns the chart id of a registered patient, following a merge
// of duplicates to the survivor.
func (s *Service) patient(id string) (string, error) {
	ids, err := s.patientIDs(id)
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// patientIDs returns the survivor's chart id and the ids merged into it:
// appointments booked under a duplicate before the merge are the
// survivor's history too.
func (s *Service) patientIDs(id string) ([]string, error) {
	notFound := refuse(ErrNotFound, "No patient has this id.", "未找到该患者。")
	if !crdt.ValidName(id) {
		return nil, notFound
	}
	v, err := s.cfg.Records.Get(chart.Collection, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && v.Deleted) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("read patient %s: %w", id, err)
	}
	return append([]string{v.ID}, v.Merged...), nil
}

// appointmentsOfPatient lists the appointments of a patient and of the
// duplicates merged into them, by start. A patient this node does not
// hold (a kiosk) is looked up by the id given.
func (s *Service) appointmentsOfPatient(patient string) ([]Appointment, error) {
	ids, err := s.patientIDs(patient)
	if err != nil {
		ids = []string{patient}
	}
	var out []Appointment
	for _, id := range ids {
		list, err := s.Appointments(ListQuery{Patient: id})
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
	}
	slices.SortFunc(out, byStart)
	return out, nil
}

func event(e Event) store.Edit {
	id := e.ID
	e.ID = ""
	b, _ := json.Marshal(e) // strings and a time: cannot fail
	return store.Edit{Kind: crdt.MutFact, Field: factsEvents, FactID: id, Value: b}
}

func by(a chart.Actor) string {
	if a.Name == "" {
		return "api"
	}
	return a.Name
}

// Book books a place in a slot for a patient.
func (s *Service) Book(ctx context.Context, a chart.Actor, in BookInput, now time.Time) (Appointment, error) {
	ch, err := channelFor(a, in.Channel)
	if err != nil {
		return Appointment{}, err
	}
	patient, err := s.patient(in.Patient)
	if err != nil {
		return Appointment{}, err
	}
	s.bookMu.Lock()
	defer s.bookMu.Unlock()
	sl, err := s.freePlace(in.Slot, in.Overbook, now)
	if err != nil {
		return Appointment{}, err
	}
	s.mu.RLock()
	for id := range s.bySlot[sl.Key] {
		if o := s.appts[id]; o != nil && o.Patient == patient && o.Status != StatusCancelled {
			s.mu.RUnlock()
			return Appointment{}, refuse(ErrState, fmt.Sprintf("The patient already has appointment %s in this slot.", id),
				fmt.Sprintf("该患者在此号段已有预约 %s。", id))
		}
	}
	s.mu.RUnlock()
	id := store.NewRecordID(now)
	edits := append(placeEdits(sl),
		set("patient", patient), set("channel", ch), set("bookedBy", by(a)),
		event(Event{ID: "booked", Kind: EventBooked, At: now, By: by(a), Node: s.cfg.Node, Channel: ch, Slot: sl.Key}))
	if _, err := s.cfg.Records.Write(ctx, store.WriteRequest{Collection: CollAppointments, Record: id, Create: true, Edits: edits}); err != nil {
		return Appointment{}, fmt.Errorf("book %s: %w", sl.Key, err)
	}
	ap, err := s.refresh(id)
	if err != nil {
		return Appointment{}, err
	}
	s.remind(ctx, ap, now)
	return *ap, nil
}

// placeEdits are the registers that say where and when.
func placeEdits(sl Slot) []store.Edit {
	return []store.Edit{set("slot", sl.Key), set("doctor", sl.Doctor), set("department", sl.Department),
		set("start", sl.Start.Format(time.RFC3339)), set("end", sl.End.Format(time.RFC3339))}
}

// freePlace checks that key is a slot still to come with a free place (or
// that the caller over-books on purpose); s.bookMu is held.
func (s *Service) freePlace(key string, overbook bool, now time.Time) (Slot, error) {
	c, err := s.catalog()
	if err != nil {
		return Slot{}, err
	}
	sl, err := s.slot(c, key)
	if err != nil {
		return Slot{}, err
	}
	if !sl.Start.After(now) {
		return Slot{}, invalid(fmt.Sprintf("Slot %s has already begun; choose a later one.", key),
			fmt.Sprintf("号段 %s 已开始，请选择之后的号段。", key))
	}
	if err := s.catchUp(); err != nil {
		return Slot{}, err
	}
	s.mu.RLock()
	s.occupy(&sl)
	s.mu.RUnlock()
	if sl.Free == 0 && !overbook {
		return Slot{}, refuse(ErrFull, fmt.Sprintf("Slot %s is full (%d of %d booked); choose another, or over-book on purpose.", key, sl.Booked, sl.Capacity),
			fmt.Sprintf("号段 %s 已满（已约 %d/%d）；请另选号段，或确认加号。", key, sl.Booked, sl.Capacity))
	}
	return sl, nil
}

// Appointment returns one appointment.
func (s *Service) Appointment(id string) (Appointment, error) {
	if err := s.catchUp(); err != nil {
		return Appointment{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.appts[id]
	if a == nil {
		return Appointment{}, refuse(ErrNotFound, "No appointment has this id.", "未找到该预约。")
	}
	return *a, nil
}

// ListQuery selects appointments: of one day (YYYY-MM-DD), one patient, or
// both; Doctor and Status narrow either.
type ListQuery struct {
	Day     string
	Patient string
	Doctor  string
	Status  Status
}

// Appointments lists what q selects, by start.
func (s *Service) Appointments(q ListQuery) ([]Appointment, error) {
	if q.Day == "" && q.Patient == "" {
		return nil, invalid("Give day (YYYY-MM-DD) or patient.", "请给出 day（YYYY-MM-DD）或 patient。")
	}
	if q.Day != "" {
		if _, err := time.Parse(time.DateOnly, q.Day); err != nil {
			return nil, invalid("day is a date written YYYY-MM-DD.", "day 须为 YYYY-MM-DD 格式的日期。")
		}
	}
	switch q.Status {
	case "", StatusBooked, StatusCheckedIn, StatusCancelled, StatusNoShow:
	default:
		return nil, invalid("status is booked, checked_in, cancelled or no_show.", "status 取 booked、checked_in、cancelled 或 no_show。")
	}
	if err := s.catchUp(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := s.byDay[q.Day]
	if q.Patient != "" {
		ids = s.byPatient[q.Patient]
	}
	return s.appointmentsOf(ids, func(a *Appointment) bool {
		return (q.Day == "" || a.Start.Format(time.DateOnly) == q.Day) && (q.Doctor == "" || a.Doctor == q.Doctor) &&
			(q.Status == "" || a.Status == q.Status)
	}), nil
}

func checkReason(reason string) error {
	if utf8.RuneCountInString(reason) > 200 || !utf8.ValidString(reason) {
		return invalid("reason is at most 200 characters.", "reason 最多 200 个字符。")
	}
	return nil
}

// Cancel cancels a booked appointment. Its reminders stop being wanted
// (ReminderWanted) and its place is free again.
func (s *Service) Cancel(ctx context.Context, a chart.Actor, id, reason string, now time.Time) (Appointment, error) {
	if err := checkReason(reason); err != nil {
		return Appointment{}, err
	}
	ap, err := s.Appointment(id)
	if err != nil {
		return Appointment{}, err
	}
	if err := mustBeBooked(ap, "cancel", "取消"); err != nil {
		return Appointment{}, err
	}
	// One cancel fact per appointment: two desks cancelling it apart make one event.
	e := event(Event{ID: "cancel", Kind: EventCancelled, At: now, By: by(a), Node: s.cfg.Node, Slot: ap.Slot, Reason: reason})
	if _, err := s.cfg.Records.Write(ctx, store.WriteRequest{Collection: CollAppointments, Record: id, MustExist: true,
		Edits: []store.Edit{e}}); err != nil {
		return Appointment{}, fmt.Errorf("cancel %s: %w", id, err)
	}
	out, err := s.refresh(id)
	if err != nil {
		return Appointment{}, err
	}
	return *out, nil
}

func mustBeBooked(ap Appointment, what, whatZh string) error {
	if ap.Status == StatusBooked {
		return nil
	}
	zh := map[Status]string{StatusCancelled: "已取消", StatusCheckedIn: "已签到", StatusNoShow: "已爽约"}[ap.Status]
	return refuse(ErrState, fmt.Sprintf("Cannot %s appointment %s: it is %s.", what, ap.ID, ap.Status),
		fmt.Sprintf("无法%s预约 %s：该预约%s。", whatZh, ap.ID, zh))
}

// Reschedule moves a booked appointment to another slot, keeping its
// history; reminders for the new time are queued and those for the old
// time stop being wanted.
func (s *Service) Reschedule(ctx context.Context, a chart.Actor, id string, in RescheduleInput, now time.Time) (Appointment, error) {
	if err := checkReason(in.Reason); err != nil {
		return Appointment{}, err
	}
	s.bookMu.Lock()
	defer s.bookMu.Unlock()
	ap, err := s.Appointment(id)
	if err != nil {
		return Appointment{}, err
	}
	if err := mustBeBooked(ap, "move", "改约"); err != nil {
		return Appointment{}, err
	}
	if in.Slot == ap.Slot {
		return Appointment{}, invalid("The appointment is already in that slot.", "该预约已在此号段。")
	}
	sl, err := s.freePlace(in.Slot, in.Overbook, now)
	if err != nil {
		return Appointment{}, err
	}
	edits := append(placeEdits(sl), event(Event{ID: "resched." + store.NewShortID(), Kind: EventRescheduled, At: now, By: by(a),
		Node: s.cfg.Node, Slot: sl.Key, From: ap.Slot, Reason: in.Reason}))
	if _, err := s.cfg.Records.Write(ctx, store.WriteRequest{Collection: CollAppointments, Record: id, MustExist: true, Edits: edits}); err != nil {
		return Appointment{}, fmt.Errorf("move %s to %s: %w", id, sl.Key, err)
	}
	out, err := s.refresh(id)
	if err != nil {
		return Appointment{}, err
	}
	s.remind(ctx, out, now)
	return *out, nil
}

// CheckIn checks a patient in for appointment id, on its day. Checking in
// twice is not an error: the kiosk may be tapped twice.
func (s *Service) CheckIn(ctx context.Context, a chart.Actor, id string, now time.Time) (Appointment, error) {
	ap, err := s.Appointment(id)
	if err != nil {
		return Appointment{}, err
	}
	if ap.Status == StatusCheckedIn {
		return ap, nil
	}
	if err := mustBeBooked(ap, "check in", "签到"); err != nil {
		return Appointment{}, err
	}
	today := now.In(s.cfg.Location).Format(time.DateOnly)
	if day := ap.Start.Format(time.DateOnly); day != today {
		return Appointment{}, refuse(ErrState, fmt.Sprintf("Appointment %s is on %s, not today (%s).", id, day, today),
			fmt.Sprintf("预约 %s 在 %s，不是今天（%s）。", id, day, today))
	}
	ch := ChannelDesk
	if a.Role == auth.RoleKiosk {
		ch = ChannelKiosk
	}
	e := event(Event{ID: "checkin", Kind: EventCheckedIn, At: now, By: by(a), Node: s.cfg.Node, Channel: ch, Slot: ap.Slot})
	if _, err := s.cfg.Records.Write(ctx, store.WriteRequest{Collection: CollAppointments, Record: id, MustExist: true,
		Edits: []store.Edit{e}}); err != nil {
		return Appointment{}, fmt.Errorf("check in %s: %w", id, err)
	}
	out, err := s.refresh(id)
	if err != nil {
		return Appointment{}, err
	}
	return *out, nil
}

// CheckInPatient checks a patient in for their next booked appointment
// today (the kiosk knows the patient from their card, not the booking).
func (s *Service) CheckInPatient(ctx context.Context, a chart.Actor, patient string, now time.Time) (Appointment, error) {
	today := now.In(s.cfg.Location).Format(time.DateOnly)
	all, err := s.appointmentsOfPatient(patient)
	if err != nil {
		return Appointment{}, err
	}
	var list []Appointment
	for _, ap := range all {
		if ap.Start.Format(time.DateOnly) == today {
			list = append(list, ap)
		}
	}
	for _, ap := range list {
		if ap.Status == StatusBooked {
			return s.CheckIn(ctx, a, ap.ID, now)
		}
	}
	for _, ap := range list {
		if ap.Status == StatusCheckedIn {
			return ap, nil
		}
	}
	return Appointment{}, refuse(ErrNotFound, "The patient has no appointment today.", "该患者今天没有预约。")
}
