package trust

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"carenode/node/atomicfile"
	"carenode/node/identity"
	"carenode/node/nodeconf"
)

// An enrolment token is "cnj1-SECRET-FINGERPRINT", both parts lower-case
// base32 without padding: a 160-bit random secret (the hub keeps only its
// SHA-256) and the SHA-256 fingerprint of the network CA, with which the
// joining node checks the hub's certificate before it has the CA.
const tokenPrefix = "cnj1"

const secretLen = 20

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Token is a parsed enrolment token.
type Token struct {
	Secret [secretLen]byte
	CA     Fingerprint
}

// String returns the token as people copy it.
func (t Token) String() string {
	return tokenPrefix + "-" + strings.ToLower(b32.EncodeToString(t.Secret[:])) + "-" + strings.ToLower(b32.EncodeToString(t.CA[:]))
}

// ParseToken parses a token, ignoring surrounding blanks and case.
func ParseToken(s string) (Token, error) {
	var t Token
	parts := strings.Split(strings.ToUpper(strings.TrimSpace(s)), "-")
	if len(parts) != 3 || parts[0] != strings.ToUpper(tokenPrefix) {
		return t, ErrTokenMalformed
	}
	sec, err1 := b32.DecodeString(parts[1])
	fp, err2 := b32.DecodeString(parts[2])
	if err1 != nil || err2 != nil || len(sec) != secretLen || len(fp) != len(t.CA) {
		return t, ErrTokenMalformed
	}
	copy(t.Secret[:], sec)
	copy(t.CA[:], fp)
	return t, nil
}

func secretHash(secret []byte) string {
	h := sha256.Sum256(append([]byte("carenode enrolment token v1\x00"), secret...))
	return hex.EncodeToString(h[:])
}

// tokenEntry is one issued token in the hub's file. Only the hash of the
// secret is kept, so the file does not let anyone enrol.
type tokenEntry struct {
	Hash    string        `json:"hash"`
	Name    string        `json:"name"`
	Role    nodeconf.Role `json:"role"`
	Issued  time.Time     `json:"issued"`
	Expires time.Time     `json:"expires"`
	Used    *time.Time    `json:"used,omitempty"`
	Node    identity.ID   `json:"node,omitempty"`
}

// Tokens is the hub's set of enrolment tokens, kept in trust/tokens.json.
// The CLI (enrol-token) and the serving hub (enrolment) share the file; a
// lock file serialises them, so a token is used at most once even when two
// nodes present it at the same moment.
type Tokens struct {
	path string
	now  func() time.Time
}

// OpenTokens returns the token set of the hub in dataDir. now nil means
// time.Now.
func OpenTokens(dataDir string, now func() time.Time) *Tokens {
	if now == nil {
		now = time.Now
	}
	return &Tokens{path: PathsOf(dataDir).Tokens(), now: now}
}

func (ts *Tokens) load() ([]tokenEntry, error) {
	b, err := os.ReadFile(ts.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var es []tokenEntry
	if err := json.Unmarshal(b, &es); err != nil {
		return nil, fmt.Errorf("read %s: %w", ts.path, err)
	}
	return es, nil
}

func (ts *Tokens) save(es []tokenEntry) error {
	b, err := json.MarshalIndent(es, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Replace(ts.path, b, privMode); err != nil {
		return fmt.Errorf("write %s: %w", ts.path, err)
	}
	return nil
}

// Issue makes a one-time token for a node called name with role, valid for
// ttl, bound to the CA whose fingerprint is ca.
func (ts *Tokens) Issue(name string, role nodeconf.Role, ttl time.Duration, ca Fingerprint) (Token, error) {
	var t Token
	if ttl <= 0 {
		return t, fmt.Errorf("token lifetime %s: must be positive", ttl)
	}
	if role == nodeconf.RoleHub {
		return t, errors.New("a network has one hub; tokens are for clinic, kiosk or nurse nodes / 令牌只能用于诊所、自助机或护士节点")
	}
	if _, err := nodeconf.ParseRole(string(role)); err != nil {
		return t, err
	}
	if _, err := rand.Read(t.Secret[:]); err != nil {
		return t, err
	}
	t.CA = ca
	now := ts.now().UTC()
	if err := os.MkdirAll(filepath.Dir(ts.path), 0o700); err != nil {
		return t, err
	}
	err := withLock(ts.path+".lock", func() error {
		es, err := ts.load()
		if err != nil {
			return err
		}
		// Forget tokens that expired more than a week ago.
		kept := es[:0]
		for _, e := range es {
			if e.Used != nil || now.Sub(e.Expires) < 7*24*time.Hour {
				kept = append(kept, e)
			}
		}
		kept = append(kept, tokenEntry{Hash: secretHash(t.Secret[:]), Name: name, Role: role, Issued: now, Expires: now.Add(ttl)})
		return ts.save(kept)
	})
	return t, err
}

// Grant is what a token lets its bearer become.
type Grant struct {
	Name string
	Role nodeconf.Role
}

// Redeem checks the token whose secret is given and, if it is known, unused
// and unexpired, calls enrol with what it grants; if enrol succeeds the
// token is marked used by the node enrol returns. All of it happens under
// the token file's lock, so a token enrols at most one node.
func (ts *Tokens) Redeem(secret []byte, enrol func(Grant) (identity.ID, error)) error {
	return withLock(ts.path+".lock", func() error {
		es, err := ts.load()
		if err != nil {
			return err
		}
		h := secretHash(secret)
		for i := range es {
			e := &es[i]
			if subtle.ConstantTimeCompare([]byte(e.Hash), []byte(h)) != 1 {
				continue
			}
			now := ts.now().UTC()
			if e.Used != nil {
				return fmt.Errorf("%w (by node %s at %s)", ErrTokenUsed, e.Node, e.Used.Format(time.RFC3339))
			}
			if !now.Before(e.Expires) {
				return fmt.Errorf("%w (at %s)", ErrTokenExpired, e.Expires.Format(time.RFC3339))
			}
			node, err := enrol(Grant{Name: e.Name, Role: e.Role})
			if err != nil {
				return err
			}
			e.Used, e.Node = &now, node
			return ts.save(es)
		}
		return ErrTokenUnknown
	})
}
