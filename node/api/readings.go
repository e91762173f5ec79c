package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"carenode/node/auth"
	"carenode/node/readings"
)

// Readings is what the API needs of the device readings service
// (node/readings.Service).
type Readings interface {
	Review(limit int) ([]readings.Item, error)
	Observations(patients []string, history bool) ([]readings.Item, error)
	Reading(id string) (readings.Reading, error)
	Attach(ctx context.Context, id, patient, by string) (readings.Reading, error)
	Discard(ctx context.Context, id, reason, by string) (readings.Reading, error)
	StartSession(ctx context.Context, device, patient string, length time.Duration, by string) (readings.Session, error)
	EndSession(ctx context.Context, device, id string) error
	Sessions(device string) ([]readings.Session, error)
	Devices() ([]readings.Device, error)
}

var _ Readings = (*readings.Service)(nil)

// JoinRequest is a device that tried to connect to the node's MQTT broker
// with an account the node does not know.
type JoinRequest struct {
	Device   string    `json:"device"`
	Client   string    `json:"client,omitempty"`
	Remote   string    `json:"remote,omitempty"`
	Attempts int       `json:"attempts"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
}

// Joiners is the hook for the "devices asking to join" list: when the
// Readings given in Options also implement it (node/devices.go wraps the
// service with the MQTT broker's list), GET /api/v1/devices shows it under
// "asking". Approving a device is the device accounts' own route.
type Joiners interface {
	AskingToJoin() []JoinRequest
}

// readingRoutes adds the device readings routes: the review queue, a
// patient's observations, measure-now sessions and the device list.
func (s *Server) readingRoutes(route routeFunc) {
	route("GET /api/v1/readings/review", auth.PermReadingsReview, s.readingsHandler(s.reviewQueue))
	route("GET /api/v1/readings/{id}", auth.PermReadingsReview, s.readingsHandler(s.getReading))
	route("POST /api/v1/readings/{id}/attach", auth.PermReadingsReview, s.readingsHandler(s.attachReading))
	route("POST /api/v1/readings/{id}/discard", auth.PermReadingsReview, s.readingsHandler(s.discardReading))
	route("GET /api/v1/patients/{id}/observations", auth.PermPatientRead, s.readingsHandler(s.patientObservations))
	route("GET /api/v1/devices", auth.PermDevicesManage, s.readingsHandler(s.listDevices))
	route("GET /api/v1/devices/{device}/sessions", auth.PermVitalsWrite, s.readingsHandler(s.listSessions))
	route("POST /api/v1/devices/{device}/sessions", auth.PermVitalsWrite, s.readingsHandler(s.startSession))
	route("DELETE /api/v1/devices/{device}/sessions/{session}", auth.PermVitalsWrite, s.readingsHandler(s.endSession))
}

// readingsHandler maps the readings service's errors to API errors.
func (s *Server) readingsHandler(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		err := h(w, r)
		if ae := readingsError(err); ae != nil {
			return ae
		}
		return err
	}
}

func readingsError(err error) *apiError {
	var br *readings.BadRequest
	switch {
	case err == nil:
		return nil
	case errors.Is(err, readings.ErrNotFound):
		return &apiError{status: http.StatusNotFound, code: CodeNotFound, msg: "No reading (or session) has this id.",
			zhMsg: "未找到该读数（或测量会话）。"}
	case errors.Is(err, readings.ErrNoPatient):
		return &apiError{status: http.StatusNotFound, code: CodeNotFound,
			msg:   "No patient matches; give the chart id, card number or ID number.",
			zhMsg: "没有匹配的患者；请填写档案号、就诊卡号或身份证号。"}
	case errors.Is(err, readings.ErrAmbiguous):
		return &apiError{status: http.StatusConflict, code: CodeConflict,
			msg: "More than one patient matches; give the chart id.", zhMsg: "匹配到多名患者，请填写档案号。"}
	case errors.Is(err, readings.ErrLocked):
		return &apiError{status: http.StatusLocked, code: CodeLocked, msg: "Patient data is locked: a staff member must sign in on this node first.",
			zhMsg: "患者数据已锁定：请先由工作人员在本机登录。"}
	case errors.As(err, &br):
		return &apiError{status: http.StatusBadRequest, code: CodeBadRequest, msg: br.En, zhMsg: br.Zh}
	case errors.Is(err, readings.ErrDamaged):
		return &apiError{status: http.StatusInternalServerError, code: CodeInternal, msg: err.Error(),
			zhMsg: "该读数的存储数据已损坏，无法读取。"}
	case errors.Is(err, readings.ErrNoDropBox):
		return &apiError{status: http.StatusServiceUnavailable, code: CodeUnavailable, msg: err.Error(),
			zhMsg: "本机尚未解锁过，暂不能保存设备数据；请先由工作人员登录。"}
	}
	return nil
}

func (s *Server) reviewQueue(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	limit, err := pageLimit(q, s.opts.MaxPage)
	if err != nil {
		return err
	}
	items, err := s.opts.Readings.Review(limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"readings": items})
	return nil
}

func (s *Server) getReading(w http.ResponseWriter, r *http.Request) error {
	rd, err := s.opts.Readings.Reading(r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rd)
	return nil
}

type attachIn struct {
	Patient string `json:"patient"`
}

func (s *Server) attachReading(w http.ResponseWriter, r *http.Request) error {
	var in attachIn
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	rd, err := s.opts.Readings.Attach(r.Context(), r.PathValue("id"), in.Patient, actor(r).Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rd)
	return nil
}

type discardIn struct {
	Reason string `json:"reason"`
}

func (s *Server) discardReading(w http.ResponseWriter, r *http.Request) error {
	var in discardIn
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	rd, err := s.opts.Readings.Discard(r.Context(), r.PathValue("id"), in.Reason, actor(r).Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rd)
	return nil
}

// patientObservations lists a patient's device observations. With the
// chart service present it first reads the chart as a chart read is read:
// the nurse-laptop assignment rule applies, the read is audited, and the
// observations of charts merged into it are included.
func (s *Server) patientObservations(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	ids := []string{id}
	if s.opts.Patients != nil {
		p, err := s.opts.Patients.Get(r.Context(), actor(r), id)
		if err != nil {
			return err
		}
		id = p.ID
		ids = append([]string{p.ID}, p.Merged...)
	}
	items, err := s.opts.Readings.Observations(ids, q.Get("history") == "true")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"patient": id, "observations": items})
	return nil
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.opts.Readings.Devices()
	if err != nil {
		return err
	}
	body := map[string]any{"devices": ds}
	if j, ok := s.opts.Readings.(Joiners); ok {
		asking := j.AskingToJoin()
		if asking == nil {
			asking = []JoinRequest{}
		}
		body["asking"] = asking
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.opts.Readings.Sessions(r.PathValue("device"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": ss})
	return nil
}

type sessionIn struct {
	Patient string `json:"patient"`
	// Minutes is how long the device stays bound; 0 or absent means the
	// node's default (10).
	Minutes int `json:"minutes"`
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request) error {
	var in sessionIn
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	if in.Minutes < 0 || in.Minutes > 24*60 {
		return &apiError{status: http.StatusBadRequest, code: CodeBadRequest, msg: "minutes must be between 1 and a day",
			zhMsg: "测量会话时长须在 1 分钟至 1 天之间。"}
	}
	sess, err := s.opts.Readings.StartSession(r.Context(), r.PathValue("device"), in.Patient,
		time.Duration(in.Minutes)*time.Minute, actor(r).Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, sess)
	return nil
}

func (s *Server) endSession(w http.ResponseWriter, r *http.Request) error {
	if err := s.opts.Readings.EndSession(r.Context(), r.PathValue("device"), r.PathValue("session")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
