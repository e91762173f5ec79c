package main

// End-to-end tests: they build the real carenode binary and run it as a
// separate process, talking to it over loopback HTTP, killing it with
// SIGKILL and SIGTERM, and damaging its files.

import (
	"bytes"
	"carenode/internal/logbuf"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "carenode-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "carenode")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build carenode: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs the binary to completion with a time limit.
func run(t *testing.T, args ...string) result {
	t.Helper()
	return runEnv(t, nil, args...)
}

// runEnv runs the binary with extra environment variables (LANG=en…).
func runEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(os.Environ(), "LANG=zh_CN.UTF-8", "LC_ALL=", "LC_MESSAGES=")
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run carenode %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// mustRun runs the binary and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := run(t, args...)
	if r.code != 0 {
		t.Fatalf("carenode %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

// adminPassword is the password of the admin account the tests add.
const adminPassword = "门诊-admin-2026"

// passwordFile writes pw to a private file for --password-file.
func passwordFile(t *testing.T, pw string) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "pw-")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(pw + "\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return f.Name()
}

// addUser runs `carenode user add` and returns what it printed.
func addUser(t *testing.T, dir, name, role, pw string, extra ...string) result {
	t.Helper()
	args := append([]string{"user", "add", "--dir", dir, "--name", name, "--role", role, "--password-file", passwordFile(t, pw)}, extra...)
	return mustRun(t, args...)
}

// initNodeAdmin makes a node with an admin account "admin" (its first
// account: the data key is made then).
func initNodeAdmin(t *testing.T, name string) string {
	t.Helper()
	dir := initNode(t, name)
	addUser(t, dir, "admin", "admin", adminPassword)
	return dir
}

func initNode(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if r := run(t, "init", "--dir", dir, "--name", name, "--role", "clinic"); r.code != 0 {
		t.Fatalf("init: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	return dir
}

// server is a running `carenode serve`.
type server struct {
	cmd    *exec.Cmd
	url    string
	stderr *logbuf.Buffer // safe to read while the server runs
	exited chan struct{}
	err    error
}

func startServe(t *testing.T, dir string) *server {
	t.Helper()
	return startServeArgs(t, dir)
}

// startServeArgs starts serve with extra arguments (--key-file FILE).
func startServeArgs(t *testing.T, dir string, extra ...string) *server {
	t.Helper()
	return startServeEnv(t, t.Cleanup, dir, nil, extra...)
}

// startServeEnv starts serve with extra environment variables and
// arguments. Files a killed server left behind are removed first.
// cleanup registers the kill at the end (the whole test's Cleanup).
func startServeEnv(t *testing.T, cleanup func(func()), dir string, env []string, extra ...string) *server {
	t.Helper()
	os.Remove(filepath.Join(dir, "serve.json")) // left behind by a killed server
	os.Remove(filepath.Join(dir, syncRuntimeFile))
	s := &server{stderr: &logbuf.Buffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(binPath, serveArgs(dir, extra...)...)
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.exited) }()
	cleanup(func() {
		select {
		case <-s.exited:
		default:
			s.cmd.Process.Kill()
			<-s.exited
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			t.Fatalf("serve exited early: %v\n%s", s.err, s.stderr)
		default:
		}
		if b, err := os.ReadFile(filepath.Join(dir, "serve.json")); err == nil {
			var rt struct{ Addr string }
			if json.Unmarshal(b, &rt) == nil && rt.Addr != "" {
				if resp, err := http.Get("http://" + rt.Addr + "/healthz"); err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						s.url = "http://" + rt.Addr
						return s
					}
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("serve not healthy within 30s\n%s", s.stderr)
	return nil
}

// logSays waits until log() holds every one of parts, for at most 30 s,
// and reports whether it did. A server's log reaches the test through a
// pipe and a goroutine copying it into the buffer, so a line the server
// wrote before it answered a request may land after the answer has.
func logSays(log func() string, parts ...string) bool {
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := log()
		all := true
		for _, p := range parts {
			all = all && strings.Contains(s, p)
		}
		if all {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// serveArgs are the arguments of a test's serve: any free API port, JSON
// logs, and the embedded MQTT broker off unless extra names an --mqtt
// address (its default port, 1883, is one per machine, and tests run
// several nodes at once).
func serveArgs(dir string, extra ...string) []string {
	args := []string{"serve", "--dir", dir, "--listen", "127.0.0.1:0", "--log-format", "json"}
	if !slices.Contains(extra, "--mqtt") {
		args = append(args, "--mqtt", "off")
	}
	return append(args, extra...)
}

func (s *server) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit within 30s")
	}
	var ee *exec.ExitError
	if errors.As(s.err, &ee) {
		return ee.ExitCode()
	}
	return 0
}

// tail is the end of a log, for a failure message.
func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// session is a signed-in account on a running node.
type session struct {
	url, token string
	client     *http.Client
}

// login signs name in on the running node; it fails the test unless the
// node answers 200 with a token.
func (s *server) login(t *testing.T, name, pw string) *session {
	t.Helper()
	code, body, err := postJSON(http.DefaultClient, "", s.url+"/api/v1/auth/login", map[string]string{"name": name, "password": pw})
	if err != nil || code != http.StatusOK {
		t.Fatalf("login %s: %d %s %v\nserve log:\n%s", name, code, body, err, tail(s.stderr.String(), 2000))
	}
	var res struct{ Token string }
	if err := json.Unmarshal(body, &res); err != nil || res.Token == "" {
		t.Fatalf("login %s: no token in %s", name, body)
	}
	return &session{url: s.url, token: res.Token, client: &http.Client{Timeout: 60 * time.Second}}
}

// do sends a request with the session's token and optional headers
// ("Accept-Language", "en"); body, when not nil, is sent as JSON.
func (ss *session) do(t *testing.T, method, path string, body any, hdr ...string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, ss.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if ss.token != "" {
		req.Header.Set("Authorization", "Bearer "+ss.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := ss.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, b
}

// must sends a request, fails the test unless the status is want, and
// decodes the answer into out (when not nil).
func (ss *session) must(t *testing.T, method, path string, body any, want int, out any) {
	t.Helper()
	code, b := ss.do(t, method, path, body)
	if code != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, code, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

func postJSON(client *http.Client, token, url string, body any) (int, []byte, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

func getRecord(t *testing.T, token, url string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

// TestKillNineKeepsAcknowledgedWrites: 2,000 concurrent writes through the
// API, SIGKILL while they are still arriving, restart: every write that was
// acknowledged with 201 is there with its fields, nothing is duplicated, and
// the change log, version vector and record count agree.
func TestKillNineKeepsAcknowledgedWrites(t *testing.T) {
	dir := initNodeAdmin(t, "desk")
	srv := startServe(t, dir)
	tok := srv.login(t, "admin", adminPassword).token
	const total, workers = 2000, 48
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	var acked sync.Map
	var nAcked atomic.Int64
	killed := make(chan struct{})
	var killOnce sync.Once
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				id := fmt.Sprintf("w%04d", i)
				code, body, err := postJSON(client, tok, srv.url+"/api/v1/records/visits", map[string]any{
					"id": id, "fields": map[string]any{"n": i, "note": "血压复查 " + id}, "sets": map[string][]string{"tags": {"e2e"}}})
				if err != nil {
					continue // the server was killed mid-request: not acknowledged
				}
				if code != http.StatusCreated {
					t.Errorf("write %s: %d %s", id, code, body)
					continue
				}
				acked.Store(id, i)
				if nAcked.Add(1) == total/2 {
					killOnce.Do(func() { srv.cmd.Process.Signal(syscall.SIGKILL); close(killed) })
				}
			}
		}()
	}
	for i := range total {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	killOnce.Do(func() { srv.cmd.Process.Signal(syscall.SIGKILL); close(killed) })
	<-killed
	srv.wait(t)
	n := nAcked.Load()
	t.Logf("%d of %d writes acknowledged before kill -9", n, total)
	if n < total/2 {
		t.Fatalf("only %d writes acknowledged", n)
	}

	srv2 := startServe(t, dir)
	ss2 := srv2.login(t, "admin", adminPassword)
	missing := 0
	acked.Range(func(k, v any) bool {
		code, rec := getRecord(t, ss2.token, srv2.url+"/api/v1/records/visits/"+k.(string))
		if code != http.StatusOK {
			missing++
			t.Errorf("acknowledged write %s lost after kill -9: %d", k, code)
			return missing < 10
		}
		fields, _ := rec["fields"].(map[string]any)
		if fmt.Sprint(fields["n"]) != fmt.Sprint(v) {
			t.Errorf("record %s: n = %v, want %v", k, fields["n"], v)
		}
		return true
	})
	// No duplicates: every id listed once, one change per record.
	seen := map[string]bool{}
	after := ""
	for {
		var page struct {
			Records []struct{ ID string }
			Next    string
		}
		ss2.must(t, http.MethodGet, "/api/v1/records/visits?limit=500&after="+after, nil, http.StatusOK, &page)
		for _, r := range page.Records {
			if seen[r.ID] {
				t.Fatalf("record %s listed twice", r.ID)
			}
			seen[r.ID] = true
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	var status struct {
		Node  string
		Store struct {
			Records   map[string]int
			LogLength int
			Vector    map[string]int
		}
	}
	ss2.must(t, http.MethodGet, "/api/v1/status", nil, http.StatusOK, &status)
	// The admin account, and the readings drop box's public key written at
	// the first unlock, are one record and one change each too.
	others := 0
	for coll, k := range status.Store.Records {
		if coll != "visits" {
			others += k
		}
	}
	if n := len(seen) + others; status.Store.Records["visits"] != len(seen) || status.Store.LogLength != n || status.Store.Vector[status.Node] != n {
		t.Errorf("after restart: %d records listed, status %+v", len(seen), status.Store)
	}
	if int64(len(seen)) < n {
		t.Errorf("%d records stored, fewer than the %d acknowledged", len(seen), n)
	}
	srv2.cmd.Process.Signal(syscall.SIGTERM)
	if code := srv2.wait(t); code != 0 {
		t.Errorf("serve after SIGTERM exited %d\n%s", code, srv2.stderr)
	}
}

func TestInitRefusesExistingNode(t *testing.T) {
	dir := initNode(t, "desk")
	before := map[string][]byte{}
	for _, f := range []string{"node.key", "config.toml", "carenode.db"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		before[f] = b
	}
	r := run(t, "init", "--dir", dir, "--name", "other", "--role", "kiosk")
	if r.code != exitNodeExists || !strings.Contains(r.stderr, "already holds") {
		t.Fatalf("second init: exit %d, stderr %q; want %d", r.code, r.stderr, exitNodeExists)
	}
	for f, b := range before {
		now, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !bytes.Equal(now, b) {
			t.Errorf("%s changed by a refused init", f)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"init", "--dir", filepath.Join(dir, "x"), "--name", "n", "--role", "doctor"}, exitUsage, "role"},
		{[]string{"init", "--dir", filepath.Join(dir, "x"), "--role", "clinic"}, exitUsage, "--name is required"},
		{[]string{"serve", "--bogus"}, exitUsage, "unknown flag"},
		{[]string{"serve", "--dir", filepath.Join(dir, "nothing")}, exitNoNode, "carenode init"},
		{[]string{"status", "--dir", filepath.Join(dir, "nothing")}, exitNoNode, "no carenode node"},
		{[]string{"restore", "--from", filepath.Join(dir, "none.bak"), "--dir", filepath.Join(dir, "r")}, exitUsage, "does not exist"},
		{[]string{"user", "add", "--dir", filepath.Join(dir, "nothing"), "--name", "wang"}, exitUsage, "--role is required"},
		{[]string{"user", "add", "--dir", filepath.Join(dir, "nothing"), "--name", "wang", "--role", "janitor"}, exitUsage, "role"},
		{[]string{"user", "add", "--dir", filepath.Join(dir, "nothing"), "--name", "wang", "--role", "admin"}, exitNoNode, "carenode init"},
		{[]string{"user", "add", "--dir", filepath.Join(dir, "nothing"), "--name", "wang", "--role", "nurse", "--key-file", "k"}, exitUsage, "kiosk"},
		{[]string{"user", "list", "--dir", filepath.Join(dir, "nothing")}, exitNoNode, "carenode init"},
		{[]string{"patient", "import", "--dir", filepath.Join(dir, "nothing"), "--csv", "x.csv"}, exitUsage, "--user is required"},
		{[]string{"patient", "export", "--dir", dir, "--out", filepath.Join(dir, "x"), "--user", "a", "--format", "xml"}, exitUsage, "csv or json"},
		{[]string{"patient", "export", "--dir", dir, "--out", filepath.Join(dir, "no", "x"), "--user", "a"}, exitUsage, "no directory"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args[:2], " "), func(t *testing.T) {
			r := run(t, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("carenode %v: exit %d, stderr %q; want exit %d containing %q", tc.args, r.code, r.stderr, tc.code, tc.want)
			}
		})
	}
}

func TestHelpEverywhere(t *testing.T) {
	for _, cmd := range []string{"init", "serve", "status", "backup", "restore", "demo", "version", "user", "user add", "user list",
		"patient", "patient import", "patient export"} {
		r := run(t, append(strings.Fields(cmd), "--help")...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") || !strings.ContainsFunc(r.stdout, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
			t.Errorf("%s --help: exit %d\n%s", cmd, r.code, r.stdout)
		}
	}
	r := run(t, "help", "exit-codes")
	for _, want := range []string{"130", "退出码", "verification", "导入被拒绝", "sign-in refused"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help exit-codes lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := run(t, "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "carenode ") {
		t.Errorf("version: %d %q", r.code, r.stdout)
	}
}

// TestDamagedDatabaseClearError: a garbage, truncated or zeroed database
// file stops serve with exit code 5 and a clear message, never a panic.
func TestDamagedDatabaseClearError(t *testing.T) {
	dir := initNodeAdmin(t, "desk")
	srv := startServe(t, dir)
	tok := srv.login(t, "admin", adminPassword).token
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range 200 {
		if code, body, err := postJSON(client, tok, srv.url+"/api/v1/records/c", map[string]any{"fields": map[string]any{"pad": strings.Repeat("数据", 100), "i": i}}); err != nil || code != 201 {
			t.Fatalf("write: %d %s %v", code, body, err)
		}
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.wait(t)
	good, err := os.ReadFile(filepath.Join(dir, "carenode.db"))
	if err != nil {
		t.Fatal(err)
	}
	zeroed := append([]byte(nil), good...)
	clear(zeroed[:8192])
	// How far the pages reach: bbolt grows the file ahead of them, and a
	// cut in that slack is harmless.
	var used int
	if db, err := bolt.Open(filepath.Join(dir, "carenode.db"), 0o600, &bolt.Options{ReadOnly: true}); err != nil {
		t.Fatal(err)
	} else {
		db.View(func(tx *bolt.Tx) error { used = int(tx.Size()); return nil })
		db.Close()
	}
	for name, data := range map[string][]byte{
		"garbage":   bytes.Repeat([]byte("这不是数据库 "), 2000),
		"truncated": good[:used/3],
		// Cut at a page boundary bbolt opens the file; it used to panic on
		// the first read or write that reached the lost pages.
		"cut at a page": good[:used/4096/2*4096],
		"one page":      good[:4096],
		"zeroed":        zeroed,
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, "carenode.db"), data, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"serve", "--dir", dir, "--listen", "127.0.0.1:0"}, {"status", "--dir", dir}} {
				r := run(t, args...)
				if r.code != exitCorrupt {
					t.Errorf("%s on %s file: exit %d, want %d\n%s", args[0], name, r.code, exitCorrupt, r.stderr)
				}
				if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
					t.Errorf("%s on %s file panicked:\n%s", args[0], name, r.stderr)
				}
				if !strings.Contains(r.stderr, "damaged") && !strings.Contains(r.stderr, "not a carenode database") {
					t.Errorf("%s on %s file: unclear message %q", args[0], name, r.stderr)
				}
			}
		})
	}
}

// TestStatusBackupRestore: status works serving and not; a hot backup
// taken while writes arrive restores into a new directory as the same
// node; damaged backups and occupied directories are refused.
func TestStatusBackupRestore(t *testing.T) {
	dir := initNode(t, "desk")
	r := run(t, "status", "--dir", dir, "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"logLength": 0`) {
		t.Fatalf("status of a new node: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	addUser(t, dir, "admin", "admin", adminPassword)
	// Generic records go to a collection of their own: raw records in
	// "patients" are not sealed charts, and the chart service refuses to
	// unlock over them (see the report on node/api's record routes).
	srv := startServe(t, dir)
	tok := srv.login(t, "admin", adminPassword).token
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range 50 {
		if code, body, err := postJSON(client, tok, srv.url+"/api/v1/records/people", map[string]any{"id": fmt.Sprintf("p%d", i), "fields": map[string]any{"name": "王秀兰"}}); err != nil || code != 201 {
			t.Fatalf("write: %d %s %v", code, body, err)
		}
	}
	r = run(t, "status", "--dir", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "people: 50") || !strings.Contains(r.stdout, srv.url) {
		t.Fatalf("status while serving: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Keep writing while the hot backup runs.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			postJSON(client, tok, srv.url+"/api/v1/records/notes", map[string]any{"fields": map[string]any{"i": i}})
		}
	}()
	bak := filepath.Join(t.TempDir(), "desk.cnbak")
	r = run(t, "backup", "--dir", dir, "--out", bak)
	cancel()
	wg.Wait()
	if r.code != 0 || !strings.Contains(r.stdout, "verified") {
		t.Fatalf("hot backup: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "backup", "--dir", dir, "--out", bak); r.code != exitUsage {
		t.Errorf("backup over an existing file: exit %d, want %d", r.code, exitUsage)
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.wait(t)
	// Cold backup too.
	cold := filepath.Join(t.TempDir(), "cold.cnbak")
	if r := run(t, "backup", "--dir", dir, "--out", cold); r.code != 0 {
		t.Fatalf("cold backup: %d\n%s", r.code, r.stderr)
	}

	restored := filepath.Join(t.TempDir(), "restored")
	r = run(t, "restore", "--from", bak, "--dir", restored)
	if r.code != 0 {
		t.Fatalf("restore: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "status", "--dir", restored, "--json")
	var st statusReport
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status of restored node: %v\n%s", err, r.stdout)
	}
	orig := run(t, "status", "--dir", dir, "--json")
	var ost statusReport
	json.Unmarshal([]byte(orig.stdout), &ost)
	if st.Node != ost.Node || st.Store.Records["people"] != 50 || st.Store.LogLen < 50 || st.Store.LogLen != st.Store.Vector[st.Store.Node] {
		t.Errorf("restored node %+v, original %s", st, ost.Node)
	}
	if !strings.HasPrefix(string(st.Store.Origin), st.Node+".") {
		t.Errorf("restored node writes under origin %q; want a new incarnation of %s", st.Store.Origin, st.Node)
	}
	srv2 := startServe(t, restored)
	tok2 := srv2.login(t, "admin", adminPassword).token
	if code, rec := getRecord(t, tok2, srv2.url+"/api/v1/records/people/p7"); code != 200 || rec["fields"].(map[string]any)["name"] != "王秀兰" {
		t.Errorf("restored record p7: %d %v", code, rec)
	}
	srv2.cmd.Process.Signal(syscall.SIGTERM)
	srv2.wait(t)

	if r := run(t, "restore", "--from", bak, "--dir", restored); r.code != exitNodeExists {
		t.Errorf("restore over a node: exit %d, want %d", r.code, exitNodeExists)
	}
	// A failed restore removes the directories it made, and only those.
	data, err := os.ReadFile(bak)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := bytes.Clone(data)
	corrupt[len(corrupt)/2] ^= 0xff
	for _, bad := range []struct {
		name string
		data []byte
	}{
		{"corrupt", corrupt},
		{"truncated", data[:len(data)*2/3]},
	} {
		broken := filepath.Join(t.TempDir(), bad.name+".cnbak")
		if err := os.WriteFile(broken, bad.data, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name     string
			existing bool   // DIR is an empty directory before the restore
			sub      string // DIR below the parent; its first element is what gets made
		}{
			{"new directory", false, "r2"},
			{"new nested directories", false, "r2/a/b"},
			{"existing empty directory", true, "r2"},
		} {
			t.Run(bad.name+"/"+tc.name, func(t *testing.T) {
				parent := t.TempDir()
				target := filepath.Join(parent, filepath.FromSlash(tc.sub))
				if tc.existing {
					if err := os.MkdirAll(target, 0o700); err != nil {
						t.Fatal(err)
					}
				}
				if r := run(t, "restore", "--from", broken, "--dir", target); r.code != exitVerifyFail {
					t.Errorf("restore of a %s backup: exit %d, want %d\n%s", bad.name, r.code, exitVerifyFail, r.stderr)
				}
				entries, err := os.ReadDir(target)
				switch {
				case tc.existing && err != nil:
					t.Errorf("a failed restore removed the directory that was there before: %v", err)
				case tc.existing && len(entries) != 0:
					t.Errorf("a failed restore left files: %v", entries)
				case !tc.existing:
					if left, _ := os.ReadDir(parent); len(left) != 0 {
						t.Errorf("a failed restore left %v in %s", left, parent)
					}
				}
			})
		}
	}
	// A missing backup makes no directory at all.
	target := filepath.Join(t.TempDir(), "r3")
	if r := run(t, "restore", "--from", filepath.Join(t.TempDir(), "none.cnbak"), "--dir", target); r.code != exitUsage {
		t.Errorf("restore of a missing backup: exit %d, want %d", r.code, exitUsage)
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a restore of a missing backup made %s: %v", target, err)
	}
}

func TestServeGracefulShutdown(t *testing.T) {
	dir := initNode(t, "desk")
	srv := startServe(t, dir)
	// The contract of the generic record API on a node with no account yet:
	// 201 with the id, then the record, without a token.
	code, body, err := postJSON(http.DefaultClient, "", srv.url+"/api/v1/records/things", map[string]any{"fields": map[string]any{"name": "甲"}})
	if err != nil || code != http.StatusCreated {
		t.Fatalf("create on a fresh node: %d %s %v", code, body, err)
	}
	var created struct{ ID string }
	if err := json.Unmarshal(body, &created); err != nil || created.ID == "" {
		t.Fatalf("create answered %s (%v)", body, err)
	}
	if code, rec := getRecord(t, "", srv.url+"/api/v1/records/things/"+created.ID); code != http.StatusOK || rec["id"] != created.ID {
		t.Fatalf("get on a fresh node: %d %v", code, rec)
	}
	resp, err := http.Get(srv.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"carenode_store_commit_seconds", "carenode_store_commit_batch_writes", "carenode_store_change_log_length", "carenode_store_writes_total", "carenode_store_remote_changes_waiting"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	srv.cmd.Process.Signal(syscall.SIGINT)
	if code := srv.wait(t); code != 0 {
		t.Errorf("exit %d after SIGINT\n%s", code, srv.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "serve.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve.json left behind after a clean stop")
	}
	if !strings.Contains(srv.stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no JSON 'stopped' log line:\n%s", srv.stderr)
	}
}

// TestSigtermDuringWritesFlushes: SIGTERM while writes are arriving; the
// node finishes what it accepted, exits 0, and after a restart every
// acknowledged write is there.
func TestSigtermDuringWritesFlushes(t *testing.T) {
	dir := initNodeAdmin(t, "desk")
	srv := startServe(t, dir)
	tok := srv.login(t, "admin", adminPassword).token
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var acked sync.Map
	var n atomic.Int64
	var once sync.Once
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				id := fmt.Sprintf("t%02d-%03d", w, i)
				code, _, err := postJSON(client, tok, srv.url+"/api/v1/records/visits", map[string]any{"id": id, "fields": map[string]any{"w": w, "i": i}})
				if err != nil || code != http.StatusCreated {
					continue // refused or cut off by the shutdown: not acknowledged
				}
				acked.Store(id, true)
				if n.Add(1) == 300 {
					once.Do(func() { srv.cmd.Process.Signal(syscall.SIGTERM) })
				}
			}
		}()
	}
	wg.Wait()
	once.Do(func() { srv.cmd.Process.Signal(syscall.SIGTERM) })
	if code := srv.wait(t); code != 0 {
		t.Fatalf("exit %d after SIGTERM\n%s", code, srv.stderr)
	}
	srv2 := startServe(t, dir)
	tok2 := srv2.login(t, "admin", adminPassword).token
	lost := 0
	acked.Range(func(k, _ any) bool {
		if code, _ := getRecord(t, tok2, srv2.url+"/api/v1/records/visits/"+k.(string)); code != http.StatusOK {
			lost++
		}
		return true
	})
	t.Logf("%d writes acknowledged around SIGTERM", n.Load())
	if lost > 0 {
		t.Errorf("%d acknowledged writes lost over a graceful shutdown", lost)
	}
}
