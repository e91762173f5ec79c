package vault

import (
	"bytes"
	"testing"
)

var field32 = bytes.Repeat([]byte("张"), 32/3+1)[:32]

func BenchmarkSeal32(b *testing.B) {
	s := newSealer(b, newKey(b, 1))
	aad := FieldAAD("patients", "01J9Z3K5T6Y7", "name")
	b.ReportAllocs()
	b.SetBytes(32)
	for b.Loop() {
		if _, err := s.Seal(field32, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen32(b *testing.B) {
	s := newSealer(b, newKey(b, 1))
	aad := FieldAAD("patients", "01J9Z3K5T6Y7", "name")
	sealed := mustSeal(b, s, field32, aad)
	b.ReportAllocs()
	b.SetBytes(32)
	for b.Loop() {
		if _, err := s.Open(sealed, aad); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen32Parallel shows the cost of the Sealer's read lock when
// every core opens values at once (an index build at unlock).
func BenchmarkOpen32Parallel(b *testing.B) {
	s := newSealer(b, newKey(b, 1))
	aad := FieldAAD("patients", "01J9Z3K5T6Y7", "name")
	sealed := mustSeal(b, s, field32, aad)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Open(sealed, aad); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkToken(b *testing.B) {
	s := newSealer(b, newKey(b, 1))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Token(TokenPhone, "13800138000"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnwrapWithPassword is one staff unlock with the default
// parameters; its ns/op is the unlock time quoted in DefaultArgon2Params.
func BenchmarkUnwrapWithPassword(b *testing.B) {
	dk := newKey(b, 1)
	w, err := WrapWithPassword(dk, []byte("correct horse"), DefaultArgon2Params(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UnwrapWithPassword(w, []byte("correct horse")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/unlock")
}

func BenchmarkUnwrapWithKeyFile(b *testing.B) {
	dk := newKey(b, 1)
	kf, _ := NewKeyFile(nil)
	w, err := WrapWithKeyFile(dk, kf, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UnwrapWithKeyFile(w, kf); err != nil {
			b.Fatal(err)
		}
	}
}
