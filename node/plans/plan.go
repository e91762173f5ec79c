package plans

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"carenode/crdt"
	"carenode/node/auth"
	"carenode/node/chart"
	"carenode/node/followup"
	"carenode/node/store"
)

// Plan is a follow-up plan as readers see it.
type Plan struct {
	ID           string        `json:"id"`
	Patient      string        `json:"patient"`
	Template     string        `json:"template"`
	TemplateName followup.Text `json:"templateName"`
	// Version names the copy of the template the plan keeps: replacing
	// the template later does not change a running plan.
	Version   string        `json:"version"`
	Start     followup.Date `json:"start"`
	Doctor    string        `json:"doctor"`
	Assignee  string        `json:"assignee"`
	Method    string        `json:"method,omitempty"` // "" each contact's own
	Status    string        `json:"status"`           // active, paused, ended
	EndReason string        `json:"endReason,omitempty"`
	// ScheduledUntil: tasks exist for contacts due up to this day.
	ScheduledUntil followup.Date `json:"scheduledUntil"`
	OpenTasks      int           `json:"openTasks"`
	History        []History     `json:"history,omitempty"`
}

// History is one thing done to a plan or task, kept as an append-only
// fact: who, when, what, why.
type History struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Action string    `json:"action"`
	Reason string    `json:"reason,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// endMark is the value of a plan's ended register.
type endMark struct {
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// PlanInput starts a plan by hand.
type PlanInput struct {
	Patient  string `json:"patient"`
	Template string `json:"template"`
	Start    string `json:"start,omitempty"` // YYYY-MM-DD; default today
	Doctor   string `json:"doctor,omitempty"`
	Assignee string `json:"assignee,omitempty"`
	Method   string `json:"method,omitempty"`
}

// PlanChange changes a plan; nil fields stay as they are.
type PlanChange struct {
	Doctor   *string `json:"doctor,omitempty"`
	Assignee *string `json:"assignee,omitempty"`
	Method   *string `json:"method,omitempty"` // "" back to each contact's own
}

// Diagnosed starts the plans a diagnosis code calls for (hypertension for
// I10) with their tasks, and returns them; none when no template
// matches. A plan this patient already has for the template is returned
// as it is: a diagnosis recorded twice, or on two nodes, makes one plan.
func (s *Service) Diagnosed(ctx context.Context, a chart.Actor, patient, code string) ([]Plan, error) {
	return s.Started(ctx, a, patient, followup.Event{Kind: followup.EventDiagnosis, Code: code})
}

// Started starts the plans that event e calls for: a diagnosis, a
// discharge, a procedure. Each plan's id is the patient's and the
// template's, so the same event seen at two nodes makes one plan.
func (s *Service) Started(ctx context.Context, a chart.Actor, patient string, e followup.Event) ([]Plan, error) {
	var out []Plan
	for _, t := range followup.Triggered(s.templateList(), e) {
		id := patient + "." + t.ID
		if len(id) > maxPlanID {
			sum := sha256.Sum256([]byte(t.ID))
			id = patient + "." + hex.EncodeToString(sum[:6])
		}
		if len(id) > maxPlanID || !crdt.ValidName(id) {
			return out, newErr(ErrInvalid, "bad_patient", "The patient id is not a chart id.", "患者编号不是有效的档案编号。")
		}
		doctor := ""
		if a.Role == auth.RoleDoctor {
			doctor = a.Name
		}
		p, err := s.createPlan(ctx, a, id, patient, t, s.today(), doctor, a.Name, "", e.Kind+" "+e.Code+e.Procedure)
		if err != nil {
			return out, fmt.Errorf("start %s plan for patient %s: %w", t.ID, patient, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// CreatePlan starts a plan by hand.
func (s *Service) CreatePlan(ctx context.Context, a chart.Actor, in PlanInput) (Plan, error) {
	var ps problemList
	t, ok := s.templateByID(in.Template)
	if !ok {
		ps.add("template", "unknown_template", "No follow-up template has this id; GET /api/v1/templates lists them.",
			"没有该随访模板；可在模板列表中查看。")
	}
	start := s.today()
	if in.Start != "" {
		d, err := followup.ParseDate(in.Start)
		if err != nil {
			ps.add("start", "bad_date", "The start date must be a date written YYYY-MM-DD.", "开始日期须为YYYY-MM-DD格式的日期。")
		}
		start = d
	}
	doctor := in.Doctor
	if doctor == "" && a.Role == auth.RoleDoctor {
		doctor = a.Name
	}
	assignee := in.Assignee
	if assignee == "" {
		assignee = a.Name
	}
	checkName(&ps, "doctor", doctor, true)
	checkName(&ps, "assignee", assignee, false)
	checkMethod(&ps, "method", in.Method, true)
	id := in.Patient + "." + store.NewShortID()
	if in.Patient == "" || len(id) > maxPlanID || !crdt.ValidName(id) {
		ps.add("patient", "bad_patient", "Name the patient by their chart id.", "请填写患者档案编号。")
	}
	if err := ps.err(); err != nil {
		return Plan{}, err
	}
	return s.createPlan(ctx, a, id, in.Patient, t, start, doctor, assignee, in.Method, "by hand")
}

func (s *Service) createPlan(ctx context.Context, a chart.Actor, id, patient string, t followup.Template, start followup.Date,
	doctor, assignee, method, cause string) (Plan, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idx.mu.RLock()
	_, exists := s.idx.plans[id]
	s.idx.mu.RUnlock()
	if exists {
		return s.Plan(id)
	}
	if _, err := s.cfg.Records.Get(chart.Collection, patient); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Plan{}, notFound("patient", "患者")
		}
		return Plan{}, fmt.Errorf("look up patient %s: %w", patient, err)
	}
	vid, vjson := versionID(t)
	var reqs []store.WriteRequest
	if s.needVersion(vid) {
		reqs = append(reqs, store.WriteRequest{Collection: VersionsCollection, Record: vid, Create: true,
			Edits: []store.Edit{{Kind: crdt.MutSet, Field: fJSON, Value: vjson, SeenCurrent: true}}})
	}
	until := s.horizon()
	edits := []store.Edit{set(fPatient, patient), set(fVersion, vid), set(fStart, start.String()), set(fDoctor, doctor),
		set(fAssignee, assignee), set(fPaused, false), set(fScheduled, until.String()),
		s.history(a, "created", "", cause)}
	if method != "" {
		edits = append(edits, set(fMethod, method))
	}
	reqs = append(reqs, store.WriteRequest{Collection: PlansCollection, Record: id, Create: true, Edits: edits})
	for _, d := range followup.Schedule(t, start, until) {
		reqs = append(reqs, newTask(id, patient, d))
	}
	if err := s.writeAll(ctx, reqs); err != nil {
		return Plan{}, err
	}
	s.log.Info("follow-up plan started", "plan", id, "template", t.ID, "tasks", len(reqs)-1, "by", a.Name)
	return s.Plan(id)
}

// maxPlanID keeps every derived id a valid record id (at most 64
// characters): a task adds "." and a Seq of up to four digits
// (followup.MaxDue), its lost alert ".lost" more. A chart id (21
// characters), a dot and a template id (at most 32) fit.
const maxPlanID = 64 - 5 - 5

func newTask(plan, patient string, d followup.Due) store.WriteRequest {
	return store.WriteRequest{Collection: TasksCollection, Record: taskID(plan, d.Seq), Create: true,
		Edits: []store.Edit{set(fPlan, plan), set(fPatient, patient), set(fDue, d.Date.String()), set(fDueMethod, d.Method)}}
}

// needVersion reports whether the template copy vid is not stored yet.
func (s *Service) needVersion(vid string) bool {
	s.idx.mu.RLock()
	_, ok := s.idx.versions[vid]
	s.idx.mu.RUnlock()
	if ok {
		return false
	}
	_, err := s.cfg.Records.Get(VersionsCollection, vid)
	return err != nil
}

func (s *Service) horizon() followup.Date { return s.today().AddMonths(s.cfg.HorizonMonths) }

func (s *Service) history(a chart.Actor, action, reason, detail string) store.Edit {
	h := History{At: s.cfg.Now().UTC(), By: actorName(a), Action: action, Reason: reason, Detail: detail}
	return store.Edit{Kind: crdt.MutFact, Field: fHistory, FactID: store.NewShortID(), Value: jsonValue(h)}
}

// writeAll commits reqs at once and brings the index up to date with
// them before returning, so the caller reads what it wrote.
func (s *Service) writeAll(ctx context.Context, reqs []store.WriteRequest) error {
	if _, err := s.cfg.Records.WriteAll(ctx, reqs); err != nil {
		return err
	}
	changed := make([]store.Changed, len(reqs))
	for i, r := range reqs {
		changed[i] = store.Changed{Collection: r.Collection, Record: r.Record}
	}
	return s.apply(changed)
}

// Plan returns one plan with its history.
func (s *Service) Plan(id string) (Plan, error) {
	s.idx.mu.RLock()
	e, ok := s.idx.plans[id]
	var p Plan
	if ok {
		p = s.planView(e)
	}
	s.idx.mu.RUnlock()
	if !ok {
		return Plan{}, notFound("follow-up plan", "随访计划")
	}
	v, err := s.cfg.Records.Get(PlansCollection, id)
	if err != nil {
		return Plan{}, fmt.Errorf("read plan %s: %w", id, err)
	}
	p.History = histories(v.View)
	return p, nil
}

// Plans returns a patient's plans, or every plan when patient is "".
func (s *Service) Plans(patient string) []Plan {
	s.idx.mu.RLock()
	defer s.idx.mu.RUnlock()
	out := []Plan{}
	if patient != "" {
		for id := range s.idx.patients[patient] {
			out = append(out, s.planView(s.idx.plans[id]))
		}
	} else {
		for _, e := range s.idx.plans {
			out = append(out, s.planView(e))
		}
	}
	slices.SortFunc(out, func(a, b Plan) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// planView renders an entry; caller holds idx.mu.
func (s *Service) planView(e *planEntry) Plan {
	p := Plan{ID: e.id, Patient: e.patient, Template: e.templateID, Version: e.version, Start: e.start, Doctor: e.doctor,
		Assignee: e.assignee, Method: e.method, Status: PlanActive, EndReason: e.endReason, ScheduledUntil: e.scheduled}
	if t := s.idx.versions[e.version]; t != nil {
		p.TemplateName = t.Name
	}
	switch {
	case e.ended:
		p.Status = PlanEnded
	case e.paused:
		p.Status = PlanPaused
	}
	for _, t := range s.idx.planTasks[e.id] {
		if openStatus(t.status) {
			p.OpenTasks++
		}
	}
	return p
}

func histories(v crdt.View) []History { return facts[History](v, fHistory) }

// PausePlan pauses a plan: its tasks leave the work lists until it resumes.
func (s *Service) PausePlan(ctx context.Context, a chart.Actor, id, reason string) (Plan, error) {
	return s.planState(ctx, a, id, "paused", reason, []store.Edit{set(fPaused, true)})
}

// ResumePlan resumes a paused plan.
func (s *Service) ResumePlan(ctx context.Context, a chart.Actor, id, reason string) (Plan, error) {
	return s.planState(ctx, a, id, "resumed", reason, []store.Edit{set(fPaused, false)})
}

// EndPlan ends a plan with a reason; its open tasks are cancelled (a task
// done meanwhile at another node stays done). Ending is final: a
// concurrent resume elsewhere does not undo it.
func (s *Service) EndPlan(ctx context.Context, a chart.Actor, id, reason string) (Plan, error) {
	if strings.TrimSpace(reason) == "" {
		return Plan{}, newErr(ErrInvalid, "reason_required", "Say why the plan ends.", "请说明结束随访计划的原因。")
	}
	m := endMark{Reason: reason, By: actorName(a), At: s.cfg.Now().UTC()}
	return s.planState(ctx, a, id, "ended", reason, []store.Edit{set(fEnded, m)})
}

// ChangePlan changes a plan's doctor, assignee or method. Tasks with no
// assignee or method of their own follow the plan's.
func (s *Service) ChangePlan(ctx context.Context, a chart.Actor, id string, c PlanChange) (Plan, error) {
	var ps problemList
	var edits []store.Edit
	var what []string
	if c.Doctor != nil {
		checkName(&ps, "doctor", *c.Doctor, false)
		edits = append(edits, set(fDoctor, *c.Doctor))
		what = append(what, "doctor="+*c.Doctor)
	}
	if c.Assignee != nil {
		checkName(&ps, "assignee", *c.Assignee, false)
		edits = append(edits, set(fAssignee, *c.Assignee))
		what = append(what, "assignee="+*c.Assignee)
	}
	if c.Method != nil {
		checkMethod(&ps, "method", *c.Method, true)
		edits = append(edits, set(fMethod, *c.Method))
		what = append(what, "method="+*c.Method)
	}
	if len(edits) == 0 {
		ps.add("", "nothing_to_change", "Name what to change: doctor, assignee or method.", "请指明要修改的内容：医生、负责人或随访方式。")
	}
	if err := ps.err(); err != nil {
		return Plan{}, err
	}
	edits = append(edits, s.history(a, "changed", "", strings.Join(what, ", ")))
	return s.planState(ctx, a, id, "", "", edits)
}

func (s *Service) planState(ctx context.Context, a chart.Actor, id, action, reason string, edits []store.Edit) (Plan, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idx.mu.RLock()
	e, ok := s.idx.plans[id]
	ended := ok && e.ended
	s.idx.mu.RUnlock()
	if !ok {
		return Plan{}, notFound("follow-up plan", "随访计划")
	}
	if ended {
		return Plan{}, newErr(ErrClosed, "plan_ended", "This plan has ended; start a new one if follow-up is needed again.",
			"该随访计划已结束；如需继续随访，请新建计划。")
	}
	if action != "" {
		edits = append(edits, s.history(a, action, reason, ""))
	}
	req := store.WriteRequest{Collection: PlansCollection, Record: id, MustExist: true, Edits: edits}
	if err := s.writeAll(ctx, []store.WriteRequest{req}); err != nil {
		return Plan{}, err
	}
	return s.Plan(id)
}

// Extend makes the tasks of every active plan up to the horizon (today
// plus HorizonMonths), as time passes. Run calls it; it is idempotent,
// and two nodes extending the same plan make the same tasks.
func (s *Service) Extend(ctx context.Context) (int, error) {
	until := s.horizon()
	s.idx.mu.RLock()
	var due []string
	for id, p := range s.idx.plans {
		if !p.ended && !p.paused && p.scheduled.Compare(until) < 0 {
			due = append(due, id)
		}
	}
	s.idx.mu.RUnlock()
	slices.Sort(due)
	made := 0
	for _, id := range due {
		n, err := s.extendPlan(ctx, id, until)
		if err != nil {
			return made, err
		}
		made += n
	}
	return made, nil
}

func (s *Service) extendPlan(ctx context.Context, id string, until followup.Date) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idx.mu.RLock()
	p := s.idx.plans[id]
	var t *followup.Template
	var have map[string]bool
	if p != nil {
		t = s.idx.versions[p.version]
		have = map[string]bool{}
		for tid := range s.idx.planTasks[id] {
			have[tid] = true
		}
	}
	s.idx.mu.RUnlock()
	if p == nil || t == nil {
		return 0, nil // its template copy has not arrived yet: next time
	}
	reqs := []store.WriteRequest{{Collection: PlansCollection, Record: id, MustExist: true,
		Edits: []store.Edit{set(fScheduled, until.String())}}}
	for _, d := range followup.Schedule(*t, p.start, until) {
		if !have[taskID(id, d.Seq)] {
			reqs = append(reqs, newTask(id, p.patient, d))
		}
	}
	if err := s.writeAll(ctx, reqs); err != nil {
		return 0, fmt.Errorf("extend plan %s: %w", id, err)
	}
	return len(reqs) - 1, nil
}

// Run extends plans at once and then every interval until ctx ends.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if n, err := s.Extend(ctx); err != nil {
			s.log.Warn("extend follow-up plans", "err", err)
		} else if n > 0 {
			s.log.Info("follow-up tasks scheduled", "tasks", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// problemList gathers field problems into one *Error.
type problemList struct{ list []Problem }

func (ps *problemList) add(field, code, en, zh string) {
	ps.list = append(ps.list, Problem{Field: field, Code: code, En: en, Zh: zh})
}

func (ps *problemList) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	e := newErr(ErrInvalid, "invalid", "", "")
	for i, p := range ps.list {
		if i > 0 {
			e.En += " "
		}
		e.En += p.En
		e.Zh += p.Zh
	}
	e.Problems = ps.list
	return e
}

func checkName(ps *problemList, field, name string, optional bool) {
	if name == "" && optional {
		return
	}
	if name == "" || utf8.RuneCountInString(name) > 64 || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		ps.add(field, "bad_name", "Name a staff member (1 to 64 characters).", "请填写工作人员名称（1至64个字符）。")
	}
}

func checkMethod(ps *problemList, field, m string, optional bool) {
	switch m {
	case followup.MethodPhone, followup.MethodSMS, followup.MethodVideo, followup.MethodHomeVisit:
		return
	case "":
		if optional {
			return
		}
	}
	ps.add(field, "bad_method", "The method must be phone, sms, video or home_visit.", "随访方式须为电话、短信、视频或上门（phone、sms、video、home_visit）。")
}
