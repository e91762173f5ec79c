package booking

import (
	"context"
	"fmt"
	"slices"
	"time"

	"carenode/node/store"
)

// NoShowBy is the history's "by" of a no-show marked by the node itself.
const NoShowBy = "system"

// MarkNoShows marks every appointment still booked whose day has ended by
// now (clinic time) as a no-show, and returns how many it marked.
//
// It is idempotent, and safe when several nodes run it: the no-show is a
// fact with an id fixed by the slot ("noshow.<slot>"), so two nodes marking
// the same appointment make one fact after sync (the store keeps the
// earlier), and an appointment already marked here is skipped. A check-in
// made on another node that had not synced yet still wins once it arrives
// (see doc.go): the patient came.
func (s *Service) MarkNoShows(ctx context.Context, now time.Time) (int, error) {
	if err := s.catchUp(); err != nil {
		return 0, err
	}
	local := now.In(s.cfg.Location)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, s.cfg.Location)
	var due []Appointment
	s.mu.RLock()
	for id := range s.open {
		if a := s.appts[id]; a != nil && a.Status == StatusBooked && a.Start.Before(today) {
			due = append(due, *a)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(due, byStart)
	n := 0
	for _, a := range due {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		e := event(Event{ID: "noshow." + a.Slot, Kind: EventNoShow, At: now, By: NoShowBy, Node: s.cfg.Node, Slot: a.Slot})
		if _, err := s.cfg.Records.Write(ctx, store.WriteRequest{Collection: CollAppointments, Record: a.ID, MustExist: true,
			Edits: []store.Edit{e}}); err != nil {
			return n, fmt.Errorf("mark %s a no-show: %w", a.ID, err)
		}
		if _, err := s.refresh(a.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Run marks no-shows every interval until ctx ends (the node starts it in
// a goroutine). Errors are logged and tried again next time.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 10 * time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.MarkNoShows(ctx, s.cfg.Now()); err != nil && ctx.Err() == nil {
			s.log.Warn("mark no-shows", "err", err)
		} else if n > 0 {
			s.log.Info("marked no-shows", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
