package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"carenode/node/identity"
	"carenode/sync/trust"
)

// syncURL waits for a serving node's sync.json and returns its https URL.
func syncURL(t *testing.T, dir string) string {
	t.Helper()
	rt, err := readSyncRuntime(dir)
	if err != nil {
		t.Fatalf("no sync listener for %s: %v", dir, err)
	}
	return "https://" + rt.Addr
}

// enrolToken runs enrol-token on the hub and returns the token: the last
// line of standard output.
func enrolToken(t *testing.T, hub, name, role string, extra ...string) string {
	t.Helper()
	r := mustRun(t, append([]string{"enrol-token", "--dir", hub, "--name", name, "--role", role}, extra...)...)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	return lines[len(lines)-1]
}

func joinNode(t *testing.T, hubURL, token, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	mustRun(t, "init", "--dir", dir, "--name", name, "--join", hubURL, "--token", token)
	return dir
}

func startSyncServe(t *testing.T, dir string, extra ...string) *server {
	t.Helper()
	return startServeArgs(t, dir, append([]string{"--sync-listen", "127.0.0.1:0"}, extra...)...)
}

// stop ends a server with SIGTERM and returns its log.
func (s *server) stop(t *testing.T) string {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(t); code != 0 {
		t.Errorf("serve exit %d\n%s", code, tail(s.stderr.String(), 3000))
	}
	return s.stderr.String()
}

func writeVisits(t *testing.T, ss *session, prefix string, n int) {
	t.Helper()
	for i := range n {
		ss.must(t, http.MethodPost, "/api/v1/records/visits", map[string]any{"id": fmt.Sprintf("%s-%d", prefix, i),
			"fields": map[string]any{"note": "复诊 " + prefix, "i": i}}, http.StatusCreated, nil)
	}
}

// hasVisits reports whether every visit prefix-0..n-1 is readable on ss.
func hasVisits(t *testing.T, ss *session, prefix string, n int) bool {
	t.Helper()
	for i := range n {
		code, rec := getRecord(t, ss.token, ss.url+"/api/v1/records/visits/"+url.PathEscape(fmt.Sprintf("%s-%d", prefix, i)))
		if code != http.StatusOK {
			return false
		}
		if f, _ := rec["fields"].(map[string]any); f["note"] != "复诊 "+prefix {
			t.Fatalf("visit %s-%d: %v", prefix, i, rec)
		}
	}
	return true
}

// TestEnrolAndSyncThroughHub: a hub, two clinic desks enrolled with
// one-time tokens (a replayed and an expired token refused), writes on both
// desks, convergence through the hub with carenode sync (through the running
// nodes and without them), a desk syncing with its hub on its own, a
// revocation travelling from the hub to a desk, and peers refused for a
// foreign CA or a node ID that is not their key's.
func TestEnrolAndSyncThroughHub(t *testing.T) {
	hub := filepath.Join(t.TempDir(), "hub")
	r := mustRun(t, "init", "--dir", hub, "--name", "县医院", "--role", "hub")
	if !strings.Contains(r.stdout, "network CA") {
		t.Errorf("hub init:\n%s", r.stdout)
	}
	if fi, err := os.Stat(trust.PathsOf(hub).CAKey()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("CA key: %v %v", fi, err)
	}
	hubSrv := startSyncServe(t, hub)
	hubURL := syncURL(t, hub)

	t1 := enrolToken(t, hub, "desk1", "clinic") // while the hub serves
	desk1 := joinNode(t, hubURL, t1, "desk1")
	desk2 := joinNode(t, hubURL, enrolToken(t, hub, "desk2", "clinic"), "desk2")

	t.Run("replayed token", func(t *testing.T) {
		r := run(t, "init", "--dir", filepath.Join(t.TempDir(), "x"), "--join", hubURL, "--token", t1)
		if r.code != exitRefused || !strings.Contains(r.stderr, "already used") || !strings.Contains(r.stderr, "已被使用") {
			t.Errorf("replayed token: exit %d\n%s", r.code, r.stderr)
		}
	})
	t.Run("expired token", func(t *testing.T) {
		tok := enrolToken(t, hub, "late", "clinic", "--ttl", "1ms")
		dir := filepath.Join(t.TempDir(), "late")
		r := run(t, "init", "--dir", dir, "--join", hubURL, "--token", tok)
		if r.code != exitRefused || !strings.Contains(r.stderr, "expired") || !strings.Contains(r.stderr, "已过期") {
			t.Errorf("expired token: exit %d\n%s", r.code, r.stderr)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("a refused join left %s behind", dir)
		}
	})

	// A joined desk holding none of the network's accounts refuses a first
	// account: it would make a second data key.
	if r := run(t, "user", "add", "--dir", desk1, "--name", "admin", "--role", "admin", "--password-file",
		passwordFile(t, adminPassword)); r.code != exitUsage || !strings.Contains(r.stderr, "--first-in-network") || !hasHan(r.stderr) {
		t.Errorf("first account on a joined desk: exit %d\n%s", r.code, r.stderr)
	}
	// This test syncs generic records only, so each desk may make its own
	// key; a real network adds its first admin on the hub.
	addUser(t, desk1, "admin", "admin", adminPassword, "--first-in-network")
	addUser(t, desk2, "admin", "admin", adminPassword, "--first-in-network")
	srv1 := startSyncServe(t, desk1, "--sync-interval", "0")
	srv2 := startSyncServe(t, desk2, "--sync-interval", "0")
	n1, n2 := srv1.login(t, "admin", adminPassword), srv2.login(t, "admin", adminPassword)
	writeVisits(t, n1, "d1", 12)
	writeVisits(t, n2, "d2", 9)

	// Through the running nodes: desk1 up, desk2 up and down, desk1 down.
	for _, dir := range []string{desk1, desk2, desk1} {
		r := mustRun(t, "sync", "--dir", dir)
		if !strings.Contains(r.stdout, "synced with") || !strings.Contains(r.stdout, "已与") {
			t.Errorf("sync %s:\n%s", dir, r.stdout)
		}
	}
	for _, c := range []struct {
		ss     *session
		prefix string
		n      int
	}{{n1, "d1", 12}, {n1, "d2", 9}, {n2, "d1", 12}, {n2, "d2", 9}} {
		if !hasVisits(t, c.ss, c.prefix, c.n) {
			t.Errorf("%s lacks visits %s-*", c.ss.url, c.prefix)
		}
	}
	if r := mustRun(t, "sync", "--dir", desk2); !strings.Contains(r.stdout, "nothing to exchange") {
		t.Errorf("second sync of desk2 not idle:\n%s", r.stdout)
	}

	// Without the running node: the CLI opens the database itself.
	srv1.stop(t)
	if r := mustRun(t, "sync", "--dir", desk1, "--peer", hubURL); !strings.Contains(r.stdout, "nothing to exchange") {
		t.Errorf("offline sync of desk1 not idle:\n%s", r.stdout)
	}

	// On its own: desk1 serves with a short interval and receives what
	// desk2 pushes to the hub.
	srv1 = startSyncServe(t, desk1, "--sync-interval", "200ms")
	n1 = srv1.login(t, "admin", adminPassword)
	writeVisits(t, n2, "late", 3)
	mustRun(t, "sync", "--dir", desk2)
	deadline := time.Now().Add(30 * time.Second)
	for !hasVisits(t, n1, "late", 3) {
		if time.Now().After(deadline) {
			t.Fatalf("desk1 did not sync with its hub on its own within 30s\n%s", tail(srv1.stderr.String(), 2000))
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Revocation: the hub refuses desk2 at once; desk1 refuses it once the
	// revocation has reached it through its scheduled syncs.
	desk2ID := mustLoadID(t, desk2).ID.String()
	mustRun(t, "revoke", "--dir", hub, "--reason", "笔记本丢失", desk2ID)
	if r := run(t, "sync", "--dir", desk2); r.code == 0 {
		t.Errorf("revoked desk2 synced with the hub:\n%s", r.stdout)
	}
	desk1URL := syncURL(t, desk1)
	deadline = time.Now().Add(30 * time.Second)
	for {
		r := run(t, "sync", "--dir", desk2, "--peer", desk1URL)
		if r.code != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("desk1 still syncs with revoked desk2 after 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if log := srv1.stop(t); !strings.Contains(log, "node revoked") {
		t.Errorf("desk1's log does not say desk2 is revoked:\n%s", tail(log, 3000))
	}
	srv2.stop(t)

	t.Run("certificate from another CA", func(t *testing.T) {
		hub2 := filepath.Join(t.TempDir(), "hub2")
		mustRun(t, "init", "--dir", hub2, "--name", "other", "--role", "hub")
		h2 := startSyncServe(t, hub2)
		hub2URL := syncURL(t, hub2)
		foreign := joinNode(t, hub2URL, enrolToken(t, hub2, "foreign", "clinic"), "foreign")
		// A desk does not sync with a hub of another network.
		if r := run(t, "sync", "--dir", desk2, "--peer", hub2URL); r.code != exitRefused {
			t.Errorf("desk2 with a foreign hub: exit %d\n%s", r.code, r.stderr)
		}
		h2.stop(t)
		r := run(t, "sync", "--dir", foreign, "--peer", hubURL)
		if r.code != exitRefused || !strings.Contains(r.stderr, "CA") {
			t.Errorf("foreign node: exit %d\n%s", r.code, r.stderr)
		}
		// The foreign node refuses the hub first; make the hub judge the
		// foreign certificate too.
		m, err := trust.Load(foreign, mustLoadID(t, foreign))
		if err != nil {
			t.Fatal(err)
		}
		if err := presentCert(hubURL, m.TLSCertificate()); err == nil {
			t.Error("hub accepted a certificate from another CA")
		}
	})

	t.Run("node ID not matching the key", func(t *testing.T) {
		// desk2's key, in a certificate from the real CA that names desk1.
		key, err := identity.Load(filepath.Join(desk2, "node.key"))
		if err != nil {
			t.Fatal(err)
		}
		victim, err := trust.Load(desk1, mustLoadID(t, desk1))
		if err != nil {
			t.Fatal(err)
		}
		forged := forgeCert(t, hub, "forged", key.Public, victim.Self.ID, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		if err := presentCert(hubURL, tls.Certificate{Certificate: [][]byte{forged}, PrivateKey: key.PrivateKey()}); err == nil {
			t.Error("hub accepted a certificate whose node ID is not its key's")
		}
	})

	log := hubSrv.stop(t)
	for _, want := range []string{"node enrolled", "already used", "expired", "session done",
		"peer refused at TLS handshake", "does not match its key", "certificate not issued by this network", "node revoked"} {
		if !strings.Contains(log, want) {
			t.Errorf("hub log lacks %q", want)
		}
	}
}

func mustLoadID(t *testing.T, dir string) *identity.Identity {
	t.Helper()
	id, err := identity.Load(filepath.Join(dir, "node.key"))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// forgeCert signs, with the hub's CA key, a clinic certificate named cn
// for pub that names node id, valid from notBefore to notAfter: what a node
// holding a stolen CA signature but not the victim's key could present, or
// a certificate outside its validity.
func forgeCert(t *testing.T, hub, cn string, pub ed25519.PublicKey, id identity.ID, notBefore, notAfter time.Time) []byte {
	t.Helper()
	p := trust.PathsOf(hub)
	kb, _ := os.ReadFile(p.CAKey())
	blk, _ := pem.Decode(kb)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := os.ReadFile(p.CACert())
	ca, err := trust.DecodeCert(cb)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(4242),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		URIs:         []*url.URL{{Scheme: "carenode", Opaque: "node/" + string(id)}, {Scheme: "carenode", Opaque: "role/clinic"}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// presentCert opens a session request to url presenting cert, trusting any
// server, and returns the error the request ended with (nil if the server
// answered 200).
func presentCert(url string, cert tls.Certificate) error {
	tr := &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{
		MinVersion: tls.VersionTLS13, InsecureSkipVerify: true, Certificates: []tls.Certificate{cert}}}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/sync/v1/session", bytes.NewReader([]byte("CNS\x01")))
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	return nil
}

func TestSyncCommandsUsage(t *testing.T) {
	plain := initNode(t, "plain")
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"init", "--dir", filepath.Join(dir, "j"), "--join", "https://127.0.0.1:1"}, exitUsage, "--token is required"},
		{[]string{"init", "--dir", filepath.Join(dir, "j"), "--join", "https://127.0.0.1:1", "--token", "cnj1-x-y"}, exitUsage, "malformed enrolment token"},
		{[]string{"init", "--dir", filepath.Join(dir, "j"), "--join", "https://127.0.0.1:1", "--token", "t", "--role", "clinic"}, exitUsage, "token decides the role"},
		{[]string{"init", "--dir", plain, "--join", "https://127.0.0.1:1", "--token", "cnj1-" + strings.Repeat("a", 32) + "-" + strings.Repeat("a", 52)}, exitNodeExists, "already holds"},
		{[]string{"enrol-token", "--dir", plain, "--name", "x", "--role", "hub"}, exitUsage, "one hub"},
		{[]string{"enrol-token", "--dir", plain, "--name", "x", "--role", "clinic"}, exitError, "not a hub"},
		{[]string{"enrol-token", "--dir", plain, "--name", "x", "--role", "clinic", "--ttl", "-1h"}, exitUsage, "positive"},
		{[]string{"sync", "--dir", plain}, exitUsage, "no hub"},
		{[]string{"sync", "--dir", plain, "--peer", "https://127.0.0.1:1"}, exitError, "not enrolled"},
		{[]string{"revoke", "--dir", plain, "AAAA"}, exitUsage, "node ID"},
		{[]string{"serve", "--dir", plain, "--sync-listen", "127.0.0.1:0"}, exitUsage, "not enrolled"},
	} {
		t.Run(strings.Join(tc.args[:2], " "), func(t *testing.T) {
			r := run(t, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("carenode %v: exit %d, stderr %q; want exit %d containing %q", tc.args, r.code, r.stderr, tc.code, tc.want)
			}
		})
	}
	for _, cmd := range []string{"enrol-token", "sync", "revoke"} {
		r := run(t, cmd, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") || !strings.ContainsFunc(r.stdout, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
			t.Errorf("%s --help: exit %d\n%s", cmd, r.code, r.stdout)
		}
	}
}
