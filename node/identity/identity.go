package identity

import (
	"crypto/ed25519"
	"fmt"
	"io"
)

// Identity is a node's key pair and the ID derived from it.
type Identity struct {
	ID     ID
	Public ed25519.PublicKey

	// private stays unexported so that printing or encoding an Identity
	// (fmt, JSON, a debug dump) cannot leak the key.
	private ed25519.PrivateKey
}

// Generate creates a new identity with key material read from rand. A nil
// rand uses a secure random source; tests pass a fixed reader to get a
// fixed identity.
func Generate(rand io.Reader) (*Identity, error) {
	pub, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	return &Identity{ID: IDFromPublicKey(pub), Public: pub, private: priv}, nil
}

// fromPrivateKey rebuilds an identity from its private key.
func fromPrivateKey(priv ed25519.PrivateKey) *Identity {
	pub := priv.Public().(ed25519.PublicKey)
	return &Identity{ID: IDFromPublicKey(pub), Public: pub, private: priv}
}

// Sign signs msg with the node's private key. It panics if the identity has
// no private key, as the zero Identity does.
func (id *Identity) Sign(msg []byte) []byte {
	return ed25519.Sign(id.private, msg)
}

// PrivateKey returns the node's private key, for building its TLS
// certificate.
func (id *Identity) PrivateKey() ed25519.PrivateKey {
	return id.private
}

// Verify reports whether sig is pub's signature of msg. A public key of the
// wrong length, as may arrive from a peer, is reported as false rather than
// causing a panic in ed25519.Verify.
func Verify(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.Verify(pub, msg, sig)
}
