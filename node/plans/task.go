package plans

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"carenode/crdt"
	"carenode/node/chart"
	"carenode/node/followup"
	"carenode/node/outbox"
	"carenode/node/store"
)

// Task is one due contact of a plan.
type Task struct {
	ID       string        `json:"id"`
	Plan     string        `json:"plan"`
	Patient  string        `json:"patient"`
	Template string        `json:"template"`
	Seq      int           `json:"seq"`
	Due      followup.Date `json:"due"`
	Method   string        `json:"method"`   // how the next contact is made
	Assignee string        `json:"assignee"` // whose work list holds it
	Status   string        `json:"status"`
	// Step says what to do next (open tasks) or why it closed.
	Step     *followup.Step `json:"step,omitempty"`
	Attempts []Attempt      `json:"attempts,omitempty"` // one task's detail only
	History  []History      `json:"history,omitempty"`
	// AttemptCount counts the attempts in lists, where Attempts is left out.
	AttemptCount int `json:"attemptCount"`
}

// Attempt is one try to reach the patient: an append-only fact.
type Attempt struct {
	ID        string           `json:"id"`
	Outcome   followup.Outcome `json:"outcome"`
	Answers   map[string]any   `json:"answers,omitempty"`
	Notes     string           `json:"notes,omitempty"`
	Recording string           `json:"recording,omitempty"`
	Rung      string           `json:"rung"`
	Method    string           `json:"method"`
	By        string           `json:"by"`
	Role      string           `json:"role,omitempty"`
	At        time.Time        `json:"at"`
}

// AttemptInput is what a health worker records.
type AttemptInput struct {
	Outcome string         `json:"outcome"`
	Answers map[string]any `json:"answers,omitempty"`
	Notes   string         `json:"notes,omitempty"`
	// Recording references a call recording file (a name or URL); the
	// recording itself is not stored here.
	Recording string `json:"recording,omitempty"`
}

// AttemptResult is what an attempt led to.
type AttemptResult struct {
	Task       Task               `json:"task"`
	Attempt    Attempt            `json:"attempt"`
	Step       followup.Step      `json:"step"`
	Findings   []followup.Finding `json:"findings,omitempty"`
	Worsening  []followup.Change  `json:"worsening,omitempty"`
	Unanswered []string           `json:"unanswered,omitempty"`
	Alerts     []string           `json:"alerts,omitempty"` // ids of the alerts raised
}

// TaskChange reschedules or reassigns a task; nil fields stay.
type TaskChange struct {
	Due      *string `json:"due,omitempty"`
	Assignee *string `json:"assignee,omitempty"` // "" back to the plan's
	Method   *string `json:"method,omitempty"`   // "" back to the schedule's
}

// Limits on what an attempt carries.
const (
	MaxNotes     = 2000
	MaxRecording = 300
)

// taskView renders an entry; caller holds idx.mu.
func (s *Service) taskView(t *taskEntry) Task {
	out := Task{ID: t.id, Plan: t.plan, Patient: t.patient, Seq: t.seq, Due: t.due, Method: t.how, Assignee: t.owner,
		Status: t.status, AttemptCount: len(t.outcomes)}
	if p := s.idx.plans[t.plan]; p != nil {
		out.Template = p.templateID
	}
	out.Step = t.step // shared, read-only
	return out
}

// Tasks returns a patient's tasks by due date.
func (s *Service) Tasks(patient string) []Task {
	s.idx.mu.RLock()
	defer s.idx.mu.RUnlock()
	out := []Task{}
	for pid := range s.idx.patients[patient] {
		for _, t := range s.idx.planTasks[pid] {
			out = append(out, s.taskView(t))
		}
	}
	slices.SortFunc(out, func(a, b Task) int {
		if c := a.Due.Compare(b.Due); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Task returns one task with its attempts and history.
func (s *Service) Task(id string) (Task, error) {
	s.idx.mu.RLock()
	e, ok := s.idx.tasks[id]
	var t Task
	if ok {
		t = s.taskView(e)
	}
	s.idx.mu.RUnlock()
	if !ok {
		return Task{}, notFound("follow-up task", "随访任务")
	}
	v, err := s.cfg.Records.Get(TasksCollection, id)
	if err != nil {
		return Task{}, fmt.Errorf("read task %s: %w", id, err)
	}
	t.Attempts = attempts(v.View)
	t.History = histories(v.View)
	return t, nil
}

func attempts(v crdt.View) []Attempt {
	out := facts[Attempt](v, fAttempts)
	slices.SortFunc(out, func(a, b Attempt) int { return strings.Compare(a.ID, b.ID) })
	return out
}

var errTaskClosed = newErr(ErrClosed, "task_closed", "This task is closed: it is done, or its plan has ended.",
	"该任务已关闭：已完成，或其随访计划已结束。")

// Attempt records an attempt to reach the patient. A reached attempt
// needs answers, which are checked against the plan's template (every
// fault at once); other outcomes take none. The attempt, the escalation
// it causes, the plan's end (deceased, moved, refused: for deceased and
// moved every plan of the patient ends) and the alerts it raises
// (abnormal or worse answers to the plan's doctor, lost to follow-up to
// the supervisor) are written in one transaction. The task closes only
// through an attempt: there is no other way to mark it done.
func (s *Service) Attempt(ctx context.Context, a chart.Actor, id string, in AttemptInput) (AttemptResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	s.idx.mu.RLock()
	t, ok := s.idx.tasks[id]
	var p *planEntry
	var tmpl followup.Template
	var haveTmpl bool
	var outcomes []followup.Outcome
	var status string
	var task taskEntry
	var otherPlans []*planEntry
	if ok {
		task = *t
		p = s.idx.plans[t.plan]
		if p != nil {
			if tp := s.idx.versions[p.version]; tp != nil {
				tmpl, haveTmpl = *tp, true
			}
			for pid := range s.idx.patients[p.patient] {
				if o := s.idx.plans[pid]; pid != p.id && !o.ended {
					otherPlans = append(otherPlans, o)
				}
			}
		}
		outcomes = slices.Clone(t.outcomes)
		status = t.status
	}
	s.idx.mu.RUnlock()
	if !ok {
		return AttemptResult{}, notFound("follow-up task", "随访任务")
	}
	if p == nil || !haveTmpl {
		return AttemptResult{}, newErr(ErrClosed, "plan_not_here", "This task's plan has not reached this node yet; sync and try again.",
			"该任务的随访计划尚未同步到本机，请同步后重试。")
	}
	if p.ended || !openStatus(status) && status != StatusPaused {
		return AttemptResult{}, errTaskClosed
	}
	var ps problemList
	o, err := followup.ParseOutcome(in.Outcome)
	if err != nil {
		ps.add("outcome", "bad_outcome", "The outcome must be reached, no_answer, wrong_number, refused, deceased or moved.",
			"结果须为：已联系上、无人接听、号码错误、拒绝、已故或已迁出（reached、no_answer、wrong_number、refused、deceased、moved）。")
	}
	if o == followup.OutcomeReached && len(in.Answers) == 0 {
		ps.add("answers", "answers_required", "The patient was reached: record the answers to the follow-up questions.",
			"已联系上患者：请记录随访问题的回答。")
	}
	if o != followup.OutcomeReached && o != "" && len(in.Answers) > 0 {
		ps.add("answers", "answers_not_allowed", "Answers are recorded only when the patient was reached.",
			"只有联系上患者时才记录回答。")
	}
	if utf8.RuneCountInString(in.Notes) > MaxNotes {
		ps.add("notes", "too_long", fmt.Sprintf("Notes are at most %d characters.", MaxNotes), fmt.Sprintf("备注最多%d个字符。", MaxNotes))
	}
	if len(in.Recording) > MaxRecording || strings.ContainsFunc(in.Recording, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		ps.add("recording", "bad_recording", fmt.Sprintf("The recording reference is a file name or address of at most %d characters.", MaxRecording),
			fmt.Sprintf("录音引用须为不超过%d个字符的文件名或地址。", MaxRecording))
	}
	if !utf8.ValidString(in.Notes) || !utf8.ValidString(in.Recording) {
		ps.add("notes", "bad_text", "Notes must be valid UTF-8 text.", "备注须为有效的文本。")
	}
	if err := ps.err(); err != nil {
		return AttemptResult{}, err
	}
	var res followup.Result
	if o == followup.OutcomeReached {
		if res, err = followup.Evaluate(tmpl, in.Answers); err != nil {
			return AttemptResult{}, err
		}
	}
	before, _ := followup.NextStep(tmpl, outcomes)
	step, err := followup.NextStep(tmpl, append(outcomes, o))
	if err != nil {
		return AttemptResult{}, err
	}
	aid := attemptID(now)
	how := task.how
	if before.Method != "" {
		how = before.Method
	}
	att := Attempt{ID: aid, Outcome: o, Answers: res.Answers, Notes: in.Notes, Recording: in.Recording, Rung: before.Rung,
		Method: how, By: actorName(a), Role: string(a.Role), At: now.UTC()}
	if att.Rung == "" {
		att.Rung = followup.RungPatient
	}
	reqs := []store.WriteRequest{{Collection: TasksCollection, Record: id, MustExist: true, Edits: []store.Edit{
		{Kind: crdt.MutFact, Field: fAttempts, FactID: aid, Value: jsonValue(att)},
		{Kind: crdt.MutAdd, Field: fOutcomes, Elem: aid + ":" + string(o)},
	}}}
	out := AttemptResult{Attempt: att, Step: step, Findings: res.Findings, Unanswered: res.Unanswered}
	if o == followup.OutcomeReached {
		prev, err := s.previousAnswers(&task)
		if err != nil {
			return AttemptResult{}, err
		}
		out.Worsening = followup.Worsening(tmpl, prev, res.Answers)
		if len(out.Findings) > 0 || len(out.Worsening) > 0 {
			req := s.findingAlert(&task, p, aid, res, out.Worsening, now)
			reqs = append(reqs, req)
			out.Alerts = append(out.Alerts, req.Record)
		}
	}
	if step.Action == followup.ActionEndPlan {
		m := endMark{Reason: string(step.Reason), By: actorName(a), At: now.UTC()}
		ending := []*planEntry{p}
		if step.Reason != followup.OutcomeRefused {
			ending = append(ending, otherPlans...)
		}
		for _, e := range ending {
			reqs = append(reqs, store.WriteRequest{Collection: PlansCollection, Record: e.id, MustExist: true,
				Edits: []store.Edit{set(fEnded, m), s.history(a, "ended", string(step.Reason), "attempt "+id)}})
		}
	}
	if step.Action == followup.ActionLost {
		s.idx.mu.RLock()
		raised := s.idx.alerts[lostAlertID(id)] != nil
		s.idx.mu.RUnlock()
		if !raised {
			req := s.lostAlert(&task, p)
			reqs = append(reqs, req)
			out.Alerts = append(out.Alerts, req.Record)
		}
	}
	if err := s.writeAll(ctx, reqs); err != nil {
		return AttemptResult{}, err
	}
	s.log.Info("follow-up attempt", "task", id, "outcome", o, "step", step.Action, "rung", step.Rung, "alerts", len(out.Alerts), "by", a.Name)
	if out.Task, err = s.Task(id); err != nil {
		return AttemptResult{}, err
	}
	if o == followup.OutcomeReached && tmpl.SendSummary && s.cfg.Queue != nil {
		if err := s.cfg.Queue.Queue(ctx, summary(&task, tmpl, res, now)); err != nil {
			s.log.Warn("queue follow-up summary", "task", id, "err", err)
		}
	}
	return out, nil
}

// previousAnswers returns the answers of the last reached attempt of the
// plan's latest done task before t, for Worsening; nil when none.
func (s *Service) previousAnswers(t *taskEntry) (map[string]any, error) {
	s.idx.mu.RLock()
	var prev []*taskEntry
	for _, o := range s.idx.planTasks[t.plan] {
		if o.seq < t.seq && o.status == StatusDone {
			prev = append(prev, o)
		}
	}
	s.idx.mu.RUnlock()
	if len(prev) == 0 {
		return nil, nil
	}
	last := slices.MaxFunc(prev, func(a, b *taskEntry) int { return a.seq - b.seq })
	v, err := s.cfg.Records.Get(TasksCollection, last.id)
	if err != nil {
		return nil, fmt.Errorf("read previous task %s: %w", last.id, err)
	}
	as := attempts(v.View)
	for i := len(as) - 1; i >= 0; i-- {
		if as[i].Outcome == followup.OutcomeReached {
			return as[i].Answers, nil
		}
	}
	return nil, nil
}

// ChangeTask reschedules or reassigns an open task. The change and the
// attempts made elsewhere meanwhile both stand after sync: they touch
// different fields.
func (s *Service) ChangeTask(ctx context.Context, a chart.Actor, id string, c TaskChange) (Task, error) {
	var ps problemList
	var edits []store.Edit
	var what []string
	if c.Due != nil {
		if _, err := followup.ParseDate(*c.Due); err != nil {
			ps.add("due", "bad_date", "The due date must be a date written YYYY-MM-DD.", "到期日须为YYYY-MM-DD格式的日期。")
		}
		edits = append(edits, set(fDue, *c.Due))
		what = append(what, "due="+*c.Due)
	}
	if c.Assignee != nil {
		checkName(&ps, "assignee", *c.Assignee, true)
		edits = append(edits, set(fAssignee, *c.Assignee))
		what = append(what, "assignee="+*c.Assignee)
	}
	if c.Method != nil {
		checkMethod(&ps, "method", *c.Method, true)
		edits = append(edits, set(fMethod, *c.Method))
		what = append(what, "method="+*c.Method)
	}
	if len(edits) == 0 {
		ps.add("", "nothing_to_change", "Name what to change: due, assignee or method.", "请指明要修改的内容：到期日、负责人或随访方式。")
	}
	if err := ps.err(); err != nil {
		return Task{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idx.mu.RLock()
	t, ok := s.idx.tasks[id]
	closed := ok && !openStatus(t.status) && t.status != StatusPaused
	s.idx.mu.RUnlock()
	if !ok {
		return Task{}, notFound("follow-up task", "随访任务")
	}
	if closed {
		return Task{}, errTaskClosed
	}
	edits = append(edits, s.history(a, "changed", "", strings.Join(what, ", ")))
	if err := s.writeAll(ctx, []store.WriteRequest{{Collection: TasksCollection, Record: id, MustExist: true, Edits: edits}}); err != nil {
		return Task{}, err
	}
	return s.Task(id)
}

// summary is the message queued to the patient after a completed
// follow-up. It names the answered measurements but no diagnosis.
func summary(t *taskEntry, tmpl followup.Template, res followup.Result, now time.Time) outbox.Message {
	var en, zh []string
	for _, q := range tmpl.Questions {
		v, ok := res.Answers[q.ID]
		if !ok || q.Type != followup.TypeNumber {
			continue
		}
		en = append(en, fmt.Sprintf("%s %v %s", q.Text.En, v, q.Unit))
		zh = append(zh, fmt.Sprintf("%s %v %s", q.Text.Zh, v, q.Unit))
	}
	enText := "Your follow-up (" + tmpl.Name.En + ") on " + followup.DateOf(now).String() + " is recorded."
	zhText := "您" + followup.DateOf(now).String() + "的" + tmpl.Name.Zh + "已记录。"
	if len(en) > 0 {
		enText += " " + strings.Join(en, "; ") + "."
		zhText += strings.Join(zh, "；") + "。"
	}
	if len(res.Findings) > 0 {
		enText += " Some results need your doctor's attention; the clinic will contact you."
		zhText += "部分结果需要医生关注，诊所会与您联系。"
	}
	return outbox.Message{Key: "followup_summary/" + t.id, Patient: t.patient, Kind: "followup_summary",
		Text: map[string]string{"en": enText, "zh": zhText}, About: TasksCollection + "/" + t.id}
}
