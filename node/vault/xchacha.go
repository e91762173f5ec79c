package vault

import (
	"crypto/cipher"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"
)

// NonceSize is the XChaCha20-Poly1305 nonce size.
const NonceSize = chacha20poly1305.NonceSizeX

// tagSize is the Poly1305 tag size.
const tagSize = chacha20poly1305.Overhead

// xchacha returns the ChaCha20-Poly1305 AEAD and 12-byte nonce that
// XChaCha20-Poly1305 uses for one 24-byte nonce under key.
//
// This is exactly what chacha20poly1305.NewX does inside Seal and Open
// (draft-irtf-cfrg-xchacha section 2.3: HChaCha20 over the first 16 nonce
// bytes gives a per-message subkey; the last 8 bytes, after 4 zero bytes,
// are the ChaCha20-Poly1305 nonce), and TestXChaChaMatchesNewX checks it
// byte for byte. It is spelled out here for one reason: NewX copies the
// long-lived key into an object this package cannot reach to wipe, while
// here the long-lived key stays in memory the Sealer owns and zeroes on
// Lock. What leaks into the garbage is one per-message subkey, which opens
// that one message only.
//
// The only possible error is a Go runtime in FIPS 140-only mode, which
// refuses ChaCha20-Poly1305.
func xchacha(key *[KeySize]byte, nonce []byte) (cipher.AEAD, [chacha20poly1305.NonceSize]byte, error) {
	var inner [chacha20poly1305.NonceSize]byte
	copy(inner[4:], nonce[16:NonceSize])
	sub, err := chacha20.HChaCha20(key[:], nonce[:16])
	if err != nil {
		return nil, inner, err
	}
	aead, err := chacha20poly1305.New(sub)
	clear(sub)
	return aead, inner, err
}
