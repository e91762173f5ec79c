package vault

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
)

// SealedVersion is the first byte of every sealed value. 0xF8 can never
// start JSON text (which begins with whitespace, '{', '[', '"', '-', a digit,
// 't', 'f' or 'n'), nor appear anywhere in valid UTF-8, so a sealed value is
// never mistaken for plaintext JSON or for a text string. Later versions
// will take 0xF9–0xFF, which share both properties.
const SealedVersion byte = 0xF8

const (
	sealedHeaderLen = 1 + KeyIDSize               // version | key id
	sealedNonceEnd  = sealedHeaderLen + NonceSize // … | nonce
	aadVersion      = 1                           // first byte of FieldAAD output
)

// SealedOverhead is how many bytes a sealed value adds to its plaintext:
// version, key id, nonce and tag.
const SealedOverhead = sealedNonceEnd + tagSize

// TokenSize is the length of a blind-index token.
const TokenSize = 16

// Blind-index token kinds in use. A kind separates token domains: the same
// digits as a phone and as a card number give unrelated tokens.
const (
	TokenIDNumber = "idNumber"
	TokenPhone    = "phone"
	TokenCard     = "card"
)

// Sealer seals and opens personal field values and makes blind-index
// tokens under one data key.
//
// A Sealer is safe for concurrent use: Seal, Open and Token run in
// parallel. Wipe (which Vault.Lock calls) waits for calls in progress,
// zeroes the keys, and from then on every call returns ErrLocked; a wiped
// Sealer never comes back, so after unlocking again ask the Vault for a new
// one.
type Sealer struct {
	rand  io.Reader // read concurrently by Seal; must be safe for that
	keyID KeyID

	mu       sync.RWMutex
	wiped    bool
	fieldKey [KeySize]byte // XChaCha20-Poly1305 key for sealed values
	tokenKey [KeySize]byte // HMAC-SHA256 key for blind-index tokens
}

// NewSealer makes a Sealer from dk. It derives its own subkeys, so the
// caller may wipe dk afterwards. Nonces come from r, which must be safe for
// concurrent reads; nil means crypto/rand.Reader, which production always
// uses.
func NewSealer(dk DataKey, r io.Reader) (*Sealer, error) {
	if !dk.Valid() {
		return nil, fmt.Errorf("new sealer: %w", ErrNoKey)
	}
	if r == nil {
		r = rand.Reader
	}
	s := &Sealer{rand: r, keyID: dk.KeyID()}
	derive(&dk.s.b, infoField, s.fieldKey[:])
	derive(&dk.s.b, infoToken, s.tokenKey[:])
	return s, nil
}

// KeyID returns the id of the data key the Sealer was made from (still
// known after Wipe).
func (s *Sealer) KeyID() KeyID { return s.keyID }

// Wipe zeroes the Sealer's keys after waiting for calls in progress; every
// later call returns ErrLocked.
func (s *Sealer) Wipe() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.fieldKey[:])
	clear(s.tokenKey[:])
	s.wiped = true
}

// Seal encrypts plaintext bound to aad (see FieldAAD) with a fresh random
// nonce and returns
//
//	SealedVersion (1) | key id (4) | nonce (24) | ciphertext and tag (len(plaintext)+16)
//
// in a new slice. aad is not stored; Open needs the same aad. Errors: the
// Sealer is wiped (ErrLocked), or the random source failed.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, sealedNonceEnd, len(plaintext)+SealedOverhead)
	out[0] = SealedVersion
	copy(out[1:sealedHeaderLen], s.keyID[:])
	nonce := out[sealedHeaderLen:sealedNonceEnd]
	if _, err := io.ReadFull(s.rand, nonce); err != nil {
		return nil, fmt.Errorf("seal: read random nonce: %w", err)
	}
	aead, inner, err := s.cipher(nonce)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return aead.Seal(out, inner[:], plaintext, aad), nil
}

// Open checks and decrypts a value made by Seal with the same aad. Errors,
// checked in this order: ErrFormat (not a sealed value, unknown version,
// truncated), ErrWrongKey (sealed under another data key: the key ids
// differ), ErrLocked, ErrTampered (bytes altered, or aad differs because
// the value was moved to another field or record).
//
// The header (version and key id) is not fed to the AEAD; it needs no MAC
// because Open accepts only the exact version and the exact key id of its
// own key, so a changed header byte is always refused.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	if err := checkSealed(sealed); err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if id := KeyID(sealed[1:sealedHeaderLen]); id != s.keyID {
		return nil, fmt.Errorf("open: %w: value has key %s, this node has key %s", ErrWrongKey, id, s.keyID)
	}
	aead, inner, err := s.cipher(sealed[sealedHeaderLen:sealedNonceEnd])
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	plain, err := aead.Open(nil, inner[:], sealed[sealedNonceEnd:], aad)
	if err != nil {
		return nil, fmt.Errorf("open: %w", ErrTampered)
	}
	return plain, nil
}

// cipher returns the per-message AEAD for nonce, or ErrLocked.
func (s *Sealer) cipher(nonce []byte) (cipher.AEAD, [12]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.wiped {
		return nil, [12]byte{}, ErrLocked
	}
	return xchacha(&s.fieldKey, nonce)
}

// checkSealed returns an error wrapping ErrFormat unless b has the layout of
// a sealed value.
func checkSealed(b []byte) error {
	switch {
	case len(b) == 0:
		return fmt.Errorf("%w: empty", ErrFormat)
	case b[0] != SealedVersion:
		return fmt.Errorf("%w: version byte 0x%02x, want 0x%02x", ErrFormat, b[0], SealedVersion)
	case len(b) < SealedOverhead:
		return fmt.Errorf("%w: truncated to %d bytes, a sealed value has at least %d", ErrFormat, len(b), SealedOverhead)
	}
	return nil
}

// IsSealed reports whether b is in the sealed format, judged by its first
// byte alone: it is cheap and never true for valid JSON text (see
// SealedVersion). It does not check that b is complete or authentic; Open
// does.
func IsSealed(b []byte) bool { return len(b) > 0 && b[0] == SealedVersion }

// SealedKeyID returns the id of the key that sealed b, without opening it,
// so a node can pick the right key (after a key rotation) or count values
// still under an old one.
func SealedKeyID(b []byte) (KeyID, error) {
	if err := checkSealed(b); err != nil {
		return KeyID{}, err
	}
	return KeyID(b[1:sealedHeaderLen]), nil
}

// FieldAAD returns the associated data that binds a sealed value to where it
// lives: the collection ("patients"), the record id, and the field path
// ("name", "phones", "address", "idNumber", "card", "notes", or a nested
// path such as "contacts/2/phone"). A value sealed for one place fails to
// open (ErrTampered) anywhere else: in another field, another record, or
// another collection.
//
// The encoding is a version byte followed by each part as a uvarint length
// and its bytes, so no two different triples give the same bytes ("a/b","c"
// and "a","b/c" differ).
//
// The record id is the id of the record the value was written to at its
// origin. Change-log entries and record state carry the same sealed bytes,
// so sealing happens once, at the origin; a node that merges two patients
// while locked cannot re-seal, so merged values keep the AAD of the record
// they were written to.
func FieldAAD(collection, record, field string) []byte {
	n := 1 + 3*binary.MaxVarintLen64 + len(collection) + len(record) + len(field)
	b := make([]byte, 1, n)
	b[0] = aadVersion
	for _, part := range [...]string{collection, record, field} {
		b = binary.AppendUvarint(b, uint64(len(part)))
		b = append(b, part...)
	}
	return b
}

// Token returns a 16-byte blind-index token for a normalized value of a
// kind (TokenIDNumber, TokenPhone, TokenCard, …): HMAC-SHA256 under a
// subkey of the data key, over the kind and the value, truncated to 16
// bytes. Equal values of one kind give equal tokens under one data key, so
// a token can be stored as an index key for exact-match lookup; without the
// data key a token cannot be computed, so it cannot be tested against a
// guessed phone number or ID number.
//
// Normalizing is the caller's job and must be the same at write and at
// lookup (for example digits only for a phone, upper-case X in an ID
// number).
func (s *Sealer) Token(kind, normalized string) ([]byte, error) {
	if kind == "" {
		return nil, ErrBadTokenKind
	}
	s.mu.RLock()
	if s.wiped {
		s.mu.RUnlock()
		return nil, fmt.Errorf("token: %w", ErrLocked)
	}
	mac := hmac.New(sha256.New, s.tokenKey[:])
	s.mu.RUnlock()
	var lenBuf [binary.MaxVarintLen64]byte
	mac.Write(lenBuf[:binary.PutUvarint(lenBuf[:], uint64(len(kind)))])
	io.WriteString(mac, kind)
	io.WriteString(mac, normalized)
	sum := mac.Sum(make([]byte, 0, sha256.Size))
	return sum[:TokenSize:TokenSize], nil
}
