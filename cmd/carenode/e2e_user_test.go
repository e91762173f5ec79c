package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestUserAccounts: accounts added with the node stopped and serving,
// pending or holding the key as the node's lock state says; sign-in,
// wrong passwords, the rate limit; a kiosk key file that unlocks at start.
func TestUserAccounts(t *testing.T) {
	dir := initNode(t, "desk")
	if r := run(t, "user", "add", "--dir", dir, "--name", "admin", "--role", "admin"); r.code != exitUsage || !strings.Contains(r.stderr, "no terminal") {
		t.Errorf("no password file and no terminal: exit %d\n%s", r.code, r.stderr)
	}

	// Not serving: the first account must be an admin, and makes the key.
	if r := run(t, "user", "add", "--dir", dir, "--name", "li", "--role", "desk", "--password-file", passwordFile(t, "desk-pass-123")); r.code == 0 ||
		!strings.Contains(r.stderr, "first account") || !strings.Contains(r.stderr, "第一个账户必须是管理员") {
		t.Fatalf("a desk account as the first: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := addUser(t, dir, "admin", "admin", adminPassword)
	if !strings.Contains(r.stdout, "first account") || !strings.Contains(r.stdout, "数据密钥") {
		t.Errorf("first account: no word of the data key:\n%s", r.stdout)
	}
	// Not serving, later account: the node is locked, so it is pending.
	r = addUser(t, dir, "li", "desk", "desk-pass-123")
	if !strings.Contains(r.stdout, "pending") || !strings.Contains(r.stdout, "待激活") {
		t.Errorf("account added on a stopped node is not reported pending:\n%s", r.stdout)
	}
	if r := run(t, "user", "add", "--dir", dir, "--name", "li", "--role", "nurse", "--password-file", passwordFile(t, "another-pass-1")); r.code == 0 ||
		!strings.Contains(r.stderr, "该用户名已存在") {
		t.Errorf("a second li: exit %d\n%s", r.code, r.stderr)
	}
	if r := run(t, "user", "add", "--dir", dir, "--name", "zhou", "--role", "nurse", "--password-file", passwordFile(t, "short")); r.code != exitUsage {
		t.Errorf("a short password: exit %d, want %d\n%s", r.code, exitUsage, r.stderr)
	}
	if r := run(t, "user", "add", "--dir", dir, "--name", "Zhou!", "--role", "nurse"); r.code != exitUsage {
		t.Errorf("a bad name: exit %d, want %d", r.code, exitUsage)
	}
	// An admin's sign-in unlocks first: the new account gets its key at once.
	r = addUser(t, dir, "wu", "doctor", "doctor-pass-1", "--admin", "admin", "--admin-password-file", passwordFile(t, adminPassword))
	if strings.Contains(r.stdout, "pending") || !strings.Contains(r.stdout, "unlock the node") {
		t.Errorf("account added after an admin unlocked is not reported as holding the key:\n%s", r.stdout)
	}

	srv := startServe(t, dir)
	// Serving and still locked (nobody signed in): pending, through the API.
	r = addUser(t, dir, "zhao", "nurse", "nurse-pass-1")
	if !strings.Contains(r.stdout, "running node") || !strings.Contains(r.stdout, "pending") {
		t.Errorf("account added to a locked running node:\n%s", r.stdout)
	}
	// A pending account cannot unlock the node.
	code, body, _ := postJSON(http.DefaultClient, "", srv.url+"/api/v1/auth/login", map[string]string{"name": "zhao", "password": "nurse-pass-1"})
	if code != http.StatusLocked {
		t.Errorf("pending account signing in on a locked node: %d %s, want 423", code, body)
	}
	admin := srv.login(t, "admin", adminPassword)
	// Serving and unlocked: the account holds its key.
	r = addUser(t, dir, "qian", "nurse", "nurse-pass-2")
	if strings.Contains(r.stdout, "pending") || !strings.Contains(r.stdout, "running node") {
		t.Errorf("account added to an unlocked running node:\n%s", r.stdout)
	}
	// Pending accounts sign in now, and get their key.
	for _, a := range [][2]string{{"li", "desk-pass-123"}, {"zhao", "nurse-pass-1"}, {"wu", "doctor-pass-1"}, {"qian", "nurse-pass-2"}} {
		srv.login(t, a[0], a[1])
	}
	var me struct {
		Name   string
		Role   string
		Locked bool
	}
	admin.must(t, http.MethodGet, "/api/v1/auth/me", nil, http.StatusOK, &me)
	if me.Name != "admin" || me.Role != "admin" || me.Locked {
		t.Errorf("me = %+v", me)
	}
	// Listing while serving goes through the control token.
	r = mustRun(t, "user", "list", "--dir", dir, "--json")
	var list struct {
		Accounts []struct {
			Name, Role string
			Pending    bool
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list.Accounts) != 5 {
		t.Fatalf("user list while serving: %v\n%s", err, r.stdout)
	}
	for _, a := range list.Accounts {
		if a.Pending {
			t.Errorf("%s still pending after signing in on an unlocked node", a.Name)
		}
	}

	// Wrong passwords: 401 with the same answer as an unknown name, then 429.
	codes := []int{}
	for range 8 {
		code, _, err := postJSON(http.DefaultClient, "", srv.url+"/api/v1/auth/login", map[string]string{"name": "li", "password": "wrong-password"})
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, code)
	}
	if codes[0] != http.StatusUnauthorized || codes[len(codes)-1] != http.StatusTooManyRequests {
		t.Errorf("repeated wrong passwords answered %v; want 401 first and 429 at last", codes)
	}
	code, body, _ = postJSON(http.DefaultClient, "", srv.url+"/api/v1/auth/login", map[string]string{"name": "nobody", "password": "wrong-password"})
	if code != http.StatusUnauthorized && code != http.StatusTooManyRequests {
		t.Errorf("unknown name: %d %s", code, body)
	}
	// Tokens matter: none, or a made-up one, is 401 on every route but the public ones.
	for _, path := range []string{"/api/v1/patients?q=li", "/api/v1/status", "/api/v1/records/patients", "/api/v1/changes"} {
		if code, _ := (&session{url: srv.url, token: "made-up", client: http.DefaultClient}).do(t, http.MethodGet, path, nil); code != http.StatusUnauthorized {
			t.Errorf("GET %s with a made-up token: %d", path, code)
		}
	}
	// A kiosk key file cannot be written through the running node.
	kiosk := filepath.Join(t.TempDir(), "kiosk.key")
	if r := run(t, "user", "add", "--dir", dir, "--name", "kiosk1", "--role", "kiosk", "--password-file", passwordFile(t, "kiosk-pass-1"),
		"--key-file", kiosk); r.code != exitServing || !strings.Contains(r.stderr, "stop the node") {
		t.Errorf("kiosk key file while serving: exit %d, want %d\n%s", r.code, exitServing, r.stderr)
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	if code := srv.wait(t); code != 0 {
		t.Fatalf("serve exit %d\n%s", code, srv.stderr)
	}

	// Stopped: a key file needs an admin to unlock first.
	if r := run(t, "user", "add", "--dir", dir, "--name", "kiosk1", "--role", "kiosk", "--password-file", passwordFile(t, "kiosk-pass-1"),
		"--key-file", kiosk); r.code != exitUsage || !strings.Contains(r.stderr, "--admin") {
		t.Errorf("kiosk key file without --admin: exit %d\n%s", r.code, r.stderr)
	}
	if r := run(t, "user", "add", "--dir", dir, "--name", "kiosk1", "--role", "kiosk", "--password-file", passwordFile(t, "kiosk-pass-1"),
		"--key-file", kiosk, "--admin", "admin", "--admin-password-file", passwordFile(t, "not-the-password")); r.code != exitSignIn {
		t.Errorf("kiosk key file with a wrong admin password: exit %d, want %d\n%s", r.code, exitSignIn, r.stderr)
	}
	addUser(t, dir, "kiosk1", "kiosk", "kiosk-pass-1", "--key-file", kiosk, "--admin", "admin", "--admin-password-file", passwordFile(t, adminPassword))
	if info, err := os.Stat(kiosk); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("kiosk key file: %v %v", info, err)
	}
	// A pending account added now can sign in at once on a node the key
	// file unlocked at start (on a locked node it would get 423).
	addUser(t, dir, "sun", "desk", "desk-pass-456")
	srv = startServe(t, dir)
	code, body, _ = postJSON(http.DefaultClient, "", srv.url+"/api/v1/auth/login", map[string]string{"name": "sun", "password": "desk-pass-456"})
	if code != http.StatusLocked {
		t.Errorf("pending account on a node started without the key file: %d %s, want 423", code, body)
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.wait(t)
	srv = startServeArgs(t, dir, "--key-file", kiosk)
	srv.login(t, "sun", "desk-pass-456")
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.wait(t)

	r = mustRun(t, "user", "list", "--dir", dir)
	for _, want := range []string{"kiosk1", "自助机", "sun", "admin", "管理员"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("user list lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "kiosk1.keyfile") {
		t.Errorf("user list shows the key file's wrap as an account:\n%s", r.stdout)
	}
}
