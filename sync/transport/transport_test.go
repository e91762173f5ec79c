package transport_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/node/identity"
	"carenode/node/nodeconf"
	"carenode/node/store"
	"carenode/sync/session"
	"carenode/sync/transport"
	"carenode/sync/trust"
)

var quiet = slog.New(slog.DiscardHandler)

// tnode is one node under test: identity, trust files, store, engine.
type tnode struct {
	dir string
	id  *identity.Identity
	m   *trust.Material
	st  *store.Store
	eng *session.Engine
}

func newIdentity(t *testing.T) (string, *identity.Identity) {
	t.Helper()
	id, err := identity.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	return t.TempDir(), id
}

func (n *tnode) open(t *testing.T) {
	t.Helper()
	opts := store.DefaultOptions(filepath.Join(n.dir, "db"), crdt.NodeID(n.id.ID))
	opts.Create, opts.NoSync, opts.Logger = true, true, quiet
	st, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := session.DefaultConfig(crdt.NodeID(n.id.ID), st)
	cfg.Logger = quiet
	eng, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	n.st, n.eng = st, eng
}

func (n *tnode) write(t *testing.T, count int) {
	t.Helper()
	for i := range count {
		_, err := n.st.Write(context.Background(), store.WriteRequest{Collection: "visits", Record: fmt.Sprintf("%s-%d", n.id.ID, i),
			Edits: []store.Edit{{Kind: crdt.MutSet, Field: "note", Value: fmt.Appendf(nil, "%q", "复诊 "+n.id.ID.String())}}})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func newHub(t *testing.T) (*tnode, *trust.CA, *trust.Tokens) {
	t.Helper()
	dir, id := newIdentity(t)
	m, err := trust.CreateNetwork(dir, id, "hub", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ca, err := trust.LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := &tnode{dir: dir, id: id, m: m}
	n.open(t)
	return n, ca, trust.OpenTokens(dir, nil)
}

// serve runs n's sync listener on a loopback port until the test ends.
func serve(t *testing.T, n *tnode, ca *trust.CA, tokens *trust.Tokens) string {
	t.Helper()
	srv, err := transport.NewServer(transport.Config{Material: n.m, Engine: n.eng, CA: ca, Tokens: tokens, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "https://" + ln.Addr().String()
}

func join(t *testing.T, url string, tokens *trust.Tokens, hub *tnode, name string, role nodeconf.Role) *tnode {
	t.Helper()
	tok, err := tokens.Issue(name, role, time.Hour, trust.FingerprintOf(hub.m.CA))
	if err != nil {
		t.Fatal(err)
	}
	dir, id := newIdentity(t)
	en, err := transport.Join(context.Background(), url, tok, id)
	if err != nil {
		t.Fatal(err)
	}
	if en.Self.ID != id.ID || en.Self.Role != role || en.Hub.Node != hub.id.ID {
		t.Fatalf("enrolment = %+v", en)
	}
	if err := trust.SaveEnrolment(dir, en.CA, en.Cert, en.Hub); err != nil {
		t.Fatal(err)
	}
	m, err := trust.Load(dir, id)
	if err != nil {
		t.Fatal(err)
	}
	n := &tnode{dir: dir, id: id, m: m}
	n.open(t)
	return n
}

func client(t *testing.T, n *tnode) *transport.Client {
	t.Helper()
	c, err := transport.NewClient(transport.Config{Material: n.m, Engine: n.eng, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSyncThroughHub: two nodes enrolled with the hub over real TLS on
// loopback converge through it; the second sync of each is idle; a replayed
// token is refused; a server without scope policies refuses a kiosk.
func TestSyncThroughHub(t *testing.T) {
	hub, ca, tokens := newHub(t)
	url := serve(t, hub, ca, tokens)
	a := join(t, url, tokens, hub, "desk-a", nodeconf.RoleClinic)
	b := join(t, url, tokens, hub, "desk-b", nodeconf.RoleClinic)
	a.write(t, 40)
	b.write(t, 25)
	ctx := context.Background()
	for _, step := range []struct {
		n    *tnode
		sent int
		recv int
	}{{a, 40, 0}, {b, 25, 40}, {a, 0, 25}} {
		res, peer, err := client(t, step.n).Sync(ctx, url, hub.id.ID)
		if err != nil {
			t.Fatal(err)
		}
		if peer.ID != hub.id.ID || res.Sent != step.sent || res.Received != step.recv {
			t.Errorf("sync %s: peer %s sent %d received %d, want %d %d", step.n.id.ID, peer.ID, res.Sent, res.Received, step.sent, step.recv)
		}
	}
	if va, vb, vh := a.st.Vector(), b.st.Vector(), hub.st.Vector(); !reflect.DeepEqual(va, vb) || !reflect.DeepEqual(va, vh) {
		t.Errorf("vectors differ: a %v b %v hub %v", va, vb, vh)
	}
	res, _, err := client(t, b).Sync(ctx, url, "")
	if err != nil || !res.Idle {
		t.Errorf("second sync of b: idle %v, err %v", res.Idle, err)
	}

	t.Run("wrong node expected", func(t *testing.T) {
		if _, _, err := client(t, a).Sync(ctx, url, b.id.ID); !errors.Is(err, session.ErrWrongPeer) {
			t.Errorf("err = %v, want ErrWrongPeer", err)
		}
	})
	t.Run("kiosk refused", func(t *testing.T) {
		k := join(t, url, tokens, hub, "kiosk", nodeconf.RoleKiosk)
		if _, _, err := client(t, k).Sync(ctx, url, ""); !errors.Is(err, transport.ErrRefused) {
			t.Errorf("err = %v, want ErrRefused", err)
		}
	})
	t.Run("replayed token", func(t *testing.T) {
		tok, _ := tokens.Issue("desk-c", nodeconf.RoleClinic, time.Hour, trust.FingerprintOf(hub.m.CA))
		_, id := newIdentity(t)
		if _, err := transport.Join(ctx, url, tok, id); err != nil {
			t.Fatal(err)
		}
		if _, err := transport.Join(ctx, url, tok, id); !errors.Is(err, trust.ErrTokenUsed) {
			t.Errorf("err = %v, want ErrTokenUsed", err)
		}
	})
	t.Run("token of another network", func(t *testing.T) {
		tok, _ := tokens.Issue("desk-d", nodeconf.RoleClinic, time.Hour, trust.Fingerprint{1})
		_, id := newIdentity(t)
		if _, err := transport.Join(ctx, url, tok, id); !errors.Is(err, transport.ErrWrongHub) {
			t.Errorf("err = %v, want ErrWrongHub", err)
		}
	})
}

// TestForeignCARefused: a node of another network cannot open a session,
// and a node does not accept a server of another network.
func TestForeignCARefused(t *testing.T) {
	hub, ca, tokens := newHub(t)
	url := serve(t, hub, ca, tokens)
	other, oca, otokens := newHub(t)
	ourl := serve(t, other, oca, otokens)
	x := join(t, ourl, otokens, other, "foreign", nodeconf.RoleClinic)
	if _, _, err := client(t, x).Sync(context.Background(), url, ""); err == nil {
		t.Error("a foreign node synced with the hub")
	}
	a := join(t, url, tokens, hub, "desk", nodeconf.RoleClinic)
	if _, _, err := client(t, a).Sync(context.Background(), ourl, ""); !errors.Is(err, trust.ErrUntrusted) {
		t.Errorf("sync with a foreign hub: %v, want ErrUntrusted", err)
	}
}

func TestScheduleDelay(t *testing.T) {
	s := transport.Schedule{Interval: time.Minute, MaxBackoff: 30 * time.Minute, Jitter: 0.2}
	for _, tc := range []struct {
		failures int
		r        float64
		want     time.Duration
	}{
		{0, 0.5, time.Minute},
		{1, 0.5, 2 * time.Minute},
		{3, 0.5, 8 * time.Minute},
		{10, 0.5, 30 * time.Minute},
		{0, 0, 48 * time.Second},
		{0, 0.999999, 72 * time.Second},
		{1000, 0.5, 30 * time.Minute},
	} {
		if got := s.Delay(tc.failures, tc.r); got.Round(time.Second) != tc.want {
			t.Errorf("Delay(%d, %v) = %s, want %s", tc.failures, tc.r, got, tc.want)
		}
	}
}

// TestSelfOnlyRequests: trigger and revoke are taken from the node itself
// only, never from another node of the network.
func TestSelfOnlyRequests(t *testing.T) {
	hub, ca, tokens := newHub(t)
	srv, err := transport.NewServer(transport.Config{Material: hub.m, Engine: hub.eng, CA: ca, Tokens: tokens, Logger: quiet,
		Revoked: trust.NewRevocations(hub.st, hub.m.CA).Revoked,
		Revoke: func(ctx context.Context, node identity.ID, reason string) error {
			return ca.Revoke(ctx, hub.st, node, reason, time.Now())
		}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, 5*time.Second) }()
	defer func() { cancel(); <-done }()
	url := "https://" + ln.Addr().String()
	a := join(t, url, tokens, hub, "desk-a", nodeconf.RoleClinic)

	tr := &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS13,
		InsecureSkipVerify: true, Certificates: []tls.Certificate{a.m.TLSCertificate()}}}
	defer tr.CloseIdleConnections()
	for _, path := range []string{transport.TriggerPath, transport.RevokePath} {
		resp, err := (&http.Client{Transport: tr}).Post(url+path, "application/json",
			strings.NewReader(fmt.Sprintf(`{"url":%q,"node":%q}`, url, hub.id.ID)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s from another node: %s, want 403", path, resp.Status)
		}
	}
	// The hub itself may revoke; the revoked node is then refused.
	if err := transport.RevokeVia(ctx, hub.m, ln.Addr().String(), a.id.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := client(t, a).Sync(ctx, url, ""); err == nil {
		t.Error("revoked node synced")
	}
	// The hub itself may trigger a sync (here with itself, whatever the
	// session makes of that: the request is taken).
	if _, err := transport.Trigger(ctx, hub.m, ln.Addr().String(), url, ""); err != nil && strings.Contains(err.Error(), "only the node itself") {
		t.Errorf("self trigger refused: %v", err)
	}
}
