package trust

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/node/identity"
	"carenode/node/nodeconf"
	"carenode/node/store"
)

func mustID(t *testing.T) *identity.Identity {
	t.Helper()
	id, err := identity.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestSignAndVerify(t *testing.T) {
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	ca, err := NewCA("县医院", nil, now)
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewCA("other", nil, now)
	if err != nil {
		t.Fatal(err)
	}
	node := mustID(t)
	csr, err := NewCSR(node)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Sign(csr, "新街镇卫生院前台", nodeconf.RoleClinic, now, NodeValidity)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	v := &Verifier{Roots: pool, Now: func() time.Time { return now }}
	p, err := v.Verify([]*x509.Certificate{cert})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != node.ID || p.Role != nodeconf.RoleClinic || p.Name != "新街镇卫生院前台" {
		t.Errorf("peer = %+v, want %s clinic", p, node.ID)
	}

	t.Run("other CA", func(t *testing.T) {
		c, err := other.Sign(csr, "x", nodeconf.RoleClinic, now, NodeValidity)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify([]*x509.Certificate{c, other.Cert}); !errors.Is(err, ErrUntrusted) {
			t.Errorf("other CA: err = %v, want ErrUntrusted", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		late := &Verifier{Roots: pool, Now: func() time.Time { return now.Add(NodeValidity + time.Hour) }}
		if _, err := late.Verify([]*x509.Certificate{cert}); !errors.Is(err, ErrUntrusted) {
			t.Errorf("expired: err = %v, want ErrUntrusted", err)
		}
	})
	t.Run("ID does not match key", func(t *testing.T) {
		victim := mustID(t)
		forged, err := ca.issue(node.Public, victim.ID, "forged", nodeconf.RoleClinic, now, NodeValidity)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify([]*x509.Certificate{forged}); !errors.Is(err, ErrIDMismatch) {
			t.Errorf("forged ID: err = %v, want ErrIDMismatch", err)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		rv := &Verifier{Roots: pool, Now: v.Now, Revoked: func(id identity.ID) bool { return id == node.ID }}
		if _, err := rv.Verify([]*x509.Certificate{cert}); !errors.Is(err, ErrRevoked) {
			t.Errorf("revoked: err = %v, want ErrRevoked", err)
		}
	})
	t.Run("CSR signed by another key", func(t *testing.T) {
		bad := append([]byte(nil), csr...)
		bad[len(bad)-1] ^= 1 // the signature is last
		if _, err := ca.Sign(bad, "x", nodeconf.RoleClinic, now, NodeValidity); !errors.Is(err, ErrBadCSR) {
			t.Errorf("tampered CSR: err = %v, want ErrBadCSR", err)
		}
	})
}

func TestNetworkFiles(t *testing.T) {
	dir := t.TempDir()
	hub := mustID(t)
	m, err := CreateNetwork(dir, hub, "hub", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if m.Self.ID != hub.ID || m.Self.Role != nodeconf.RoleHub {
		t.Errorf("hub certificate says %+v", m.Self)
	}
	if _, err := CreateNetwork(dir, hub, "hub", time.Now()); err == nil {
		t.Error("second CreateNetwork overwrote the CA")
	}
	ca, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.Cert.Equal(m.CA) {
		t.Error("LoadCA returned another certificate")
	}
	// A server's chain carries the CA (an enrolling node finds it by
	// fingerprint); a client's does not (servers pin it), and still
	// verifies against the pinned CA.
	if c := m.TLSCertificate(); len(c.Certificate) != 2 || !bytes.Equal(c.Certificate[1], m.CA.Raw) {
		t.Errorf("server chain has %d certificates, want node and CA", len(c.Certificate))
	}
	cc := m.ClientCertificate()
	if len(cc.Certificate) != 1 || !bytes.Equal(cc.Certificate[0], m.Cert.Raw) {
		t.Fatalf("client chain has %d certificates, want the node's only", len(cc.Certificate))
	}
	leaf, err := x509.ParseCertificate(cc.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if p, err := m.Verifier(nil, nil).Verify([]*x509.Certificate{leaf}); err != nil || p.ID != hub.ID {
		t.Errorf("client chain without the CA: %+v, %v", p, err)
	}
	if _, err := Load(dir, mustID(t)); err == nil {
		t.Error("Load accepted a certificate for another key")
	}
	if _, err := LoadCA(t.TempDir()); !errors.Is(err, ErrNotHub) {
		t.Errorf("LoadCA of a non-hub: %v", err)
	}
	if _, err := Load(t.TempDir(), hub); !errors.Is(err, ErrNotEnrolled) {
		t.Errorf("Load of a plain node: %v", err)
	}
}

func TestTokens(t *testing.T) {
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ts := OpenTokens(t.TempDir(), clock)
	fp := Fingerprint{1, 2, 3}
	tok, err := ts.Issue("desk", nodeconf.RoleClinic, time.Hour, fp)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseToken("  " + tok.String() + "\n")
	if err != nil || parsed != tok {
		t.Fatalf("ParseToken(%q) = %v, %v", tok, parsed, err)
	}
	if _, err := ParseToken("cnj1-abc-def"); !errors.Is(err, ErrTokenMalformed) {
		t.Errorf("short token: %v", err)
	}
	node := mustID(t)
	var got Grant
	if err := ts.Redeem(tok.Secret[:], func(g Grant) (identity.ID, error) { got = g; return node.ID, nil }); err != nil {
		t.Fatal(err)
	}
	if got != (Grant{"desk", nodeconf.RoleClinic}) {
		t.Errorf("grant = %+v", got)
	}
	never := func(Grant) (identity.ID, error) { t.Error("enrol called"); return "", nil }
	if err := ts.Redeem(tok.Secret[:], never); !errors.Is(err, ErrTokenUsed) {
		t.Errorf("second use: %v", err)
	}
	var zero [secretLen]byte
	if err := ts.Redeem(zero[:], never); !errors.Is(err, ErrTokenUnknown) {
		t.Errorf("unknown: %v", err)
	}

	exp, err := ts.Issue("kiosk", nodeconf.RoleKiosk, time.Minute, fp)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	if err := ts.Redeem(exp.Secret[:], never); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("expired: %v", err)
	}

	// A failed enrolment leaves the token usable.
	again, _ := ts.Issue("nurse", nodeconf.RoleNurse, time.Hour, fp)
	if err := ts.Redeem(again.Secret[:], func(Grant) (identity.ID, error) { return "", errors.New("bad CSR") }); err == nil {
		t.Error("failed enrol reported success")
	}
	// Many at once: exactly one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ts.Redeem(again.Secret[:], func(Grant) (identity.ID, error) { return node.ID, nil }) == nil {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d concurrent redemptions succeeded, want 1", wins.Load())
	}
	if _, err := ts.Issue("hub2", nodeconf.RoleHub, time.Hour, fp); err == nil {
		t.Error("issued a hub token")
	}
}

func TestRevocationsTravelAsData(t *testing.T) {
	now := time.Now()
	ca, err := NewCA("hub", nil, now)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewCA("other", nil, now)
	victim := mustID(t)
	open := func(name string) *store.Store {
		opts := store.DefaultOptions(filepath.Join(t.TempDir(), name), crdt.NodeID(mustID(t).ID))
		opts.Create, opts.NoSync = true, true
		st, err := store.Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	hub, desk := open("hub"), open("desk")
	ctx := context.Background()
	if NewRevocations(hub, ca.Cert).Revoked(victim.ID) {
		t.Fatal("revoked before any revocation")
	}
	if err := ca.Revoke(ctx, hub, victim.ID, "laptop stolen", now); err != nil {
		t.Fatal(err)
	}
	if !NewRevocations(hub, ca.Cert).Revoked(victim.ID) {
		t.Error("hub does not see its revocation")
	}
	// What the hub wrote, applied on a desk as sync would.
	page, err := hub.ChangesAfter(nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := desk.ApplyRemote(page.Changes); err != nil {
		t.Fatal(err)
	}
	if !NewRevocations(desk, ca.Cert).Revoked(victim.ID) {
		t.Error("desk does not see the synced revocation")
	}
	// Signed by another CA, or written by a node without the CA key: ignored.
	if NewRevocations(desk, other.Cert).Revoked(victim.ID) {
		t.Error("revocation accepted under another CA")
	}
	forger := mustID(t)
	sig, _ := json.Marshal(forger.Sign(revocationMessage(forger.ID)))
	if _, err := desk.Write(ctx, store.WriteRequest{Collection: RevocationCollection, Record: string(forger.ID),
		Edits: []store.Edit{{Kind: crdt.MutSet, Field: revSig, Value: sig}}}); err != nil {
		t.Fatal(err)
	}
	if NewRevocations(desk, ca.Cert).Revoked(forger.ID) {
		t.Error("a revocation not signed by the CA counted")
	}
}
