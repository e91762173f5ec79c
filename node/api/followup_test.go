package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carenode/node/api"
	"carenode/node/auth"
	"carenode/node/chart"
	"carenode/node/followup"
	"carenode/node/plans"
	"carenode/node/staff"
	"carenode/node/store"
)

// newFollowupClinic is newClinic with the follow-up service wired in, as
// node.Open is to wire it: a real store, charts, accounts and plans.
func newFollowupClinic(t *testing.T) (*clinic, *plans.Service) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts := store.DefaultOptions(filepath.Join(t.TempDir(), "carenode.db"), "nodeA")
	opts.Create = true
	opts.Important = func(coll, f string) bool { return coll == chart.Collection && chart.Important(f) }
	opts.Logger = quiet
	s, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := &clinic{t: t, store: s, control: "control-token-for-tests"}
	c.charts = chart.New(chart.Config{Records: s, Node: "nodeA", Logger: quiet})
	if c.staff, err = staff.Open(fastStaff(s, c.charts)); err != nil {
		t.Fatal(err)
	}
	pcfg := plans.DefaultConfig(s)
	pcfg.Logger, pcfg.Supervisor = quiet, "head-nurse"
	fu, err := plans.Open(pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fu.Close)
	c.srv = httptest.NewServer(api.New(api.Options{Records: s, Staff: c.staff, Patients: c.charts, Followup: fu,
		ControlToken: c.control, Logger: quiet}))
	t.Cleanup(c.srv.Close)
	if _, err := c.staff.Add(context.Background(), "admin", auth.RoleAdmin, []byte("admin-password")); err != nil {
		t.Fatal(err)
	}
	return c, fu
}

func list(r reply, key string) []map[string]any {
	var out []map[string]any
	for _, x := range r.body[key].([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

// TestFollowupContract runs issue 7's contract through HTTP: a diagnosis
// makes the plan and tasks, attempts escalate, an abnormal answer alerts
// the doctor, who acknowledges it.
func TestFollowupContract(t *testing.T) {
	c, _ := newFollowupClinic(t)
	admin := c.login("admin", "admin-password")
	doc := c.addUser(admin, "dr-wang", "doctor")
	nurse := c.addUser(admin, "nurse-zhao", "nurse")
	desk := c.addUser(admin, "desk1", "desk")
	r := c.call("POST", "/api/v1/patients", desk, patientBody(t, "张三丰", "1950-03-07", "13812345678", "12"))
	if r.code != 201 {
		t.Fatalf("register: %d %s", r.code, r.raw)
	}
	patient := r.body["id"].(string)

	// The service reads the wall clock: the plan starts on the day the
	// request was served, which is before or after midnight if one falls
	// during the call.
	dayBefore := followup.DateOf(time.Now())
	if r = c.call("POST", "/api/v1/patients/"+patient+"/diagnoses", doc, map[string]string{"code": "I10"}); r.code != 201 {
		t.Fatalf("diagnosis: %d %s", r.code, r.raw)
	}
	dayAfter := followup.DateOf(time.Now())
	r = c.call("GET", "/api/v1/tasks?patient="+patient, nurse, nil)
	tasks := list(r, "tasks")
	if r.code != 200 || len(tasks) != 13 {
		t.Fatalf("tasks after I10: %d %s", r.code, r.raw)
	}
	today := dayBefore
	if first, err := followup.ParseDate(tasks[0]["due"].(string)); err == nil && first == dayAfter.AddMonths(1) {
		today = dayAfter
	}
	for i, task := range tasks {
		due, err := followup.ParseDate(task["due"].(string))
		if err != nil || due != today.AddMonths(i+1) || task["method"] != []string{"home_visit", "phone", "phone"}[i%3] || task["status"] != "open" {
			t.Errorf("task %d: %v", i, task)
		}
	}
	first := tasks[0]["id"].(string)

	// The doctor's own work list (the default user) on the first due day.
	r = c.call("GET", "/api/v1/worklist?date="+tasks[0]["due"].(string), doc, nil)
	if r.code != 200 || len(r.body["today"].([]any)) != 1 || r.body["user"] != "dr-wang" {
		t.Errorf("worklist: %d %s", r.code, r.raw)
	}

	for i := range 3 {
		r = c.call("POST", "/api/v1/tasks/"+first+"/attempts", nurse, map[string]any{"outcome": "no_answer", "notes": "关机"})
		if r.code != 201 {
			t.Fatalf("attempt %d: %d %s", i, r.code, r.raw)
		}
	}
	if step := r.body["step"].(map[string]any); step["rung"] != "family" || !strings.Contains(step["text"].(map[string]any)["zh"].(string), "家属") {
		t.Errorf("after three no answers: %s", r.raw)
	}
	for _, bad := range []struct {
		body any
		code string
	}{
		{map[string]any{"outcome": "gone fishing"}, "invalid"},
		{map[string]any{"outcome": "reached", "answers": map[string]any{"systolic": "high"}}, "invalid"},
		{map[string]any{"outcome": "reached", "answers": map[string]any{"systolic": 140}, "extra": 1}, "bad_request"},
		{`{"outcome":`, "bad_request"},
	} {
		r = c.call("POST", "/api/v1/tasks/"+first+"/attempts", nurse, bad.body, "Accept-Language", "zh-CN")
		if r.code != 400 || errCode(r) != bad.code {
			t.Errorf("%v: %d %s", bad.body, r.code, r.raw)
		}
	}
	if r = c.call("POST", "/api/v1/tasks/nope.1/attempts", nurse, map[string]any{"outcome": "no_answer"}); r.code != 404 {
		t.Errorf("unknown task: %d %s", r.code, r.raw)
	}
	r = c.call("POST", "/api/v1/tasks/"+first+"/attempts", nurse,
		map[string]any{"outcome": "reached", "answers": map[string]any{"systolic": 172, "diastolic": 98, "adherence": "regular"}})
	if r.code != 201 || r.body["task"].(map[string]any)["status"] != "done" || len(r.body["alerts"].([]any)) != 1 {
		t.Fatalf("reached, abnormal: %d %s", r.code, r.raw)
	}

	r = c.call("GET", "/api/v1/alerts", doc, nil)
	alerts := list(r, "alerts")
	if r.code != 200 || len(alerts) != 1 || r.body["unacknowledged"] != 1.0 || !strings.Contains(alerts[0]["reason"].(map[string]any)["en"].(string), "172") {
		t.Fatalf("doctor's alerts: %d %s", r.code, r.raw)
	}
	id := alerts[0]["id"].(string)
	if r = c.call("POST", "/api/v1/alerts/"+id+"/ack", nurse, map[string]string{"action": "x"}); r.code != 403 {
		t.Errorf("nurse ack: %d", r.code)
	}
	if r = c.call("POST", "/api/v1/alerts/"+id+"/ack", doc, map[string]string{"action": ""}, "Accept-Language", "zh"); r.code != 400 || !hasHan(errMessage(r)) {
		t.Errorf("ack without action: %d %s", r.code, r.raw)
	}
	if r = c.call("POST", "/api/v1/alerts/"+id+"/ack", doc, map[string]string{"action": "电话通知患者，调整用药"}); r.code != 200 || r.body["acknowledged"] != true {
		t.Fatalf("ack: %d %s", r.code, r.raw)
	}
	if r = c.call("POST", "/api/v1/alerts/"+id+"/ack", doc, map[string]string{"action": "again"}); r.code != 409 {
		t.Errorf("second ack: %d %s", r.code, r.raw)
	}
	if r = c.call("GET", "/api/v1/tasks/"+first, nurse, nil); r.code != 200 || len(r.body["attempts"].([]any)) != 4 {
		t.Errorf("task detail: %d %s", r.code, r.raw)
	}
	if r = c.call("GET", "/api/v1/tasks", nurse, nil); r.code != 400 {
		t.Errorf("tasks without a patient: %d", r.code)
	}
}

// TestFollowupPlansAndTemplates: plans by hand, paused, changed, ended;
// templates listed and replaced by an admin only; role checks.
func TestFollowupPlansAndTemplates(t *testing.T) {
	c, fu := newFollowupClinic(t)
	admin := c.login("admin", "admin-password")
	doc := c.addUser(admin, "dr-wang", "doctor")
	desk := c.addUser(admin, "desk1", "desk")
	kiosk := c.addUser(admin, "kiosk1", "kiosk")
	r := c.call("POST", "/api/v1/patients", desk, patientBody(t, "李四", "1960-01-02", "13912345678", "34"))
	patient := r.body["id"].(string)

	r = c.call("POST", "/api/v1/plans", doc, map[string]any{"patient": patient, "template": "post-surgery", "start": "2026-05-01"})
	if r.code != 201 || r.body["template"] != "post-surgery" || r.body["doctor"] != "dr-wang" {
		t.Fatalf("plan by hand: %d %s", r.code, r.raw)
	}
	plan := r.body["id"].(string)
	if r = c.call("GET", "/api/v1/tasks?patient="+patient, doc, nil); len(list(r, "tasks")) != 4 || list(r, "tasks")[3]["due"] != "2026-05-15" {
		t.Errorf("post-surgery tasks: %s", r.raw)
	}
	r = c.call("POST", "/api/v1/plans", doc, map[string]any{"patient": patient, "template": "nope", "start": "May 1", "method": "fax"})
	if r.code != 400 || len(r.body["error"].(map[string]any)["problems"].([]any)) != 3 {
		t.Errorf("bad plan: %d %s", r.code, r.raw)
	}
	if r = c.call("POST", "/api/v1/plans", desk, map[string]any{"patient": patient, "template": "post-surgery"}); r.code != 403 {
		t.Errorf("desk may not start plans: %d", r.code)
	}
	if r = c.call("PATCH", "/api/v1/plans/"+plan, doc, map[string]any{"assignee": "nurse-zhao", "method": "video"}); r.code != 200 || r.body["assignee"] != "nurse-zhao" {
		t.Errorf("change: %d %s", r.code, r.raw)
	}
	if r = c.call("POST", "/api/v1/plans/"+plan+"/pause", doc, map[string]any{"reason": "住院"}); r.code != 200 || r.body["status"] != "paused" {
		t.Errorf("pause: %d %s", r.code, r.raw)
	}
	if r = c.call("POST", "/api/v1/plans/"+plan+"/resume", doc, nil); r.code != 200 || r.body["status"] != "active" {
		t.Errorf("resume: %d %s", r.code, r.raw)
	}
	if r = c.call("POST", "/api/v1/plans/"+plan+"/end", doc, nil); r.code != 400 {
		t.Errorf("end without reason: %d %s", r.code, r.raw)
	}
	if r = c.call("POST", "/api/v1/plans/"+plan+"/end", doc, map[string]any{"reason": "recovered"}); r.code != 200 || r.body["status"] != "ended" {
		t.Errorf("end: %d %s", r.code, r.raw)
	}
	if r = c.call("POST", "/api/v1/plans/"+plan+"/pause", doc, nil); r.code != 409 {
		t.Errorf("pause after end: %d %s", r.code, r.raw)
	}
	if r = c.call("POST", "/api/v1/plans/"+plan+"/explode", doc, nil); r.code != 404 {
		t.Errorf("unknown action: %d", r.code)
	}
	if r = c.call("GET", "/api/v1/plans?patient="+patient, desk, nil); r.code != 200 || len(list(r, "plans")) != 1 {
		t.Errorf("plans: %d %s", r.code, r.raw)
	}
	if r = c.call("GET", "/api/v1/plans/"+plan, kiosk, nil); r.code != 403 {
		t.Errorf("kiosk reads a plan: %d", r.code)
	}

	if r = c.call("GET", "/api/v1/templates", desk, nil); r.code != 200 || len(list(r, "templates")) != 3 {
		t.Errorf("templates: %d %s", r.code, r.raw)
	}
	var tmpl followup.Template
	for _, x := range fu.Templates() {
		if x.ID == "post-surgery" {
			tmpl = x.Template
		}
	}
	tmpl.MaxFailedAttempts = 2
	body, _ := json.Marshal(tmpl)
	if r = c.call("PUT", "/api/v1/templates/post-surgery", doc, string(body)); r.code != 403 {
		t.Errorf("doctor puts a template: %d", r.code)
	}
	r = c.call("PUT", "/api/v1/templates/post-surgery", admin, `{"id":"post-surgery","method":"fax"}`)
	if r.code != 400 || len(r.body["error"].(map[string]any)["problems"].([]any)) < 2 {
		t.Errorf("bad template: %d %s", r.code, r.raw)
	}
	if r = c.call("PUT", "/api/v1/templates/post-surgery", admin, string(body)); r.code != 200 || r.body["replaced"] != true {
		t.Errorf("put template: %d %s", r.code, r.raw)
	}
	if r = c.call("GET", "/api/v1/templates/post-surgery", desk, nil); r.code != 200 || r.body["template"].(map[string]any)["maxFailedAttempts"] != 2.0 {
		t.Errorf("get template: %d %s", r.code, r.raw)
	}
	if r = c.call("PUT", "/api/v1/templates/post-surgery", admin, strings.Repeat(" ", followup.MaxTemplateBytes+1)); r.code != 413 {
		t.Errorf("huge template: %d", r.code)
	}
}

// TestCareEvents: a procedure posted as an event starts the post-surgery
// plan (calls on days 1, 3, 7 and 14) once; bad events are refused in both
// languages; an unknown patient is 404.
func TestCareEvents(t *testing.T) {
	c, _ := newFollowupClinic(t)
	admin := c.login("admin", "admin-password")
	doc := c.addUser(admin, "dr-li", "doctor")
	r := c.call("POST", "/api/v1/patients", doc, patientBody(t, "王刚", "1970-05-05", "13900001111", "33"))
	if r.code != 201 {
		t.Fatalf("register: %d %s", r.code, r.raw)
	}
	patient := r.body["id"].(string)
	for _, tc := range []struct {
		body any
		code int
	}{
		{map[string]any{"event": "diagnosis", "code": "I10"}, 400},
		{map[string]any{"event": "procedure"}, 400},
		{map[string]any{"event": "surgery"}, 400},
		{map[string]any{"event": "procedure", "procedure": "surgery", "extra": 1}, 400},
	} {
		if r := c.call("POST", "/api/v1/patients/"+patient+"/events", doc, tc.body); r.code != tc.code || !hasHan(string(r.raw)) {
			t.Errorf("event %v: %d %s, want %d with Chinese", tc.body, r.code, r.raw, tc.code)
		}
	}
	if r := c.call("POST", "/api/v1/patients/nosuchpatient/events", doc, map[string]any{"event": "procedure", "procedure": "surgery"}); r.code != 404 {
		t.Errorf("unknown patient: %d %s", r.code, r.raw)
	}
	dayBefore := followup.DateOf(time.Now()) // the plan starts on this day or the next, should midnight fall during the call
	r = c.call("POST", "/api/v1/patients/"+patient+"/events", doc, map[string]any{"event": "procedure", "procedure": "surgery"})
	if r.code != 201 || len(list(r, "plans")) != 1 {
		t.Fatalf("surgery: %d %s", r.code, r.raw)
	}
	dayAfter := followup.DateOf(time.Now())
	r = c.call("GET", "/api/v1/tasks?patient="+patient, doc, nil)
	var dues []string
	for _, task := range list(r, "tasks") {
		dues = append(dues, task["due"].(string))
	}
	wantFrom := func(today followup.Date) string {
		return strings.Join([]string{today.AddDays(1).String(), today.AddDays(3).String(), today.AddDays(7).String(), today.AddDays(14).String()}, " ")
	}
	if got := strings.Join(dues, " "); got != wantFrom(dayBefore) && got != wantFrom(dayAfter) {
		t.Errorf("post-surgery tasks due %v, want %v (days 1, 3, 7, 14)", dues, wantFrom(dayBefore))
	}
	// The same event again starts nothing new.
	r = c.call("POST", "/api/v1/patients/"+patient+"/events", doc, map[string]any{"event": "procedure", "procedure": "surgery"})
	if r2 := c.call("GET", "/api/v1/tasks?patient="+patient, doc, nil); len(list(r2, "tasks")) != 4 {
		t.Errorf("a second surgery event made more tasks: %s / %s", r.raw, r2.raw)
	}
}
