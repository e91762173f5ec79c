package trust

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"testing"
	"time"

	"carenode/node/identity"
	"carenode/node/nodeconf"
)

// What an enrolling node sends before it is trusted (a token and a CSR) and
// what any peer presents at a handshake (its certificate) are outside
// bytes: none of them may panic the hub or a node, and what is accepted
// must be what it claims.

func FuzzParseToken(f *testing.F) {
	var tok Token
	tok.Secret[0], tok.CA[31] = 7, 9
	f.Add(tok.String())
	f.Add("  " + tok.String() + "\n")
	f.Add("cnj1--")
	f.Add("cnj1-" + string(bytes.Repeat([]byte("A"), 32)) + "-x")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseToken(s)
		if err != nil {
			return
		}
		// Accepted: it reads back the same from its canonical text.
		again, err := ParseToken(got.String())
		if err != nil || again != got {
			t.Fatalf("%q parsed to %v, whose text %q reads back as %v, %v", s, got, got.String(), again, err)
		}
	})
}

func FuzzSignCSR(f *testing.F) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ca, err := NewCA("fuzz", nil, now)
	if err != nil {
		f.Fatal(err)
	}
	id, err := identity.Generate(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	csr, err := NewCSR(id)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(csr)
	f.Add(csr[:len(csr)/2])
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		cert, err := ca.Sign(der, "desk1", nodeconf.RoleClinic, now, time.Hour)
		if err != nil {
			return
		}
		// A signed certificate names the node its key belongs to.
		p, err := PeerOf(cert)
		if err != nil {
			t.Fatalf("signed a certificate PeerOf refuses: %v", err)
		}
		if p.Role != nodeconf.RoleClinic || p.Name != "desk1" {
			t.Fatalf("signed %+v", p)
		}
	})
}

func FuzzPeerOf(f *testing.F) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ca, err := NewCA("fuzz", nil, now)
	if err != nil {
		f.Fatal(err)
	}
	id, err := identity.Generate(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	csr, err := NewCSR(id)
	if err != nil {
		f.Fatal(err)
	}
	cert, err := ca.Sign(csr, "desk1", nodeconf.RoleClinic, now, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(cert.Raw)
	f.Add(ca.Cert.Raw)
	f.Fuzz(func(t *testing.T, der []byte) {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return
		}
		p, err := PeerOf(c)
		if err == nil && p.ID == "" {
			t.Fatal("accepted a certificate without a node ID")
		}
		// Only certificates of this network's CA pass the verifier.
		v := &Verifier{Roots: x509.NewCertPool(), Now: func() time.Time { return now }}
		v.Roots.AddCert(ca.Cert)
		if p, err := v.Verify([]*x509.Certificate{c}); err == nil && !bytes.Equal(der, cert.Raw) {
			t.Fatalf("verified a certificate the CA did not sign: %+v", p)
		}
	})
}
