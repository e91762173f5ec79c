package trust

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"carenode/node/atomicfile"
	"carenode/node/identity"
	"carenode/node/nodeconf"
)

// DirName is the folder of a data directory that holds trust files.
const DirName = "trust"

// Paths names the trust files of one data directory.
type Paths struct{ Dir string }

// PathsOf returns the trust paths of the data directory dataDir.
func PathsOf(dataDir string) Paths { return Paths{Dir: filepath.Join(dataDir, DirName)} }

// CACert is the pinned network CA certificate (every node).
func (p Paths) CACert() string { return filepath.Join(p.Dir, "ca.crt") }

// CAKey is the CA's private key (the hub only; owner-only).
func (p Paths) CAKey() string { return filepath.Join(p.Dir, "ca.key") }

// NodeCert is this node's certificate, for its node key.
func (p Paths) NodeCert() string { return filepath.Join(p.Dir, "node.crt") }

// Hub is where a joined node keeps its hub's URL and node ID.
func (p Paths) Hub() string { return filepath.Join(p.Dir, "hub.json") }

// Tokens is the hub's enrolment-token file (hashed secrets).
func (p Paths) Tokens() string { return filepath.Join(p.Dir, "tokens.json") }

const (
	certPEM  = "CERTIFICATE"
	keyPEM   = "PRIVATE KEY"
	privMode = 0o600
	maxFile  = 1 << 20
)

// EncodeCert returns cert as PEM.
func EncodeCert(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: certPEM, Bytes: cert.Raw})
}

// DecodeCert parses one PEM certificate.
func DecodeCert(data []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != certPEM {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return x509.ParseCertificate(b.Bytes)
}

func readCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := DecodeCert(data)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return c, nil
}

// Material is what a node needs to talk TLS with its network: the pinned
// CA, its own certificate and key.
type Material struct {
	CA       *x509.Certificate
	Cert     *x509.Certificate
	Identity *identity.Identity
	Self     Peer
	// dataDir is where the material was loaded from (GossipKey reads
	// the key there when discovery needs it).
	dataDir string
}

// Load reads dataDir's trust files for the node whose identity is id, and
// checks that the certificate is for id's key and chains to the CA.
func Load(dataDir string, id *identity.Identity) (*Material, error) {
	p := PathsOf(dataDir)
	cert, err := readCert(p.NodeCert())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dataDir, ErrNotEnrolled)
	}
	if err != nil {
		return nil, err
	}
	ca, err := readCert(p.CACert())
	if err != nil {
		return nil, fmt.Errorf("pinned CA: %w", err)
	}
	if pub, ok := cert.PublicKey.(ed25519.PublicKey); !ok || !pub.Equal(id.Public) {
		return nil, fmt.Errorf("%s is not for this node's key", p.NodeCert())
	}
	m := &Material{CA: ca, Cert: cert, Identity: id, dataDir: dataDir}
	if m.Self, err = m.Verifier(nil, nil).Verify([]*x509.Certificate{cert}); err != nil {
		return nil, fmt.Errorf("own certificate %s: %w", p.NodeCert(), err)
	}
	return m, nil
}

// Pool returns a pool holding only the pinned CA.
func (m *Material) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(m.CA)
	return pool
}

// Verifier returns a verifier against the pinned CA.
func (m *Material) Verifier(now func() time.Time, revoked func(identity.ID) bool) *Verifier {
	return &Verifier{Roots: m.Pool(), Now: now, Revoked: revoked}
}

// TLSCertificate is the node's certificate chain (node, CA) and key for
// crypto/tls. The CA goes along so a joining node can find it by its
// fingerprint.
func (m *Material) TLSCertificate() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{m.Cert.Raw, m.CA.Raw}, PrivateKey: m.Identity.PrivateKey(), Leaf: m.Cert}
}

// ClientCertificate is the node's certificate for the connections it
// opens, without the CA: every server it talks to pins the CA already and
// verifies against that, so sending it would only cost bytes on a paid
// link. (A server sends the CA, which a node enrolling checks against the
// fingerprint in its token.)
func (m *Material) ClientCertificate() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{m.Cert.Raw}, PrivateKey: m.Identity.PrivateKey(), Leaf: m.Cert}
}

func writePrivate(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := atomicfile.WriteNew(path, data, privMode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// CreateNetwork makes a new network's CA in the hub's data directory
// (trust/ca.key owner-only, trust/ca.crt) and its LAN gossip key
// (trust/gossip.key, owner-only), and signs the hub's own node certificate
// for id. It refuses to overwrite an existing CA.
func CreateNetwork(dataDir string, id *identity.Identity, name string, now time.Time) (*Material, error) {
	p := PathsOf(dataDir)
	ca, err := NewCA(name, nil, now)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(ca.key)
	if err != nil {
		return nil, fmt.Errorf("encode CA key: %w", err)
	}
	if err := writePrivate(p.CAKey(), pem.EncodeToMemory(&pem.Block{Type: keyPEM, Bytes: der})); err != nil {
		return nil, err
	}
	if err := writePrivate(p.CACert(), EncodeCert(ca.Cert)); err != nil {
		return nil, err
	}
	gk, err := NewGossipKey()
	if err != nil {
		return nil, err
	}
	if err := SaveGossipKey(dataDir, gk); err != nil {
		return nil, err
	}
	csr, err := NewCSR(id)
	if err != nil {
		return nil, err
	}
	cert, err := ca.Sign(csr, name, nodeconf.RoleHub, now, NodeValidity)
	if err != nil {
		return nil, err
	}
	if err := writePrivate(p.NodeCert(), EncodeCert(cert)); err != nil {
		return nil, err
	}
	return Load(dataDir, id)
}

// LoadCA reads the hub's CA from dataDir, with the network's gossip key
// (made now if the hub predates gossip keys).
func LoadCA(dataDir string) (*CA, error) {
	p := PathsOf(dataDir)
	data, err := atomicfile.ReadPrivate(p.CAKey(), maxFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dataDir, ErrNotHub)
	}
	if err != nil {
		return nil, fmt.Errorf("read CA key: %w", err)
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != keyPEM {
		return nil, fmt.Errorf("%s: no PEM private key", p.CAKey())
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.CAKey(), err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", p.CAKey())
	}
	cert, err := readCert(p.CACert())
	if err != nil {
		return nil, err
	}
	if pub, ok := cert.PublicKey.(ed25519.PublicKey); !ok || !pub.Equal(key.Public()) {
		return nil, fmt.Errorf("%s does not match %s", p.CAKey(), p.CACert())
	}
	gk, err := HubGossipKey(dataDir)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, key: key, rand: rand.Reader, GossipKey: gk}, nil
}

// Hub is what a joined node remembers of its hub.
type Hub struct {
	URL  string      `json:"url"`
	Node identity.ID `json:"node"`
}

// ReadHub reads dataDir's hub.json; a node that is itself the hub, or
// that has none, gets an error wrapping fs.ErrNotExist.
func ReadHub(dataDir string) (Hub, error) {
	var h Hub
	b, err := os.ReadFile(PathsOf(dataDir).Hub())
	if err != nil {
		return h, err
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return h, fmt.Errorf("read %s: %w", PathsOf(dataDir).Hub(), err)
	}
	return h, nil
}

// SaveEnrolment writes what a node got when it joined: the CA it pins, its
// certificate and its hub. It refuses to overwrite any of them.
func SaveEnrolment(dataDir string, ca, cert *x509.Certificate, hub Hub) error {
	p := PathsOf(dataDir)
	hb, err := json.MarshalIndent(hub, "", "  ")
	if err != nil {
		return err
	}
	for _, f := range []struct {
		path string
		data []byte
	}{{p.CACert(), EncodeCert(ca)}, {p.NodeCert(), EncodeCert(cert)}, {p.Hub(), hb}} {
		if err := writePrivate(f.path, f.data); err != nil {
			return err
		}
	}
	return nil
}
