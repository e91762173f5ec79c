package vault

import (
	"bytes"
	"crypto/rand"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// MinPasswordLen is the shortest password, in characters (Unicode code
// points, so 8 Chinese characters count as 8), that WrapWithPassword
// accepts.
const MinPasswordLen = 8

// Argon2Params are the argon2id cost parameters of a password wrap. They
// are stored in the Wrapped value, so raising the defaults later applies to
// new and changed passwords without breaking old wraps.
type Argon2Params struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32 // memory in KiB
	Threads   uint8  // lanes, run in parallel
}

// Bounds on Argon2Params. The upper bounds stop a corrupt or hostile
// Wrapped value from making an unlock allocate gigabytes or run for
// minutes on a small box.
const (
	maxArgon2Time      = 16
	maxArgon2MemoryKiB = 1 << 20 // 1 GiB
	maxArgon2Threads   = 16
	saltSize           = 16
	minSaltSize        = 16
	maxSaltSize        = 64
)

// DefaultArgon2Params are sized for a cheap clinic PC: 2 passes over
// 64 MiB in 2 lanes. 64 MiB is affordable on any 4 GiB machine, including
// a Raspberry Pi 4, and is what makes guessing expensive on GPUs; 2 lanes
// match the 2–4 cores of a low-end PC. On the development machine (2 vCPU
// AMD EPYC) an unlock takes 0.12 s (BenchmarkUnwrapWithPassword); a
// low-end Celeron or a Pi is 3–8 times slower, still under a second, which
// staff pay once per login. RFC 9106 section 4 lists this shape (argon2id,
// 64 MiB) as its second recommended option, with 3 passes; OWASP's minimum
// is 19 MiB and 2 passes.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{Time: 2, MemoryKiB: 64 * 1024, Threads: 2}
}

// TestArgon2Params are tiny parameters (64 KiB, one pass) that make tests
// fast. They give no protection against guessing; never use them for a
// real wrap.
func TestArgon2Params() Argon2Params {
	return Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}
}

// Validate returns an error wrapping ErrBadParams unless p is within the
// bounds argon2id allows and this package accepts: Time 1–16, Threads
// 1–16, MemoryKiB from 8 KiB per thread up to 1 GiB.
func (p Argon2Params) Validate() error {
	switch {
	case p.Time < 1 || p.Time > maxArgon2Time:
		return fmt.Errorf("%w: time %d, want 1 to %d", ErrBadParams, p.Time, maxArgon2Time)
	case p.Threads < 1 || p.Threads > maxArgon2Threads:
		return fmt.Errorf("%w: threads %d, want 1 to %d", ErrBadParams, p.Threads, maxArgon2Threads)
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxArgon2MemoryKiB:
		return fmt.Errorf("%w: memory %d KiB, want %d to %d", ErrBadParams, p.MemoryKiB, 8*uint32(p.Threads), maxArgon2MemoryKiB)
	}
	return nil
}

// WrapKind says what unwraps a Wrapped data key.
type WrapKind uint8

// Wrap kinds. The numbers are stored; never reuse one.
const (
	WrapPassword WrapKind = 1 // a staff member's password through argon2id
	WrapKeyFile  WrapKind = 2 // a kiosk's key file
)

func (k WrapKind) String() string {
	switch k {
	case WrapPassword:
		return "password"
	case WrapKeyFile:
		return "key file"
	}
	return fmt.Sprintf("WrapKind(%d)", uint8(k))
}

// wrappedVersion is the first byte of a marshalled Wrapped.
const wrappedVersion = 1

// wrapCiphertextSize is the size of a wrapped data key: the key and a tag.
const wrapCiphertextSize = KeySize + tagSize

// Wrapped is a data key encrypted under a key-encryption key: one staff
// member's password (through argon2id) or one kiosk key file. A node keeps
// one Wrapped per staff member and kiosk; adding one or changing a password
// makes a new Wrapped and leaves every sealed value as it is.
//
// MarshalBinary gives this layout (integers big-endian):
//
//	password wrap                          key-file wrap
//	 0  1  version (1)                      0  1  version (1)
//	 1  1  kind (1)                         1  1  kind (2)
//	 2  4  key id                           2  4  key id
//	 6  4  argon2 time                      6 24  nonce
//	10  4  argon2 memory KiB               30 48  wrapped key and tag
//	14  1  argon2 threads                     (78 bytes)
//	15  1  salt length n (16–64)
//	16  n  salt
//	16+n 24  nonce
//	40+n 48  wrapped key and tag
//	   (104 bytes with a 16-byte salt)
//
// Everything before the nonce is the AEAD's associated data, so the stored
// parameters, salt and key id cannot be changed without the unwrap failing.
type Wrapped struct {
	Kind       WrapKind
	KeyID      KeyID        // id of the data key inside
	Params     Argon2Params // password wraps only; zero for key files
	Salt       []byte       // password wraps only
	Nonce      []byte       // NonceSize bytes
	Ciphertext []byte       // the data key and its tag, 48 bytes
}

var (
	_ encoding.BinaryMarshaler   = Wrapped{}
	_ encoding.BinaryUnmarshaler = (*Wrapped)(nil)
)

// header returns the marshalled bytes before the nonce, which are also the
// wrap's associated data.
func (w *Wrapped) header() []byte {
	b := make([]byte, 0, 16+len(w.Salt)+NonceSize+wrapCiphertextSize)
	b = append(b, wrappedVersion, byte(w.Kind))
	b = append(b, w.KeyID[:]...)
	if w.Kind == WrapPassword {
		b = binary.BigEndian.AppendUint32(b, w.Params.Time)
		b = binary.BigEndian.AppendUint32(b, w.Params.MemoryKiB)
		b = append(b, w.Params.Threads, byte(len(w.Salt)))
		b = append(b, w.Salt...)
	}
	return b
}

// check returns an error wrapping ErrFormat or ErrBadParams unless w is
// well formed.
func (w *Wrapped) check() error {
	switch w.Kind {
	case WrapPassword:
		if err := w.Params.Validate(); err != nil {
			return err
		}
		if len(w.Salt) < minSaltSize || len(w.Salt) > maxSaltSize {
			return fmt.Errorf("%w: salt is %d bytes, want %d to %d", ErrFormat, len(w.Salt), minSaltSize, maxSaltSize)
		}
	case WrapKeyFile:
		if w.Params != (Argon2Params{}) || len(w.Salt) != 0 {
			return fmt.Errorf("%w: key-file wrap with argon2 parameters or salt", ErrFormat)
		}
	default:
		return fmt.Errorf("%w: unknown wrap kind %d", ErrFormat, uint8(w.Kind))
	}
	if len(w.Nonce) != NonceSize {
		return fmt.Errorf("%w: nonce is %d bytes, want %d", ErrFormat, len(w.Nonce), NonceSize)
	}
	if len(w.Ciphertext) != wrapCiphertextSize {
		return fmt.Errorf("%w: wrapped key is %d bytes, want %d", ErrFormat, len(w.Ciphertext), wrapCiphertextSize)
	}
	return nil
}

// MarshalBinary encodes w in the layout above.
func (w Wrapped) MarshalBinary() ([]byte, error) {
	if err := w.check(); err != nil {
		return nil, fmt.Errorf("marshal wrapped key: %w", err)
	}
	b := w.header()
	b = append(b, w.Nonce...)
	b = append(b, w.Ciphertext...)
	return b, nil
}

// UnmarshalBinary decodes the layout above. It accepts only the exact
// encoding MarshalBinary makes (no trailing bytes) and copies what it keeps,
// so data may be reused.
func (w *Wrapped) UnmarshalBinary(data []byte) error {
	var nw Wrapped
	if err := nw.decode(data); err != nil {
		return fmt.Errorf("unmarshal wrapped key: %w", err)
	}
	*w = nw
	return nil
}

func (w *Wrapped) decode(data []byte) error {
	if len(data) < 6 {
		return fmt.Errorf("%w: %d bytes", ErrFormat, len(data))
	}
	if data[0] != wrappedVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrFormat, data[0], wrappedVersion)
	}
	w.Kind = WrapKind(data[1])
	copy(w.KeyID[:], data[2:6])
	rest := data[6:]
	if w.Kind == WrapPassword {
		if len(rest) < 10 {
			return fmt.Errorf("%w: truncated argon2 parameters", ErrFormat)
		}
		w.Params = Argon2Params{
			Time:      binary.BigEndian.Uint32(rest[0:4]),
			MemoryKiB: binary.BigEndian.Uint32(rest[4:8]),
			Threads:   rest[8],
		}
		n := int(rest[9])
		rest = rest[10:]
		if len(rest) < n {
			return fmt.Errorf("%w: truncated salt", ErrFormat)
		}
		w.Salt = bytes.Clone(rest[:n])
		rest = rest[n:]
	}
	if len(rest) != NonceSize+wrapCiphertextSize {
		return fmt.Errorf("%w: %d bytes of nonce and wrapped key, want %d", ErrFormat, len(rest), NonceSize+wrapCiphertextSize)
	}
	w.Nonce = bytes.Clone(rest[:NonceSize])
	w.Ciphertext = bytes.Clone(rest[NonceSize:])
	return w.check()
}

// clone returns a deep copy of w.
func (w Wrapped) clone() Wrapped {
	w.Salt = bytes.Clone(w.Salt)
	w.Nonce = bytes.Clone(w.Nonce)
	w.Ciphertext = bytes.Clone(w.Ciphertext)
	return w
}

// CheckPassword returns an error wrapping ErrWeakPassword if password is too
// short to be used for a new wrap.
func CheckPassword(password []byte) error {
	if n := utf8.RuneCount(password); n < MinPasswordLen {
		return fmt.Errorf("%w (got %d)", ErrWeakPassword, n)
	}
	return nil
}

// WrapWithPassword encrypts dk under a key derived from password with
// argon2id and a fresh random salt. Salt and nonce come from r
// (crypto/rand.Reader when nil). Passwords shorter than MinPasswordLen
// characters are refused with ErrWeakPassword. The password is used as
// given: the caller decides any Unicode normalisation, the same way at
// wrap and at unwrap.
func WrapWithPassword(dk DataKey, password []byte, params Argon2Params, r io.Reader) (Wrapped, error) {
	if err := CheckPassword(password); err != nil {
		return Wrapped{}, fmt.Errorf("wrap with password: %w", err)
	}
	if err := params.Validate(); err != nil {
		return Wrapped{}, fmt.Errorf("wrap with password: %w", err)
	}
	if !dk.Valid() {
		return Wrapped{}, fmt.Errorf("wrap with password: %w", ErrNoKey)
	}
	if r == nil {
		r = rand.Reader
	}
	w := Wrapped{Kind: WrapPassword, KeyID: dk.KeyID(), Params: params, Salt: make([]byte, saltSize)}
	if _, err := io.ReadFull(r, w.Salt); err != nil {
		return Wrapped{}, fmt.Errorf("wrap with password: read random salt: %w", err)
	}
	var kek [KeySize]byte
	passwordKEK(&kek, password, w.Salt, params)
	defer clear(kek[:])
	if err := w.seal(&kek, dk, r); err != nil {
		return Wrapped{}, fmt.Errorf("wrap with password: %w", err)
	}
	return w, nil
}

// UnwrapWithPassword recovers the data key from a password wrap. A wrong
// password gives ErrWrongPassword; a malformed w gives ErrFormat or
// ErrBadParams (checked before any argon2 work). It costs one argon2id
// derivation with w's parameters, memory included.
func UnwrapWithPassword(w Wrapped, password []byte) (DataKey, error) {
	if err := w.check(); err != nil {
		return DataKey{}, fmt.Errorf("unwrap with password: %w", err)
	}
	if w.Kind != WrapPassword {
		return DataKey{}, fmt.Errorf("unwrap with password: %w: this is a %s wrap", ErrFormat, w.Kind)
	}
	var kek [KeySize]byte
	passwordKEK(&kek, password, w.Salt, w.Params)
	defer clear(kek[:])
	dk, err := w.open(&kek)
	if errors.Is(err, errUnwrap) {
		return DataKey{}, fmt.Errorf("unwrap with password: %w", ErrWrongPassword)
	}
	if err != nil {
		return DataKey{}, fmt.Errorf("unwrap with password: %w", err)
	}
	return dk, nil
}

// WrapWithKeyFile encrypts dk under a key-file key. The nonce comes from r
// (crypto/rand.Reader when nil). No argon2 is needed: the key file holds 32
// random bytes, which no one can guess.
func WrapWithKeyFile(dk DataKey, kf KeyFileKey, r io.Reader) (Wrapped, error) {
	if !dk.Valid() || !kf.Valid() {
		return Wrapped{}, fmt.Errorf("wrap with key file: %w", ErrNoKey)
	}
	if r == nil {
		r = rand.Reader
	}
	w := Wrapped{Kind: WrapKeyFile, KeyID: dk.KeyID()}
	var kek [KeySize]byte
	derive(&kf.s.b, infoKeyFile, kek[:])
	defer clear(kek[:])
	if err := w.seal(&kek, dk, r); err != nil {
		return Wrapped{}, fmt.Errorf("wrap with key file: %w", err)
	}
	return w, nil
}

// UnwrapWithKeyFile recovers the data key from a key-file wrap; the wrong
// key file gives ErrWrongKeyFile.
func UnwrapWithKeyFile(w Wrapped, kf KeyFileKey) (DataKey, error) {
	if err := w.check(); err != nil {
		return DataKey{}, fmt.Errorf("unwrap with key file: %w", err)
	}
	if w.Kind != WrapKeyFile {
		return DataKey{}, fmt.Errorf("unwrap with key file: %w: this is a %s wrap", ErrFormat, w.Kind)
	}
	if !kf.Valid() {
		return DataKey{}, fmt.Errorf("unwrap with key file: %w", ErrNoKey)
	}
	var kek [KeySize]byte
	derive(&kf.s.b, infoKeyFile, kek[:])
	defer clear(kek[:])
	dk, err := w.open(&kek)
	if errors.Is(err, errUnwrap) {
		return DataKey{}, fmt.Errorf("unwrap with key file: %w", ErrWrongKeyFile)
	}
	if err != nil {
		return DataKey{}, fmt.Errorf("unwrap with key file: %w", err)
	}
	return dk, nil
}

// errUnwrap is the AEAD failure that the Unwrap functions translate into
// ErrWrongPassword or ErrWrongKeyFile.
var errUnwrap = errors.New("wrapped key failed authentication")

func passwordKEK(kek *[KeySize]byte, password, salt []byte, p Argon2Params) {
	k := argon2.IDKey(password, salt, p.Time, p.MemoryKiB, p.Threads, KeySize)
	copy(kek[:], k)
	clear(k)
}

// seal fills w.Nonce and w.Ciphertext; w's other fields must be set.
func (w *Wrapped) seal(kek *[KeySize]byte, dk DataKey, r io.Reader) error {
	w.Nonce = make([]byte, NonceSize)
	if _, err := io.ReadFull(r, w.Nonce); err != nil {
		return fmt.Errorf("read random nonce: %w", err)
	}
	aead, inner, err := xchacha(kek, w.Nonce)
	if err != nil {
		return err
	}
	w.Ciphertext = aead.Seal(make([]byte, 0, wrapCiphertextSize), inner[:], dk.s.b[:], w.header())
	return nil
}

// open decrypts w under kek and checks that the key inside has w's key id.
func (w *Wrapped) open(kek *[KeySize]byte) (DataKey, error) {
	aead, inner, err := xchacha(kek, w.Nonce)
	if err != nil {
		return DataKey{}, err
	}
	plain, err := aead.Open(nil, inner[:], w.Ciphertext, w.header())
	if err != nil {
		return DataKey{}, errUnwrap
	}
	s, err := secretFrom(plain)
	clear(plain)
	if err != nil {
		return DataKey{}, err
	}
	dk := DataKey{s}
	if id := dk.KeyID(); id != w.KeyID {
		// Authenticated yet inconsistent: written by a buggy wrapper.
		dk.Wipe()
		return DataKey{}, fmt.Errorf("%w: wrap says key %s but holds key %s", ErrFormat, w.KeyID, id)
	}
	return dk, nil
}
