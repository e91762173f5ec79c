package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"carenode/crdt"
	"carenode/internal/testclock"
	"carenode/node/api"
	"carenode/node/auth"
	"carenode/node/booking"
	"carenode/node/chart"
	"carenode/node/staff"
	"carenode/node/store"
)

var bkShanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

func bkAt(day, hhmm string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hhmm, bkShanghai)
	if err != nil {
		panic(err)
	}
	return t
}

// bkNode is a clinic node as node.Open wires it, with the booking service,
// on a real store and an httptest server; its admin, desk, nurse and kiosk
// are signed in.
type bkNode struct {
	*clinic
	clock                     *testclock.Clock
	booking                   *booking.Service
	admin, desk, nurse, kiosk string
}

func newBkNode(t *testing.T, id crdt.NodeID) *bkNode {
	t.Helper()
	opts := store.DefaultOptions(filepath.Join(t.TempDir(), "carenode.db"), id)
	opts.Create = true
	opts.Important = func(coll, f string) bool {
		return (coll == chart.Collection && chart.Important(f)) || (coll == booking.CollAppointments && booking.Important(f))
	}
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	clock := testclock.New(bkAt("2026-11-23", "07:00")) // a Monday
	charts := chart.New(chart.Config{Records: s, Node: string(id), Logger: quiet, Now: clock.Now, Location: bkShanghai})
	dir, err := staff.Open(fastStaff(s, charts))
	if err != nil {
		t.Fatal(err)
	}
	cfg := booking.DefaultConfig()
	cfg.Records, cfg.Node, cfg.Logger = s, string(id), quiet
	svc, err := booking.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	c := &clinic{t: t, store: s, charts: charts, staff: dir, control: "control-token-for-tests"}
	c.srv = httptest.NewServer(api.New(api.Options{Records: s, Staff: dir, Patients: charts, Booking: svc,
		ControlToken: c.control, Now: clock.Now, Logger: quiet}))
	t.Cleanup(c.srv.Close)
	if _, err := dir.Add(context.Background(), "admin", auth.RoleAdmin, []byte("admin-password")); err != nil {
		t.Fatal(err)
	}
	n := &bkNode{clinic: c, clock: clock, booking: svc}
	n.admin = c.login("admin", "admin-password")
	n.desk = c.addUser(n.admin, "desk1", "desk")
	n.nurse = c.addUser(n.admin, "nurse1", "nurse")
	n.kiosk = c.addUser(n.admin, "kiosk1", "kiosk")
	return n
}

// setUp posts the catalogue of ../booking/testdata/clinic.json through the
// API and registers patients, returning their ids.
func (n *bkNode) setUp(patients ...string) []string {
	t := n.t
	t.Helper()
	raw, err := os.ReadFile("../booking/testdata/clinic.json")
	if err != nil {
		t.Fatal(err)
	}
	var cat struct {
		Departments, Doctors, Schedules, Closures []json.RawMessage
	}
	if err := json.Unmarshal(raw, &cat); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		path  string
		items []json.RawMessage
		want  int
	}{{"/api/v1/departments", cat.Departments, 200}, {"/api/v1/doctors", cat.Doctors, 200},
		{"/api/v1/schedules", cat.Schedules, 201}, {"/api/v1/schedules/closures", cat.Closures, 200}} {
		for _, it := range step.items {
			if r := n.call("POST", step.path, n.desk, string(it)); r.code != step.want {
				t.Fatalf("POST %s %s: %d %s", step.path, it, r.code, r.raw)
			}
		}
	}
	var ids []string
	for i, name := range patients {
		r := n.call("POST", "/api/v1/patients", n.desk, patientBody(t, name, "1960-03-0"+string(rune('1'+i)), "1380000111"+string(rune('0'+i)), "0"+string(rune('1'+i))))
		if r.code != 201 {
			t.Fatalf("register %s: %d %s", name, r.code, r.raw)
		}
		ids = append(ids, r.body["id"].(string))
	}
	return ids
}

// bkDecode decodes a reply strictly into v.
func bkDecode(t *testing.T, r reply, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(r.raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", r.raw, err)
	}
}

func wantReply(t *testing.T, r reply, code int, errCodeWant string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %s", r.code, code, r.raw)
	}
	if errCodeWant != "" {
		if got := errCode(r); got != errCodeWant {
			t.Fatalf("error code %q, want %q: %s", got, errCodeWant, r.raw)
		}
		e := r.body["error"].(map[string]any)
		if zh, _ := e["zh"].(string); !strings.ContainsFunc(zh, func(c rune) bool { return unicode.Is(unicode.Han, c) }) {
			t.Fatalf("error without its Chinese sentence: %s", r.raw)
		}
	}
}

func TestBookingRoutesCheckRoles(t *testing.T) {
	n := newBkNode(t, "nodeA")
	ids := n.setUp("张三")
	for _, tc := range []struct {
		name, method, path, token string
		body                      any
		want                      int
	}{
		{"no token", "GET", "/api/v1/slots?from=2026-11-23&to=2026-11-23", "", nil, 401},
		{"kiosk lists slots", "GET", "/api/v1/slots?from=2026-11-23&to=2026-11-23", n.kiosk, nil, 200},
		{"kiosk lists departments", "GET", "/api/v1/departments", n.kiosk, nil, 200},
		{"kiosk may not add a department", "POST", "/api/v1/departments", n.kiosk, map[string]string{"id": "eye", "nameZh": "眼科", "nameEn": "Eye"}, 403},
		{"nurse may not add a schedule", "POST", "/api/v1/schedules", n.nurse, map[string]any{}, 403},
		{"kiosk may not see over-bookings", "GET", "/api/v1/appointments/conflicts", n.kiosk, nil, 403},
		{"nurse may not see over-bookings", "GET", "/api/v1/appointments/conflicts", n.nurse, nil, 403},
		{"desk sees over-bookings", "GET", "/api/v1/appointments/conflicts", n.desk, nil, 200},
		{"kiosk may not read behaviour", "GET", "/api/v1/patients/" + ids[0] + "/behaviour", n.kiosk, nil, 403},
		{"nurse reads behaviour", "GET", "/api/v1/patients/" + ids[0] + "/behaviour", n.nurse, nil, 200},
		{"kiosk asks for recommendations", "GET", "/api/v1/patients/" + ids[0] + "/recommendations", n.kiosk, nil, 200},
		{"control token may not book", "POST", "/api/v1/appointments", n.control, map[string]string{}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := n.call(tc.method, tc.path, tc.token, tc.body); r.code != tc.want {
				t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.path, r.code, tc.want, r.raw)
			}
		})
	}
}

func TestBookingDayThroughTheAPI(t *testing.T) {
	n := newBkNode(t, "nodeA")
	ids := n.setUp("张三", "李四", "王五")
	zhang, li, wang := ids[0], ids[1], ids[2]
	const slot = "li.20261125.0800" // Wednesday, one place

	var slots struct{ Slots []booking.Slot }
	r := n.call("GET", "/api/v1/slots?doctor=li&from=2026-11-25&to=2026-11-25", n.kiosk, nil)
	wantReply(t, r, 200, "")
	bkDecode(t, r, &slots)
	if len(slots.Slots) != 12 || slots.Slots[0].Key != slot || slots.Slots[0].Free != 1 {
		t.Fatalf("Wednesday's slots with Dr Li: %s", r.raw)
	}

	// The kiosk books; the appointment records the channel.
	var ap booking.Appointment
	r = n.call("POST", "/api/v1/appointments", n.kiosk, map[string]any{"patient": zhang, "slot": slot})
	wantReply(t, r, 201, "")
	bkDecode(t, r, &ap)
	if ap.Channel != booking.ChannelKiosk || ap.BookedBy != "kiosk1" || ap.Status != booking.StatusBooked || ap.Patient != zhang {
		t.Fatalf("booked %s", r.raw)
	}
	// The place is gone: the desk is told in both languages, and may
	// over-book on purpose.
	r = n.call("POST", "/api/v1/appointments", n.desk, map[string]any{"patient": li, "slot": slot}, "Accept-Language", "zh-CN")
	wantReply(t, r, 409, api.CodeConflict)
	if !strings.Contains(errMessage(r), "已满") {
		t.Errorf("Chinese message %q", errMessage(r))
	}
	for _, bad := range []struct {
		body any
		want int
		code string
	}{
		{map[string]any{"patient": "nobody", "slot": slot}, 404, api.CodeNotFound},
		{map[string]any{"patient": li, "slot": "li.20261128.0800"}, 404, api.CodeNotFound}, // Saturday
		{map[string]any{"patient": li, "slot": "li/../0800"}, 400, api.CodeBadRequest},
		{map[string]any{"patient": li, "slot": slot, "channel": "fax"}, 400, api.CodeBadRequest},
		{map[string]any{"patient": li, "slot": slot, "when": "now"}, 400, api.CodeBadRequest},
		{`{"patient":`, 400, api.CodeBadRequest},
	} {
		r := n.call("POST", "/api/v1/appointments", n.desk, bad.body)
		if r.code != bad.want || errCode(r) != bad.code {
			t.Errorf("book %v: %d %s", bad.body, r.code, r.raw)
		}
	}
	r = n.call("POST", "/api/v1/appointments", n.desk, map[string]any{"patient": li, "slot": "wang.20261125.0800", "channel": "api"})
	wantReply(t, r, 201, "")
	var liAp booking.Appointment
	bkDecode(t, r, &liAp)
	if liAp.Channel != booking.ChannelAPI {
		t.Errorf("channel %s", liAp.Channel)
	}
	r = n.call("POST", "/api/v1/appointments", n.desk, map[string]any{"patient": wang, "slot": "wang.20261125.0830"})
	wantReply(t, r, 201, "")
	var wangAp booking.Appointment
	bkDecode(t, r, &wangAp)

	// Move Li, then cancel Wang; the history stays.
	r = n.call("POST", "/api/v1/appointments/"+liAp.ID+"/reschedule", n.desk, map[string]any{"slot": "wang.20261125.0930", "reason": "家属陪同时间"})
	wantReply(t, r, 200, "")
	bkDecode(t, r, &liAp)
	if liAp.Slot != "wang.20261125.0930" || len(liAp.History) != 2 || liAp.History[1].From != "wang.20261125.0800" {
		t.Errorf("moved %s", r.raw)
	}
	r = n.call("POST", "/api/v1/appointments/"+wangAp.ID+"/cancel", n.desk, nil)
	wantReply(t, r, 200, "")
	r = n.call("POST", "/api/v1/appointments/"+wangAp.ID+"/cancel", n.desk, map[string]string{"reason": "again"})
	wantReply(t, r, 409, api.CodeConflict)
	r = n.call("POST", "/api/v1/appointments/nope/cancel", n.desk, nil)
	wantReply(t, r, 404, api.CodeNotFound)

	var list struct{ Appointments []booking.Appointment }
	r = n.call("GET", "/api/v1/appointments?day=2026-11-25&status=booked", n.desk, nil)
	wantReply(t, r, 200, "")
	bkDecode(t, r, &list)
	if len(list.Appointments) != 2 || list.Appointments[0].ID != ap.ID || list.Appointments[1].ID != liAp.ID {
		t.Errorf("Wednesday's booked: %s", r.raw)
	}
	wantReply(t, n.call("GET", "/api/v1/appointments", n.desk, nil), 400, api.CodeBadRequest)
	wantReply(t, n.call("GET", "/api/v1/appointments?day=25-11-2026", n.desk, nil), 400, api.CodeBadRequest)
	wantReply(t, n.call("GET", "/api/v1/slots?from=yesterday&to=2026-11-25", n.desk, nil), 400, api.CodeBadRequest)

	// Wednesday: check-in at the kiosk, by appointment and by patient.
	wantReply(t, n.call("POST", "/api/v1/appointments/"+ap.ID+"/checkin", n.kiosk, nil), 409, api.CodeConflict) // still Monday
	n.clock.Set(bkAt("2026-11-25", "07:50"))
	r = n.call("POST", "/api/v1/appointments/"+ap.ID+"/checkin", n.kiosk, nil)
	wantReply(t, r, 200, "")
	bkDecode(t, r, &ap)
	if ap.Status != booking.StatusCheckedIn {
		t.Errorf("checked in: %s", r.raw)
	}
	r = n.call("POST", "/api/v1/appointments/checkin", n.kiosk, map[string]string{"patient": wang})
	wantReply(t, r, 404, api.CodeNotFound) // cancelled
	r = n.call("POST", "/api/v1/appointments/checkin", n.kiosk, map[string]string{"patient": li})
	wantReply(t, r, 200, "")

	// Next Monday: behaviour and recommendations.
	n.clock.Set(bkAt("2026-11-30", "07:00"))
	var beh booking.Behaviour
	r = n.call("GET", "/api/v1/patients/"+zhang+"/behaviour", n.nurse, nil)
	wantReply(t, r, 200, "")
	bkDecode(t, r, &beh)
	if beh.Attended != 1 || beh.UsualDoctor != "li" || beh.MissedRate != 0 || len(beh.UsualWeekdays) != 1 || beh.UsualWeekdays[0] != 3 {
		t.Errorf("behaviour %s", r.raw)
	}
	var recs struct{ Recommendations []booking.Recommendation }
	r = n.call("GET", "/api/v1/patients/"+zhang+"/recommendations", n.kiosk, nil, "Accept-Language", "zh")
	wantReply(t, r, 200, "")
	bkDecode(t, r, &recs)
	if len(recs.Recommendations) == 0 || recs.Recommendations[0].Slot.Key != "li.20261202.0800" {
		t.Fatalf("recommendations %s", r.raw)
	}
	for _, why := range recs.Recommendations[0].Reasons {
		if why.Zh == "" || why.En == "" {
			t.Errorf("reason %+v", why)
		}
	}
	wantReply(t, n.call("GET", "/api/v1/patients/nobody/recommendations", n.kiosk, nil), 404, api.CodeNotFound)
	wantReply(t, n.call("GET", "/api/v1/patients/nobody/behaviour", n.nurse, nil), 404, api.CodeNotFound)

	// Schedules: listed, removed; a removed schedule makes no slots.
	var sch struct{ Schedules []booking.Schedule }
	r = n.call("GET", "/api/v1/schedules", n.kiosk, nil)
	wantReply(t, r, 200, "")
	bkDecode(t, r, &sch)
	if len(sch.Schedules) != 10 {
		t.Fatalf("schedules %s", r.raw)
	}
	for _, sc := range sch.Schedules {
		if sc.Doctor == "zhao" {
			wantReply(t, n.call("DELETE", "/api/v1/schedules/"+sc.ID, n.desk, nil), 200, "")
		}
	}
	r = n.call("GET", "/api/v1/slots?department=surgery&from=2026-11-30&to=2026-12-06", n.kiosk, nil)
	bkDecode(t, r, &slots)
	if len(slots.Slots) != 0 {
		t.Errorf("surgery slots after removing its schedule: %s", r.raw)
	}
	wantReply(t, n.call("DELETE", "/api/v1/schedules/nope", n.desk, nil), 404, api.CodeNotFound)

	var cl struct{ Closures []booking.Closure }
	r = n.call("GET", "/api/v1/schedules/closures", n.kiosk, nil)
	wantReply(t, r, 200, "")
	bkDecode(t, r, &cl)
	if len(cl.Closures) != 1 || cl.Closures[0].Date != "2026-12-31" || !cl.Closures[0].Active {
		t.Errorf("closures %s", r.raw)
	}
	// Free slots only: once next Wednesday's first Dr Li slot is taken,
	// it is left out.
	wantReply(t, n.call("POST", "/api/v1/appointments", n.desk, map[string]any{"patient": wang, "slot": "li.20261202.0800"}), 201, "")
	r = n.call("GET", "/api/v1/slots?doctor=li&from=2026-12-02T08:00:00%2B08:00&to=2026-12-02T09:00:00%2B08:00&free=true", n.kiosk, nil)
	wantReply(t, r, 200, "")
	bkDecode(t, r, &slots)
	if len(slots.Slots) != 2 || slots.Slots[0].Key != "li.20261202.0820" {
		t.Errorf("free slots %s", r.raw)
	}
}

// bkExchange sends from's changes that to lacks, as sync does.
func bkExchange(t *testing.T, from, to *bkNode) {
	t.Helper()
	after := to.store.Vector()
	for {
		page, err := from.store.ChangesAfter(after, 200)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Changes) > 0 {
			if _, err := to.store.ApplyRemote(page.Changes); err != nil {
				t.Fatal(err)
			}
		}
		after = page.Next
		if !page.More {
			return
		}
	}
}

func TestOverBookingThroughTheAPIOnTwoNodes(t *testing.T) {
	a, b := newBkNode(t, "nodeA"), newBkNode(t, "nodeB")
	ids := a.setUp("张三", "李四")
	bkExchange(t, a, b)
	const slot = "zhao.20261126.0900" // one place
	for i, n := range []*bkNode{a, b} {
		r := n.call("POST", "/api/v1/appointments", n.desk, map[string]any{"patient": ids[i], "slot": slot})
		wantReply(t, r, 201, "")
	}
	bkExchange(t, a, b)
	bkExchange(t, b, a)
	ra := a.call("GET", "/api/v1/appointments/conflicts", a.desk, nil)
	rb := b.call("GET", "/api/v1/appointments/conflicts", b.desk, nil)
	wantReply(t, ra, 200, "")
	if string(ra.raw) != string(rb.raw) {
		t.Fatalf("the nodes list different conflicts:\nA %s\nB %s", ra.raw, rb.raw)
	}
	var cf struct{ Conflicts []booking.Conflict }
	bkDecode(t, ra, &cf)
	if len(cf.Conflicts) != 1 || cf.Conflicts[0].Slot.Key != slot || len(cf.Conflicts[0].Over) != 1 {
		t.Fatalf("conflicts %s", ra.raw)
	}
	wantReply(t, a.call("POST", "/api/v1/appointments/conflicts/"+slot+"/resolve", a.desk, map[string]any{"action": "shrug"}), 400, api.CodeBadRequest)
	wantReply(t, a.call("POST", "/api/v1/appointments/conflicts/li.20261126.0900/resolve", a.desk, map[string]any{"action": "accept"}), 404, api.CodeNotFound)
	r := a.call("POST", "/api/v1/appointments/conflicts/"+slot+"/resolve", a.desk, map[string]any{"action": "move", "appointment": cf.Conflicts[0].Over[0]})
	wantReply(t, r, 200, "")
	var out struct {
		Moved     *booking.Appointment
		Conflicts []booking.Conflict
	}
	bkDecode(t, r, &out)
	if out.Moved == nil || out.Moved.Slot != "zhao.20261126.1000" || len(out.Conflicts) != 0 {
		t.Fatalf("resolve: %s", r.raw)
	}
	bkExchange(t, a, b)
	for _, n := range []*bkNode{a, b} {
		r := n.call("GET", "/api/v1/appointments/conflicts", n.desk, nil)
		if string(r.raw) != "{\"conflicts\":[]}\n" {
			t.Errorf("%s after the move: %s", n.store.Node(), r.raw)
		}
		var moved booking.Appointment
		r = n.call("GET", "/api/v1/appointments/"+out.Moved.ID, n.desk, nil)
		bkDecode(t, r, &moved)
		if moved.Slot != out.Moved.Slot {
			t.Errorf("%s: moved appointment in %s", n.store.Node(), moved.Slot)
		}
	}
}
