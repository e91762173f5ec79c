package plans_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/node/followup"
	"carenode/node/plans"
	"carenode/node/store"
)

// TestDiagnosisStartsPlan is issue 7's contract: I10 makes the
// hypertension plan and its tasks at once, monthly for the horizon, with
// the method cycle of the national norm; the same diagnosis again makes
// nothing new.
func TestDiagnosisStartsPlan(t *testing.T) {
	n := newNode(t, "clinic1")
	p := n.patient(t)
	plan := hypertension(t, n, p)
	if plan.ID != p+".hypertension" || plan.Doctor != "dr-wang" || plan.Assignee != "dr-wang" || plan.Status != plans.PlanActive {
		t.Errorf("plan %+v", plan)
	}
	tasks := n.svc.Tasks(p)
	if len(tasks) != 13 {
		t.Fatalf("%d tasks, want 13 monthly contacts in a 13-month horizon", len(tasks))
	}
	for i, task := range tasks {
		wantDue := followup.DateOf(testStart).AddMonths(i + 1)
		wantMethod := []string{"home_visit", "phone", "phone"}[i%3]
		if task.Due != wantDue || task.Method != wantMethod || task.Status != plans.StatusOpen || task.Seq != i+1 {
			t.Errorf("task %d: %+v, want due %s by %s, open", i, task, wantDue, wantMethod)
		}
	}
	again, err := n.svc.Diagnosed(background, doctor, p, "I11.9")
	if err != nil || len(again) != 1 || again[0].ID != plan.ID {
		t.Fatalf("second hypertension code: %+v %v, want the same plan", again, err)
	}
	if got := len(n.svc.Tasks(p)); got != 13 {
		t.Errorf("%d tasks after the second diagnosis, want 13", got)
	}
	for _, c := range []struct {
		code string
		want []string
	}{{"E11.9", []string{"diabetes-t2"}}, {"J45", nil}, {"not a code", nil}} {
		ps, err := n.svc.Diagnosed(background, doctor, p, c.code)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range ps {
			got = append(got, x.Template)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s started %v, want %v", c.code, got, c.want)
		}
	}
	if _, err := n.svc.Diagnosed(background, doctor, "no-such-patient", "I10"); !errors.Is(err, plans.ErrNotFound) {
		t.Errorf("diagnosis of an unknown patient: %v, want ErrNotFound", err)
	}
}

// TestEscalation walks the ladder through the service: three no answers
// move to the family, a wrong number straight up, and the last rung is
// lost to follow-up, open, with one alert to the supervisor.
func TestEscalation(t *testing.T) {
	n := newNode(t, "clinic1")
	p := n.patient(t)
	hypertension(t, n, p)
	task := n.svc.Tasks(p)[0].ID
	steps := []struct {
		outcome, status, rung, method string
	}{
		{"no_answer", plans.StatusOpen, "patient", "home_visit"},
		{"no_answer", plans.StatusOpen, "patient", "home_visit"},
		{"no_answer", plans.StatusEscalated, "family", "phone"},
		{"wrong_number", plans.StatusEscalated, "village_health_worker", "phone"},
		{"no_answer", plans.StatusEscalated, "village_health_worker", "phone"},
		{"wrong_number", plans.StatusEscalated, "home_visit", "home_visit"},
		{"no_answer", plans.StatusEscalated, "home_visit", "home_visit"},
		{"no_answer", plans.StatusEscalated, "home_visit", "home_visit"},
		{"no_answer", plans.StatusLost, "lost_to_follow_up", "home_visit"},
		{"no_answer", plans.StatusLost, "lost_to_follow_up", "home_visit"},
	}
	for i, s := range steps {
		res := attempt(t, n, nurse, task, s.outcome, nil)
		if res.Task.Status != s.status || res.Step.Rung != s.rung || res.Task.Method != s.method {
			t.Fatalf("after attempt %d (%s): status %s rung %s method %s, want %s %s %s", i+1, s.outcome,
				res.Task.Status, res.Step.Rung, res.Task.Method, s.status, s.rung, s.method)
		}
	}
	got, _ := n.svc.Task(task)
	if len(got.Attempts) != len(steps) || got.Attempts[0].Rung != "patient" || got.Attempts[2].Rung != "patient" || got.Attempts[3].Rung != "family" {
		t.Errorf("attempts %+v", got.Attempts)
	}
	alerts, err := n.svc.Alerts("head-nurse", 0)
	if err != nil || len(alerts) != 1 || alerts[0].Kind != plans.AlertLost || alerts[0].Task != task {
		t.Fatalf("supervisor's alerts %+v %v, want one lost-to-follow-up alert", alerts, err)
	}
	// A lost task stays on the work list, overdue once its day has passed.
	w := n.svc.WorkListOn("dr-wang", got.Due.AddDays(1))
	if len(w.Overdue) != 1 || w.Overdue[0].ID != task || w.Overdue[0].Status != plans.StatusLost {
		t.Errorf("work list after the due day: %+v, want the lost task overdue", w.Overdue)
	}
}

// TestAttemptRules: what an attempt may carry, and that a refusal stores
// nothing.
func TestAttemptRules(t *testing.T) {
	n := newNode(t, "clinic1")
	p := n.patient(t)
	hypertension(t, n, p)
	task := n.svc.Tasks(p)[0].ID
	cases := []struct {
		name string
		in   plans.AttemptInput
		kind error
		code string
	}{
		{"unknown outcome", plans.AttemptInput{Outcome: "closed"}, plans.ErrInvalid, "bad_outcome"},
		{"reached without answers", plans.AttemptInput{Outcome: "reached"}, plans.ErrInvalid, "answers_required"},
		{"answers without reaching", plans.AttemptInput{Outcome: "no_answer", Answers: map[string]any{"systolic": 120.0}}, plans.ErrInvalid, "answers_not_allowed"},
		{"typo", plans.AttemptInput{Outcome: "reached", Answers: map[string]any{"systolic": 1400.0, "pulse": 3.0}}, followup.ErrAnswers, ""},
		{"long notes", plans.AttemptInput{Outcome: "no_answer", Notes: strings.Repeat("记", plans.MaxNotes+1)}, plans.ErrInvalid, "too_long"},
		{"bad recording", plans.AttemptInput{Outcome: "no_answer", Recording: "a\nb"}, plans.ErrInvalid, "bad_recording"},
	}
	for _, c := range cases {
		_, err := n.svc.Attempt(background, nurse, task, c.in)
		if !errors.Is(err, c.kind) {
			t.Errorf("%s: %v, want %v", c.name, err, c.kind)
			continue
		}
		var pe *plans.Error
		if c.code != "" && (!errors.As(err, &pe) || !slices.ContainsFunc(pe.Problems, func(p plans.Problem) bool { return p.Code == c.code }) || pe.Zh == "") {
			t.Errorf("%s: %#v, want problem %s in both languages", c.name, err, c.code)
		}
	}
	var fe *followup.Error
	_, err := n.svc.Attempt(background, nurse, task, cases[3].in)
	if !errors.As(err, &fe) || len(fe.Problems) != 2 {
		t.Errorf("typo and unknown question: %v, want both problems at once", err)
	}
	if got, _ := n.svc.Task(task); len(got.Attempts) != 0 || got.Status != plans.StatusOpen {
		t.Errorf("refused attempts stored something: %+v", got)
	}
	if _, err := n.svc.Attempt(background, nurse, "nope.1", plans.AttemptInput{Outcome: "no_answer"}); !errors.Is(err, plans.ErrNotFound) {
		t.Errorf("unknown task: %v", err)
	}
	// Done only through an attempt; then closed to more.
	res := attempt(t, n, nurse, task, "reached", map[string]any{"systolic": 128.0, "diastolic": 82.0})
	if res.Task.Status != plans.StatusDone || len(res.Alerts) != 0 {
		t.Errorf("reached with normal values: %+v", res)
	}
	if _, err := n.svc.Attempt(background, nurse, task, plans.AttemptInput{Outcome: "no_answer"}); !errors.Is(err, plans.ErrClosed) {
		t.Errorf("attempt on a done task: %v, want ErrClosed", err)
	}
	if msgs := n.queue.all(); len(msgs) != 1 || msgs[0].Key != "followup_summary/"+task || !strings.Contains(msgs[0].Text["zh"], "收缩压 128") {
		t.Errorf("summary queued: %+v", msgs)
	}
}

// TestAlerts: an abnormal answer alerts the plan's doctor with the
// values; a worse answer than last time alerts even under the threshold;
// unacknowledged alerts come first; acknowledging needs an action.
func TestAlerts(t *testing.T) {
	n := newNode(t, "clinic1")
	p := n.patient(t)
	hypertension(t, n, p)
	tasks := n.svc.Tasks(p)
	res := attempt(t, n, nurse, tasks[0].ID, "reached", map[string]any{"systolic": 172.0, "diastolic": 96.0, "symptoms": []any{"none"}})
	if len(res.Alerts) != 1 || len(res.Findings) != 1 || res.Findings[0].Question != "systolic" {
		t.Fatalf("systolic 172: %+v", res)
	}
	a, err := n.svc.Alert(res.Alerts[0])
	if err != nil {
		t.Fatal(err)
	}
	if a.To != "dr-wang" || a.Level != "abnormal" || a.Kind != plans.AlertFinding || !strings.Contains(a.Reason.En, "172") ||
		!strings.Contains(a.Reason.Zh, "收缩压") || a.Findings[0].Value != 172.0 || a.Acknowledged {
		t.Errorf("alert %+v", a)
	}
	n.clock.advance(time.Hour)
	// Next month 150/90: under 160/100, but 150 is not 20 higher than 172 — no alert.
	res = attempt(t, n, nurse, tasks[1].ID, "reached", map[string]any{"systolic": 150.0, "diastolic": 90.0})
	if len(res.Alerts) != 0 {
		t.Errorf("150/90 after 172/96: alerts %v", res.Alerts)
	}
	// Then 158/109 → diastolic is urgent (≥110? no: 109 is abnormal ≥100) and 19 higher (worse by ≥10).
	res = attempt(t, n, nurse, tasks[2].ID, "reached", map[string]any{"systolic": 158.0, "diastolic": 109.0})
	if len(res.Alerts) != 1 || len(res.Worsening) != 1 || res.Worsening[0].Question != "diastolic" || len(res.Findings) != 1 {
		t.Fatalf("158/109 after 150/90: %+v", res)
	}
	if n.svc.UnacknowledgedAlerts() != 2 {
		t.Errorf("unacknowledged %d, want 2", n.svc.UnacknowledgedAlerts())
	}
	if _, err := n.svc.Ack(background, doctor, a.ID, "  "); !errors.Is(err, plans.ErrInvalid) {
		t.Errorf("ack without an action: %v", err)
	}
	acked, err := n.svc.Ack(background, doctor, a.ID, "Phoned the patient; amlodipine increased to 10 mg.")
	if err != nil || !acked.Acknowledged || len(acked.Acks) != 1 || acked.Acks[0].By != "dr-wang" {
		t.Fatalf("ack: %+v %v", acked, err)
	}
	if _, err := n.svc.Ack(background, doctor, a.ID, "again"); !errors.Is(err, plans.ErrAcked) {
		t.Errorf("second ack on one node: %v, want ErrAcked", err)
	}
	list, _ := n.svc.Alerts("dr-wang", 0)
	if len(list) != 2 || list[0].Acknowledged || !list[1].Acknowledged {
		t.Errorf("doctor's list: unacknowledged first? %+v", list)
	}
	if n.svc.UnacknowledgedAlerts() != 1 {
		t.Errorf("unacknowledged %d, want 1", n.svc.UnacknowledgedAlerts())
	}
}

// TestPlanLifecycle: pause takes tasks off the work list, resume brings
// them back, a change of assignee moves them, an end cancels the open
// ones and is final; deceased ends every plan of the patient.
func TestPlanLifecycle(t *testing.T) {
	n := newNode(t, "clinic1")
	p := n.patient(t)
	plan := hypertension(t, n, p)
	day := n.svc.Tasks(p)[0].Due
	listed := func(user string) int {
		w := n.svc.WorkListOn(user, day)
		return len(w.Overdue) + len(w.Today) + len(w.Upcoming)
	}
	if listed("dr-wang") != 1 {
		t.Fatalf("work list on the first due day: %d tasks, want 1", listed("dr-wang"))
	}
	if _, err := n.svc.PausePlan(background, doctor, plan.ID, "in hospital"); err != nil {
		t.Fatal(err)
	}
	if listed("dr-wang") != 0 || n.svc.Tasks(p)[0].Status != plans.StatusPaused {
		t.Errorf("paused plan still listed")
	}
	if _, err := n.svc.ResumePlan(background, doctor, plan.ID, ""); err != nil {
		t.Fatal(err)
	}
	nurseName := "nurse-zhao"
	if _, err := n.svc.ChangePlan(background, doctor, plan.ID, plans.PlanChange{Assignee: &nurseName}); err != nil {
		t.Fatal(err)
	}
	if listed("dr-wang") != 0 || listed("nurse-zhao") != 1 {
		t.Errorf("reassigned plan: dr-wang %d, nurse-zhao %d", listed("dr-wang"), listed("nurse-zhao"))
	}
	bad := "carrier pigeon"
	if _, err := n.svc.ChangePlan(background, doctor, plan.ID, plans.PlanChange{Method: &bad}); !errors.Is(err, plans.ErrInvalid) {
		t.Errorf("bad method: %v", err)
	}
	if _, err := n.svc.EndPlan(background, doctor, plan.ID, ""); !errors.Is(err, plans.ErrInvalid) {
		t.Errorf("end without a reason: %v", err)
	}
	ended, err := n.svc.EndPlan(background, doctor, plan.ID, "transferred to county hospital")
	if err != nil || ended.Status != plans.PlanEnded || ended.OpenTasks != 0 || len(ended.History) != 5 {
		t.Fatalf("ended: %+v %v", ended, err)
	}
	if _, err := n.svc.ResumePlan(background, doctor, plan.ID, ""); !errors.Is(err, plans.ErrClosed) {
		t.Errorf("resume after end: %v, want ErrClosed", err)
	}
	if listed("nurse-zhao") != 0 || n.svc.Tasks(p)[0].Status != plans.StatusCancelled {
		t.Errorf("ended plan's tasks: %+v", n.svc.Tasks(p)[0])
	}

	// Deceased ends every plan of the patient.
	q := n.patient(t)
	hypertension(t, n, q)
	if _, err := n.svc.Diagnosed(background, doctor, q, "E11"); err != nil {
		t.Fatal(err)
	}
	task := n.svc.Tasks(q)[0].ID
	res := attempt(t, n, nurse, task, "deceased", nil)
	if res.Task.Status != plans.StatusEnded || res.Step.Action != followup.ActionEndPlan {
		t.Errorf("deceased: %+v", res.Task)
	}
	for _, pl := range n.svc.Plans(q) {
		if pl.Status != plans.PlanEnded || pl.EndReason != "deceased" {
			t.Errorf("plan %s after deceased: %s %q", pl.ID, pl.Status, pl.EndReason)
		}
	}
}

// TestWorkListAndExtend: today, overdue and upcoming by due date;
// rescheduling moves a task; as months pass, Extend schedules further
// with the next Seq, and a reopened service reads the same lists.
func TestWorkListAndExtend(t *testing.T) {
	n := newNode(t, "clinic1")
	var pats []string
	for range 3 {
		p := n.patient(t)
		pats = append(pats, p)
		hypertension(t, n, p)
	}
	first := n.svc.Tasks(pats[0])[0]
	w := n.svc.WorkListOn("dr-wang", first.Due)
	if len(w.Today) != 3 || len(w.Overdue) != 0 || len(w.Upcoming) != 0 {
		t.Fatalf("on the first due day: %d today %d overdue %d upcoming", len(w.Today), len(w.Overdue), len(w.Upcoming))
	}
	later := first.Due.AddDays(3).String()
	if _, err := n.svc.ChangeTask(background, desk, first.ID, plans.TaskChange{Due: &later}); err != nil {
		t.Fatal(err)
	}
	w = n.svc.WorkListOn("dr-wang", first.Due)
	if len(w.Today) != 2 || len(w.Upcoming) != 1 || w.Upcoming[0].ID != first.ID {
		t.Errorf("after rescheduling one: %+v", w)
	}
	w = n.svc.WorkListOn("dr-wang", first.Due.AddDays(10))
	if len(w.Overdue) != 3 {
		t.Errorf("ten days on: %d overdue, want 3", len(w.Overdue))
	}
	if w := n.svc.WorkListOn("nobody", first.Due); len(w.Today)+len(w.Overdue)+len(w.Upcoming) != 0 {
		t.Errorf("a stranger's list: %+v", w)
	}
	n.clock.advance(62 * 24 * time.Hour)
	made, err := n.svc.Extend(background)
	if err != nil || made != 6 {
		t.Fatalf("extend two months on: %d tasks %v, want 2 for each of 3 plans", made, err)
	}
	tasks := n.svc.Tasks(pats[0])
	if len(tasks) != 15 || tasks[14].Seq != 15 {
		t.Errorf("after extending: %d tasks, last %+v", len(tasks), tasks[len(tasks)-1])
	}
	if made, _ := n.svc.Extend(background); made != 0 {
		t.Errorf("extend again: %d new tasks, want 0", made)
	}
	want := n.svc.WorkListOn("dr-wang", first.Due.AddDays(10))
	n.svc.Close()
	reopened := openService(t, n)
	if got := reopened.WorkListOn("dr-wang", first.Due.AddDays(10)); !sameIDs(got.Overdue, want.Overdue) || !sameIDs(got.Upcoming, want.Upcoming) {
		t.Errorf("reopened: %+v\nwant %+v", got, want)
	}
}

func sameIDs(a, b []plans.Task) bool {
	return slices.EqualFunc(a, b, func(x, y plans.Task) bool { return x.ID == y.ID && x.Due == y.Due && x.Status == y.Status })
}

// TestTemplates: an admin's template is checked whole, replaces the
// shipped one for new plans, and running plans keep their copy.
func TestTemplates(t *testing.T) {
	n := newNode(t, "clinic1")
	p := n.patient(t)
	old := hypertension(t, n, p)
	_, err := n.svc.PutTemplate(background, admin, "hypertension", []byte(`{"id":"hypertension","method":"fax","maxFailedAttempts":99}`))
	var fe *followup.Error
	if !errors.As(err, &fe) || len(fe.Problems) < 3 {
		t.Fatalf("bad template: %v, want every problem at once", err)
	}
	var shipped followup.Template
	for _, tm := range followup.DefaultTemplates() {
		if tm.ID == "hypertension" {
			shipped = tm
		}
	}
	shipped.MaxFailedAttempts = 1
	body := mustJSON(t, shipped)
	if _, err := n.svc.PutTemplate(background, admin, "diabetes-t2", body); !errors.Is(err, plans.ErrInvalid) {
		t.Errorf("id mismatch: %v", err)
	}
	info, err := n.svc.PutTemplate(background, admin, "hypertension", body)
	if err != nil || !info.Replaced || info.Template.MaxFailedAttempts != 1 {
		t.Fatalf("put: %+v %v", info, err)
	}
	// The old plan keeps three failures a rung.
	task := n.svc.Tasks(p)[0].ID
	if res := attempt(t, n, nurse, task, "no_answer", nil); res.Step.Rung != "patient" {
		t.Errorf("old plan escalated after one failure: %+v", res.Step)
	}
	q := n.patient(t)
	plan := hypertension(t, n, q)
	if plan.Version == old.Version {
		t.Errorf("new plan uses the old copy %s", plan.Version)
	}
	if res := attempt(t, n, nurse, n.svc.Tasks(q)[0].ID, "no_answer", nil); res.Step.Rung != "family" {
		t.Errorf("new plan: %+v, want family after one failure", res.Step)
	}
	if len(n.svc.Templates()) != 3 {
		t.Errorf("templates %d", len(n.svc.Templates()))
	}
}

// TestWritesAroundTheService: a task tombstoned through the store (the
// generic record API's DELETE) leaves the work list; the follower sees
// local commits the service did not make.
func TestWritesAroundTheService(t *testing.T) {
	n := newNode(t, "clinic1")
	p := n.patient(t)
	hypertension(t, n, p)
	first := n.svc.Tasks(p)[0]
	if _, err := n.st.Write(background, store.WriteRequest{Collection: plans.TasksCollection, Record: first.ID, MustExist: true,
		Edits: []store.Edit{{Kind: crdt.MutDelete}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deleted task to leave", func() bool {
		w := n.svc.WorkListOn("dr-wang", first.Due)
		return len(w.Today) == 0 && len(n.svc.Tasks(p)) == 12
	})
}
