package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carenode/sync/trust"
)

// privateFile reads a secret file and checks that only its owner can
// reach it.
func privateFile(t *testing.T, path string) []byte {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %04o, want 0600", path, info.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// discoveryAddr returns the gossip address a serving node wrote to sync.json.
func discoveryAddr(t *testing.T, dir string) string {
	t.Helper()
	rt, err := readSyncRuntime(dir)
	if err != nil || rt.Discovery == "" {
		t.Fatalf("no discovery address for %s: %+v %v", dir, rt, err)
	}
	return rt.Discovery
}

// TestDiscoverySync: two desks of one network find each other on the LAN
// (desk2 knows only desk1's gossip address as a seed, no --peer) and sync
// directly, with the hub down, without any carenode sync command.
func TestDiscoverySync(t *testing.T) {
	hub := filepath.Join(t.TempDir(), "hub")
	mustRun(t, "init", "--dir", hub, "--name", "县医院", "--role", "hub")
	hubKeyPath := trust.PathsOf(hub).GossipKey()
	firstKey := privateFile(t, hubKeyPath)
	// A hub made before gossip keys existed: it makes one on first need.
	if err := os.Remove(hubKeyPath); err != nil {
		t.Fatal(err)
	}
	hubSrv := startSyncServe(t, hub)
	hubURL := syncURL(t, hub)
	desk1 := joinNode(t, hubURL, enrolToken(t, hub, "desk1", "clinic"), "desk1")
	desk2 := joinNode(t, hubURL, enrolToken(t, hub, "desk2", "clinic"), "desk2")
	// The hub is down from here on: whatever reaches a desk came from the
	// other desk.
	hubSrv.stop(t)
	hubKey := privateFile(t, hubKeyPath)
	if len(hubKey) != trust.GossipKeySize || bytes.Equal(hubKey, firstKey) {
		t.Fatalf("the old hub's new gossip key: %x (deleted one %x)", hubKey, firstKey)
	}
	for _, d := range []string{desk1, desk2} {
		if k := privateFile(t, trust.PathsOf(d).GossipKey()); !bytes.Equal(k, hubKey) {
			t.Fatalf("%s was enrolled with gossip key %x, the hub has %x", d, k, hubKey)
		}
	}
	// Generic records only: each desk may make its own key here (a real
	// network adds its first admin on the hub).
	addUser(t, desk1, "admin", "admin", adminPassword, "--first-in-network")
	addUser(t, desk2, "admin", "admin", adminPassword, "--first-in-network")

	// desk2 as if enrolled before keys were delivered: discovery refuses to
	// start, saying what to do; once the hub's key is copied, it starts
	// (the run below).
	desk2Key := trust.PathsOf(desk2).GossipKey()
	if err := os.Remove(desk2Key); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(desk2, syncRuntimeFile))
	r := run(t, "serve", "--dir", desk2, "--listen", "127.0.0.1:0", "--sync-listen", "127.0.0.1:0", "--discovery-bind", "127.0.0.1:0")
	if r.code != exitUsage || !strings.Contains(r.stderr, "trust/gossip.key") || !strings.Contains(r.stderr, "re-enrol") || !strings.Contains(r.stderr, "重新注册") {
		t.Fatalf("serve --discovery-bind without a gossip key: exit %d, stderr %q; want a usage error saying to copy the key or re-enrol", r.code, r.stderr)
	}
	if err := os.WriteFile(desk2Key, hubKey, 0o600); err != nil {
		t.Fatal(err)
	}

	srv1 := startServeEnv(t, t.Cleanup, desk1, nil, "--sync-listen", "127.0.0.1:0", "--sync-interval", "200ms", "--discovery-bind", "127.0.0.1:0")
	seed := discoveryAddr(t, desk1)
	srv2 := startSyncServe(t, desk2, "--sync-interval", "200ms", "--discovery-bind", "127.0.0.1:0", "--discovery-join", seed)
	n1, n2 := srv1.login(t, "admin", adminPassword), srv2.login(t, "admin", adminPassword)

	writeVisits(t, n1, "disc1", 4)
	writeVisits(t, n2, "disc2", 2)
	deadline := time.Now().Add(30 * time.Second)
	for !hasVisits(t, n2, "disc1", 4) || !hasVisits(t, n1, "disc2", 2) {
		if time.Now().After(deadline) {
			srv2.stop(t)
			srv1.stop(t)
			t.Fatalf("desks did not sync by discovery within 30s\ndesk1:\n%s\ndesk2:\n%s",
				tail(srv1.stderr.String(), 3000), tail(srv2.stderr.String(), 3000))
		}
		time.Sleep(100 * time.Millisecond)
	}

	log2 := srv2.stop(t) // leaves the cluster: desk1 stops its loop
	desk1ID, desk2ID := mustLoadID(t, desk1).ID.String(), mustLoadID(t, desk2).ID.String()
	// desk2 sent its leave before it exited; desk1 logs it when the leave
	// reaches it (or, were it lost, when gossip finds desk2 dead): wait
	// for the line, reading desk1's log while it runs.
	gone := logSays(srv1.stderr.String, "discovered peer gone", desk2ID)
	log1 := srv1.stop(t)
	if !strings.Contains(log2, "discovered peer; syncing with it") || !strings.Contains(log2, desk1ID) {
		t.Errorf("desk2's log does not show desk1 discovered:\n%s", tail(log2, 3000))
	}
	if !gone {
		t.Errorf("desk1's log does not show desk2 leaving within 30s:\n%s", tail(log1, 3000))
	}

	// Usage errors that need an enrolled node, not serving.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--sync-listen", "0.0.0.0:0", "--discovery-bind", "127.0.0.1:0"}, "--discovery-advertise"},
		{[]string{"--sync-listen", "[::]:0", "--discovery-bind", "127.0.0.1:0"}, "--discovery-advertise"},
	} {
		r := run(t, append([]string{"serve", "--dir", desk1, "--listen", "127.0.0.1:0"}, tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || !hasHan(r.stderr) {
			t.Errorf("serve %v: exit %d, stderr %q; want usage error naming %s", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

func TestDiscoveryUsage(t *testing.T) {
	plain := initNode(t, "plain")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--discovery-bind", "127.0.0.1:0"}, "not enrolled"},
		{[]string{"--discovery-join", "127.0.0.1:7946"}, "needs --discovery-bind"},
		{[]string{"--discovery-advertise", "10.0.0.1"}, "needs --discovery-bind"},
		{[]string{"--discovery-bind", "127.0.0.1"}, "ADDR:PORT"},
		{[]string{"--discovery-bind", "127.0.0.1:70000"}, "bad port"},
		{[]string{"--discovery-bind", "localhost:7946"}, "not an IP address"},
		{[]string{"--discovery-bind", "127.0.0.1:0", "--discovery-join", "127.0.0.1"}, "--discovery-join"},
		{[]string{"--discovery-bind", "127.0.0.1:0", "--discovery-join", "127.0.0.1:0"}, "port 0"},
		{[]string{"--discovery-bind", "127.0.0.1:0", "--discovery-advertise", "10.0.0.1:7443"}, "without port"},
		{[]string{"--discovery-bind", "127.0.0.1:0", "--sync-interval", "0"}, "must not be 0"},
	} {
		r := run(t, append([]string{"serve", "--dir", plain, "--listen", "127.0.0.1:0"}, tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("serve %v: exit %d, stderr %q; want usage error containing %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	r := run(t, "serve", "--help")
	for _, want := range []string{"--discovery-bind", "--discovery-join", "--discovery-advertise", "局域网"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("serve --help lacks %q:\n%s", want, r.stdout)
		}
	}
}
