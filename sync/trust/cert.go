package trust

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"strings"
	"time"

	"carenode/node/identity"
	"carenode/node/nodeconf"
)

// Validity periods. A node certificate lives long because a clinic may be
// offline for weeks and must not lose its network membership to a clock;
// compromise is handled by revocation, not expiry.
const (
	CAValidity   = 20 * 365 * 24 * time.Hour
	NodeValidity = 5 * 365 * 24 * time.Hour
	// backdate lets a peer whose clock runs a little behind the hub's
	// accept a certificate issued just now.
	backdate = 24 * time.Hour
)

const (
	uriScheme  = "carenode"
	nodePrefix = "node/"
	rolePrefix = "role/"
)

// Peer is what a verified certificate says about its node.
type Peer struct {
	ID   identity.ID
	Role nodeconf.Role
	Name string
}

// Fingerprint is the SHA-256 of a certificate's DER bytes. An enrolment
// token carries the CA's, so a joining node can check the hub before it
// has the CA.
type Fingerprint [sha256.Size]byte

// FingerprintOf returns cert's fingerprint.
func FingerprintOf(cert *x509.Certificate) Fingerprint { return sha256.Sum256(cert.Raw) }

// PeerOf reads the node ID, role and name from cert and checks that the ID
// is the one derived from the certificate's public key. It does not check
// the chain: Verifier does.
func PeerOf(cert *x509.Certificate) (Peer, error) {
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok {
		return Peer{}, fmt.Errorf("%w: key is %T, want Ed25519", ErrBadCert, cert.PublicKey)
	}
	var p Peer
	var idText string
	for _, u := range cert.URIs {
		if u.Scheme != uriScheme {
			continue
		}
		switch {
		case strings.HasPrefix(u.Opaque, nodePrefix) && idText == "":
			idText = strings.TrimPrefix(u.Opaque, nodePrefix)
		case strings.HasPrefix(u.Opaque, rolePrefix) && p.Role == "":
			r, err := nodeconf.ParseRole(strings.TrimPrefix(u.Opaque, rolePrefix))
			if err != nil {
				return Peer{}, fmt.Errorf("%w: %w", ErrBadCert, err)
			}
			p.Role = r
		}
	}
	if idText == "" || p.Role == "" {
		return Peer{}, fmt.Errorf("%w: no carenode:node/ or carenode:role/ URI", ErrBadCert)
	}
	id, err := identity.ParseID(idText)
	if err != nil || string(id) != idText {
		return Peer{}, fmt.Errorf("%w: node ID %q", ErrBadCert, idText)
	}
	if want := identity.IDFromPublicKey(pub); id != want {
		return Peer{}, fmt.Errorf("%w: certificate says %s, key gives %s", ErrIDMismatch, id, want)
	}
	p.ID, p.Name = id, cert.Subject.CommonName
	return p, nil
}

// Verifier accepts or refuses a peer's certificate.
type Verifier struct {
	// Roots holds the pinned CA.
	Roots *x509.CertPool
	// Now reads the clock; nil means time.Now.
	Now func() time.Time
	// Revoked reports whether a node has been revoked; nil means none
	// is. It is called from TLS handshakes, concurrently, and must not
	// block for long.
	Revoked func(identity.ID) bool
}

// Verify checks a peer's certificate chain as sent in a TLS handshake
// (leaf first): it chains to the pinned CA, is valid now, names a node ID
// that matches its key, and that node is not revoked.
func (v *Verifier) Verify(chain []*x509.Certificate) (Peer, error) {
	if len(chain) == 0 {
		return Peer{}, fmt.Errorf("%w: no certificate", ErrUntrusted)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: v.Roots, Intermediates: inter, CurrentTime: now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if _, err := chain[0].Verify(opts); err != nil {
		return Peer{}, fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	p, err := PeerOf(chain[0])
	if err != nil {
		return Peer{}, err
	}
	if v.Revoked != nil && v.Revoked(p.ID) {
		return Peer{}, fmt.Errorf("%w: %s", ErrRevoked, p.ID)
	}
	return p, nil
}

// CA is a network's certificate authority, held by the hub.
type CA struct {
	Cert *x509.Certificate
	// GossipKey is the network's LAN gossip key, sent to each node in its
	// enrolment answer; LoadCA fills it in. Empty for a CA made in memory.
	GossipKey []byte
	key       ed25519.PrivateKey
	rand      io.Reader
}

// NewCA makes a CA with a fresh key. rand nil means crypto/rand.
func NewCA(network string, rnd io.Reader, now time.Time) (*CA, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	pub, key, err := ed25519.GenerateKey(rnd)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := newSerial(rnd)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "carenode network CA: " + network},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(CAValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rnd, tmpl, tmpl, pub, key)
	if err != nil {
		return nil, fmt.Errorf("self-sign CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	return &CA{Cert: cert, key: key, rand: rnd}, nil
}

func newSerial(rnd io.Reader) (*big.Int, error) {
	n, err := rand.Int(rnd, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("certificate serial: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// NewCSR returns a DER certificate request signed by the node's key. The
// key never leaves the node; the hub learns only the public half.
func NewCSR(id *identity.Identity) ([]byte, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader,
		&x509.CertificateRequest{Subject: pkix.Name{CommonName: id.ID.String()}}, id.PrivateKey())
	if err != nil {
		return nil, fmt.Errorf("certificate request: %w", err)
	}
	return der, nil
}

// Sign issues a node certificate for the key in csrDER, with the node ID
// derived from that key and the name and role the hub decided (from the
// token, never from the request). The request must be signed by its key.
func (ca *CA) Sign(csrDER []byte, name string, role nodeconf.Role, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCSR, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCSR, err)
	}
	pub, ok := csr.PublicKey.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: key is %T, want Ed25519", ErrBadCSR, csr.PublicKey)
	}
	return ca.issue(pub, identity.IDFromPublicKey(pub), name, role, now, validity)
}

// issue signs a certificate for pub naming id. Only Sign and tests call it
// with an id of their choosing; Sign always derives it from the key.
func (ca *CA) issue(pub ed25519.PublicKey, id identity.ID, name string, role nodeconf.Role, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	if _, err := nodeconf.ParseRole(string(role)); err != nil {
		return nil, err
	}
	serial, err := newSerial(ca.rand)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs: []*url.URL{
			{Scheme: uriScheme, Opaque: nodePrefix + string(id)},
			{Scheme: uriScheme, Opaque: rolePrefix + string(role)},
		},
	}
	der, err := x509.CreateCertificate(ca.rand, tmpl, ca.Cert, pub, ca.key)
	if err != nil {
		return nil, fmt.Errorf("sign node certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}
