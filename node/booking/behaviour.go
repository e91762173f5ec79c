package booking

import (
	"cmp"
	"slices"
	"time"
)

// Behaviour is what a patient's appointment history says about them: how
// often they miss, whom they see and when they come. The chart's auto-tags
// take MissedDates (care.PatientFacts.MissedAppointments).
type Behaviour struct {
	Patient string `json:"patient"`
	// Attended, Missed and Cancelled count past appointments by outcome;
	// Upcoming counts those booked ahead.
	Attended  int `json:"attended"`
	Missed    int `json:"missed"`
	Cancelled int `json:"cancelled"`
	Upcoming  int `json:"upcoming"`
	// MissedRate is Missed / (Attended + Missed), 0 with no such history.
	MissedRate float64 `json:"missedRate"`
	// MissedDates are the clinic-calendar dates of the missed appointments,
	// one per appointment, oldest first.
	MissedDates []string `json:"missedDates,omitempty"`
	// UsualDoctor is the doctor seen most often (the latest on a tie).
	UsualDoctor string `json:"usualDoctor,omitempty"`
	// UsualWeekdays are the weekdays (ISO: 1 Monday … 7 Sunday) the patient
	// comes on most, most frequent first: those with more than half the
	// visits of the most frequent, at most two.
	UsualWeekdays []int `json:"usualWeekdays,omitempty"`
	// UsualPeriod is the part of the day they come in most: morning
	// (before 12:00), afternoon (before 18:00) or evening.
	UsualPeriod string `json:"usualPeriod,omitempty"`
}

// Periods of the day.
const (
	PeriodMorning   = "morning"
	PeriodAfternoon = "afternoon"
	PeriodEvening   = "evening"
)

func periodOf(t time.Time) string {
	switch h := t.Hour(); {
	case h < 12:
		return PeriodMorning
	case h < 18:
		return PeriodAfternoon
	}
	return PeriodEvening
}

func isoWeekday(t time.Time) int {
	if wd := int(t.Weekday()); wd != 0 {
		return wd
	}
	return 7
}

// Behaviour returns a patient's behaviour as of now, counting the
// appointments of duplicates merged into the patient too. Where the patient
// comes is learnt from the visits they attended; with none attended yet,
// from every booking not cancelled.
func (s *Service) Behaviour(patient string, now time.Time) (Behaviour, error) {
	id, unknown := s.patient(patient)
	if unknown == nil {
		patient = id
	}
	list, err := s.appointmentsOfPatient(patient)
	if err != nil {
		return Behaviour{}, err
	}
	if unknown != nil && len(list) == 0 {
		return Behaviour{}, unknown
	}
	b := Behaviour{Patient: patient}
	var attended, kept []Appointment
	for _, a := range list {
		switch {
		case a.Status == StatusCancelled:
			b.Cancelled++
			continue
		case a.Status == StatusCheckedIn:
			b.Attended++
			attended = append(attended, a)
		case a.Status == StatusNoShow:
			b.Missed++
			b.MissedDates = append(b.MissedDates, a.Start.In(s.cfg.Location).Format(time.DateOnly))
		case a.Start.After(now):
			b.Upcoming++
		}
		kept = append(kept, a)
	}
	if b.Attended+b.Missed > 0 {
		b.MissedRate = float64(b.Missed) / float64(b.Attended+b.Missed)
	}
	learn := attended
	if len(learn) == 0 {
		learn = kept
	}
	if len(learn) == 0 {
		return b, nil
	}
	// list is in start order, so "latest on a tie" is the last seen.
	doctors, last := map[string]int{}, map[string]int{}
	days, periods := map[int]int{}, map[string]int{}
	for i, a := range learn {
		doctors[a.Doctor]++
		last[a.Doctor] = i
		local := a.Start.In(s.cfg.Location)
		days[isoWeekday(local)]++
		periods[periodOf(local)]++
	}
	best := -1
	for d, n := range doctors {
		if best < 0 || n > doctors[b.UsualDoctor] || (n == doctors[b.UsualDoctor] && last[d] > last[b.UsualDoctor]) {
			b.UsualDoctor, best = d, n
		}
	}
	type kv struct{ day, n int }
	var ranked []kv
	for d, n := range days {
		ranked = append(ranked, kv{d, n})
	}
	slices.SortFunc(ranked, func(x, y kv) int {
		if c := cmp.Compare(y.n, x.n); c != 0 {
			return c
		}
		return cmp.Compare(x.day, y.day)
	})
	for _, r := range ranked {
		if len(b.UsualWeekdays) < 2 && r.n*2 > ranked[0].n {
			b.UsualWeekdays = append(b.UsualWeekdays, r.day)
		}
	}
	for _, p := range []string{PeriodMorning, PeriodAfternoon, PeriodEvening} {
		if periods[p] > periods[b.UsualPeriod] {
			b.UsualPeriod = p
		}
	}
	return b, nil
}

// MissedAppointments returns the clinic-calendar dates (YYYY-MM-DD) of the
// patient's missed appointments, one per appointment, oldest first: what
// the chart's auto-tag rules read as care.PatientFacts.MissedAppointments.
func (s *Service) MissedAppointments(patient string) ([]string, error) {
	list, err := s.appointmentsOfPatient(patient)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range list {
		if a.Status == StatusNoShow {
			out = append(out, a.Start.In(s.cfg.Location).Format(time.DateOnly))
		}
	}
	return out, nil
}
