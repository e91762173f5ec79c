package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"carenode/node/auth"
	"carenode/node/chart"
	"carenode/node/followup"
	"carenode/node/plans"
)

// Followup is what the API needs of the follow-up service (node/plans):
// plans, templates, tasks, attempts, alerts and work lists.
type Followup interface {
	Diagnosed(ctx context.Context, a chart.Actor, patient, code string) ([]plans.Plan, error)
	Started(ctx context.Context, a chart.Actor, patient string, e followup.Event) ([]plans.Plan, error)
	CreatePlan(ctx context.Context, a chart.Actor, in plans.PlanInput) (plans.Plan, error)
	Plan(id string) (plans.Plan, error)
	Plans(patient string) []plans.Plan
	PausePlan(ctx context.Context, a chart.Actor, id, reason string) (plans.Plan, error)
	ResumePlan(ctx context.Context, a chart.Actor, id, reason string) (plans.Plan, error)
	EndPlan(ctx context.Context, a chart.Actor, id, reason string) (plans.Plan, error)
	ChangePlan(ctx context.Context, a chart.Actor, id string, c plans.PlanChange) (plans.Plan, error)
	Tasks(patient string) []plans.Task
	Task(id string) (plans.Task, error)
	ChangeTask(ctx context.Context, a chart.Actor, id string, c plans.TaskChange) (plans.Task, error)
	Attempt(ctx context.Context, a chart.Actor, id string, in plans.AttemptInput) (plans.AttemptResult, error)
	Alerts(to string, limit int) ([]plans.Alert, error)
	Alert(id string) (plans.Alert, error)
	Ack(ctx context.Context, a chart.Actor, id, action string) (plans.Alert, error)
	UnacknowledgedAlerts() int
	Templates() []plans.TemplateInfo
	PutTemplate(ctx context.Context, a chart.Actor, id string, body []byte) (plans.TemplateInfo, error)
	WorkListOn(user string, day followup.Date) plans.WorkList
	WorkList(user string) plans.WorkList
}

var _ Followup = (*plans.Service)(nil)

// followupRoutes adds the follow-up routes.
func (s *Server) followupRoutes(route routeFunc) {
	route("POST /api/v1/patients/{id}/events", auth.PermFollowupWrite, s.careEvent)
	route("GET /api/v1/plans", auth.PermFollowupRead, s.listPlans)
	route("POST /api/v1/plans", auth.PermFollowupWrite, s.createPlan)
	route("GET /api/v1/plans/{id}", auth.PermFollowupRead, s.getPlan)
	route("PATCH /api/v1/plans/{id}", auth.PermFollowupWrite, s.changePlan)
	route("POST /api/v1/plans/{id}/{action}", auth.PermFollowupWrite, s.planAction)
	route("GET /api/v1/templates", auth.PermFollowupRead, s.listTemplates)
	route("GET /api/v1/templates/{id}", auth.PermFollowupRead, s.getTemplate)
	route("PUT /api/v1/templates/{id}", auth.PermTemplatesManage, s.putTemplate)
	route("GET /api/v1/tasks", auth.PermFollowupRead, s.listTasks)
	route("GET /api/v1/tasks/{id}", auth.PermFollowupRead, s.getTask)
	route("PATCH /api/v1/tasks/{id}", auth.PermFollowupWrite, s.changeTask)
	route("POST /api/v1/tasks/{id}/attempts", auth.PermFollowupWrite, s.addAttempt)
	route("GET /api/v1/alerts", auth.PermFollowupRead, s.listAlerts)
	route("GET /api/v1/alerts/{id}", auth.PermFollowupRead, s.getAlert)
	route("POST /api/v1/alerts/{id}/ack", auth.PermAlertsAck, s.ackAlert)
	route("GET /api/v1/worklist", auth.PermFollowupRead, s.worklist)
}

// followupError turns the service's refusals into API errors, each
// sentence in both languages; anything else passes through.
func followupError(err error) error {
	var pe *plans.Error
	var fe *followup.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		return &apiError{status: http.StatusBadRequest, code: CodeInvalid, msg: fe.Message("en"), zhMsg: fe.Message("zh"),
			detail: errorDetail{Problems: fe.Problems}}
	case errors.As(err, &pe):
		ae := &apiError{status: http.StatusBadRequest, code: CodeInvalid, msg: pe.En, zhMsg: pe.Zh, detail: errorDetail{Problems: pe.Problems}}
		switch {
		case errors.Is(pe.Kind, plans.ErrNotFound):
			ae.status, ae.code = http.StatusNotFound, CodeNotFound
		case errors.Is(pe.Kind, plans.ErrClosed), errors.Is(pe.Kind, plans.ErrAcked):
			ae.status, ae.code = http.StatusConflict, CodeConflict
		}
		return ae
	}
	return err
}

// reasonBody is the body of pause, resume and end.
type reasonBody struct {
	Reason string `json:"reason"`
}

func (s *Server) listPlans(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"plans": s.opts.Followup.Plans(q.Get("patient"))})
	return nil
}

func (s *Server) createPlan(w http.ResponseWriter, r *http.Request) error {
	var in plans.PlanInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	p, err := s.opts.Followup.CreatePlan(r.Context(), actor(r), in)
	if err != nil {
		return followupError(err)
	}
	writeJSON(w, http.StatusCreated, p)
	return nil
}

func (s *Server) getPlan(w http.ResponseWriter, r *http.Request) error {
	p, err := s.opts.Followup.Plan(r.PathValue("id"))
	if err != nil {
		return followupError(err)
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) changePlan(w http.ResponseWriter, r *http.Request) error {
	var c plans.PlanChange
	if err := s.decode(w, r, &c); err != nil {
		return err
	}
	p, err := s.opts.Followup.ChangePlan(r.Context(), actor(r), r.PathValue("id"), c)
	if err != nil {
		return followupError(err)
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// planAction is POST /plans/{id}/pause, resume or end, with an optional
// (for end, required) reason.
func (s *Server) planAction(w http.ResponseWriter, r *http.Request) error {
	do := map[string]func(context.Context, chart.Actor, string, string) (plans.Plan, error){
		"pause": s.opts.Followup.PausePlan, "resume": s.opts.Followup.ResumePlan, "end": s.opts.Followup.EndPlan,
	}[r.PathValue("action")]
	if do == nil {
		return &apiError{status: http.StatusNotFound, code: CodeNotFound, msg: "no such route: " + r.Method + " " + r.URL.Path +
			"; a plan takes pause, resume or end", zhMsg: "随访计划只能暂停（pause）、恢复（resume）或结束（end）。"}
	}
	var in reasonBody
	if r.ContentLength != 0 {
		if err := s.decode(w, r, &in); err != nil {
			return err
		}
	}
	p, err := do(r.Context(), actor(r), r.PathValue("id"), in.Reason)
	if err != nil {
		return followupError(err)
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{"templates": s.opts.Followup.Templates()})
	return nil
}

func (s *Server) getTemplate(w http.ResponseWriter, r *http.Request) error {
	for _, t := range s.opts.Followup.Templates() {
		if t.ID == r.PathValue("id") {
			writeJSON(w, http.StatusOK, t)
			return nil
		}
	}
	return &apiError{status: http.StatusNotFound, code: CodeNotFound, msg: "No follow-up template has this id.", zhMsg: "没有该随访模板。"}
}

// putTemplate stores an admin's template: the body is the template's JSON
// as shipped files hold it (followup's package comment), checked whole.
func (s *Server) putTemplate(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, followup.MaxTemplateBytes))
	if err != nil {
		return err
	}
	t, err := s.opts.Followup.PutTemplate(r.Context(), actor(r), r.PathValue("id"), body)
	if err != nil {
		return followupError(err)
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	patient := q.Get("patient")
	if patient == "" {
		return &apiError{status: http.StatusBadRequest, code: CodeBadRequest, msg: "Name the patient: ?patient=ID (a staff member's tasks: /api/v1/worklist).",
			zhMsg: "请指明患者：?patient=编号（工作人员的任务见 /api/v1/worklist）。"}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tasks": s.opts.Followup.Tasks(patient)})
	return nil
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request) error {
	t, err := s.opts.Followup.Task(r.PathValue("id"))
	if err != nil {
		return followupError(err)
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (s *Server) changeTask(w http.ResponseWriter, r *http.Request) error {
	var c plans.TaskChange
	if err := s.decode(w, r, &c); err != nil {
		return err
	}
	t, err := s.opts.Followup.ChangeTask(r.Context(), actor(r), r.PathValue("id"), c)
	if err != nil {
		return followupError(err)
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (s *Server) addAttempt(w http.ResponseWriter, r *http.Request) error {
	var in plans.AttemptInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	res, err := s.opts.Followup.Attempt(r.Context(), actor(r), r.PathValue("id"), in)
	if err != nil {
		return followupError(err)
	}
	writeJSON(w, http.StatusCreated, res)
	return nil
}

// listAlerts lists the signed-in user's alerts, or ?to=NAME's, or with
// ?all=true everyone's; unacknowledged first.
func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	to := q.Get("to")
	if to == "" {
		to = actor(r).Name
	}
	if q.Get("all") == "true" {
		to = ""
	}
	limit, err := pageLimit(q, s.opts.MaxPage)
	if err != nil {
		return err
	}
	alerts, err := s.opts.Followup.Alerts(to, limit)
	if err != nil {
		return followupError(err)
	}
	unacked := 0
	for _, a := range alerts {
		if !a.Acknowledged {
			unacked++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": alerts, "unacknowledged": unacked})
	return nil
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) error {
	a, err := s.opts.Followup.Alert(r.PathValue("id"))
	if err != nil {
		return followupError(err)
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) ackAlert(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Action string `json:"action"`
	}
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	a, err := s.opts.Followup.Ack(r.Context(), actor(r), r.PathValue("id"), in.Action)
	if err != nil {
		return followupError(err)
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// worklist is GET /api/v1/worklist?user=NAME&date=YYYY-MM-DD: the user's
// overdue, today's and upcoming tasks; by default the signed-in user's,
// today.
func (s *Server) worklist(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	user := q.Get("user")
	if user == "" {
		user = actor(r).Name
	}
	if user == "" {
		return badRequest("name the staff member: ?user=NAME")
	}
	if d := q.Get("date"); d != "" {
		day, err := followup.ParseDate(d)
		if err != nil {
			return &apiError{status: http.StatusBadRequest, code: CodeBadRequest, msg: "date must be YYYY-MM-DD, not " + strconv.Quote(d),
				zhMsg: "日期须为YYYY-MM-DD格式。"}
		}
		writeJSON(w, http.StatusOK, s.opts.Followup.WorkListOn(user, day))
		return nil
	}
	writeJSON(w, http.StatusOK, s.opts.Followup.WorkList(user))
	return nil
}

// diagnosed starts the follow-up plans a diagnosis calls for, after the
// diagnosis is stored. A failure here does not undo the diagnosis: it is
// logged, and the plan can be started by hand.
// careEventIn is a discharge or a procedure that may start follow-up plans
// (a diagnosis is posted to /diagnoses, which starts its plans itself).
type careEventIn struct {
	Event     string `json:"event"`               // discharge or procedure
	Code      string `json:"code,omitempty"`      // ICD-10 discharge diagnosis
	Procedure string `json:"procedure,omitempty"` // kind of procedure, as "surgery"
}

// careEvent records that a patient was discharged or had a procedure, and
// starts the plans whose templates that event triggers: the post-surgery
// calls on days 1, 3, 7 and 14, say. It answers the plans started (none
// when no template matches, or when they were started already).
func (s *Server) careEvent(w http.ResponseWriter, r *http.Request) error {
	var in careEventIn
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	switch {
	case in.Event != followup.EventDischarge && in.Event != followup.EventProcedure:
		return &apiError{status: http.StatusBadRequest, code: CodeBadRequest,
			msg:   `event must be "discharge" or "procedure" (a diagnosis goes to /diagnoses)`,
			zhMsg: `event 须为 "discharge"（出院）或 "procedure"（手术/操作）；诊断请提交到 /diagnoses`}
	case in.Event == followup.EventProcedure && in.Procedure == "":
		return &apiError{status: http.StatusBadRequest, code: CodeBadRequest,
			msg: "a procedure event names the procedure, as \"surgery\"", zhMsg: "手术/操作事件须填写 procedure，如 \"surgery\""}
	}
	id := r.PathValue("id")
	if s.opts.Patients != nil {
		p, err := s.opts.Patients.Get(r.Context(), actor(r), id)
		if err != nil {
			return err
		}
		id = p.ID // the survivor, when id was merged away
	}
	started, err := s.opts.Followup.Started(r.Context(), actor(r), id,
		followup.Event{Kind: in.Event, Code: in.Code, Procedure: in.Procedure})
	if err != nil {
		return followupError(err)
	}
	if started == nil {
		started = []plans.Plan{}
	}
	writeJSON(w, http.StatusCreated, map[string]any{"plans": started})
	return nil
}

func (s *Server) diagnosed(ctx context.Context, a chart.Actor, patient, code string) {
	if s.opts.Followup == nil {
		return
	}
	if _, err := s.opts.Followup.Diagnosed(ctx, a, patient, code); err != nil {
		s.log.Error("start follow-up plans for a diagnosis", "patient", patient, "err", err)
	}
}
