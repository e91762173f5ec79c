package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"carenode/node/api"
	"carenode/node/auth"
	"carenode/node/chart"
	"carenode/node/outbox"
	"carenode/node/staff"
	"carenode/node/store"
	"carenode/node/vault"
)

// outboxPatients is the chart as the outbox sees it.
type outboxPatients map[string]string

func (p outboxPatients) Contact(_ context.Context, id string) (string, string, error) {
	phone, ok := p[id]
	if !ok {
		return "", "", outbox.ErrNoContact
	}
	return phone, "zh", nil
}

// outboxSender accepts every message but those it is told to refuse.
type outboxSender struct {
	mu     sync.Mutex
	refuse map[string]bool // patient numbers refused for good
	sent   int
}

func (s *outboxSender) Kind() string { return "file" }

func (s *outboxSender) Send(_ context.Context, m outbox.SMS) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse[m.To] {
		return "", outbox.Permanent(errors.New("number rejected"))
	}
	s.sent++
	return "ok", nil
}

// outboxClinic is a node with accounts, charts and the outbox behind the
// API, as node.Open will wire them.
type outboxClinic struct {
	*clinic
	box    *outbox.Service
	sender *outboxSender
}

func newOutboxClinic(t *testing.T) *outboxClinic {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts := store.DefaultOptions(filepath.Join(t.TempDir(), "carenode.db"), "nodeA")
	opts.Create, opts.Logger = true, logger
	s, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := &outboxClinic{clinic: &clinic{t: t, store: s, control: "control-token-for-tests"},
		sender: &outboxSender{refuse: map[string]bool{"13900002222": true}}}
	cfg := outbox.DefaultConfig("nodeA")
	cfg.QuietStart, cfg.QuietEnd = 0, 0
	c.box, err = outbox.New(cfg, outbox.Deps{Records: s, Sender: c.sender, Logger: logger,
		Patients: outboxPatients{"p1": "13812345678", "p2": "13900002222"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.box.Close)
	c.charts = chart.New(chart.Config{Records: s, Node: "nodeA", Logger: logger})
	scfg := fastStaff(s, c.charts)
	scfg.OnUnlock = func(sl *vault.Sealer) error {
		if err := c.charts.Unlock(sl); err != nil {
			return err
		}
		return c.box.Unlock(sl)
	}
	if c.staff, err = staff.Open(scfg); err != nil {
		t.Fatal(err)
	}
	c.srv = httptest.NewServer(api.New(api.Options{Records: s, Staff: c.staff, Patients: c.charts, Outbox: c.box,
		ControlToken: c.control, Logger: logger}))
	t.Cleanup(c.srv.Close)
	if _, err := c.staff.Add(context.Background(), "admin", auth.RoleAdmin, []byte("admin-password")); err != nil {
		t.Fatal(err)
	}
	return c
}

type outboxList struct {
	Messages []outbox.View `json:"messages"`
	Next     string        `json:"next"`
}

func TestOutboxAPI(t *testing.T) {
	c := newOutboxClinic(t)
	admin := c.login("admin", "admin-password") // unlocks the node
	desk := c.addUser(admin, "desk1", "desk")
	kiosk := c.addUser(admin, "kiosk1", "kiosk")
	ctx := context.Background()
	for _, m := range []outbox.Message{
		{Key: "reminder/a1/day-before", Patient: "p1", Kind: "reminder", Text: map[string]string{"zh": "明天上午9点就诊"}},
		{Key: "reminder/a2/day-before", Patient: "p2", Kind: "reminder", Text: map[string]string{"zh": "明天下午2点就诊"}},
		{Key: "survey/v1", Patient: "p1", Kind: "survey_link", Text: map[string]string{"zh": "请评价本次就诊"},
			NotBefore: time.Now().Add(time.Hour)},
	} {
		if err := c.box.Queue(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.box.Tick(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}

	list := func(token, q string) outboxList {
		t.Helper()
		r := c.call("GET", "/api/v1/outbox"+q, token, nil)
		if r.code != 200 {
			t.Fatalf("list%s: %d %s", q, r.code, r.raw)
		}
		var l outboxList
		if err := json.Unmarshal(r.raw, &l); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(r.raw), "13812345678") || strings.Contains(string(r.raw), "就诊") {
			t.Fatalf("the list shows a full number or a text: %s", r.raw)
		}
		return l
	}
	all := list(desk, "")
	byKey := map[string]outbox.View{}
	for _, v := range all.Messages {
		byKey[v.Key] = v
	}
	if len(all.Messages) != 3 || byKey["reminder/a1/day-before"].Status != outbox.StatusSent ||
		byKey["reminder/a2/day-before"].Status != outbox.StatusFailed || byKey["survey/v1"].Status != outbox.StatusQueued {
		t.Fatalf("list %+v", all.Messages)
	}
	if p := byKey["reminder/a2/day-before"].Problem; p == nil || p.Code != outbox.CodeSend || !hasHan(p.Zh) || p.En == "" {
		t.Fatalf("failed message problem %+v, want a reason in both languages", p)
	}
	if to := byKey["reminder/a1/day-before"].To; to != "138****5678" {
		t.Fatalf("number shown as %q, want masked", to)
	}
	if l := list(desk, "?status=failed"); len(l.Messages) != 1 || l.Messages[0].Patient != "p2" {
		t.Fatalf("status filter: %+v", l.Messages)
	}
	if l := list(desk, "?patient=p1"); len(l.Messages) != 2 {
		t.Fatalf("patient filter: %+v", l.Messages)
	}
	if l := list(desk, "?limit=2"); len(l.Messages) != 2 || l.Next == "" || len(list(desk, "?after="+l.Next).Messages) != 1 {
		t.Fatalf("paging: %+v", l)
	}

	failed := byKey["reminder/a2/day-before"].ID
	sent := byKey["reminder/a1/day-before"].ID
	for _, tc := range []struct {
		name, method, path, token string
		want                      int
		code                      string
	}{
		{"kiosk may not list", "GET", "/api/v1/outbox", kiosk, 403, api.CodeForbidden},
		{"no token", "GET", "/api/v1/outbox", "", 401, api.CodeUnauthorized},
		{"desk may not retry", "POST", "/api/v1/outbox/" + failed + "/retry", desk, 403, api.CodeForbidden},
		{"desk may not cancel", "POST", "/api/v1/outbox/" + failed + "/cancel", desk, 403, api.CodeForbidden},
		{"unknown status", "GET", "/api/v1/outbox?status=lost", desk, 400, api.CodeBadRequest},
		{"unknown parameter", "GET", "/api/v1/outbox?phone=138", desk, 400, api.CodeBadRequest},
		{"bad limit", "GET", "/api/v1/outbox?limit=0", desk, 400, api.CodeBadRequest},
		{"no such message", "POST", "/api/v1/outbox/mnope/retry", admin, 404, api.CodeNotFound},
		{"no such message to read", "GET", "/api/v1/outbox/mnope", desk, 404, api.CodeNotFound},
		{"a sent message cannot be retried", "POST", "/api/v1/outbox/" + sent + "/retry", admin, 409, api.CodeConflict},
		{"nor cancelled", "POST", "/api/v1/outbox/" + sent + "/cancel", admin, 409, api.CodeConflict},
	} {
		r := c.call(tc.method, tc.path, tc.token, nil)
		if r.code != tc.want || errCode(r) != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.code, r.raw, tc.want, tc.code)
		}
		if e, _ := r.body["error"].(map[string]any); e == nil || !hasHan(e["zh"].(string)) {
			t.Errorf("%s: no Chinese message in %s", tc.name, r.raw)
		}
	}
	r := c.call("POST", "/api/v1/outbox/"+sent+"/retry", admin, nil, "Accept-Language", "zh-CN")
	if msg := errMessage(r); msg != "该消息已发送，无法重试。" {
		t.Errorf("Chinese conflict message %q", msg)
	}

	// The number is fixed; the admin retries the failed message and it goes.
	c.sender.mu.Lock()
	c.sender.refuse = nil
	c.sender.mu.Unlock()
	r = c.call("POST", "/api/v1/outbox/"+failed+"/retry", admin, nil)
	if r.code != 200 || r.body["status"] != "queued" {
		t.Fatalf("retry: %d %s", r.code, r.raw)
	}
	if _, err := c.box.Tick(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	r = c.call("GET", "/api/v1/outbox/"+failed, desk, nil)
	if r.code != 200 || r.body["status"] != "sent" {
		t.Fatalf("after retry: %d %s", r.code, r.raw)
	}
	// The survey link is cancelled before it is due and never goes out.
	survey := byKey["survey/v1"].ID
	r = c.call("POST", "/api/v1/outbox/"+survey+"/cancel", admin, nil)
	if r.code != 200 || r.body["status"] != "cancelled" {
		t.Fatalf("cancel: %d %s", r.code, r.raw)
	}
	if _, err := c.box.Tick(ctx, time.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	c.sender.mu.Lock()
	sentCount := c.sender.sent
	c.sender.mu.Unlock()
	if l := list(admin, "?status=cancelled"); len(l.Messages) != 1 || sentCount != 2 || l.Messages[0].Problem.By != "admin" {
		t.Fatalf("after cancel: %+v, %d sent", l.Messages, sentCount)
	}
}
