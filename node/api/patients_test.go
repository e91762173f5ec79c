package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"carenode/node/api"
	"carenode/node/auth"
	"carenode/node/chart"
	"carenode/node/residentid"
	"carenode/node/staff"
	"carenode/node/store"
	"carenode/node/vault"
)

// clinic is a real store with the chart service and staff accounts behind
// the API, as node.Open wires them, on an httptest server.
type clinic struct {
	t       testing.TB
	store   *store.Store
	charts  *chart.Service
	staff   *staff.Directory
	srv     *httptest.Server
	control string
}

func fastStaff(s *store.Store, charts *chart.Service) staff.Config {
	lc := auth.DefaultLimiterConfig()
	return staff.Config{Records: s, OnUnlock: charts.Unlock, Hash: auth.TestParams(),
		Vault:  vault.Config{Argon2: vault.TestArgon2Params()},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Limiter: lc}
}

// newClinic opens a node with one admin account, "admin", already added.
func newClinic(t testing.TB, adjust ...func(*store.Options)) *clinic {
	t.Helper()
	c := openClinic(t, adjust...)
	if _, err := c.staff.Add(context.Background(), "admin", auth.RoleAdmin, []byte("admin-password")); err != nil {
		t.Fatal(err)
	}
	return c
}

// openClinic opens a node with no account yet.
func openClinic(t testing.TB, adjust ...func(*store.Options)) *clinic {
	t.Helper()
	path := filepath.Join(t.TempDir(), "carenode.db")
	opts := store.DefaultOptions(path, "nodeA")
	for _, f := range adjust {
		f(&opts)
	}
	opts.Create = true
	opts.Important = func(coll, f string) bool { return coll == chart.Collection && chart.Important(f) }
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := &clinic{t: t, store: s}
	c.start()
	return c
}

// start (re)builds the services over the store, as a node restart does:
// locked, with no sessions.
func (c *clinic) start() {
	c.t.Helper()
	if c.srv != nil {
		c.srv.Close()
	}
	c.charts = chart.New(chart.Config{Records: c.store, Node: "nodeA", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var err error
	if c.staff, err = staff.Open(fastStaff(c.store, c.charts)); err != nil {
		c.t.Fatal(err)
	}
	c.control = "control-token-for-tests"
	srv := api.New(api.Options{Records: c.store, Staff: c.staff, Patients: c.charts, ControlToken: c.control,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	c.srv = httptest.NewServer(srv)
	c.t.Cleanup(c.srv.Close)
}

type reply struct {
	code   int
	header http.Header
	body   map[string]any
	raw    []byte
}

// call sends a request; body is JSON-encoded unless it is a string.
func (c *clinic) call(method, path, token string, body any, headers ...string) reply {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.srv.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{code: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (c *clinic) login(name, password string) string {
	c.t.Helper()
	r := c.call("POST", "/api/v1/auth/login", "", map[string]string{"name": name, "password": password})
	if r.code != 200 {
		c.t.Fatalf("login %s: %d %s", name, r.code, r.raw)
	}
	return r.body["token"].(string)
}

func (c *clinic) addUser(token, name, role string) string {
	c.t.Helper()
	r := c.call("POST", "/api/v1/staff", token, map[string]string{"name": name, "role": role, "password": name + "-password"})
	if r.code != 201 {
		c.t.Fatalf("add %s: %d %s", name, r.code, r.raw)
	}
	return c.login(name, name+"-password")
}

func errCode(r reply) string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func errMessage(r reply) string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// idNumber makes a valid resident ID number for a birth date and sex.
func idNumber(t testing.TB, birth string, male bool, serial string) string {
	t.Helper()
	seq := serial[:2]
	if male {
		seq += "1"
	} else {
		seq += "2"
	}
	first := "110101" + strings.ReplaceAll(birth, "-", "") + seq
	c, err := residentid.CheckChar(first)
	if err != nil {
		t.Fatal(err)
	}
	return first + string(c)
}

func patientBody(t testing.TB, name, birth, phone, serial string) map[string]any {
	return map[string]any{"name": name, "sex": "male", "birthDate": birth, "idNumber": idNumber(t, birth, true, serial),
		"phones": []string{phone}, "address": "河南省兰考县城关镇东街1号"}
}

func TestRoutesNeedASignedInRole(t *testing.T) {
	c := newClinic(t)
	admin := c.login("admin", "admin-password")
	desk := c.addUser(admin, "desk1", "desk")
	kiosk := c.addUser(admin, "kiosk1", "kiosk")

	for _, tc := range []struct {
		name, method, path, token string
		want                      int
	}{
		{"no token", "GET", "/api/v1/patients?q=zs", "", 401},
		{"unknown token", "GET", "/api/v1/patients?q=zs", "nope", 401},
		{"healthz is open", "GET", "/healthz", "", 200},
		{"desk may search", "GET", "/api/v1/patients?q=zs", desk, 200},
		{"kiosk may not search", "GET", "/api/v1/patients?q=zs", kiosk, 403},
		{"desk may not use the generic record API", "GET", "/api/v1/records/patients", desk, 403},
		{"admin may use the generic record API", "GET", "/api/v1/records/patients", admin, 200},
		{"but not to write patients unsealed", "POST", "/api/v1/records/patients", admin, 403},
		{"nor accounts", "DELETE", "/api/v1/records/staff/admin", admin, 403},
		{"nor audit events", "PATCH", "/api/v1/records/audit/x.20260101", admin, 403},
		{"desk may not read the audit", "GET", "/api/v1/patients/x/audit", desk, 403},
		{"desk may not add staff", "POST", "/api/v1/staff", desk, 403},
		{"control token may not read patients", "GET", "/api/v1/patients?q=zs", c.control, 403},
		{"control token may read status", "GET", "/api/v1/status", c.control, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.call(tc.method, tc.path, tc.token, nil)
			if r.code != tc.want {
				t.Fatalf("%s %s: %d, want %d: %s", tc.method, tc.path, r.code, tc.want, r.raw)
			}
			if r.code >= 400 && (errCode(r) == "" || r.body["error"].(map[string]any)["zh"] == "") {
				t.Errorf("error without code or Chinese text: %s", r.raw)
			}
		})
	}
	if r := c.call("GET", "/healthz", "", nil); r.body["locked"] != false {
		t.Errorf("healthz of an unlocked node: %s", r.raw)
	}
	// The control token adds an account while the node serves (carenode
	// user add).
	if r := c.call("POST", "/api/v1/staff", c.control, map[string]string{"name": "nurse1", "role": "nurse", "password": "nurse1-password"}); r.code != 201 {
		t.Fatalf("add with the control token: %d %s", r.code, r.raw)
	}
	// Logout ends the session.
	if r := c.call("POST", "/api/v1/auth/logout", desk, nil); r.code != 204 {
		t.Fatalf("logout: %d", r.code)
	}
	if r := c.call("GET", "/api/v1/patients?q=zs", desk, nil); r.code != 401 {
		t.Fatalf("after logout: %d, want 401", r.code)
	}
}

func TestLoginFailuresAreRateLimited(t *testing.T) {
	c := newClinic(t)
	// An unknown name fails exactly like a wrong password.
	if r := c.call("POST", "/api/v1/auth/login", "", map[string]string{"name": "nobody", "password": "whatever1"}); r.code != 401 || errCode(r) != api.CodeBadLogin {
		t.Fatalf("unknown name: %d %s", r.code, r.raw)
	}
	var last reply
	for i := 0; i < 10; i++ {
		last = c.call("POST", "/api/v1/auth/login", "", map[string]string{"name": "admin", "password": "wrong-password"})
		if last.code == 429 {
			break
		}
		if last.code != 401 || errCode(last) != api.CodeBadLogin {
			t.Fatalf("attempt %d: %d %s, want 401 bad_login", i, last.code, last.raw)
		}
	}
	if last.code != 429 || last.header.Get("Retry-After") == "" {
		t.Fatalf("after 10 failures: %d (Retry-After %q), want 429 with Retry-After", last.code, last.header.Get("Retry-After"))
	}
	// Even the right password waits now.
	if r := c.call("POST", "/api/v1/auth/login", "", map[string]string{"name": "admin", "password": "admin-password"}); r.code != 429 {
		t.Fatalf("right password while limited: %d, want 429", r.code)
	}
}

func TestPatientContract(t *testing.T) {
	c := newClinic(t)
	admin := c.login("admin", "admin-password")
	desk := c.addUser(admin, "desk1", "desk")

	body := patientBody(t, "张三丰", "1950-03-07", "13812345678", "12")
	r := c.call("POST", "/api/v1/patients", desk, body)
	if r.code != 201 {
		t.Fatalf("register: %d %s", r.code, r.raw)
	}
	id, _ := r.body["id"].(string)
	if id == "" || r.header.Get("Location") != "/api/v1/patients/"+id {
		t.Fatalf("register: id %q Location %q", id, r.header.Get("Location"))
	}

	r = c.call("GET", "/api/v1/patients/"+id, desk, nil)
	if r.code != 200 || r.body["name"] != "张三丰" || r.body["idNumber"] != body["idNumber"] || r.header.Get("ETag") == "" {
		t.Fatalf("get: %d %s", r.code, r.raw)
	}

	for _, q := range []string{"张三丰", "三丰", "zhangsanfeng", "zsf", "5678", "13812345678", body["idNumber"].(string)} {
		r = c.call("GET", "/api/v1/patients?q="+q, desk, nil)
		list, _ := r.body["patients"].([]any)
		if r.code != 200 || len(list) != 1 || list[0].(map[string]any)["id"] != id || list[0].(map[string]any)["name"] != "张三丰" {
			t.Errorf("search %q: %d %s", q, r.code, r.raw)
		}
	}

	if r = c.call("POST", "/api/v1/patients/"+id+"/allergies", desk, map[string]string{"substance": "青霉素", "reaction": "皮疹", "severity": "重度"}); r.code != 201 {
		t.Fatalf("allergy: %d %s", r.code, r.raw)
	}
	if r = c.call("POST", "/api/v1/patients/"+id+"/diagnoses", desk, map[string]string{"code": "i10"}); r.code != 201 {
		t.Fatalf("diagnosis: %d %s", r.code, r.raw)
	}
	if r = c.call("POST", "/api/v1/patients/"+id+"/medications", desk, map[string]string{"name": "氨氯地平", "dose": "5 mg", "frequency": "qd"}); r.code != 201 {
		t.Fatalf("medication: %d %s", r.code, r.raw)
	}
	var chartOut chart.Patient
	if err := json.Unmarshal(r.raw, &chartOut); err != nil {
		t.Fatal(err)
	}
	if len(chartOut.Allergies) != 1 || chartOut.Allergies[0].Severity != "severe" || len(chartOut.Diagnoses) != 1 ||
		chartOut.Diagnoses[0].Code != "I10" || chartOut.Diagnoses[0].Title == "" || len(chartOut.Medications) != 1 {
		t.Fatalf("chart after adding: %s", r.raw)
	}
	tags := map[string]bool{}
	for _, tg := range chartOut.Tags {
		tags[tg.Tag] = tg.Auto
	}
	if !tags["hypertension"] || !tags["elderly"] {
		t.Errorf("auto tags %+v, want hypertension and elderly", chartOut.Tags)
	}

	// A tag given by hand sits beside the computed ones and can be removed.
	r = c.call("POST", "/api/v1/patients/"+id+"/tags", desk, map[string]string{"tag": "独居"})
	if r.code != 201 || !strings.Contains(string(r.raw), `{"tag":"独居","auto":false}`) {
		t.Fatalf("add tag: %d %s", r.code, r.raw)
	}
	if r = c.call("POST", "/api/v1/patients/"+id+"/tags", desk, map[string]string{"tag": strings.Repeat("长", 17)}); r.code != 400 {
		t.Fatalf("overlong tag: %d %s", r.code, r.raw)
	}
	if r = c.call("DELETE", "/api/v1/patients/"+id+"/tags/独居", desk, nil); r.code != 200 || strings.Contains(string(r.raw), "独居") {
		t.Fatalf("remove tag: %d %s", r.code, r.raw)
	}

	// Removing the diagnosis recomputes the tags.
	r = c.call("DELETE", "/api/v1/patients/"+id+"/diagnoses/"+chartOut.Diagnoses[0].ID, desk, nil)
	if r.code != 200 || strings.Contains(string(r.raw), `"hypertension"`) {
		t.Fatalf("remove diagnosis: %d %s", r.code, r.raw)
	}

	// A second registration with the same ID number is refused and shows
	// the existing chart; ?force=true registers anyway.
	dup := patientBody(t, "张三峰", "1950-03-07", "13900001111", "12")
	r = c.call("POST", "/api/v1/patients", desk, dup)
	if r.code != 409 || errCode(r) != api.CodeDuplicate || !strings.Contains(string(r.raw), id) {
		t.Fatalf("duplicate ID number: %d %s", r.code, r.raw)
	}
	r = c.call("POST", "/api/v1/patients?force=true", desk, dup)
	if r.code != 201 {
		t.Fatalf("forced registration: %d %s", r.code, r.raw)
	}
	dupID := r.body["id"].(string)

	r = c.call("GET", "/api/v1/duplicates", desk, nil)
	if r.code != 200 || !strings.Contains(string(r.raw), "sameIDNumber") {
		t.Fatalf("duplicates: %d %s", r.code, r.raw)
	}

	// Merge: the survivor keeps the allergy and medication of the other.
	r = c.call("POST", "/api/v1/patients/"+id+"/merge", desk, map[string]string{"into": dupID})
	if r.code != 200 {
		t.Fatalf("merge: %d %s", r.code, r.raw)
	}
	var merged chart.Patient
	_ = json.Unmarshal(r.raw, &merged)
	if merged.ID != dupID || len(merged.Allergies) != 1 || len(merged.Medications) != 1 || len(merged.Conflicts) == 0 {
		t.Fatalf("merged chart: %s", r.raw)
	}
	r = c.call("GET", "/api/v1/patients?q=zsf", desk, nil)
	if list := r.body["patients"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] != dupID {
		t.Fatalf("search after merge: %s", r.raw)
	}
	// The name conflict (张三丰 / 张三峰) is listed and resolved through the API.
	r = c.call("GET", "/api/v1/conflicts", desk, nil)
	if r.code != 200 || !strings.Contains(string(r.raw), dupID) || !strings.Contains(string(r.raw), `"fields":["name","phones"]`) {
		t.Fatalf("node-wide conflicts: %d %s", r.code, r.raw)
	}
	r = c.call("GET", "/api/v1/patients/"+id+"/conflicts", desk, nil)
	if r.code != 200 || !strings.Contains(string(r.raw), `"field":"name"`) {
		t.Fatalf("conflicts: %d %s", r.code, r.raw)
	}
	r = c.call("POST", "/api/v1/patients/"+dupID+"/conflicts/resolve", desk, map[string]any{"field": "name", "value": "张三丰"})
	if r.code != 200 || strings.Contains(string(r.raw), `"field":"name"`) {
		t.Fatalf("resolve: %d %s", r.code, r.raw)
	}
	if r = c.call("GET", "/api/v1/conflicts", desk, nil); !strings.Contains(string(r.raw), `"fields":["phones"]`) {
		t.Fatalf("conflict still listed after resolving: %s", r.raw)
	}

	// The audit trail names who did what; only an admin reads it.
	r = c.call("GET", "/api/v1/patients/"+dupID+"/audit", admin, nil)
	if r.code != 200 {
		t.Fatalf("audit: %d %s", r.code, r.raw)
	}
	actions := map[string]bool{}
	for _, e := range r.body["events"].([]any) {
		ev := e.(map[string]any)
		if ev["who"] != "desk1" && ev["who"] != "admin" {
			t.Errorf("audit event by %v", ev["who"])
		}
		actions[ev["action"].(string)] = true
	}
	for _, a := range []string{"register", "read", "allergy.add", "diagnosis.add", "merge", "merged-into", "resolve"} {
		if !actions[a] {
			t.Errorf("audit lacks %q: %v", a, actions)
		}
	}

	// Stale edits are refused.
	r = c.call("PATCH", "/api/v1/patients/"+dupID, desk, map[string]string{"address": "兰考县南彰镇"}, "If-Match", `"1.0@nodeA"`)
	if r.code != 412 || errCode(r) != api.CodeStale {
		t.Fatalf("stale PATCH: %d %s", r.code, r.raw)
	}
	cur := c.call("GET", "/api/v1/patients/"+dupID, desk, nil)
	r = c.call("PATCH", "/api/v1/patients/"+dupID, desk, map[string]string{"address": "兰考县南彰镇"}, "If-Match", cur.header.Get("ETag"))
	if r.code != 200 || r.body["address"] != "兰考县南彰镇" {
		t.Fatalf("PATCH: %d %s", r.code, r.raw)
	}
	// Card: issued, unique, found by search.
	r = c.call("POST", "/api/v1/patients/"+dupID+"/card", desk, nil)
	card, _ := r.body["cardNumber"].(string)
	if r.code != 201 || len(card) != 16 {
		t.Fatalf("card: %d %s", r.code, r.raw)
	}
	if r = c.call("GET", "/api/v1/patients?q="+card, desk, nil); !strings.Contains(string(r.raw), dupID) {
		t.Fatalf("search by card: %s", r.raw)
	}
}

func TestBadInputSpeaksTheClerksLanguage(t *testing.T) {
	c := newClinic(t)
	admin := c.login("admin", "admin-password")
	good := patientBody(t, "李四", "1980-01-02", "13700000000", "34")
	r := c.call("POST", "/api/v1/patients", admin, good)
	if r.code != 201 {
		t.Fatalf("register: %d %s", r.code, r.raw)
	}
	id := r.body["id"].(string)
	badID := patientBody(t, "王五", "1980-01-02", "13700000001", "35")
	badID["idNumber"] = badID["idNumber"].(string)[:17] + "0"
	if badID["idNumber"] == patientBody(t, "王五", "1980-01-02", "13700000001", "35")["idNumber"] {
		badID["idNumber"] = badID["idNumber"].(string)[:17] + "1"
	}
	for _, tc := range []struct {
		name, path string
		body       any
		field      string
	}{
		{"bad ID check character", "/api/v1/patients", badID, "idNumber"},
		{"ID number disagrees with the birth date", "/api/v1/patients", func() map[string]any {
			b := patientBody(t, "王五", "1980-01-02", "13700000001", "36")
			b["birthDate"] = "1981-01-02"
			return b
		}(), "idNumber"},
		{"impossible birth date", "/api/v1/patients", map[string]any{"name": "王五", "sex": "male", "birthDate": "1980-02-30"}, "birthDate"},
		{"not a phone", "/api/v1/patients", map[string]any{"name": "王五", "sex": "male", "birthDate": "1980-02-03", "phones": []string{"12345"}}, "phones[0]"},
		{"wrong type", "/api/v1/patients", `{"name": 7, "sex": "male", "birthDate": "1980-02-03"}`, "name"},
		{"oversized text", "/api/v1/patients", map[string]any{"name": "王五", "sex": "male", "birthDate": "1980-02-03", "notes": strings.Repeat("很", 3000)}, "notes"},
		{"unknown ICD-10 code", "/api/v1/patients/" + id + "/diagnoses", map[string]string{"code": "I17"}, "code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			zh := c.call("POST", tc.path, admin, tc.body)
			en := c.call("POST", tc.path, admin, tc.body, "Accept-Language", "en-US,en;q=0.9")
			if zh.code != 400 || en.code != 400 {
				t.Fatalf("status %d / %d, want 400: %s", zh.code, en.code, zh.raw)
			}
			if !strings.Contains(string(zh.raw), `"field":"`+tc.field+`"`) {
				t.Errorf("problems do not name %s: %s", tc.field, zh.raw)
			}
			if !hasHan(errMessage(zh)) || hasHan(errMessage(en)) {
				t.Errorf("message languages wrong:\nzh: %s\nen: %s", errMessage(zh), errMessage(en))
			}
		})
	}
	// Nothing of the refused requests was stored.
	if n := c.charts.Count(); n != 1 {
		t.Fatalf("%d patients after refused registrations, want 1", n)
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

func TestRestartedNodeIsLockedUntilSignIn(t *testing.T) {
	c := newClinic(t)
	admin := c.login("admin", "admin-password")
	c.addUser(admin, "desk1", "desk")
	r := c.call("POST", "/api/v1/patients", admin, patientBody(t, "欧阳娜娜", "1990-05-06", "13600000000", "56"))
	if r.code != 201 {
		t.Fatalf("register: %d %s", r.code, r.raw)
	}
	// A staff member added while the node is locked is pending: they
	// cannot unlock it, but get their key at their first sign-in once
	// someone else has.
	c.start()
	if r := c.call("POST", "/api/v1/staff", c.control, map[string]string{"name": "nurse1", "role": "nurse", "password": "nurse1-password"}); r.code != 201 || r.body["pending"] != true {
		t.Fatalf("add on a locked node: %d %s", r.code, r.raw)
	}
	if r := c.call("POST", "/api/v1/auth/login", "", map[string]string{"name": "nurse1", "password": "nurse1-password"}); r.code != 423 {
		t.Fatalf("pending account on a locked node: %d %s, want 423", r.code, r.raw)
	}
	desk := c.login("desk1", "desk1-password")
	// desk1 unlocked the node: search works again from the stored charts.
	r = c.call("GET", "/api/v1/patients?q=oynn", desk, nil)
	if r.code != 200 || len(r.body["patients"].([]any)) != 1 {
		t.Fatalf("search after unlock: %d %s", r.code, r.raw)
	}
	c.login("nurse1", "nurse1-password")
	// nurse1's wrap is stored now: after another restart, nurse1 alone
	// unlocks the node.
	c.start()
	r = c.call("GET", "/api/v1/patients?q=oynn", c.login("nurse1", "nurse1-password"), nil)
	if r.code != 200 || len(r.body["patients"].([]any)) != 1 {
		t.Fatalf("search after nurse unlock: %d %s", r.code, r.raw)
	}

}

func TestImportRosterWholeOrNothing(t *testing.T) {
	c := newClinic(t)
	admin := c.login("admin", "admin-password")
	good1 := idNumber(t, "1960-01-01", true, "11")
	good2 := idNumber(t, "1970-02-02", false, "22")
	csv := "姓名,性别,出生日期,身份证号,电话\n" +
		"赵一,男,1960-01-01," + good1 + ",13511112222\n" +
		"钱二,女,1970-02-02," + good2 + ",13522223333\n" +
		"孙三,男,1980-13-40,,12345\n"
	r := c.call("POST", "/api/v1/patients/import", admin, csv, "Content-Type", "text/csv")
	if r.code != 422 || !strings.Contains(string(r.raw), `"line":4`) {
		t.Fatalf("import with a bad row: %d %s", r.code, r.raw)
	}
	if n := c.charts.Count(); n != 0 {
		t.Fatalf("%d patients imported from a refused file", n)
	}
	r = c.call("POST", "/api/v1/patients/import?skipBadRows=true", admin, csv, "Content-Type", "text/csv")
	if r.code != 200 || r.body["imported"] != float64(2) {
		t.Fatalf("import skipping bad rows: %d %s", r.code, r.raw)
	}
	// A second import of the good rows finds them already registered, and
	// a new row with them is not imported either.
	again := strings.Join(strings.Split(csv, "\n")[:3], "\n") + "\n李六,男,1990-01-01,,13533334444\n"
	r = c.call("POST", "/api/v1/patients/import", admin, again, "Content-Type", "text/csv")
	if r.code != 422 || !strings.Contains(string(r.raw), "already_registered") {
		t.Fatalf("re-import: %d %s", r.code, r.raw)
	}
	if n := c.charts.Count(); n != 2 {
		t.Fatalf("%d patients after a refused re-import, want 2", n)
	}
	r = c.call("GET", "/api/v1/patients?q=qe", admin, nil)
	if len(r.body["patients"].([]any)) != 1 {
		t.Fatalf("imported patient not found: %s", r.raw)
	}
	r = c.call("GET", "/api/v1/patients/export", admin, nil)
	if r.code != 200 || strings.Count(string(r.raw), "\n") != 2 || !strings.Contains(string(r.raw), "钱二") {
		t.Fatalf("export: %d %s", r.code, r.raw)
	}
}

// Changing a password re-encrypts nothing, ends the account's sessions, and
// the new password unlocks a restarted node; an admin can reset one.
func TestPasswordChangeAndReset(t *testing.T) {
	c := newClinic(t)
	admin := c.login("admin", "admin-password")
	desk := c.addUser(admin, "desk1", "desk")
	if r := c.call("POST", "/api/v1/patients", desk, patientBody(t, "周七", "1970-07-07", "13800007777", "70")); r.code != 201 {
		t.Fatalf("register: %d %s", r.code, r.raw)
	}
	before := c.store.LogLen()
	r := c.call("POST", "/api/v1/auth/password", desk, map[string]string{"oldPassword": "wrong-one", "newPassword": "desk1-new-password"})
	if r.code != 401 {
		t.Fatalf("change with a wrong old password: %d %s", r.code, r.raw)
	}
	if r = c.call("POST", "/api/v1/auth/password", desk, map[string]string{"oldPassword": "desk1-password", "newPassword": "short"}); r.code != 400 {
		t.Fatalf("change to a weak password: %d %s", r.code, r.raw)
	}
	if r = c.call("POST", "/api/v1/auth/password", desk, map[string]string{"oldPassword": "desk1-password", "newPassword": "desk1-new-password"}); r.code != 204 {
		t.Fatalf("change: %d %s", r.code, r.raw)
	}
	if n := c.store.LogLen() - before; n != 1 {
		t.Fatalf("a password change wrote %d changes, want 1 (the account's record; no data re-encrypted)", n)
	}
	if r = c.call("GET", "/api/v1/patients?q=zq", desk, nil); r.code != 401 {
		t.Fatalf("old session after a password change: %d", r.code)
	}
	c.start()
	if r := c.call("POST", "/api/v1/auth/login", "", map[string]string{"name": "desk1", "password": "desk1-password"}); r.code != 401 {
		t.Fatalf("old password after restart: %d", r.code)
	}
	desk = c.login("desk1", "desk1-new-password")
	if r = c.call("GET", "/api/v1/patients?q=zq", desk, nil); len(r.body["patients"].([]any)) != 1 {
		t.Fatalf("search after unlocking with the new password: %s", r.raw)
	}
	admin = c.login("admin", "admin-password")
	if r = c.call("POST", "/api/v1/staff/desk1/password", desk, map[string]string{"password": "reset-password-1"}); r.code != 403 {
		t.Fatalf("desk resets a password: %d", r.code)
	}
	if r = c.call("POST", "/api/v1/staff/desk1/password", admin, map[string]string{"password": "reset-password-1"}); r.code != 204 {
		t.Fatalf("admin reset: %d %s", r.code, r.raw)
	}
	c.start()
	if r = c.call("GET", "/api/v1/patients?q=zq", c.login("desk1", "reset-password-1"), nil); len(r.body["patients"].([]any)) != 1 {
		t.Fatalf("search after unlocking with the reset password: %s", r.raw)
	}
}

// TestRecordsOpenUntilFirstAccount checks the generic record API's
// contract: no token is needed before the node has any account, an
// admin's is needed once it has one, and the patient routes want a
// sign-in throughout.
func TestRecordsOpenUntilFirstAccount(t *testing.T) {
	c := openClinic(t)
	if r := c.call("POST", "/api/v1/records/things", "", map[string]any{"fields": map[string]any{"name": "a"}}); r.code != http.StatusCreated {
		t.Fatalf("create before any account: %d %s", r.code, r.raw)
	}
	if r := c.call("GET", "/api/v1/records/things", "", nil); r.code != http.StatusOK {
		t.Fatalf("list before any account: %d %s", r.code, r.raw)
	}
	if r := c.call("GET", "/api/v1/patients?q=a", "", nil); r.code != http.StatusUnauthorized {
		t.Fatalf("patients before any account: %d %s, want 401", r.code, r.raw)
	}
	if r := c.call("POST", "/api/v1/records/"+chart.Collection, "", map[string]any{"fields": map[string]any{"name": "a"}}); r.code < 400 {
		t.Fatalf("a service collection through the generic API: %d %s", r.code, r.raw)
	}
	if _, err := c.staff.Add(context.Background(), "admin", auth.RoleAdmin, []byte("admin-password")); err != nil {
		t.Fatal(err)
	}
	if r := c.call("POST", "/api/v1/records/things", "", map[string]any{"fields": map[string]any{"name": "b"}}); r.code != http.StatusUnauthorized {
		t.Fatalf("create without a token once an account exists: %d %s, want 401", r.code, r.raw)
	}
}
