package identity

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"

	"carenode/node/atomicfile"
)

const (
	pemType = "PRIVATE KEY"
	keyMode = 0o600
	// maxKeyFile bounds how much Load reads: a PEM ed25519 key is about
	// 120 bytes, so anything this large is not a key file.
	maxKeyFile = 64 << 10
)

// Save writes the private key to path as a PKCS#8 PEM file with mode 0600.
// The write is atomic: after a crash there is either no key file or a
// complete one. Save never replaces an existing file; it returns an error
// wrapping ErrKeyExists instead.
func (id *Identity) Save(path string) error {
	if len(id.private) != ed25519.PrivateKeySize {
		return fmt.Errorf("save node key %s: %w", path, ErrNoPrivateKey)
	}
	der, err := x509.MarshalPKCS8PrivateKey(id.private)
	if err != nil {
		return fmt.Errorf("save node key %s: encode PKCS#8: %w", path, err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der})
	if err := atomicfile.WriteNew(path, data, keyMode); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("save node key %s: %w", path, ErrKeyExists)
		}
		return fmt.Errorf("save node key %s: %w", path, err)
	}
	return nil
}

// Load reads an identity from a key file written by Save. A missing file
// gives an error wrapping fs.ErrNotExist. Outside Windows, a file that
// other users can access gives an error wrapping ErrKeyPermissions, so a
// leaked key is noticed rather than used.
func Load(path string) (*Identity, error) {
	data, err := atomicfile.ReadPrivate(path, maxKeyFile)
	switch {
	case errors.Is(err, atomicfile.ErrPermissions):
		return nil, fmt.Errorf("load node key %s: %w: %w", path, ErrKeyPermissions, err)
	case errors.Is(err, atomicfile.ErrTooLarge), errors.Is(err, atomicfile.ErrNotRegular):
		return nil, fmt.Errorf("load node key %s: %w: %w", path, ErrKeyNotPEM, err)
	case err != nil:
		return nil, fmt.Errorf("load node key: %w", err)
	}
	priv, err := parseKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("load node key %s: %w", path, err)
	}
	return fromPrivateKey(priv), nil
}

// parseKeyPEM decodes the first PEM block of data as an ed25519 PKCS#8 key.
func parseKeyPEM(data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block found", ErrKeyNotPEM)
	}
	if block.Type != pemType {
		return nil, fmt.Errorf("%w: PEM block is %q, want %q", ErrKeyNotPEM, block.Type, pemType)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyMalformed, err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: file holds a %T", ErrKeyType, key)
	}
	return priv, nil
}
