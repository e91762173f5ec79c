package outbox_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"carenode/node/outbox"
)

// gatewayServer is an SMS gateway on loopback that answers with the
// statuses it is told, then 200, and keeps what it received.
type gatewayServer struct {
	mu       sync.Mutex
	statuses []int
	hang     int // the next requests get no answer until the client gives up
	bodies   []string
	auth     []string
	idem     []string
}

func (g *gatewayServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	g.bodies = append(g.bodies, string(body))
	g.auth = append(g.auth, r.Header.Get("Authorization"))
	g.idem = append(g.idem, r.Header.Get("Idempotency-Key"))
	hang := g.hang > 0
	if hang {
		g.hang--
	}
	status := http.StatusOK
	if len(g.statuses) > 0 {
		status, g.statuses = g.statuses[0], g.statuses[1:]
	}
	g.mu.Unlock()
	if hang {
		<-r.Context().Done()
		return
	}
	w.WriteHeader(status)
	if status == http.StatusOK {
		io.WriteString(w, `{"messageId":"gw-42"}`)
	} else {
		io.WriteString(w, "quota exceeded")
	}
}

func newGateway(t *testing.T, g *gatewayServer, edit func(*outbox.GatewayConfig)) *outbox.Gateway {
	t.Helper()
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return gatewayTo(t, srv.URL, edit)
}

// gatewayTo is a Gateway posting to the server at url. Its timeout is the
// default (30 s): a request the server answers must never time out, however
// slow a loaded machine under -race makes it; a test of the timeout sets a
// short one through edit.
func gatewayTo(t *testing.T, url string, edit func(*outbox.GatewayConfig)) *outbox.Gateway {
	t.Helper()
	cred := filepath.Join(t.TempDir(), "gateway.cred")
	if err := os.WriteFile(cred, []byte("clinic7:s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := outbox.DefaultConfig("x").Sender.Gateway
	cfg.URL, cfg.Auth, cfg.CredentialsFile = url+"/send", "basic", cred
	if edit != nil {
		edit(&cfg)
	}
	gw, err := outbox.NewGateway(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return gw
}

func TestGatewaySendsTheTemplatedBody(t *testing.T) {
	g := &gatewayServer{}
	gw := newGateway(t, g, func(c *outbox.GatewayConfig) {
		c.Template = `{"mobile":{{json .To}},"content":{{json .Text}},"ref":{{json .ID}},"lang":{{json .Lang}}}`
	})
	ref, err := gw.Send(context.Background(), outbox.SMS{ID: "m1", To: "13812345678", Text: `请于"明天"就诊`, Lang: "zh"})
	if err != nil {
		t.Fatal(err)
	}
	if ref != `{"messageId":"gw-42"}` {
		t.Errorf("ref %q", ref)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(g.bodies[0]), &body); err != nil {
		t.Fatalf("body %q is not JSON: %v", g.bodies[0], err)
	}
	if body["mobile"] != "13812345678" || body["content"] != `请于"明天"就诊` || body["ref"] != "m1" || body["lang"] != "zh" {
		t.Errorf("body %v", body)
	}
	if g.auth[0] != "Basic Y2xpbmljNzpzM2NyZXQ=" || g.idem[0] != "m1" {
		t.Errorf("auth %q idempotency %q", g.auth[0], g.idem[0])
	}
}

func TestGatewayErrorsAreRetried(t *testing.T) {
	g := &gatewayServer{statuses: []int{http.StatusServiceUnavailable, http.StatusTooManyRequests}, hang: 0}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	// Answered requests go through a gateway with the default timeout, so
	// a slow machine cannot turn a 503 into a timeout; only the request
	// the server never answers goes through one that gives up soon.
	patient := gatewayTo(t, srv.URL, nil)
	impatient := gatewayTo(t, srv.URL, func(c *outbox.GatewayConfig) { c.Timeout = 2 * time.Second })
	gw := &switchSender{to: patient}
	b := newBox(t, "nodeA", func(_ *outbox.Config, d *outbox.Deps) { d.Sender = gw })
	b.queue(t, reminder("k", "p1"))
	b.tick(t, at(0, 9, 0))
	if v := b.get(t, "k"); v.Status != outbox.StatusQueued || !strings.Contains(v.LastError, "503") {
		t.Fatalf("after a 503: %+v", v)
	}
	b.tick(t, at(0, 9, 1))
	if v := b.get(t, "k"); v.Attempts != 2 || !strings.Contains(v.LastError, "429") {
		t.Fatalf("after a 429: %+v", v)
	}
	// The gateway now hangs: the client's timeout counts as a failure too.
	g.mu.Lock()
	g.hang = 1
	g.mu.Unlock()
	gw.set(impatient)
	b.tick(t, at(0, 9, 3))
	if v := b.get(t, "k"); v.Attempts != 3 || !strings.Contains(v.LastError, "in time") {
		t.Fatalf("after a timeout: %+v", v)
	}
	gw.set(patient)
	b.tick(t, at(0, 9, 7))
	v := b.get(t, "k")
	if v.Status != outbox.StatusSent || v.Via != outbox.SenderGateway || len(g.bodies) != 4 {
		t.Fatalf("after recovery: %+v, %d requests", v, len(g.bodies))
	}
	for _, id := range g.idem {
		if id != outbox.RecordID("k") {
			t.Fatalf("idempotency keys %v: every attempt must carry the message id", g.idem)
		}
	}
}

// switchSender sends through whichever Gateway it was last set to.
type switchSender struct {
	mu sync.Mutex
	to *outbox.Gateway
}

func (s *switchSender) set(to *outbox.Gateway) {
	s.mu.Lock()
	s.to = to
	s.mu.Unlock()
}

func (s *switchSender) Send(ctx context.Context, m outbox.SMS) (string, error) {
	s.mu.Lock()
	to := s.to
	s.mu.Unlock()
	return to.Send(ctx, m)
}

func (s *switchSender) Kind() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.to.Kind()
}

func TestGatewayConfigErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	for name, cfg := range map[string]outbox.GatewayConfig{
		"missing credentials file": {URL: "http://127.0.0.1:1/send", Auth: "basic", CredentialsFile: filepath.Join(dir, "nope"), Timeout: time.Second},
		"basic without colon":      {URL: "http://127.0.0.1:1/send", Auth: "basic", CredentialsFile: empty, Timeout: time.Second},
		"bearer empty":             {URL: "http://127.0.0.1:1/send", Auth: "bearer", CredentialsFile: empty, Timeout: time.Second},
		"template unknown field":   {URL: "http://127.0.0.1:1/send", Template: "{{.Phone", Timeout: time.Second},
	} {
		if _, err := outbox.NewGateway(cfg); !errors.Is(err, outbox.ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
}

func TestFileSender(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sms.jsonl")
	fs, err := outbox.NewFileSender(path)
	if err != nil {
		t.Fatal(err)
	}
	b := newBox(t, "nodeA", func(_ *outbox.Config, d *outbox.Deps) { d.Sender = fs })
	b.queue(t, reminder("k1", "p1"))
	b.queue(t, reminder("k2", "p2"))
	if rep := b.tick(t, at(0, 9, 0)); rep.Sent != 2 {
		t.Fatalf("tick %+v", rep)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if st, _ := f.Stat(); st.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want owner-only", st.Mode().Perm())
	}
	var lines []outbox.FileLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l outbox.FileLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	langs := map[string]string{}
	for _, l := range lines {
		langs[l.To] = l.Lang
	}
	if len(lines) != 2 || langs["13812345678"] != "zh" || langs["+8613900001111"] != "en" {
		t.Fatalf("lines %+v", lines)
	}
}

// A gateway that echoes the message in its error answer: the history,
// which is not sealed, keeps neither the text nor the number.
func TestGatewayErrorsKeepNoPersonalData(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusBadRequest)
		w.Write(body)
	}))
	defer srv.Close()
	cfg := outbox.DefaultConfig("x").Sender.Gateway
	cfg.URL = srv.URL
	gw, err := outbox.NewGateway(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := newBox(t, "nodeA", func(_ *outbox.Config, d *outbox.Deps) { d.Sender = gw })
	m := reminder("k", "p1")
	b.queue(t, m)
	b.tick(t, at(0, 9, 0))
	v := b.get(t, "k")
	if !strings.Contains(v.LastError, "400") {
		t.Fatalf("last error %q", v.LastError)
	}
	for _, secret := range []string{"13812345678", m.Text["zh"], "内科"} {
		if strings.Contains(v.LastError, secret) {
			t.Errorf("last error %q holds %q", v.LastError, secret)
		}
	}
}
