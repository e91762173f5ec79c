package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"carenode/node/api"
	"carenode/node/auth"
	"carenode/node/chart"
	"carenode/node/education"
	"carenode/node/outbox"
	"carenode/node/staff"
	"carenode/node/store"
	"carenode/node/survey"
	"carenode/node/vault"
)

// memQueue keeps one message per key, as the outbox does.
type memQueue struct {
	mu   sync.Mutex
	msgs map[string]outbox.Message
}

func (q *memQueue) Queue(_ context.Context, m outbox.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.msgs == nil {
		q.msgs = map[string]outbox.Message{}
	}
	if _, ok := q.msgs[m.Key]; !ok {
		q.msgs[m.Key] = m
	}
	return nil
}

func (q *memQueue) has(key string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.msgs[key]
	return ok
}

// feedbackClinic is newClinic with the survey and education services
// behind the API, wired as node.Open wires them: the data key unlocks the
// charts and the surveys together.
type feedbackClinic struct {
	*clinic
	surveys   *survey.Service
	education *education.Service
	queue     *memQueue
}

func newFeedbackClinic(t *testing.T) *feedbackClinic {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts := store.DefaultOptions(filepath.Join(t.TempDir(), "carenode.db"), "nodeA")
	opts.Create = true
	opts.Important = func(coll, f string) bool { return coll == chart.Collection && chart.Important(f) }
	opts.Logger = quiet
	st, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clinic{t: t, store: st}
	c.charts = chart.New(chart.Config{Records: st, Node: "nodeA", Logger: quiet})
	q := &memQueue{}
	scfg := survey.DefaultConfig(st)
	scfg.Queue, scfg.Logger = q, quiet
	surveys, err := survey.New(scfg)
	if err != nil {
		t.Fatal(err)
	}
	ecfg := education.DefaultConfig(st, c.charts)
	ecfg.Queue, ecfg.Logger = q, quiet
	edu, err := education.New(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	sc := fastStaff(st, c.charts)
	sc.OnUnlock = func(s *vault.Sealer) error {
		if err := c.charts.Unlock(s); err != nil {
			return err
		}
		surveys.Unlock(s)
		return nil
	}
	if c.staff, err = staff.Open(sc); err != nil {
		t.Fatal(err)
	}
	c.control = "control-token-for-tests"
	c.srv = httptest.NewServer(api.New(api.Options{Records: st, Staff: c.staff, Patients: c.charts, ControlToken: c.control,
		Feedback: api.NewFeedback(surveys, edu), Logger: quiet}))
	t.Cleanup(c.srv.Close)
	if _, err := c.staff.Add(context.Background(), "admin", auth.RoleAdmin, []byte("admin-password")); err != nil {
		t.Fatal(err)
	}
	return &feedbackClinic{clinic: c, surveys: surveys, education: edu, queue: q}
}

func surveyBody(visit string, skill, attitude, environment, cost, waiting int, comment string) map[string]any {
	return map[string]any{"visit": visit, "department": "internal-medicine", "doctor": "dr-wang", "channel": "kiosk",
		"scores":  map[string]int{"skill": skill, "attitude": attitude, "environment": environment, "cost": cost, "waiting": waiting},
		"comment": comment}
}

func wantCode(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.code != status || errCode(r) != code {
		t.Fatalf("want %d %s, got %d %s", status, code, r.code, r.raw)
	}
	if e, _ := r.body["error"].(map[string]any); e["zh"] == "" || e["message"] == "" {
		t.Errorf("error without both languages: %s", r.raw)
	}
}

func TestSurveyAndCaseRoutes(t *testing.T) {
	c := newFeedbackClinic(t)
	admin := c.login("admin", "admin-password")
	kiosk := c.addUser(admin, "kiosk1", "kiosk")
	desk := c.addUser(admin, "desk1", "desk")
	nurse := c.addUser(admin, "nurse1", "nurse")
	doctor := c.addUser(admin, "doctor1", "doctor")

	// The kiosk takes a survey with a complaint about waiting.
	r := c.call("POST", "/api/v1/surveys", kiosk, surveyBody("visit-1", 5, 4, 4, 3, 1, "排队两个小时"))
	if r.code != 201 {
		t.Fatalf("submit: %d %s", r.code, r.raw)
	}
	cases := r.body["cases"].([]any)
	if len(cases) != 1 || cases[0].(map[string]any)["department"] != "outpatient-office" || cases[0].(map[string]any)["state"] != "open" {
		t.Fatalf("cases opened: %s", r.raw)
	}
	if sv := r.body["survey"].(map[string]any); sv["by"] != "kiosk1" || sv["hasComment"] != true {
		t.Errorf("survey: %v", sv)
	}
	caseID := cases[0].(map[string]any)["id"].(string)
	if caseID != "visit-1.waiting" {
		t.Errorf("case id %s", caseID)
	}

	for _, tc := range []struct {
		name     string
		body     any
		lang     string
		status   int
		code     string
		contains string
	}{
		{"score out of range", surveyBody("visit-2", 6, 4, 4, 3, 1, ""), "en", 400, api.CodeInvalid, "1 to 5"},
		{"same in Chinese", surveyBody("visit-2", 6, 4, 4, 3, 1, ""), "zh-CN", 400, api.CodeInvalid, "1–5 分"},
		{"missing dimension", map[string]any{"visit": "v3", "department": "d", "doctor": "x", "channel": "kiosk", "scores": map[string]int{"skill": 3}}, "en", 400, api.CodeInvalid, "waiting time"},
		{"not JSON", "{", "en", 400, api.CodeInvalid, "not a JSON object"},
		{"visit surveyed twice", surveyBody("visit-1", 5, 5, 5, 5, 5, ""), "en", 409, api.CodeConflict, "already has a survey"},
	} {
		r := c.call("POST", "/api/v1/surveys", kiosk, tc.body, "Accept-Language", tc.lang)
		wantCode(t, r, tc.status, tc.code)
		if !strings.Contains(errMessage(r), tc.contains) {
			t.Errorf("%s: message %q lacks %q", tc.name, errMessage(r), tc.contains)
		}
	}
	if r := c.call("POST", "/api/v1/surveys", kiosk, surveyBody("visit-2", 6, 4, 4, 3, 1, "")); r.body["error"].(map[string]any)["problems"] == nil {
		t.Errorf("validation error without problems: %s", r.raw)
	}

	// Roles.
	for _, tc := range []struct {
		name, method, path, token string
		want                      int
	}{
		{"kiosk may not see cases", "GET", "/api/v1/cases", kiosk, 403},
		{"nurse may not see cases", "GET", "/api/v1/cases", nurse, 403},
		{"desk may see cases", "GET", "/api/v1/cases", desk, 200},
		{"desk may not read reports", "GET", "/api/v1/reports/satisfaction", desk, 403},
		{"doctor reads reports", "GET", "/api/v1/reports/satisfaction", doctor, 200},
		{"kiosk may not read the library", "GET", "/api/v1/education", kiosk, 403},
		{"no token", "POST", "/api/v1/surveys", "", 401},
	} {
		if r := c.call(tc.method, tc.path, tc.token, nil); r.code != tc.want {
			t.Errorf("%s: %d, want %d: %s", tc.name, r.code, tc.want, r.raw)
		}
	}

	// Filters.
	for _, tc := range []struct {
		query string
		n     int
	}{{"", 1}, {"?department=outpatient-office", 1}, {"?department=billing", 0}, {"?state=open", 1}, {"?state=resolved", 0}} {
		r := c.call("GET", "/api/v1/cases"+tc.query, desk, nil)
		if r.code != 200 || len(r.body["cases"].([]any)) != tc.n {
			t.Errorf("cases%s: %d %s, want %d cases", tc.query, r.code, r.raw, tc.n)
		}
	}
	wantCode(t, c.call("GET", "/api/v1/cases?state=closed", desk, nil), 400, api.CodeInvalid)

	// open -> investigating -> resolved.
	if r := c.call("POST", "/api/v1/cases/"+caseID+"/investigate", desk, nil); r.code != 200 || r.body["state"] != "investigating" {
		t.Fatalf("investigate: %d %s", r.code, r.raw)
	}
	wantCode(t, c.call("POST", "/api/v1/cases/"+caseID+"/investigate", desk, nil), 409, api.CodeConflict)
	wantCode(t, c.call("POST", "/api/v1/cases/"+caseID+"/resolve", desk, map[string]string{"response": " "}), 400, api.CodeInvalid)
	wantCode(t, c.call("POST", "/api/v1/cases/"+caseID+"/resolve", desk, map[string]string{"reply": "x"}), 400, api.CodeBadRequest)
	wantCode(t, c.call("POST", "/api/v1/cases/nope.waiting/resolve", desk, map[string]string{"response": "x"}), 404, api.CodeNotFound)
	r = c.call("POST", "/api/v1/cases/"+caseID+"/resolve", desk, map[string]string{"response": "已增加上午挂号窗口。"})
	if r.code != 200 || r.body["state"] != "resolved" {
		t.Fatalf("resolve: %d %s", r.code, r.raw)
	}
	if res := r.body["resolution"].(map[string]any); res["response"] != "已增加上午挂号窗口。" || res["by"] != "desk1" {
		t.Errorf("resolution %v", res)
	}
	wantCode(t, c.call("POST", "/api/v1/cases/"+caseID+"/resolve", desk, map[string]string{"response": "again"}), 409, api.CodeConflict)

	// The report counts the survey and the resolved case.
	cst := time.FixedZone("CST", 8*3600) // the service's default zone
	from, to := time.Now().In(cst).AddDate(0, 0, -1).Format(time.DateOnly), time.Now().In(cst).AddDate(0, 0, 1).Format(time.DateOnly)
	r = c.call("GET", "/api/v1/reports/satisfaction?from="+from+"&to="+to, doctor, nil)
	if r.code != 200 {
		t.Fatalf("report: %d %s", r.code, r.raw)
	}
	scores := r.body["scores"].([]any)
	if len(scores) != 1 || scores[0].(map[string]any)["department"] != "internal-medicine" ||
		scores[0].(map[string]any)["mean"].(map[string]any)["waiting"] != 1.0 {
		t.Errorf("report scores %s", r.raw)
	}
	if res := r.body["resolution"].(map[string]any); res["count"] != 1.0 {
		t.Errorf("report resolution %s", r.raw)
	}
	wantCode(t, c.call("GET", "/api/v1/reports/satisfaction?from=2026-13-01", doctor, nil), 400, api.CodeBadRequest)
	wantCode(t, c.call("GET", "/api/v1/reports/satisfaction?from=2026-03-02&to=2026-03-01", doctor, nil), 400, api.CodeBadRequest)
}

// TestSurveyCommentNeedsUnlock: a node restarted locked takes surveys
// without comments; one with a comment is refused, and nothing is stored.
func TestSurveyCommentNeedsUnlock(t *testing.T) {
	c := newFeedbackClinic(t)
	admin := c.login("admin", "admin-password")
	kiosk := c.addUser(admin, "kiosk1", "kiosk")
	c.surveys.Lock() // as after a restart, before anyone signs in with a password
	wantCode(t, c.call("POST", "/api/v1/surveys", kiosk, surveyBody("v1", 1, 1, 1, 1, 1, "太差")), 423, api.CodeLocked)
	if r := c.call("GET", "/api/v1/cases", admin, nil); len(r.body["cases"].([]any)) != 0 {
		t.Errorf("a refused survey opened cases: %s", r.raw)
	}
	if r := c.call("POST", "/api/v1/surveys", kiosk, surveyBody("v1", 1, 1, 1, 1, 1, "")); r.code != 201 || len(r.body["cases"].([]any)) != 5 {
		t.Errorf("survey without a comment on a locked node: %d %s", r.code, r.raw)
	}
}

func TestEducationRoutes(t *testing.T) {
	c := newFeedbackClinic(t)
	admin := c.login("admin", "admin-password")
	doctor := c.addUser(admin, "doctor1", "doctor")
	nurse := c.addUser(admin, "nurse1", "nurse")
	desk := c.addUser(admin, "desk1", "desk")

	r := c.call("GET", "/api/v1/education", nurse, nil)
	if r.code != 200 || len(r.body["articles"].([]any)) != 5 {
		t.Fatalf("library: %d %s", r.code, r.raw)
	}

	// A patient of 70 with hypertension.
	body := patientBody(t, "王建国", "1956-04-01", "13800001111", "01")
	r = c.call("POST", "/api/v1/patients", desk, body)
	if r.code != 201 {
		t.Fatalf("register: %d %s", r.code, r.raw)
	}
	id := r.body["id"].(string)
	if r := c.call("POST", "/api/v1/patients/"+id+"/diagnoses", doctor, map[string]string{"code": "I10"}); r.code != 201 {
		t.Fatalf("diagnose: %d %s", r.code, r.raw)
	}
	r = c.call("GET", "/api/v1/patients/"+id+"/education", nurse, nil)
	matched, _ := r.body["matched"].([]any)
	if r.code != 200 || len(matched) != 1 || matched[0].(map[string]any)["id"] != "hypertension-diet" || matched[0].(map[string]any)["sent"] != false {
		t.Fatalf("patient education: %d %s", r.code, r.raw)
	}

	// Send by hand, once.
	send := "/api/v1/patients/" + id + "/education/hypertension-diet/send"
	wantCode(t, c.call("POST", send, desk, nil), 403, api.CodeForbidden)
	r = c.call("POST", send, nurse, nil)
	if r.code != 201 || r.body["key"] != "education/"+id+"/hypertension-diet" || r.body["by"] != "nurse1" {
		t.Fatalf("send: %d %s", r.code, r.raw)
	}
	if !c.queue.has("education/" + id + "/hypertension-diet") {
		t.Error("not queued")
	}
	wantCode(t, c.call("POST", send, nurse, nil), 409, api.CodeConflict)
	wantCode(t, c.call("POST", "/api/v1/patients/"+id+"/education/no-such/send", nurse, nil), 404, api.CodeNotFound)
	wantCode(t, c.call("POST", "/api/v1/patients/nobody/education/hypertension-diet/send", nurse, nil), 404, api.CodeNotFound)
	r = c.call("GET", "/api/v1/patients/"+id+"/education", nurse, nil)
	if sent, _ := r.body["sent"].([]any); len(sent) != 1 {
		t.Errorf("sent list: %s", r.raw)
	}

	// An admin adds an article; a doctor may not.
	article, err := os.ReadFile("../education/testdata/asthma-inhaler.json")
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.call("POST", "/api/v1/education", doctor, string(article)), 403, api.CodeForbidden)
	r = c.call("POST", "/api/v1/education", admin, string(article))
	if r.code != 201 || r.body["addedBy"] != "admin" || r.body["shipped"] != false {
		t.Fatalf("add article: %d %s", r.code, r.raw)
	}
	wantCode(t, c.call("POST", "/api/v1/education", admin, string(article)), 409, api.CodeConflict)
	bad := strings.Replace(string(article), `"source"`, `"origin"`, 1)
	wantCode(t, c.call("POST", "/api/v1/education", admin, bad), 400, api.CodeInvalid)
	r = c.call("POST", "/api/v1/education", admin, map[string]any{"id": "x y"}, "Accept-Language", "zh")
	wantCode(t, r, 400, api.CodeInvalid)
	if !strings.Contains(errMessage(r), "文章编号") {
		t.Errorf("Chinese message: %s", r.raw)
	}
	if r := c.call("GET", "/api/v1/education", nurse, nil); len(r.body["articles"].([]any)) != 6 {
		t.Errorf("library after adding: %s", r.raw)
	}
}
