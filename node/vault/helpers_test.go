package vault

import (
	"errors"
	"io"
	"sync"
	"testing"

	"golang.org/x/crypto/chacha20"
)

// detRand is a deterministic, concurrency-safe byte stream (ChaCha20 of a
// seed) so that tests get reproducible keys and nonces.
type detRand struct {
	mu sync.Mutex
	c  *chacha20.Cipher
}

func newDetRand(seed byte) *detRand {
	key := make([]byte, chacha20.KeySize)
	key[0] = seed
	c, err := chacha20.NewUnauthenticatedCipher(key, make([]byte, chacha20.NonceSize))
	if err != nil {
		panic(err)
	}
	return &detRand{c: c}
}

func (r *detRand) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(p)
	r.c.XORKeyStream(p, p)
	return len(p), nil
}

// failingRand fails every read, like a broken entropy source.
type failingRand struct{}

var errNoEntropy = errors.New("no entropy")

func (failingRand) Read([]byte) (int, error) { return 0, errNoEntropy }

var _ io.Reader = (*detRand)(nil)

func newKey(t testing.TB, seed byte) DataKey {
	t.Helper()
	dk, err := NewDataKey(newDetRand(seed))
	if err != nil {
		t.Fatal(err)
	}
	return dk
}

func newSealer(t testing.TB, dk DataKey) *Sealer {
	t.Helper()
	s, err := NewSealer(dk, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustSeal(t testing.TB, s *Sealer, plain, aad []byte) []byte {
	t.Helper()
	b, err := s.Seal(plain, aad)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}
