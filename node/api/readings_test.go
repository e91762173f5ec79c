package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carenode/devices"
	"carenode/devices/hl7"
	"carenode/devices/readingsink"
	"carenode/node/api"
	"carenode/node/readings"
	"carenode/node/store"
	"carenode/node/vault"
)

// withJoiners is the node's wrapping of the readings service with the MQTT
// broker's "asking to join" list.
type withJoiners struct {
	*readings.Service
	asking []api.JoinRequest
}

func (w withJoiners) AskingToJoin() []api.JoinRequest { return w.asking }

// deviceClinic is a clinic (chart service, staff, real store) with the
// readings service behind the API, unlocked, and a blood-pressure monitor
// that hands it messages as the MLLP listener would.
type deviceClinic struct {
	*clinic
	readings *readings.Service
	admin    string
}

func newDeviceClinic(t *testing.T) *deviceClinic {
	t.Helper()
	c := newClinic(t, func(o *store.Options) {
		imp := o.Important
		o.Important = func(coll, f string) bool {
			return (coll == readings.Collection && readings.Important(f)) || (imp != nil && imp(coll, f))
		}
	})
	cfg := readings.DefaultConfig(c.store)
	cfg.Patients = c.charts
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := readings.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	dk, err := vault.NewDataKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	box, err := vault.NewDropBox(dk)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Unlock(context.Background(), box); err != nil {
		t.Fatal(err)
	}
	c.srv.Close()
	srv := api.New(api.Options{Records: c.store, Staff: c.staff, Patients: c.charts, ControlToken: c.control,
		Readings: withJoiners{svc, []api.JoinRequest{{Device: "glucometer-7", Attempts: 3, First: time.Unix(0, 0), Last: time.Unix(60, 0)}}},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil))})
	c.srv = httptest.NewServer(srv)
	t.Cleanup(c.srv.Close)
	return &deviceClinic{clinic: c, readings: svc, admin: c.login("admin", "admin-password")}
}

// monitor sends the shared blood-pressure message with the given control
// id and PID-3 identifier ("" drops PID) from device dev.
func (d *deviceClinic) monitor(dev, control, pid, systolic string) {
	d.t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "readings", "testdata", "valid-bp-continua-wan.hl7v2"))
	if err != nil {
		d.t.Fatal(err)
	}
	msg := strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", "\r")
	msg = strings.Replace(msg, "|MSGID1234|", "|"+control+"|", 1)
	msg = strings.Replace(msg, "|1.0.1.1|120|", "|1.0.1.1|"+systolic+"|", 1)
	if pid == "" {
		msg = strings.Replace(msg, "PID|||789567^^^Imaginary Hospital^PI ||Doe^John^Joseph^^^^L^A|||M\r", "", 1)
	} else {
		msg = strings.Replace(msg, "789567^^^", pid+"^^^", 1)
	}
	m, err := hl7.Parse([]byte(msg))
	if err != nil {
		d.t.Fatal(err)
	}
	bt := devices.BatchFromHL7(m, dev)
	bt.Source, bt.Received = "mllp:127.0.0.1:5000", time.Now()
	if err := d.readings.Store(context.Background(), readingsink.Message(bt)); err != nil {
		d.t.Fatal(err)
	}
}

func items(t testing.TB, r reply, key string) []map[string]any {
	t.Helper()
	list, ok := r.body[key].([]any)
	if !ok {
		t.Fatalf("no %q list in %s", key, r.raw)
	}
	out := make([]map[string]any, len(list))
	for i, it := range list {
		out[i] = it.(map[string]any)
	}
	return out
}

func withLOINC(t testing.TB, list []map[string]any, loinc string) map[string]any {
	t.Helper()
	for _, it := range list {
		if it["loinc"] == loinc {
			return it
		}
	}
	t.Fatalf("no %s in %v", loinc, list)
	return nil
}

func TestReadingsContract(t *testing.T) {
	d := newDeviceClinic(t)
	reg := d.call("POST", "/api/v1/patients", d.admin, patientBody(t, "赵四", "1960-05-04", "13800138000", "441"))
	if reg.code != 201 {
		t.Fatalf("register: %d %s", reg.code, reg.raw)
	}
	pid := reg.body["id"].(string)
	idNum := patientBody(t, "赵四", "1960-05-04", "13800138000", "441")["idNumber"].(string)

	// Bound on arrival by the ID number in PID-3.
	d.monitor("bp-1", "C1", idNum, "142")
	obs := d.call("GET", "/api/v1/patients/"+pid+"/observations", d.admin, nil)
	if obs.code != 200 {
		t.Fatalf("observations: %d %s", obs.code, obs.raw)
	}
	sys := withLOINC(t, items(t, obs, "observations"), "8480-6")
	if sys["value"] != 142.0 || sys["unit"] != "mm[Hg]" || sys["rawValue"] != "142" ||
		sys["rawUnit"] != "266016^MDC_DIM_MMHG^MDC" || sys["device"] != "bp-1" || sys["received"] == nil || sys["boundBy"] != "identifier" {
		t.Fatalf("systolic: %v", sys)
	}

	// No identifier: the review queue, with a reason in both languages.
	d.monitor("bp-1", "C2", "", "118")
	rev := d.call("GET", "/api/v1/readings/review", d.admin, nil)
	if rev.code != 200 {
		t.Fatalf("review: %d %s", rev.code, rev.raw)
	}
	q := items(t, rev, "readings")
	w := withLOINC(t, q, "8480-6")
	reason, _ := w["reason"].(map[string]any)
	if w["rawValue"] != "118" || w["unit"] != "mm[Hg]" || w["device"] != "bp-1" || reason["code"] != readings.ReasonNoBinding || !hasHan(reason["zh"].(string)) {
		t.Fatalf("waiting reading: %v", w)
	}
	rid := w["id"].(string)

	// Detail: the raw message, opened because the node is unlocked.
	det := d.call("GET", "/api/v1/readings/"+rid, d.admin, nil)
	if det.code != 200 || !strings.HasPrefix(det.body["raw"].(string), "MSH|") {
		t.Fatalf("reading detail: %d %s", det.code, det.raw)
	}

	// Attach by chart id; the reading leaves the queue.
	bad := d.call("POST", "/api/v1/readings/"+rid+"/attach", d.admin, map[string]string{"patient": "nobody-at-all"}, "Accept-Language", "zh-CN")
	if bad.code != 404 || !hasHan(errMessage(bad)) {
		t.Fatalf("attach to nobody: %d %s", bad.code, bad.raw)
	}
	att := d.call("POST", "/api/v1/readings/"+rid+"/attach", d.admin, map[string]string{"patient": pid})
	if att.code != 200 || att.body["state"] != readings.StateAttached {
		t.Fatalf("attach: %d %s", att.code, att.raw)
	}
	if q := items(t, d.call("GET", "/api/v1/readings/review", d.admin, nil), "readings"); len(q) != 0 {
		t.Fatalf("queue after attach: %v", q)
	}
	obs = d.call("GET", "/api/v1/patients/"+pid+"/observations", d.admin, nil)
	if n := len(items(t, obs, "observations")); n != 6 {
		t.Fatalf("%d observations, want the 6 of two messages", n)
	}

	// Discard needs a reason.
	d.monitor("bp-1", "C3", "", "50")
	rid = items(t, d.call("GET", "/api/v1/readings/review", d.admin, nil), "readings")[0]["id"].(string)
	noReason := d.call("POST", "/api/v1/readings/"+rid+"/discard", d.admin, map[string]string{"reason": " "})
	if noReason.code != 400 || errCode(noReason) != api.CodeBadRequest || !hasHan(noReason.body["error"].(map[string]any)["zh"].(string)) {
		t.Fatalf("discard without reason: %d %s", noReason.code, noReason.raw)
	}
	dis := d.call("POST", "/api/v1/readings/"+rid+"/discard", d.admin, map[string]string{"reason": "袖带松脱"})
	if dis.code != 200 || dis.body["state"] != readings.StateDiscarded {
		t.Fatalf("discard: %d %s", dis.code, dis.raw)
	}

	// Measure now: the kiosk binds bp-2 to the patient for 10 minutes.
	kiosk := d.addUser(d.admin, "kiosk1", "kiosk")
	dev := url.PathEscape("0123456789ABCDEF^EUI-64")
	s := d.call("POST", "/api/v1/devices/"+dev+"/sessions", kiosk, map[string]any{"patient": pid, "minutes": 10})
	if s.code != 201 || s.body["patient"] != pid || s.body["by"] != "kiosk1" {
		t.Fatalf("session: %d %s", s.code, s.raw)
	}
	d.monitor("0123456789ABCDEF^EUI-64", "K1", "", "133")
	obs = d.call("GET", "/api/v1/patients/"+pid+"/observations", d.admin, nil)
	found := false
	for _, it := range items(t, obs, "observations") {
		found = found || (it["rawValue"] == "133" && it["boundBy"] == "session")
	}
	if !found {
		t.Fatalf("the kiosk's reading is not on the patient: %s", obs.raw)
	}
	if r := d.call("POST", "/api/v1/devices/"+dev+"/sessions", kiosk, map[string]any{"patient": pid, "minutes": 100000}); r.code != 400 {
		t.Fatalf("a session of 100000 minutes: %d %s", r.code, r.raw)
	}

	devs := d.call("GET", "/api/v1/devices", d.admin, nil)
	if devs.code != 200 {
		t.Fatalf("devices: %d %s", devs.code, devs.raw)
	}
	list := items(t, devs, "devices")
	if len(list) != 2 || list[0]["id"] != "0123456789ABCDEF^EUI-64" || list[0]["session"] == nil {
		t.Fatalf("devices: %s", devs.raw)
	}
	if asking := items(t, devs, "asking"); len(asking) != 1 || asking[0]["device"] != "glucometer-7" {
		t.Fatalf("asking to join: %s", devs.raw)
	}
}

func TestReadingsPermissions(t *testing.T) {
	d := newDeviceClinic(t)
	kiosk := d.addUser(d.admin, "kiosk1", "kiosk")
	desk := d.addUser(d.admin, "desk1", "desk")
	d.monitor("bp-1", "P1", "", "120")
	cases := []struct {
		method, path, token string
		body                any
		want                int
	}{
		{"GET", "/api/v1/readings/review", "", nil, http.StatusUnauthorized},
		{"GET", "/api/v1/readings/review", kiosk, nil, http.StatusForbidden},
		{"GET", "/api/v1/readings/review", desk, nil, http.StatusOK},
		{"GET", "/api/v1/devices", desk, nil, http.StatusForbidden},
		{"GET", "/api/v1/devices", d.admin, nil, http.StatusOK},
		{"GET", "/api/v1/devices/bp-1/sessions", kiosk, nil, http.StatusOK},
		{"POST", "/api/v1/readings/rd-none/attach", desk, map[string]string{"patient": "x"}, http.StatusNotFound},
		{"POST", "/api/v1/readings/rd-none/attach", desk, `{"patient": 7}`, http.StatusBadRequest},
		{"POST", "/api/v1/readings/rd-none/discard", desk, `{"reason":"x","extra":1}`, http.StatusBadRequest},
		{"POST", "/api/v1/readings/rd-none/discard", desk, map[string]string{"reason": "x"}, http.StatusNotFound},
		{"GET", "/api/v1/readings/rd-none", desk, nil, http.StatusNotFound},
		{"DELETE", "/api/v1/devices/bp-1/sessions/nope", kiosk, nil, http.StatusNotFound},
		{"GET", "/api/v1/patients/nope/observations", desk, nil, http.StatusNotFound},
	}
	for _, c := range cases {
		r := d.call(c.method, c.path, c.token, c.body)
		if r.code != c.want {
			t.Errorf("%s %s as %.8s: %d %s, want %d", c.method, c.path, c.token, r.code, r.raw, c.want)
		}
	}
	// Nothing any of that did changed the queue.
	if q := items(t, d.call("GET", "/api/v1/readings/review", desk, nil), "readings"); len(q) != 3 {
		t.Fatalf("queue holds %d rows, want the 3 of the one message", len(q))
	}
}
