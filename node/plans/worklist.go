package plans

import "carenode/node/followup"

// WorkList is one staff member's open tasks: overdue (lost-to-follow-up
// tasks stay here: they are never dropped), due today, and upcoming.
type WorkList struct {
	User     string        `json:"user"`
	Date     followup.Date `json:"date"`
	Overdue  []Task        `json:"overdue"`
	Today    []Task        `json:"today"`
	Upcoming []Task        `json:"upcoming"`
}

// WorkList returns user's list for today in the clinic's zone.
func (s *Service) WorkList(user string) WorkList { return s.WorkListOn(user, s.today()) }

// WorkListOn returns user's list as on day: each part in due order, from
// the in-memory index (no store read).
func (s *Service) WorkListOn(user string, day followup.Date) WorkList {
	s.idx.mu.RLock()
	defer s.idx.mu.RUnlock()
	w := WorkList{User: user, Date: day}
	w.Overdue = s.views(s.idx.span(user, followup.Date{}, day.AddDays(-1)))
	w.Today = s.views(s.idx.span(user, day, day))
	w.Upcoming = s.views(s.idx.span(user, day.AddDays(1), day.AddDays(s.cfg.UpcomingDays)))
	return w
}

func (s *Service) views(ts []*taskEntry) []Task {
	out := make([]Task, len(ts))
	for i, t := range ts {
		out[i] = s.taskView(t)
	}
	return out
}
