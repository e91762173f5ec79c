package vault

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"

	"golang.org/x/crypto/hkdf"
)

// KeySize is the size in bytes of a DataKey and of a KeyFileKey.
const KeySize = 32

// KeyIDSize is the size in bytes of a KeyID.
const KeyIDSize = 4

// HKDF info strings. Each use of a key gets its own subkey so that no key
// is ever used for two purposes; changing one of these strings changes the
// format.
const (
	infoKeyID   = "carenode vault v1 key id"
	infoField   = "carenode vault v1 field encryption"
	infoToken   = "carenode vault v1 blind-index token"
	infoKeyFile = "carenode vault v1 key-file wrap"
)

// secret is the shared backing store of a key. Copies of a DataKey or
// KeyFileKey share one secret, so Wipe on any copy wipes them all.
type secret struct {
	b     [KeySize]byte
	wiped bool
}

func (s *secret) usable() bool { return s != nil && !s.wiped }

func (s *secret) wipe() {
	if s == nil {
		return
	}
	clear(s.b[:])
	s.wiped = true
}

func newSecret(r io.Reader) (*secret, error) {
	if r == nil {
		r = rand.Reader
	}
	s := new(secret)
	if _, err := io.ReadFull(r, s.b[:]); err != nil {
		s.wipe()
		return nil, fmt.Errorf("read random key: %w", err)
	}
	return s, nil
}

func secretFrom(b []byte) (*secret, error) {
	if len(b) != KeySize {
		return nil, fmt.Errorf("%w: key is %d bytes, want %d", ErrFormat, len(b), KeySize)
	}
	s := new(secret)
	copy(s.b[:], b)
	return s, nil
}

// DataKey is the network's 32-byte data key: it seals every personal field
// and keys the blind-index tokens. It is a small handle: copies share the
// same key bytes, and Wipe on any copy zeroes them for all. The zero
// DataKey holds no key. A DataKey must not be wiped while another goroutine
// uses it; Vault and Sealer do their own locking.
type DataKey struct{ s *secret }

// NewDataKey makes a fresh data key from r (crypto/rand.Reader when r is
// nil). Only the first node of a network does this; the others receive the
// key at enrolment.
func NewDataKey(r io.Reader) (DataKey, error) {
	s, err := newSecret(r)
	if err != nil {
		return DataKey{}, fmt.Errorf("new data key: %w", err)
	}
	return DataKey{s}, nil
}

// DataKeyFromBytes makes a DataKey from a copy of b, which must be KeySize
// bytes, for enrolment, which hands the key to a new node. The caller should
// clear b afterwards.
func DataKeyFromBytes(b []byte) (DataKey, error) {
	s, err := secretFrom(b)
	if err != nil {
		return DataKey{}, fmt.Errorf("data key: %w", err)
	}
	return DataKey{s}, nil
}

// Bytes returns a copy of the key, or nil if the key is empty or wiped. The
// caller should clear the copy when done with it.
func (k DataKey) Bytes() []byte {
	if !k.s.usable() {
		return nil
	}
	return append([]byte(nil), k.s.b[:]...)
}

// Valid reports whether k holds a key (is neither zero nor wiped).
func (k DataKey) Valid() bool { return k.s.usable() }

// Wipe zeroes the key bytes, for k and every copy of it. Wiping is best
// effort: the Go runtime may have copied the bytes elsewhere (stacks, freed
// heap), which no library can reach.
func (k DataKey) Wipe() { k.s.wipe() }

// Equal reports, in constant time, whether k and other hold the same key.
// Empty or wiped keys are equal to nothing.
func (k DataKey) Equal(other DataKey) bool {
	if !k.s.usable() || !other.s.usable() {
		return false
	}
	return subtle.ConstantTimeCompare(k.s.b[:], other.s.b[:]) == 1
}

// KeyID returns the key's fingerprint, or the zero KeyID for an empty or
// wiped key.
func (k DataKey) KeyID() KeyID {
	if !k.s.usable() {
		return KeyID{}
	}
	var id KeyID
	derive(&k.s.b, infoKeyID, id[:])
	return id
}

// String never shows the key; it shows the key id.
func (k DataKey) String() string {
	if !k.s.usable() {
		return "DataKey(none)"
	}
	return "DataKey(" + k.KeyID().String() + ")"
}

// GoString keeps %#v from printing the key bytes.
func (k DataKey) GoString() string { return k.String() }

// KeyFileKey is the 32-byte secret in a kiosk's key file. Like DataKey,
// copies share the key bytes and Wipe wipes them all.
type KeyFileKey struct{ s *secret }

// NewKeyFile makes a fresh key-file key from r (crypto/rand.Reader when r
// is nil).
func NewKeyFile(r io.Reader) (KeyFileKey, error) {
	s, err := newSecret(r)
	if err != nil {
		return KeyFileKey{}, fmt.Errorf("new key file: %w", err)
	}
	return KeyFileKey{s}, nil
}

// Valid reports whether kf holds a key (is neither zero nor wiped).
func (kf KeyFileKey) Valid() bool { return kf.s.usable() }

// Wipe zeroes the key bytes, for kf and every copy of it (best effort, as
// for DataKey).
func (kf KeyFileKey) Wipe() { kf.s.wipe() }

// String never shows the key.
func (kf KeyFileKey) String() string {
	if !kf.s.usable() {
		return "KeyFileKey(none)"
	}
	return "KeyFileKey(…)"
}

// GoString keeps %#v from printing the key bytes.
func (kf KeyFileKey) GoString() string { return kf.String() }

// KeyID is a short public fingerprint of a data key (HKDF of the key), so a
// node can tell which key sealed a value without trying it. It reveals
// nothing about the key. Four bytes tell apart the handful of keys one
// network will ever have; a key rotation must check that the new key's id
// differs from the old ones.
type KeyID [KeyIDSize]byte

// String returns the id in hex.
func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is the zero KeyID, which no check relies on
// but which marks "no key" in this package's return values.
func (id KeyID) IsZero() bool { return id == KeyID{} }

// derive fills out with HKDF-SHA256 of key under info. The salt is empty
// because the input keys are uniformly random (RFC 5869 section 3.1).
func derive(key *[KeySize]byte, info string, out []byte) {
	r := hkdf.New(sha256.New, key[:], nil, []byte(info))
	if _, err := io.ReadFull(r, out); err != nil {
		// HKDF-SHA256 yields up to 8160 bytes; we ask for at most 32.
		panic("vault: hkdf: " + err.Error())
	}
}
