package vault

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzKey is the fixed data key of the fuzz targets, so that seeds sealed
// under it open.
func fuzzSealer(t testing.TB) *Sealer {
	t.Helper()
	return newSealer(t, newKey(t, 0xF0))
}

var fuzzAAD = FieldAAD("patients", "p-1", "name")

// FuzzOpen: Open never panics on outside bytes, fails only with its
// sentinels, and whatever it accepts is in the sealed format. The seeds in
// testdata/fuzz/FuzzOpen include values that open.
func FuzzOpen(f *testing.F) {
	s := fuzzSealer(f)
	for _, plain := range []string{"", "张三", "13800138000"} {
		f.Add(mustSeal(f, s, []byte(plain), fuzzAAD))
	}
	f.Add([]byte(`{"name":"张三"}`))
	f.Add([]byte{SealedVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		plain, err := s.Open(b, fuzzAAD)
		if err == nil {
			if !IsSealed(b) || len(plain) != len(b)-SealedOverhead {
				t.Fatalf("Open accepted %x as a %d-byte value", b, len(plain))
			}
			return
		}
		if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrWrongKey) && !errors.Is(err, ErrTampered) {
			t.Fatalf("Open(%x): unexpected error %v", b, err)
		}
		if !IsSealed(b) && !errors.Is(err, ErrFormat) {
			t.Fatalf("Open(%x) of a non-sealed value: %v, want ErrFormat", b, err)
		}
	})
}

// FuzzUnmarshalWrapped: UnmarshalBinary never panics, accepts only
// canonical encodings (they marshal back to the same bytes), and what it
// accepts never panics when unwrapped.
func FuzzUnmarshalWrapped(f *testing.F) {
	dk := newKey(f, 0xF0)
	kf, _ := NewKeyFile(newDetRand(0xF1))
	pw, err := WrapWithPassword(dk, []byte("fuzz-password"), TestArgon2Params(), newDetRand(0xF2))
	if err != nil {
		f.Fatal(err)
	}
	kw, err := WrapWithKeyFile(dk, kf, newDetRand(0xF3))
	if err != nil {
		f.Fatal(err)
	}
	for _, w := range []Wrapped{pw, kw} {
		b, err := w.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{wrappedVersion, byte(WrapPassword)})
	f.Fuzz(func(t *testing.T, b []byte) {
		var w Wrapped
		if err := w.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrBadParams) {
				t.Fatalf("UnmarshalBinary(%x): unexpected error %v", b, err)
			}
			return
		}
		again, err := w.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("UnmarshalBinary(%x) then MarshalBinary = %x, %v", b, again, err)
		}
		switch w.Kind {
		case WrapPassword:
			// Keep argon2 cheap; the bounds themselves are tested elsewhere.
			if w.Params.MemoryKiB <= 256 && w.Params.Time <= 2 {
				if got, err := UnwrapWithPassword(w, []byte("fuzz-password")); err == nil && got.KeyID() != w.KeyID {
					t.Fatalf("unwrapped key %s from a wrap of %s", got.KeyID(), w.KeyID)
				}
			}
		case WrapKeyFile:
			if got, err := UnwrapWithKeyFile(w, kf); err == nil && got.KeyID() != w.KeyID {
				t.Fatalf("unwrapped key %s from a wrap of %s", got.KeyID(), w.KeyID)
			}
		default:
			t.Fatalf("accepted wrap kind %d", w.Kind)
		}
	})
}
