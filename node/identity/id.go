package identity

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// alphabet is RFC 4648 base32; it leaves out 0, 1, 8 and 9, which
	// people confuse with O, I, B and g.
	alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

	// payloadLen base32 characters carry 65 bits of the key hash.
	payloadLen = 13
	// IDLength is the number of characters in a node ID: the payload and
	// one check character.
	IDLength = payloadLen + 1
)

// ID identifies a node. It is derived from the node's public key, so a peer
// that proves it holds the matching private key proves its ID.
//
// A valid ID is 14 upper-case base32 characters, the last a check
// character. The zero ID is empty and invalid.
type ID string

// IDFromPublicKey derives the node ID of a public key.
func IDFromPublicKey(pub ed25519.PublicKey) ID {
	sum := sha256.Sum256(pub)
	// 9 bytes encode to 15 characters; the first 13 hold the first 65 bits.
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:9])
	payload := enc[:payloadLen]
	return ID(payload + string(luhn32(payload)))
}

// ParseID parses a node ID as a person may have typed it: lower case is
// accepted, and spaces and dashes are ignored. The error wraps ErrIDLength,
// ErrIDChar or ErrIDCheck.
func ParseID(s string) (ID, error) {
	var b strings.Builder
	b.Grow(IDLength)
	for _, r := range s {
		switch {
		case r == '-' || unicode.IsSpace(r):
			continue
		case 'a' <= r && r <= 'z':
			// Only ASCII is folded: strings.ToUpper would also turn
			// look-alikes such as 'ı' (dotless i) into valid letters.
			r -= 'a' - 'A'
		}
		b.WriteRune(r)
	}
	norm := b.String()

	if n := utf8.RuneCountInString(norm); n != IDLength {
		return "", fmt.Errorf("node ID %q: %w: has %d characters, want %d", s, ErrIDLength, n, IDLength)
	}
	for i, r := range norm {
		// Every character before the first bad one is ASCII, so the byte
		// offset i is also the character's position.
		if !strings.ContainsRune(alphabet, r) {
			return "", fmt.Errorf("node ID %q: %w %q at position %d%s", s, ErrIDChar, r, i+1, charHint(r))
		}
	}
	if want := luhn32(norm[:payloadLen]); norm[payloadLen] != want {
		return "", fmt.Errorf("node ID %q: %w", s, ErrIDCheck)
	}
	return ID(norm), nil
}

// charHint suggests the letter a person probably meant when they typed a
// digit that base32 leaves out.
func charHint(r rune) string {
	switch r {
	case '0':
		return " (IDs use the letter O, never the digit 0)"
	case '1':
		return " (IDs use the letter I, never the digit 1)"
	case '8':
		return " (IDs use the letter B, never the digit 8)"
	}
	return " (IDs use only A-Z and 2-7)"
}

// String returns the ID in its canonical form.
func (id ID) String() string { return string(id) }

// MarshalText implements encoding.TextMarshaler, writing the canonical
// form. It refuses an invalid ID, such as the zero ID, so a broken ID is
// never written where a peer or a person would later trust it.
func (id ID) MarshalText() ([]byte, error) {
	canon, err := ParseID(string(id))
	if err != nil {
		return nil, fmt.Errorf("marshal: %w", err)
	}
	return []byte(canon), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with the same leniency
// and checks as ParseID.
func (id *ID) UnmarshalText(text []byte) error {
	parsed, err := ParseID(string(text))
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}

// luhn32 returns the Luhn mod N check character (N = 32) of s, which must
// hold only characters of alphabet. Doubling every other code point from
// the right and folding the result back into 0..31 is a bijection, so
// changing any one character changes the sum mod 32 and the check
// character with it.
func luhn32(s string) byte {
	const n = len(alphabet)
	factor := 2
	sum := 0
	for i := len(s) - 1; i >= 0; i-- {
		addend := factor * strings.IndexByte(alphabet, s[i])
		sum += addend/n + addend%n
		factor = 3 - factor // alternate 2, 1, 2, ...
	}
	return alphabet[(n-sum%n)%n]
}
