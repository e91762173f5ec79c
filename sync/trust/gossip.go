package trust

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"carenode/node/atomicfile"
)

// GossipKeySize is the length of the network's LAN gossip key: AES-256,
// as memberlist's SecretKey takes it.
const GossipKeySize = 32

// GossipKey is the network's LAN gossip key (every node; owner-only). The
// hub makes it with the CA and sends it in the enrolment answer.
func (p Paths) GossipKey() string { return filepath.Join(p.Dir, "gossip.key") }

// NewGossipKey returns a fresh random gossip key.
func NewGossipKey() ([]byte, error) {
	k := make([]byte, GossipKeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("generate gossip key: %w", err)
	}
	return k, nil
}

// checkGossipKey refuses a key of the wrong size (a truncated file, or an
// enrolment answer from something that is not a carenode hub).
func checkGossipKey(k []byte) error {
	if len(k) != GossipKeySize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrBadGossipKey, len(k), GossipKeySize)
	}
	return nil
}

// SaveGossipKey stores the network's gossip key in dataDir's trust folder,
// owner-only. It refuses to overwrite a key already there.
func SaveGossipKey(dataDir string, key []byte) error {
	if err := checkGossipKey(key); err != nil {
		return err
	}
	return writePrivate(PathsOf(dataDir).GossipKey(), key)
}

// ReadGossipKey reads dataDir's gossip key. A node without one (enrolled
// before the hub delivered keys) gets an error wrapping ErrNoGossipKey; a
// file other users can read, or of the wrong size, is refused.
func ReadGossipKey(dataDir string) ([]byte, error) {
	p := PathsOf(dataDir).GossipKey()
	k, err := atomicfile.ReadPrivate(p, GossipKeySize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dataDir, ErrNoGossipKey)
	}
	if err != nil {
		return nil, fmt.Errorf("read gossip key %s: %w", p, err)
	}
	if err := checkGossipKey(k); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return k, nil
}

// HubGossipKey returns the gossip key of the hub whose data directory is
// dataDir, making it on first need: a hub created before gossip keys
// existed gets one the first time it loads its CA or starts discovery.
// Two processes making it at once (the serving hub and enrol-token) end
// with the same key: the file is written only if absent, and the loser
// reads the winner's.
func HubGossipKey(dataDir string) ([]byte, error) {
	k, err := ReadGossipKey(dataDir)
	if !errors.Is(err, ErrNoGossipKey) {
		return k, err
	}
	if _, err := os.Stat(PathsOf(dataDir).CAKey()); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", dataDir, ErrNotHub)
		}
		return nil, err
	}
	if k, err = NewGossipKey(); err != nil {
		return nil, err
	}
	if err := SaveGossipKey(dataDir, k); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return ReadGossipKey(dataDir)
}

// GossipKey returns the network's gossip key from the node's trust files:
// the hub makes it if it has none yet; another node without one gets an
// error wrapping ErrNoGossipKey, and must not gossip.
func (m *Material) GossipKey() ([]byte, error) {
	if m.dataDir == "" {
		return nil, fmt.Errorf("trust material not loaded from a data directory: %w", ErrNoGossipKey)
	}
	if _, err := os.Stat(PathsOf(m.dataDir).CAKey()); err == nil {
		return HubGossipKey(m.dataDir)
	}
	return ReadGossipKey(m.dataDir)
}
