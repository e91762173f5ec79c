package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/node"
	"carenode/node/api"
	"carenode/node/auth"
	"carenode/node/chart"
	"carenode/node/plans"
	"carenode/node/staff"
	"carenode/node/store"
	"carenode/node/vault"
)

// seedFollowup opens the node's store in dir (the node is not serving),
// gives one patient a hypertension plan as dr-wang and records three
// unanswered calls on its first task, which escalate it to the family.
// It returns the first task.
func seedFollowup(t *testing.T, s *store.Store) plans.Task {
	t.Helper()
	ctx := context.Background()
	patient := store.NewRecordID(time.Now())
	if _, err := s.Write(ctx, store.WriteRequest{Collection: chart.Collection, Record: patient, Create: true}); err != nil {
		t.Fatal(err)
	}
	cfg := plans.DefaultConfig(s)
	cfg.Logger = slog.New(slog.DiscardHandler)
	svc, err := plans.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	dr := chart.Actor{Name: "dr-wang", Role: auth.RoleDoctor}
	if _, err := svc.Diagnosed(ctx, dr, patient, "I10"); err != nil {
		t.Fatal(err)
	}
	first := svc.Tasks(patient)[0]
	for range 3 {
		if _, err := svc.Attempt(ctx, chart.Actor{Name: "nurse-zhao", Role: auth.RoleNurse}, first.ID, plans.AttemptInput{Outcome: "no_answer"}); err != nil {
			t.Fatal(err)
		}
	}
	return first
}

// TestWorklistOffline: the command reads a stopped node's store
// read-only and prints today's, overdue and upcoming tasks under
// headings in both languages.
func TestWorklistOffline(t *testing.T) {
	dir := initNode(t, "desk")
	id, _, err := node.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	opts := store.DefaultOptions(node.DBPath(dir), crdt.NodeID(id.ID))
	opts.Logger = slog.New(slog.DiscardHandler)
	s, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	first := seedFollowup(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	r := mustRun(t, "worklist", "--dir", dir, "--user", "dr-wang", "--date", first.Due.String())
	for _, want := range []string{"Work list of dr-wang for " + first.Due.String(), "随访工作清单", "Today / 今日: 1", "Overdue / 逾期: 0",
		first.ID, "escalated 已升级", "phone 电话", "家属"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("work list lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runEnv(t, []string{"LANG=en_US.UTF-8"}, "worklist", "--dir", dir, "--user", "dr-wang", "--date", first.Due.String())
	if !strings.Contains(r.stdout, "family member") || r.code != 0 {
		t.Errorf("next step in English under LANG=en:\n%s", r.stdout)
	}
	r = mustRun(t, "worklist", "--dir", dir, "--user", "dr-wang", "--date", first.Due.AddDays(40).String(), "--json")
	var w plans.WorkList
	if err := json.Unmarshal([]byte(r.stdout), &w); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if len(w.Overdue) != 2 || w.Overdue[0].ID != first.ID || w.Overdue[0].Status != plans.StatusEscalated || len(w.Today) != 0 {
		t.Errorf("forty days on: %+v", w)
	}
	if r := mustRun(t, "worklist", "--dir", dir, "--user", "nobody"); !strings.Contains(r.stdout, "Today / 今日: 0") {
		t.Errorf("a stranger's list:\n%s", r.stdout)
	}
	for _, args := range [][]string{
		{"worklist", "--dir", dir},
		{"worklist", "--dir", dir, "--user", "dr-wang", "--date", "tomorrow"},
	} {
		if r := run(t, args...); r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, r.code, exitUsage, r.stderr)
		}
	}
}

// TestWorklistServing: with a node serving (its serve.json names an API
// on loopback), the command asks it, signed in as the user.
func TestWorklistServing(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	opts := store.DefaultOptions(filepath.Join(t.TempDir(), "carenode.db"), "nodeA")
	opts.Create, opts.Logger = true, quiet
	s, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	first := seedFollowup(t, s)
	charts := chart.New(chart.Config{Records: s, Node: "nodeA", Logger: quiet})
	dirStaff, err := staff.Open(staff.Config{Records: s, OnUnlock: charts.Unlock, Hash: auth.TestParams(),
		Vault: vault.Config{Argon2: vault.TestArgon2Params()}, Logger: quiet, Limiter: auth.DefaultLimiterConfig()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, a := range []struct {
		name string
		role auth.Role
	}{{"admin", auth.RoleAdmin}, {"dr-wang", auth.RoleDoctor}} {
		if _, err := dirStaff.Add(ctx, a.name, a.role, []byte(a.name+"-password-1")); err != nil {
			t.Fatal(err)
		}
	}
	cfg := plans.DefaultConfig(s)
	cfg.Logger = quiet
	fu, err := plans.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fu.Close)
	const control = "control-token-for-worklist"
	srv := httptest.NewServer(api.New(api.Options{Records: s, Staff: dirStaff, Patients: charts, Followup: fu, ControlToken: control, Logger: quiet}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	rt := node.Runtime{PID: os.Getpid(), Addr: strings.TrimPrefix(srv.URL, "http://"), Node: "nodeA", Started: time.Now(), Control: control}
	b, _ := json.Marshal(rt)
	if err := os.WriteFile(node.RuntimePath(dir), b, 0o600); err != nil {
		t.Fatal(err)
	}

	day := first.Due.String()
	r := mustRun(t, "worklist", "--dir", dir, "--user", "dr-wang", "--date", day, "--password-file", passwordFile(t, "dr-wang-password-1"))
	if !strings.Contains(r.stdout, "Today / 今日: 1") || !strings.Contains(r.stdout, first.ID) {
		t.Errorf("through the API, signed in:\n%s", r.stdout)
	}
	if r := run(t, "worklist", "--dir", dir, "--user", "dr-wang", "--password-file", passwordFile(t, "wrong-password"), "--date", day); r.code == 0 {
		t.Errorf("wrong password accepted:\n%s", r.stdout)
	}
	// With the node's control token (no password), which may read work
	// lists (node/api/access.go).
	r = run(t, "worklist", "--dir", dir, "--user", "dr-wang", "--date", day)
	if r.code != 0 || !strings.Contains(r.stdout, "Today / 今日: 1") {
		t.Errorf("with the control token: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestFollowupEndToEnd runs a real `carenode serve`: a doctor records
// hypertension through the API, which makes the plan and its tasks at
// once; a nurse fails to reach the patient three times, then reaches
// them with a blood pressure of 176/102, which alerts the doctor, who
// acknowledges it; `carenode worklist` prints the list while the node
// serves (through its API) and after it stops (from the store).
func TestFollowupEndToEnd(t *testing.T) {
	dir := initNodeAdmin(t, "desk")
	srv := startServe(t, dir)
	admin := srv.login(t, "admin", adminPassword)
	for _, u := range [][2]string{{"dr-wang", "doctor"}, {"nurse-zhao", "nurse"}} {
		admin.must(t, http.MethodPost, "/api/v1/staff", map[string]string{"name": u[0], "role": u[1], "password": u[0] + "-pass-1"}, http.StatusCreated, nil)
	}
	doc, nurse := srv.login(t, "dr-wang", "dr-wang-pass-1"), srv.login(t, "nurse-zhao", "nurse-zhao-pass-1")
	p := doc.register(t, patientIn{Name: "王建国", Sex: "male", BirthDate: "1958-06-01", Phones: []string{"13700001234"}})
	doc.must(t, http.MethodPost, "/api/v1/patients/"+p.ID+"/diagnoses", map[string]string{"code": "I10"}, http.StatusCreated, nil)
	code, body := doc.do(t, http.MethodGet, "/api/v1/tasks?patient="+p.ID, nil)
	var tasks struct{ Tasks []plans.Task }
	if err := json.Unmarshal(body, &tasks); err != nil || code != http.StatusOK || len(tasks.Tasks) != 13 {
		t.Fatalf("tasks after I10: %d %s", code, body)
	}
	first := tasks.Tasks[0]
	for range 3 {
		nurse.must(t, http.MethodPost, "/api/v1/tasks/"+first.ID+"/attempts", map[string]any{"outcome": "no_answer"}, http.StatusCreated, nil)
	}
	var res plans.AttemptResult
	nurse.must(t, http.MethodPost, "/api/v1/tasks/"+first.ID+"/attempts",
		map[string]any{"outcome": "reached", "answers": map[string]any{"systolic": 176, "diastolic": 102}}, http.StatusCreated, &res)
	if res.Task.Status != plans.StatusDone || len(res.Alerts) != 1 {
		t.Fatalf("reached with 176/102: %+v", res)
	}
	var alerts struct {
		Alerts         []plans.Alert
		Unacknowledged int
	}
	doc.must(t, http.MethodGet, "/api/v1/alerts", nil, http.StatusOK, &alerts)
	if alerts.Unacknowledged != 1 || alerts.Alerts[0].Findings[0].Value != 176.0 {
		t.Fatalf("doctor's alerts: %+v", alerts)
	}
	doc.must(t, http.MethodPost, "/api/v1/alerts/"+alerts.Alerts[0].ID+"/ack", map[string]string{"action": "电话随访，加用氢氯噻嗪"}, http.StatusOK, nil)

	second := tasks.Tasks[1]
	r := run(t, "worklist", "--dir", dir, "--user", "dr-wang", "--date", second.Due.String())
	if r.code != 0 || !strings.Contains(r.stdout, "Today / 今日: 1") || !strings.Contains(r.stdout, second.ID) || strings.Contains(r.stdout, first.ID+" ") {
		t.Errorf("worklist while serving: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	serving := r.stdout
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := srv.wait(t); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
	if r := mustRun(t, "worklist", "--dir", dir, "--user", "dr-wang", "--date", second.Due.String()); r.stdout != serving {
		t.Errorf("worklist of the stopped node differs:\n%s\nwhile serving:\n%s", r.stdout, serving)
	}
}
