package identity

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"

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
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load node key: %w", err)
	}
	defer f.Close()

	// Stat the open file, not the path, so the mode checked is that of
	// the file read.
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("load node key: %w", err)
	}
	// Windows has no Unix mode bits; Go reports 0666 for every writable
	// file there, so the check would always fail.
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("load node key %s: %w (mode %04o); restrict it with: chmod 600 %s",
			path, ErrKeyPermissions, info.Mode().Perm(), shellQuote(path))
	}

	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("load node key: %w", err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("load node key %s: %w: file is larger than %d bytes", path, ErrKeyNotPEM, maxKeyFile)
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

// shellQuote quotes path for a POSIX shell when it holds characters the
// shell would interpret, so the chmod hint can be pasted as is.
func shellQuote(path string) string {
	const safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+:,@%="
	if path != "" && strings.Trim(path, safe) == "" {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}
