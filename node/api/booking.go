package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"carenode/node/auth"
	"carenode/node/booking"
	"carenode/node/chart"
)

// Booking is what the API needs of the appointment service.
type Booking interface {
	Location() *time.Location
	Departments() ([]booking.Department, error)
	PutDepartment(ctx context.Context, d booking.Department) (booking.Department, error)
	Doctors() ([]booking.Doctor, error)
	PutDoctor(ctx context.Context, d booking.Doctor) (booking.Doctor, error)
	Schedules() ([]booking.Schedule, error)
	AddSchedule(ctx context.Context, in booking.Schedule, now time.Time) (booking.Schedule, error)
	RemoveSchedule(ctx context.Context, id string) error
	Closures() ([]booking.Closure, error)
	PutClosure(ctx context.Context, c booking.Closure) (booking.Closure, error)
	Slots(q booking.SlotQuery, now time.Time) ([]booking.Slot, error)
	Book(ctx context.Context, a chart.Actor, in booking.BookInput, now time.Time) (booking.Appointment, error)
	Appointment(id string) (booking.Appointment, error)
	Appointments(q booking.ListQuery) ([]booking.Appointment, error)
	Cancel(ctx context.Context, a chart.Actor, id, reason string, now time.Time) (booking.Appointment, error)
	Reschedule(ctx context.Context, a chart.Actor, id string, in booking.RescheduleInput, now time.Time) (booking.Appointment, error)
	CheckIn(ctx context.Context, a chart.Actor, id string, now time.Time) (booking.Appointment, error)
	CheckInPatient(ctx context.Context, a chart.Actor, patient string, now time.Time) (booking.Appointment, error)
	Recommend(patient, department string, now time.Time) ([]booking.Recommendation, error)
	Conflicts(now time.Time) ([]booking.Conflict, error)
	Resolve(ctx context.Context, a chart.Actor, slot string, r booking.Resolution, now time.Time) (booking.Appointment, error)
	Behaviour(patient string, now time.Time) (booking.Behaviour, error)
}

var _ Booking = (*booking.Service)(nil)

// bookingRoutes adds the appointment routes. Kiosks book and check in
// (PermAppointmentBook, PermCheckIn); the desk and admins manage the
// catalogue and over-bookings (PermScheduleManage).
func (s *Server) bookingRoutes(route routeFunc) {
	b := func(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
		return func(w http.ResponseWriter, r *http.Request) error { return bookingError(h(w, r)) }
	}
	route("GET /api/v1/departments", auth.PermAppointmentBook, b(s.listDepartments))
	route("POST /api/v1/departments", auth.PermScheduleManage, b(s.putDepartment))
	route("GET /api/v1/doctors", auth.PermAppointmentBook, b(s.listDoctors))
	route("POST /api/v1/doctors", auth.PermScheduleManage, b(s.putDoctor))
	route("GET /api/v1/schedules", auth.PermAppointmentBook, b(s.listSchedules))
	route("POST /api/v1/schedules", auth.PermScheduleManage, b(s.addSchedule))
	route("DELETE /api/v1/schedules/{id}", auth.PermScheduleManage, b(s.removeSchedule))
	route("GET /api/v1/schedules/closures", auth.PermAppointmentBook, b(s.listClosures))
	route("POST /api/v1/schedules/closures", auth.PermScheduleManage, b(s.putClosure))
	route("GET /api/v1/slots", auth.PermAppointmentBook, b(s.listSlots))
	route("POST /api/v1/appointments", auth.PermAppointmentBook, b(s.book))
	route("GET /api/v1/appointments", auth.PermAppointmentBook, b(s.listAppointments))
	route("GET /api/v1/appointments/{id}", auth.PermAppointmentBook, b(s.getAppointment))
	route("POST /api/v1/appointments/{id}/cancel", auth.PermAppointmentBook, b(s.cancelAppointment))
	route("POST /api/v1/appointments/{id}/reschedule", auth.PermAppointmentBook, b(s.rescheduleAppointment))
	route("POST /api/v1/appointments/{id}/checkin", auth.PermCheckIn, b(s.checkIn))
	route("POST /api/v1/appointments/checkin", auth.PermCheckIn, b(s.checkInPatient))
	route("GET /api/v1/appointments/conflicts", auth.PermScheduleManage, b(s.bookingConflicts))
	route("POST /api/v1/appointments/conflicts/{slot}/resolve", auth.PermScheduleManage, b(s.resolveBooking))
	route("GET /api/v1/patients/{id}/recommendations", auth.PermAppointmentBook, b(s.recommend))
	route("GET /api/v1/patients/{id}/behaviour", auth.PermPatientRead, b(s.behaviour))
}

// bookingError turns the service's bilingual refusals into API errors.
func bookingError(err error) error {
	var be *booking.Error
	if !errors.As(err, &be) {
		return err
	}
	ae := &apiError{status: http.StatusBadRequest, code: CodeBadRequest, msg: be.En, zhMsg: be.Zh}
	switch {
	case errors.Is(err, booking.ErrNotFound):
		ae.status, ae.code = http.StatusNotFound, CodeNotFound
	case errors.Is(err, booking.ErrFull), errors.Is(err, booking.ErrState):
		ae.status, ae.code = http.StatusConflict, CodeConflict
	}
	return ae
}

// decodeOptional decodes a JSON body into v if there is one: cancel and
// check-in may be posted with none.
func (s *Server) decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return s.decode(w, r, v)
}

func (s *Server) listDepartments(w http.ResponseWriter, r *http.Request) error {
	list, err := s.opts.Booking.Departments()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"departments": orEmpty(list)})
	return nil
}

func (s *Server) putDepartment(w http.ResponseWriter, r *http.Request) error {
	var in booking.Department
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	d, err := s.opts.Booking.PutDepartment(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (s *Server) listDoctors(w http.ResponseWriter, r *http.Request) error {
	list, err := s.opts.Booking.Doctors()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"doctors": orEmpty(list)})
	return nil
}

func (s *Server) putDoctor(w http.ResponseWriter, r *http.Request) error {
	var in booking.Doctor
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	d, err := s.opts.Booking.PutDoctor(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (s *Server) listSchedules(w http.ResponseWriter, r *http.Request) error {
	list, err := s.opts.Booking.Schedules()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"schedules": orEmpty(list)})
	return nil
}

func (s *Server) addSchedule(w http.ResponseWriter, r *http.Request) error {
	var in booking.Schedule
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	if in.ID != "" {
		return badRequest("a new schedule has no id; the node gives it one")
	}
	sc, err := s.opts.Booking.AddSchedule(r.Context(), in, s.opts.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, sc)
	return nil
}

func (s *Server) removeSchedule(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.opts.Booking.RemoveSchedule(r.Context(), id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "removed": true})
	return nil
}

func (s *Server) listClosures(w http.ResponseWriter, r *http.Request) error {
	list, err := s.opts.Booking.Closures()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"closures": orEmpty(list)})
	return nil
}

func (s *Server) putClosure(w http.ResponseWriter, r *http.Request) error {
	var in booking.Closure
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	c, err := s.opts.Booking.PutClosure(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// clinicTime reads a query time: a date (the start of that clinic day) or
// an RFC 3339 time.
func (s *Server) clinicTime(name, text string) (time.Time, error) {
	if text == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, text, s.opts.Booking.Location()); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, text)
	if err != nil {
		return time.Time{}, &apiError{status: http.StatusBadRequest, code: CodeBadRequest,
			msg:   name + " must be a date (YYYY-MM-DD) or a time (RFC 3339, as 2026-11-25T08:00:00+08:00)",
			zhMsg: name + " 须为日期（YYYY-MM-DD）或时间（RFC 3339，如 2026-11-25T08:00:00+08:00）"}
	}
	return t, nil
}

func (s *Server) listSlots(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	sq := booking.SlotQuery{Department: q.Get("department"), Doctor: q.Get("doctor"), FreeOnly: q.Get("free") == "true"}
	if sq.From, err = s.clinicTime("from", q.Get("from")); err != nil {
		return err
	}
	if sq.To, err = s.clinicTime("to", q.Get("to")); err != nil {
		return err
	}
	if q.Get("to") != "" && len(q.Get("to")) == len(time.DateOnly) {
		sq.To = sq.To.AddDate(0, 0, 1) // a date "to" includes that day
	}
	slots, err := s.opts.Booking.Slots(sq, s.opts.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"slots": orEmpty(slots)})
	return nil
}

func (s *Server) book(w http.ResponseWriter, r *http.Request) error {
	var in booking.BookInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	ap, err := s.opts.Booking.Book(r.Context(), actor(r), in, s.opts.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, ap)
	return nil
}

func (s *Server) listAppointments(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	list, err := s.opts.Booking.Appointments(booking.ListQuery{Day: q.Get("day"), Patient: q.Get("patient"),
		Doctor: q.Get("doctor"), Status: booking.Status(q.Get("status"))})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"appointments": orEmpty(list)})
	return nil
}

func (s *Server) getAppointment(w http.ResponseWriter, r *http.Request) error {
	ap, err := s.opts.Booking.Appointment(r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ap)
	return nil
}

type cancelIn struct {
	Reason string `json:"reason"`
}

func (s *Server) cancelAppointment(w http.ResponseWriter, r *http.Request) error {
	var in cancelIn
	if err := s.decodeOptional(w, r, &in); err != nil {
		return err
	}
	ap, err := s.opts.Booking.Cancel(r.Context(), actor(r), r.PathValue("id"), in.Reason, s.opts.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ap)
	return nil
}

func (s *Server) rescheduleAppointment(w http.ResponseWriter, r *http.Request) error {
	var in booking.RescheduleInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	ap, err := s.opts.Booking.Reschedule(r.Context(), actor(r), r.PathValue("id"), in, s.opts.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ap)
	return nil
}

func (s *Server) checkIn(w http.ResponseWriter, r *http.Request) error {
	var none struct{}
	if err := s.decodeOptional(w, r, &none); err != nil {
		return err
	}
	ap, err := s.opts.Booking.CheckIn(r.Context(), actor(r), r.PathValue("id"), s.opts.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ap)
	return nil
}

type checkInPatientIn struct {
	Patient string `json:"patient"`
}

// checkInPatient checks in the patient's next appointment today: the kiosk
// knows the patient (from their card), not the booking.
func (s *Server) checkInPatient(w http.ResponseWriter, r *http.Request) error {
	var in checkInPatientIn
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	if in.Patient == "" {
		return &apiError{status: http.StatusBadRequest, code: CodeBadRequest, msg: "give the patient's id", zhMsg: "请提供患者编号"}
	}
	ap, err := s.opts.Booking.CheckInPatient(r.Context(), actor(r), in.Patient, s.opts.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ap)
	return nil
}

func (s *Server) bookingConflicts(w http.ResponseWriter, r *http.Request) error {
	list, err := s.opts.Booking.Conflicts(s.opts.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"conflicts": orEmpty(list)})
	return nil
}

type resolveOut struct {
	Moved     *booking.Appointment `json:"moved,omitempty"`
	Conflicts []booking.Conflict   `json:"conflicts"`
}

func (s *Server) resolveBooking(w http.ResponseWriter, r *http.Request) error {
	var in booking.Resolution
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	now := s.opts.Now()
	moved, err := s.opts.Booking.Resolve(r.Context(), actor(r), r.PathValue("slot"), in, now)
	if err != nil {
		return err
	}
	list, err := s.opts.Booking.Conflicts(now)
	if err != nil {
		return err
	}
	out := resolveOut{Conflicts: orEmpty(list)}
	if moved.ID != "" {
		out.Moved = &moved
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) recommend(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	recs, err := s.opts.Booking.Recommend(r.PathValue("id"), q.Get("department"), s.opts.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"recommendations": orEmpty(recs)})
	return nil
}

func (s *Server) behaviour(w http.ResponseWriter, r *http.Request) error {
	b, err := s.opts.Booking.Behaviour(r.PathValue("id"), s.opts.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

// orEmpty makes an empty list JSON [] rather than null.
func orEmpty[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}
