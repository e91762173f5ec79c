package transport

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"carenode/node/identity"
	"carenode/node/nodeconf"
	"carenode/sync/trust"
)

// FuzzEnrolAnswer: whatever a hub (or something posing as one) answers, a
// joining node returns an error or an enrolment whose CA is the one its
// token names, whose certificate is for its own key, and whose gossip key
// is trust.GossipKeySize bytes or absent.
func FuzzEnrolAnswer(f *testing.F) {
	now := time.Now()
	ca, err := trust.NewCA("fuzz", nil, now)
	if err != nil {
		f.Fatal(err)
	}
	other, err := trust.NewCA("other", nil, now)
	if err != nil {
		f.Fatal(err)
	}
	id, err := identity.Generate(nil)
	if err != nil {
		f.Fatal(err)
	}
	csr, err := trust.NewCSR(id)
	if err != nil {
		f.Fatal(err)
	}
	cert, err := ca.Sign(csr, "desk", nodeconf.RoleClinic, now, trust.NodeValidity)
	if err != nil {
		f.Fatal(err)
	}
	foreign, err := other.Sign(csr, "desk", nodeconf.RoleClinic, now, trust.NodeValidity)
	if err != nil {
		f.Fatal(err)
	}
	tok := trust.Token{CA: trust.FingerprintOf(ca.Cert)}
	key := bytes.Repeat([]byte{7}, trust.GossipKeySize)
	seed := func(code int, r enrolResponse) {
		b, err := json.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(code, b)
	}
	seed(http.StatusOK, enrolResponse{Cert: cert.Raw, CA: ca.Cert.Raw, Gossip: key})
	seed(http.StatusOK, enrolResponse{Cert: cert.Raw, CA: ca.Cert.Raw})
	seed(http.StatusOK, enrolResponse{Cert: cert.Raw, CA: ca.Cert.Raw, Gossip: key[:16]})
	seed(http.StatusOK, enrolResponse{Cert: foreign.Raw, CA: ca.Cert.Raw, Gossip: key})
	seed(http.StatusOK, enrolResponse{Cert: foreign.Raw, CA: other.Cert.Raw, Gossip: key})
	seed(http.StatusForbidden, enrolResponse{Code: "used", Error: "x"})
	seed(http.StatusInternalServerError, enrolResponse{Error: "boom"})
	f.Add(http.StatusOK, []byte(`{"gossip":"!!"}`))
	f.Add(http.StatusOK, []byte(`not json`))

	f.Fuzz(func(t *testing.T, code int, body []byte) {
		en, err := readEnrolAnswer(code, http.StatusText(code), bytes.NewReader(body), "https://127.0.0.1:7443", tok, id)
		if err != nil {
			return
		}
		if trust.FingerprintOf(en.CA) != tok.CA {
			t.Fatal("accepted a CA the token does not name")
		}
		if pub, ok := en.Cert.PublicKey.(ed25519.PublicKey); !ok || !pub.Equal(id.Public) {
			t.Fatal("accepted a certificate for another key")
		}
		if n := len(en.GossipKey); n != 0 && n != trust.GossipKeySize {
			t.Fatalf("accepted a %d-byte gossip key", n)
		}
		if en.Self.ID != id.ID {
			t.Fatalf("enrolled as %s, not %s", en.Self.ID, id.ID)
		}
	})
}

// TestEnrolAnswerGossipKey: the sizes a joining node accepts.
func TestEnrolAnswerGossipKey(t *testing.T) {
	now := time.Now()
	ca, _ := trust.NewCA("net", nil, now)
	id, _ := identity.Generate(nil)
	csr, _ := trust.NewCSR(id)
	cert, err := ca.Sign(csr, "desk", nodeconf.RoleClinic, now, trust.NodeValidity)
	if err != nil {
		t.Fatal(err)
	}
	tok := trust.Token{CA: trust.FingerprintOf(ca.Cert)}
	for _, tc := range []struct {
		name string
		key  []byte
		ok   bool
	}{
		{"32 bytes", bytes.Repeat([]byte{1}, 32), true},
		{"none (hub without a key)", nil, true},
		{"16 bytes", bytes.Repeat([]byte{1}, 16), false},
		{"33 bytes", bytes.Repeat([]byte{1}, 33), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := json.Marshal(enrolResponse{Cert: cert.Raw, CA: ca.Cert.Raw, Gossip: tc.key})
			en, err := readEnrolAnswer(http.StatusOK, "200 OK", bytes.NewReader(b), "https://hub", tok, id)
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok %v", err, tc.ok)
			}
			if !tc.ok && !errors.Is(err, trust.ErrBadGossipKey) {
				t.Errorf("err = %v, want ErrBadGossipKey", err)
			}
			if tc.ok && !bytes.Equal(en.GossipKey, tc.key) {
				t.Errorf("key %x, want %x", en.GossipKey, tc.key)
			}
		})
	}
}
