package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestDevsimAgainstServe: carenode devsim plays a blood-pressure monitor over
// MLLP and a thermometer and glucometer over MQTT against a serving node
// (issue 6, "done when"). The monitor names the patient by card number, so
// its readings land on the chart; the MQTT devices have no account, so they
// are refused and listed as asking to join; once the admin approves the
// thermometer (keeping the password it offered), its readings arrive and,
// bound to nobody, wait in the review queue. Port status is in the API.
func TestDevsimAgainstServe(t *testing.T) {
	dir := initNodeAdmin(t, "devices")
	// Any free ports, which the node reports in its device status: ports
	// picked free by the test and given to the node could be taken (or be
	// the same port twice) before the node binds them.
	srv := startServeArgs(t, dir, "--mllp", "127.0.0.1:0", "--mqtt", "127.0.0.1:0")
	admin := srv.login(t, "admin", adminPassword)
	var status struct {
		MLLP *struct {
			Addr string `json:"addr"`
		} `json:"mllp"`
		MQTT *struct {
			Addr string `json:"addr"`
		} `json:"mqtt"`
	}
	admin.must(t, "GET", "/api/v1/devices/status", nil, http.StatusOK, &status)
	if status.MLLP == nil || status.MQTT == nil {
		t.Fatalf("device status %+v: want the MLLP listener and the broker", status)
	}
	mllpAddr, mqttAddr := status.MLLP.Addr, status.MQTT.Addr
	for _, a := range []string{mllpAddr, mqttAddr} {
		if host, port, err := net.SplitHostPort(a); err != nil || host != "127.0.0.1" || port == "0" {
			t.Fatalf("device status names %q: want 127.0.0.1 and the port the node got", a)
		}
	}
	p := admin.register(t, patientIn{Name: "孙丽", Sex: "female", BirthDate: "1962-07-07"})
	var card struct {
		CardNumber string `json:"cardNumber"`
	}
	admin.must(t, "POST", "/api/v1/patients/"+p.ID+"/card", nil, http.StatusCreated, &card)

	devsim := func() map[string]any {
		t.Helper()
		r := mustRun(t, "devsim", "--dir", dir, "--mllp", mllpAddr, "--mqtt", mqttAddr, "--patient", card.CardNumber,
			"--rate", "5", "--duration", "3s", "--faults", "0", "--seed", "3", "--json")
		var sum map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
			t.Fatalf("devsim summary %q: %v", r.stdout, err)
		}
		return sum
	}
	devsim()

	var obs struct {
		Observations []struct {
			LOINC string `json:"loinc"`
			Unit  string `json:"unit"`
		} `json:"observations"`
	}
	admin.must(t, "GET", "/api/v1/patients/"+p.ID+"/observations", nil, http.StatusOK, &obs)
	loincs := map[string]bool{}
	for _, o := range obs.Observations {
		loincs[o.LOINC+" "+o.Unit] = true
	}
	if !loincs["8480-6 mm[Hg]"] || !loincs["8462-4 mm[Hg]"] {
		t.Fatalf("the monitor's readings did not reach the patient named by card number: %+v", obs)
	}

	var asking struct {
		Asking []struct{ DeviceID string } `json:"asking"`
	}
	admin.must(t, "GET", "/api/v1/devices/asking", nil, http.StatusOK, &asking)
	var thermo string
	for _, a := range asking.Asking {
		if strings.Contains(a.DeviceID, "thermo") {
			thermo = a.DeviceID
		}
	}
	if thermo == "" {
		t.Fatalf("the thermometer is not asking to join: %+v", asking)
	}
	if code, body := admin.do(t, "POST", "/api/v1/devices/nosuchdevice/approve", map[string]any{}); code != http.StatusNotFound {
		t.Errorf("approving an unknown device: %d %s, want 404", code, body)
	}
	admin.must(t, "POST", "/api/v1/devices/"+thermo+"/approve", map[string]any{}, http.StatusOK, nil)
	devsim()

	var review struct {
		Readings []struct {
			DeviceID string `json:"device"`
			LOINC    string `json:"loinc"`
			Unit     string `json:"unit"`
		} `json:"readings"`
	}
	admin.must(t, "GET", "/api/v1/readings/review", nil, http.StatusOK, &review)
	found := false
	for _, r := range review.Readings {
		if r.DeviceID == thermo && r.LOINC == "8310-5" && r.Unit == "Cel" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no thermometer reading waits for review after approval: %+v", review)
	}

	// The status still names the listeners devsim reached.
	admin.must(t, "GET", "/api/v1/devices/status", nil, http.StatusOK, &status)
	if status.MLLP == nil || status.MLLP.Addr != mllpAddr || status.MQTT == nil || status.MQTT.Addr != mqttAddr {
		t.Errorf("device status %+v: want the MLLP listener at %s and the broker at %s", status, mllpAddr, mqttAddr)
	}

	// The same counts are in the metrics.
	resp, err := http.Get(srv.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`carenode_device_listener_events_total{kind="accepted",listener="mllp"}`,
		`carenode_device_listener_events_total{kind="refused",listener="mqtt"}`} {
		i := strings.Index(string(body), want)
		if i < 0 || strings.HasPrefix(string(body[i+len(want):]), " 0\n") {
			t.Errorf("metrics lack a non-zero %s", want)
		}
	}
}
