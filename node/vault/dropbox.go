package vault

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"

	"golang.org/x/crypto/nacl/box"
)

// A drop box lets a node that is locked (no data key in memory) seal what
// a device sends, such as a raw HL7 message with a patient's name in PID-5,
// so that only an unlocked node can read it again. The data key derives an
// X25519 key pair; its public half is stored in the clear (a record any
// locked node can read), and values are sealed to it with NaCl's anonymous
// box (golang.org/x/crypto/nacl/box SealAnonymous: an ephemeral X25519 key,
// XSalsa20-Poly1305). Opening needs the private half, which exists only in
// memory while the node is unlocked.
//
// A drop-box value:
//
//	offset  size  content
//	0       1     DropBoxVersion, 0xF9
//	1       4     key id of the data key
//	5       n+80  anonymous box of SHA-256(aad) | plaintext (48 bytes of box overhead)
//
// so it is DropBoxOverhead (85) bytes longer than its plaintext. 0xF9 is
// the first of the bytes the sealed-value format reserved for later
// formats: it cannot start JSON text nor occur in UTF-8, like 0xF8. The
// aad is not stored; binding its hash inside the box means a value copied
// to another record or field fails to open (ErrTampered), as with
// Sealer.Seal.
//
// Why a second construction beside Sealer: Sealer is symmetric and needs
// the data key to seal. Anyone who can write the database could replace
// the stored public key with their own and read what is sealed to it from
// then on; such an attacker can already change any record, so this is the
// same exposure as the rollback described in the package comment.

// infoDropBox derives the drop box's X25519 private key from the data key.
const infoDropBox = "carenode readings drop box v1"

// DropBoxVersion is the first byte of every drop-box value.
const DropBoxVersion byte = 0xF9

const (
	dropBoxHeaderLen = 1 + KeyIDSize
	aadHashLen       = sha256.Size
)

// DropBoxOverhead is how many bytes a drop-box value adds to its plaintext.
const DropBoxOverhead = dropBoxHeaderLen + box.AnonymousOverhead + aadHashLen

// DropBoxKey is a drop box's public key with the id of the data key it was
// derived from. It is public: it is stored in the clear and synced.
type DropBoxKey struct {
	KeyID KeyID
	Key   [32]byte
}

// dropBoxKeyPrefix starts the text form: "dropbox1:<key id hex>:<base64url key>".
const dropBoxKeyPrefix = "dropbox1"

// MarshalText writes the key as "dropbox1:<key id>:<key in base64url>".
func (k DropBoxKey) MarshalText() ([]byte, error) {
	return []byte(dropBoxKeyPrefix + ":" + k.KeyID.String() + ":" + base64.RawURLEncoding.EncodeToString(k.Key[:])), nil
}

// String is the text form.
func (k DropBoxKey) String() string {
	b, _ := k.MarshalText()
	return string(b)
}

// UnmarshalText reads the form MarshalText writes; anything else wraps
// ErrFormat.
func (k *DropBoxKey) UnmarshalText(b []byte) error {
	parts := strings.Split(string(b), ":")
	if len(parts) != 3 || parts[0] != dropBoxKeyPrefix {
		return fmt.Errorf("drop box key: %w: want dropbox1:<key id>:<key>", ErrFormat)
	}
	id, err := hex.DecodeString(parts[1])
	if err != nil || len(id) != KeyIDSize {
		return fmt.Errorf("drop box key: %w: bad key id", ErrFormat)
	}
	key, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(key) != 32 {
		return fmt.Errorf("drop box key: %w: bad key", ErrFormat)
	}
	if _, err := ecdh.X25519().NewPublicKey(key); err != nil {
		return fmt.Errorf("drop box key: %w: %v", ErrFormat, err)
	}
	k.KeyID = KeyID(id)
	k.Key = [32]byte(key)
	return nil
}

// IsZero reports whether k holds no key.
func (k DropBoxKey) IsZero() bool { return k == DropBoxKey{} }

// Seal seals plaintext to the drop box, bound to aad, reading the
// ephemeral key from r (crypto/rand.Reader when nil). It needs no secret:
// a locked node calls it.
func (k DropBoxKey) Seal(plaintext, aad []byte, r io.Reader) ([]byte, error) {
	if k.IsZero() {
		return nil, fmt.Errorf("drop box seal: %w", ErrNoKey)
	}
	if r == nil {
		r = rand.Reader
	}
	h := sha256.Sum256(aad)
	inner := make([]byte, 0, aadHashLen+len(plaintext))
	inner = append(append(inner, h[:]...), plaintext...)
	out := make([]byte, dropBoxHeaderLen, len(plaintext)+DropBoxOverhead)
	out[0] = DropBoxVersion
	copy(out[1:], k.KeyID[:])
	out, err := box.SealAnonymous(out, inner, &k.Key, r)
	clear(inner)
	if err != nil {
		return nil, fmt.Errorf("drop box seal: %w", err)
	}
	return out, nil
}

// IsDropBoxSealed reports whether b looks like a drop-box value.
func IsDropBoxSealed(b []byte) bool { return len(b) > 0 && b[0] == DropBoxVersion }

// DropBox is the key pair of a drop box, held only while the node is
// unlocked. It is safe for concurrent use; Wipe waits for Open calls in
// progress, and every later Open returns ErrLocked.
type DropBox struct {
	pub DropBoxKey

	mu    sync.RWMutex
	wiped bool
	priv  [32]byte
}

// NewDropBox derives the drop box of dk. The caller may wipe dk afterwards.
func NewDropBox(dk DataKey) (*DropBox, error) {
	if !dk.Valid() {
		return nil, fmt.Errorf("new drop box: %w", ErrNoKey)
	}
	b := &DropBox{}
	derive(&dk.s.b, infoDropBox, b.priv[:])
	// crypto/ecdh clamps the scalar as X25519 does, so any 32 bytes are a key.
	priv, err := ecdh.X25519().NewPrivateKey(b.priv[:])
	if err != nil {
		b.Wipe()
		return nil, fmt.Errorf("new drop box: %w", err)
	}
	b.pub = DropBoxKey{KeyID: dk.KeyID(), Key: [32]byte(priv.PublicKey().Bytes())}
	return b, nil
}

// DropBox returns the drop box of the unlocked data key, or ErrLocked.
func (v *Vault) DropBox() (*DropBox, error) {
	dk, err := v.dataKey()
	if err != nil {
		return nil, fmt.Errorf("drop box: %w", err)
	}
	defer dk.Wipe()
	return NewDropBox(dk)
}

// PublicKey returns the public half, to store where locked nodes read it.
func (b *DropBox) PublicKey() DropBoxKey { return b.pub }

// Open checks and decrypts a value made by DropBoxKey.Seal with the same
// aad. Errors, in this order: ErrFormat (not a drop-box value, truncated),
// ErrWrongKey (sealed to another data key's drop box), ErrLocked (wiped),
// ErrTampered (altered, or aad differs).
func (b *DropBox) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < DropBoxOverhead || sealed[0] != DropBoxVersion {
		return nil, fmt.Errorf("drop box open: %w", ErrFormat)
	}
	if id := KeyID(sealed[1:dropBoxHeaderLen]); id != b.pub.KeyID {
		return nil, fmt.Errorf("drop box open: %w: value has key %s, this node has key %s", ErrWrongKey, id, b.pub.KeyID)
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.wiped {
		return nil, fmt.Errorf("drop box open: %w", ErrLocked)
	}
	inner, ok := box.OpenAnonymous(nil, sealed[dropBoxHeaderLen:], &b.pub.Key, &b.priv)
	if !ok || len(inner) < aadHashLen {
		return nil, fmt.Errorf("drop box open: %w", ErrTampered)
	}
	h := sha256.Sum256(aad)
	if subtle.ConstantTimeCompare(h[:], inner[:aadHashLen]) != 1 {
		clear(inner)
		return nil, fmt.Errorf("drop box open: %w", ErrTampered)
	}
	return inner[aadHashLen:], nil
}

// Wipe zeroes the private key (best effort, as for DataKey); every later
// Open returns ErrLocked.
func (b *DropBox) Wipe() {
	b.mu.Lock()
	defer b.mu.Unlock()
	clear(b.priv[:])
	b.wiped = true
}
