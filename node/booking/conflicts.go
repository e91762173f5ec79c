package booking

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"carenode/crdt"
	"carenode/node/chart"
	"carenode/node/store"
)

// Conflict is a slot holding more bookings than places: two nodes booked
// its last place while apart. It is derived from synced data only (the
// schedules, the appointments and their creation stamps, the accepted
// set), so every node that holds the same changes lists the same
// conflicts.
type Conflict struct {
	Slot Slot `json:"slot"`
	// Appointments are the slot's bookings in booking order.
	Appointments []Appointment `json:"appointments"`
	// Over are the bookings past capacity in that order: the ones to move
	// unless the desk accepts the over-booking.
	Over []string `json:"over"`
	// Accepted are bookings the desk already accepted in this slot; a new
	// booking arriving later brings the conflict back.
	Accepted []string `json:"accepted,omitempty"`
}

// Conflict resolutions.
const (
	ResolveMove   = "move"
	ResolveAccept = "accept"
)

// Resolution is the desk's answer to a conflict: move one booking (To, or
// when empty the earliest free slot of the same doctor, else of the same
// department) or accept the over-booking as it is.
type Resolution struct {
	Action      string `json:"action"`
	Appointment string `json:"appointment,omitempty"`
	To          string `json:"to,omitempty"`
}

// Conflicts lists the over-booked slots from today on, by start.
func (s *Service) Conflicts(now time.Time) ([]Conflict, error) {
	c, err := s.catalog()
	if err != nil {
		return nil, err
	}
	if err := s.catchUp(); err != nil {
		return nil, err
	}
	local := now.In(s.cfg.Location)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, s.cfg.Location)
	// Only a slot with more than one live booking can be over capacity.
	counts := map[string]int{}
	s.mu.RLock()
	for key, n := range s.live {
		if n > 1 {
			counts[key] = n
		}
	}
	s.mu.RUnlock()
	capacity := func(key string) (Slot, bool) {
		doctor, start, err := ParseSlotKey(key, s.cfg.Location)
		if err != nil || start.Before(today) {
			return Slot{}, false
		}
		return c.slotAt(doctor, start)
	}
	var out []Conflict
	for key, n := range counts {
		sl, ok := capacity(key)
		if !ok || n <= sl.Capacity {
			continue // within capacity, or no schedule makes it any more: nothing to count against
		}
		accepted, err := s.accepted(key)
		if err != nil {
			return nil, err
		}
		s.mu.RLock()
		apps := s.appointmentsOf(s.bySlot[key], live)
		s.mu.RUnlock()
		slices.SortFunc(apps, byBooking)
		all := true
		cf := Conflict{Slot: sl, Appointments: apps}
		for i, a := range apps {
			if i >= sl.Capacity {
				cf.Over = append(cf.Over, a.ID)
			}
			if slices.Contains(accepted, a.ID) {
				cf.Accepted = append(cf.Accepted, a.ID)
			} else {
				all = false
			}
		}
		if all {
			continue
		}
		cf.Slot.Booked, cf.Slot.Free = len(apps), 0
		out = append(out, cf)
	}
	slices.SortFunc(out, func(a, b Conflict) int {
		if c := a.Slot.Start.Compare(b.Slot.Start); c != 0 {
			return c
		}
		if a.Slot.Key < b.Slot.Key {
			return -1
		}
		return 1
	})
	return out, nil
}

func (s *Service) accepted(slot string) ([]string, error) {
	v, err := s.cfg.Records.Get(CollOverbookings, slot)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read over-booking decisions for %s: %w", slot, err)
	}
	return v.Sets["accepted"], nil
}

// Resolve applies the desk's resolution to the conflict in slot and returns
// the appointment it moved (zero when it accepted).
func (s *Service) Resolve(ctx context.Context, a chart.Actor, slot string, r Resolution, now time.Time) (Appointment, error) {
	list, err := s.Conflicts(now)
	if err != nil {
		return Appointment{}, err
	}
	i := slices.IndexFunc(list, func(c Conflict) bool { return c.Slot.Key == slot })
	if i < 0 {
		return Appointment{}, refuse(ErrNotFound, fmt.Sprintf("Slot %s has no over-booking to resolve.", slot),
			fmt.Sprintf("号段 %s 没有需要处理的超额预约。", clip(slot)))
	}
	cf := list[i]
	switch r.Action {
	case ResolveAccept:
		// An add-wins set: two desks accepting apart both count, and a
		// booking that arrives later is not in it, so it is asked about.
		edits := make([]store.Edit, 0, len(cf.Appointments))
		for _, ap := range cf.Appointments {
			edits = append(edits, store.Edit{Kind: crdt.MutAdd, Field: "accepted", Elem: ap.ID})
		}
		if _, err := s.cfg.Records.Write(ctx, store.WriteRequest{Collection: CollOverbookings, Record: slot, Edits: edits}); err != nil {
			return Appointment{}, fmt.Errorf("accept over-booking of %s: %w", slot, err)
		}
		return Appointment{}, nil
	case ResolveMove:
		if !slices.ContainsFunc(cf.Appointments, func(ap Appointment) bool { return ap.ID == r.Appointment }) {
			return Appointment{}, invalid(fmt.Sprintf("Appointment %q is not one of the bookings of slot %s.", r.Appointment, slot),
				fmt.Sprintf("预约“%s”不在号段 %s 中。", clip(r.Appointment), slot))
		}
		to := r.To
		if to == "" {
			sl, ok, err := s.earliestFree(cf.Slot.Doctor, "", now)
			if err == nil && !ok {
				sl, ok, err = s.earliestFree("", cf.Slot.Department, now)
			}
			if err != nil {
				return Appointment{}, err
			}
			if !ok {
				return Appointment{}, refuse(ErrFull, "No free slot to move the booking to in the coming weeks; name one with to, or accept the over-booking.",
					"近几周没有可改约的空号段；请用 to 指定号段，或接受加号。")
			}
			to = sl.Key
		}
		return s.Reschedule(ctx, a, r.Appointment, RescheduleInput{Slot: to, Reason: "over-booked slot " + slot}, now)
	}
	return Appointment{}, invalid(`action is "move" or "accept".`, `action 取 "move"（改约）或 "accept"（接受加号）。`)
}

// earliestFree is the first slot with a free place, after now, within the
// horizon, of the doctor or department given.
func (s *Service) earliestFree(doctor, department string, now time.Time) (Slot, bool, error) {
	c, err := s.catalog()
	if err != nil {
		return Slot{}, false, err
	}
	if err := s.catchUp(); err != nil {
		return Slot{}, false, err
	}
	free := s.occupied(c, SlotQuery{Doctor: doctor, Department: department, From: now,
		To: now.AddDate(0, 0, s.cfg.Horizon), FreeOnly: true}, now)
	if len(free) == 0 {
		return Slot{}, false, nil
	}
	return free[0], true, nil
}
