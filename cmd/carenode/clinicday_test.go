package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"carenode/devices/gsm"
	"carenode/devices/gsm/gsmsim"
	"carenode/devices/hl7"
	"carenode/devices/mllp"
	"carenode/devices/readingsink"
	"carenode/internal/logbuf"
	"carenode/node"
	"carenode/node/auth"
	"carenode/node/nodeconf"
	"carenode/node/outbox"
)

// clinicClock is the node's clock in the clinic-day test: it stands still
// until the test moves it, so a day of appointments and reminders runs in
// seconds and the same way every time.
type clinicClock struct{ ns atomic.Int64 }

func (c *clinicClock) Now() time.Time  { return time.Unix(0, c.ns.Load()) }
func (c *clinicClock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// TestClinicDay runs a day of a clinic through the HTTP API of a real node
// (bbolt file, loopback HTTP), with its SMS going out through a GSM modem
// simulated on a pseudo-terminal and a blood-pressure monitor sending HL7
// over MLLP: the desk books, the outbox reminds the day before and on the
// morning, the kiosk checks the patient in, the monitor's reading lands on
// the chart by its card number, the doctor diagnoses hypertension and the
// plan's tasks appear, the nurse fails to reach the patient three times
// and the task escalates, then reaches the patient whose pressure is high,
// the doctor is alerted and acknowledges, the summary goes out by SMS, the
// patient's survey complains about waiting and the case reaches the
// outpatient office, which resolves it (issue 7, "done when").
func TestClinicDay(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	day := func(d, h, m int) time.Time { return time.Date(2026, time.November, d, h, m, 0, 0, shanghai) }
	var clock clinicClock
	clock.Set(day(23, 8, 0)) // Monday

	// The modem on one end of a pty pair, the node's sender on the other.
	sim, appPath := startModem(t)
	sender, err := gsm.OpenSender(outbox.ModemConfig{Port: appPath, Baud: 115200, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sender.Close() })

	dir := filepath.Join(t.TempDir(), "clinic")
	if _, err := node.Init(node.InitOptions{Dir: dir, Name: "示范卫生院 Model Clinic", Role: nodeconf.RoleClinic}); err != nil {
		t.Fatal(err)
	}
	ocfg := outbox.Config{}
	n, err := node.Open(node.Config{Dir: dir, Now: clock.Now, Location: shanghai, FastHashes: true,
		Outbox: ocfg, SMSSender: sender, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, a := range []struct {
		name string
		role auth.Role
	}{{"admin", auth.RoleAdmin}, {"dr-wang", auth.RoleDoctor}, {"nurse-zhao", auth.RoleNurse},
		{"desk-li", auth.RoleDesk}, {"kiosk-1", auth.RoleKiosk}} {
		if _, err := n.Staff.Add(ctx, a.name, a.role, []byte("clinic-day-pass-"+a.name)); err != nil {
			t.Fatalf("add %s: %v", a.name, err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- n.Serve(serveCtx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	srv := &server{url: "http://" + ln.Addr().String(), stderr: new(logbuf.Buffer)}
	waitHealthy(t, srv.url)
	login := func(name string) *session { return srv.login(t, name, "clinic-day-pass-"+name) }
	admin := login("admin") // the first sign-in unlocks the node
	desk, kiosk, doctor, nurse := login("desk-li"), login("kiosk-1"), login("dr-wang"), login("nurse-zhao")

	// The MLLP listener for the monitor, storing into the node.
	mcfg := mllp.DefaultConfig("127.0.0.1:0")
	mcfg.Now = clock.Now
	msrv, err := mllp.New(mcfg, readingsink.New(n.Readings))
	if err != nil {
		t.Fatal(err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go msrv.Serve(serveCtx, mln)

	// sendSMS runs the outbox's sender as the clock says and returns what
	// the phone has received so far.
	sendSMS := func() []gsmsim.Message {
		t.Helper()
		if _, err := n.Outbox.Tick(ctx, clock.Now()); err != nil {
			t.Fatalf("outbox tick: %v", err)
		}
		return sim.Messages()
	}

	// Monday 08:00. The admin sets up the clinic; the desk registers the
	// patient and books Tuesday 09:00 with Dr Wang.
	admin.must(t, "POST", "/api/v1/departments", map[string]any{"id": "internal", "nameZh": "内科", "nameEn": "Internal medicine"}, http.StatusOK, nil)
	admin.must(t, "POST", "/api/v1/doctors", map[string]any{"id": "wang", "nameZh": "王建国", "nameEn": "Wang Jianguo", "department": "internal"}, http.StatusOK, nil)
	admin.must(t, "POST", "/api/v1/schedules", map[string]any{"doctor": "wang", "weekday": 2, "start": "08:00", "end": "11:00",
		"slotMinutes": 30, "capacity": 2}, http.StatusCreated, nil)
	var patient chartOut
	desk.must(t, "POST", "/api/v1/patients", map[string]any{"name": "周建华", "sex": "male", "birthDate": "1958-03-12",
		"phones": []string{"13812345678"}, "address": "云南省大理州宾川县金牛镇"}, http.StatusCreated, &patient)
	var card struct {
		CardNumber string `json:"cardNumber"`
	}
	desk.must(t, "POST", "/api/v1/patients/"+patient.ID+"/card", nil, http.StatusCreated, &card)
	var slots struct {
		Slots []struct {
			Key   string    `json:"key"`
			Start time.Time `json:"start"`
			Free  int       `json:"free"`
		} `json:"slots"`
	}
	desk.must(t, "GET", "/api/v1/slots?doctor=wang&from=2026-11-24&to=2026-11-24", nil, http.StatusOK, &slots)
	slot := ""
	for _, s := range slots.Slots {
		if s.Start.Equal(day(24, 9, 0)) && s.Free > 0 {
			slot = s.Key
		}
	}
	if slot == "" {
		t.Fatalf("no free slot at Tuesday 09:00 in %+v", slots)
	}
	var appt struct {
		ID      string `json:"id"`
		Channel string `json:"channel"`
		Status  string `json:"status"`
	}
	desk.must(t, "POST", "/api/v1/appointments", map[string]any{"patient": patient.ID, "slot": slot, "channel": "desk"}, http.StatusCreated, &appt)
	if appt.Channel != "desk" || appt.Status != "booked" {
		t.Fatalf("booked %+v", appt)
	}

	// Monday 09:00: the reminder the day before goes out through the modem.
	clock.Set(day(23, 9, 0))
	got := sendSMS()
	if len(got) != 1 || got[0].To != "+8613812345678" && got[0].To != "13812345678" {
		t.Fatalf("after the day-before reminder the phone has %+v", got)
	}
	if !strings.Contains(got[0].Text, "09:00") || got[0].Coding != gsm.DCSUCS2 {
		t.Errorf("reminder %q (coding %d): want the time, in Chinese (UCS-2)", got[0].Text, got[0].Coding)
	}

	// Tuesday 07:00 is in quiet hours: the morning reminder waits for 08:00.
	clock.Set(day(24, 7, 0))
	if got := sendSMS(); len(got) != 1 {
		t.Fatalf("a reminder went out in quiet hours: %+v", got)
	}
	clock.Set(day(24, 8, 0))
	if got := sendSMS(); len(got) != 2 {
		t.Fatalf("after quiet hours the phone has %d messages, want 2: %+v", len(got), got)
	}

	// 08:50: the kiosk checks the patient in.
	clock.Set(day(24, 8, 50))
	kiosk.must(t, "POST", "/api/v1/appointments/checkin", map[string]any{"patient": patient.ID}, http.StatusOK, &appt)
	if appt.Status != "checked_in" {
		t.Fatalf("after check-in the appointment is %q", appt.Status)
	}

	// 08:55: the monitor sends a reading naming the patient by card number.
	msg := strings.Join([]string{
		`MSH|^~\&|BPMON^0123456789ABCDEF^EUI-64||||20261124085500+0800||ORU^R01^ORU_R01|CLINICDAY1|P|2.6`,
		`PID|||` + card.CardNumber + `^^^Clinic^PI||Zhou^Jianhua`,
		`OBR|1|||182777000^monitoring of patient^SNOMED-CT|||20261124085500+0800`,
		`OBX|1|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.0.1.1|168|266016^MDC_DIM_MMHG^MDC|||||F|||20261124085500+0800`,
		`OBX|2|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC|1.0.1.2|102|266016^MDC_DIM_MMHG^MDC|||||F|||20261124085500+0800`,
	}, "\r")
	conn, err := net.Dial("tcp", mln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	frame, err := hl7.AppendFrame(nil, []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := conn.Write(frame); err != nil {
		t.Fatal(err)
	}
	ackFrame, err := hl7.NewReader(conn, hl7.DefaultMaxFrame).ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if ack, err := hl7.ParseACK(ackFrame); err != nil || ack.Code != hl7.AA || ack.ControlID != "CLINICDAY1" {
		t.Fatalf("ACK %q: %+v %v", ackFrame, ack, err)
	}
	var obs struct {
		Observations []struct {
			LOINC string  `json:"loinc"`
			Value float64 `json:"value"`
			Unit  string  `json:"unit"`
		} `json:"observations"`
	}
	nurse.must(t, "GET", "/api/v1/patients/"+patient.ID+"/observations", nil, http.StatusOK, &obs)
	seen := map[string]float64{}
	for _, o := range obs.Observations {
		seen[o.LOINC+" "+o.Unit] = o.Value
	}
	if seen["8480-6 mm[Hg]"] != 168 || seen["8462-4 mm[Hg]"] != 102 {
		t.Fatalf("the patient's observations are %+v, want systolic 168 and diastolic 102 mm[Hg]", obs)
	}

	// 09:10: the doctor diagnoses hypertension; the plan's tasks appear at once.
	clock.Set(day(24, 9, 10))
	doctor.must(t, "POST", "/api/v1/patients/"+patient.ID+"/diagnoses", map[string]any{"code": "I10"}, http.StatusCreated, nil)
	var tasks struct {
		Tasks []struct {
			ID     string `json:"id"`
			Due    string `json:"due"`
			Method string `json:"method"`
			Status string `json:"status"`
		} `json:"tasks"`
	}
	nurse.must(t, "GET", "/api/v1/tasks?patient="+patient.ID, nil, http.StatusOK, &tasks)
	if len(tasks.Tasks) < 4 || tasks.Tasks[0].Due == "" || tasks.Tasks[0].Method == "" || tasks.Tasks[0].Status == "" {
		t.Fatalf("after the I10 diagnosis the tasks are %+v", tasks)
	}
	task := tasks.Tasks[0].ID

	// The nurse calls three times and nobody answers: the task escalates
	// and stays open.
	type attemptOut struct {
		Task struct {
			Status string `json:"status"`
		} `json:"task"`
		Step struct {
			Action string `json:"action"`
			Rung   string `json:"rung"`
		} `json:"step"`
		Alerts []string `json:"alerts"`
	}
	var att attemptOut
	for i := range 3 {
		clock.Set(day(24, 10, 10*i))
		nurse.must(t, "POST", "/api/v1/tasks/"+task+"/attempts", map[string]any{"outcome": "no_answer"}, http.StatusCreated, &att)
	}
	if att.Step.Rung == "" || att.Step.Rung == "patient" || att.Task.Status == "done" {
		t.Fatalf("after three unanswered calls the task is %+v; want it escalated past the patient and still open", att)
	}

	// The family passes the message on; the patient calls back with a high
	// blood pressure. The doctor is alerted with the values.
	clock.Set(day(24, 11, 0))
	nurse.must(t, "POST", "/api/v1/tasks/"+task+"/attempts", map[string]any{"outcome": "reached",
		"answers": map[string]any{"systolic": 172, "diastolic": 104}}, http.StatusCreated, &att)
	if att.Task.Status != "done" || len(att.Alerts) == 0 {
		t.Fatalf("after the abnormal answer: %+v; want the task done and an alert raised", att)
	}
	var alerts struct {
		Alerts []struct {
			ID           string `json:"id"`
			To           string `json:"to"`
			Acknowledged bool   `json:"acknowledged"`
			Findings     []any  `json:"findings"`
		} `json:"alerts"`
	}
	doctor.must(t, "GET", "/api/v1/alerts", nil, http.StatusOK, &alerts)
	if len(alerts.Alerts) == 0 || alerts.Alerts[0].Acknowledged || alerts.Alerts[0].To != "dr-wang" || len(alerts.Alerts[0].Findings) == 0 {
		t.Fatalf("the doctor's alerts: %+v", alerts)
	}
	metricsHave := func(want string) bool {
		t.Helper()
		resp, err := http.Get(srv.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), want)
	}
	if !metricsHave("carenode_followup_alerts_unacknowledged 1\n") {
		t.Error("metrics do not count the unacknowledged alert")
	}
	doctor.must(t, "POST", "/api/v1/alerts/"+alerts.Alerts[0].ID+"/ack", map[string]any{"action": "加用氨氯地平 5mg，一周后复测血压"}, http.StatusOK, nil)
	doctor.must(t, "GET", "/api/v1/alerts", nil, http.StatusOK, &alerts)
	for _, a := range alerts.Alerts {
		if a.ID == att.Alerts[0] && !a.Acknowledged {
			t.Errorf("alert %s still unacknowledged after the doctor's action", a.ID)
		}
	}

	// The follow-up's summary goes to the patient by SMS.
	clock.Set(day(24, 11, 30))
	if got := sendSMS(); len(got) != 3 {
		t.Fatalf("after the follow-up the phone has %d messages, want 3 (two reminders and the summary): %+v", len(got), got)
	}

	// 11:40: the patient's survey at the kiosk complains about the wait;
	// a case opens for the outpatient office, which investigates and
	// resolves it.
	clock.Set(day(24, 11, 40))
	kiosk.must(t, "POST", "/api/v1/surveys", map[string]any{"visit": appt.ID, "patient": patient.ID,
		"department": "internal", "doctor": "wang", "channel": "kiosk",
		"scores":  map[string]int{"skill": 5, "attitude": 4, "environment": 4, "cost": 3, "waiting": 1},
		"comment": "排队等了快两个小时"}, http.StatusCreated, nil)
	var cases struct {
		Cases []struct {
			ID         string `json:"id"`
			Department string `json:"department"`
			Dimension  string `json:"dimension"`
			State      string `json:"state"`
		} `json:"cases"`
	}
	desk.must(t, "GET", "/api/v1/cases", nil, http.StatusOK, &cases)
	if len(cases.Cases) != 1 || cases.Cases[0].Dimension != "waiting" || cases.Cases[0].Department != "outpatient-office" || cases.Cases[0].State != "open" {
		t.Fatalf("cases after the survey: %+v; want one open waiting-time case for the outpatient office", cases)
	}
	cid := cases.Cases[0].ID
	desk.must(t, "POST", "/api/v1/cases/"+cid+"/investigate", map[string]any{}, http.StatusOK, nil)
	desk.must(t, "POST", "/api/v1/cases/"+cid+"/resolve", map[string]any{"response": "上午加开一个挂号窗口，并电话致歉"}, http.StatusOK, nil)
	desk.must(t, "GET", "/api/v1/cases", nil, http.StatusOK, &cases)
	if cases.Cases[0].State != "resolved" {
		t.Fatalf("the case is %q after resolving", cases.Cases[0].State)
	}

	// The outbox shows every message sent, each exactly once.
	var box struct {
		Messages []struct {
			Kind   string `json:"kind"`
			Status string `json:"status"`
		} `json:"messages"`
	}
	admin.must(t, "GET", "/api/v1/outbox", nil, http.StatusOK, &box)
	kinds := map[string]int{}
	for _, m := range box.Messages {
		if m.Status == "sent" {
			kinds[m.Kind]++
		}
	}
	if kinds["reminder"] != 2 || kinds["followup_summary"] != 1 {
		t.Errorf("sent messages by kind %v, want 2 reminders and 1 follow-up summary: %+v", kinds, box)
	}
	// The metrics count the acknowledged alert out and the sent messages in.
	for _, want := range []string{"carenode_followup_alerts_unacknowledged 0\n", `carenode_outbox_messages{status="sent"} 3` + "\n"} {
		if !metricsHave(want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	got = sim.Messages()
	if len(got) != 3 {
		t.Errorf("the phone got %d messages in all, want 3", len(got))
	}
	for _, m := range got {
		t.Logf("SMS to %s (%d parts): %s", m.To, m.Parts, m.Text)
	}
}

// waitHealthy waits until url/healthz answers.
func waitHealthy(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node at %s not up: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
