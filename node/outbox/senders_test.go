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
	cred := filepath.Join(t.TempDir(), "gateway.cred")
	if err := os.WriteFile(cred, []byte("clinic7:s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := outbox.DefaultConfig("x").Sender.Gateway
	cfg.URL, cfg.Auth, cfg.CredentialsFile, cfg.Timeout = srv.URL+"/send", "basic", cred, 500*time.Millisecond
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
	gw := newGateway(t, g, nil)
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
	b.tick(t, at(0, 9, 3))
	if v := b.get(t, "k"); v.Attempts != 3 || !strings.Contains(v.LastError, "in time") {
		t.Fatalf("after a timeout: %+v", v)
	}
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
