package auth

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// MinPasswordLen is the fewest characters a new password may have.
const MinPasswordLen = 8

// Params are argon2id's cost parameters.
type Params struct {
	Time    uint32 // passes
	Memory  uint32 // KiB
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// DefaultParams suit a cheap clinic PC: 64 MiB and two passes take a
// fraction of a second once per login, and make each guess of a stolen
// hash cost the same.
func DefaultParams() Params {
	return Params{Time: 2, Memory: 64 * 1024, Threads: 2, SaltLen: 16, KeyLen: 32}
}

// TestParams are cheap, for tests only.
func TestParams() Params { return Params{Time: 1, Memory: 64, Threads: 1, SaltLen: 16, KeyLen: 32} }

// CheckPassword refuses passwords too short to protect patient data.
func CheckPassword(pw string) error {
	if n := utf8.RuneCountInString(pw); n < MinPasswordLen {
		return fmt.Errorf("%w: %d characters, at least %d needed", ErrWeakPassword, n, MinPasswordLen)
	}
	return nil
}

// HashPassword hashes pw with argon2id and returns the PHC string.
func HashPassword(pw string, p Params, rand io.Reader) (string, error) {
	if err := CheckPassword(pw); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return "", fmt.Errorf("hash password: read salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches the PHC string encoded. The
// comparison takes the same time wherever the first difference is.
func VerifyPassword(encoded, pw string) (bool, error) {
	p, salt, key, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// maxMemory bounds the memory a stored hash may ask for, so a tampered
// account record cannot make a login allocate gigabytes.
const maxMemory = 1 << 20 // KiB = 1 GiB

func parseHash(s string) (p Params, salt, key []byte, err error) {
	bad := func(why string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrBadHash, why)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("want $argon2id$v=…$m=…,t=…,p=…$salt$hash")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version " + parts[2])
	}
	var m, t, th uint64
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return bad("parameters")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("parameter " + k)
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			th = n
		default:
			return bad("unknown parameter " + k)
		}
	}
	if m == 0 || t == 0 || th == 0 || th > 255 || m > maxMemory || t > 100 {
		return bad("parameters out of range")
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return bad("salt")
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 64 {
		return bad("hash")
	}
	return Params{Time: uint32(t), Memory: uint32(m), Threads: uint8(th)}, salt, key, nil
}
