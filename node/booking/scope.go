package booking

import "time"

// PatientsBooked returns the chart ids of the patients with an appointment
// that is not cancelled starting in [from, to): what a kiosk holds (sync
// scope asks for today and tomorrow). It reads the day index, not every
// appointment.
func (s *Service) PatientsBooked(from, to time.Time) (map[string]bool, error) {
	if err := s.catchUp(); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	loc := s.cfg.Location
	f := from.In(loc)
	day := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, loc)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for ; day.Before(to); day = day.AddDate(0, 0, 1) {
		for id := range s.byDay[day.Format(time.DateOnly)] {
			a := s.appts[id]
			if a != nil && a.Status != StatusCancelled && !a.Start.Before(from) && a.Start.Before(to) {
				out[a.Patient] = true
			}
		}
	}
	return out, nil
}

// AppointmentsOf returns the ids of the appointments, cancelled or not,
// booked under the given chart ids: what a nurse laptop holds of its
// patients (sync scope passes the assigned patients with the duplicates
// merged into them, so appointments booked under a duplicate come too).
func (s *Service) AppointmentsOf(patients map[string]bool) (map[string]bool, error) {
	if err := s.catchUp(); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for id, a := range s.appts {
		if patients[a.Patient] {
			out[id] = true
		}
	}
	return out, nil
}
