package vault

import (
	"bytes"
	"testing"
)

func mustWrapPassword(t testing.TB, dk DataKey, password string) Wrapped {
	t.Helper()
	w, err := WrapWithPassword(dk, []byte(password), TestArgon2Params(), newDetRand(9))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestPasswordWrapRoundTrip(t *testing.T) {
	dk := newKey(t, 1)
	for _, pw := range []string{"correct horse", "12345678", "护士站密码一二三", "pässwörd-ß"} {
		t.Run(pw, func(t *testing.T) {
			w := mustWrapPassword(t, dk, pw)
			if w.Kind != WrapPassword || w.KeyID != dk.KeyID() || w.Params != TestArgon2Params() {
				t.Errorf("wrap header = %v %v %+v", w.Kind, w.KeyID, w.Params)
			}
			got, err := UnwrapWithPassword(w, []byte(pw))
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(dk) {
				t.Error("unwrapped a different key")
			}
			_, err = UnwrapWithPassword(w, []byte(pw+"x"))
			wantErr(t, err, ErrWrongPassword)
		})
	}
}

func TestWrongPassword(t *testing.T) {
	w := mustWrapPassword(t, newKey(t, 1), "correct horse")
	for _, pw := range []string{"", "Correct horse", "correct horse ", "correct hors", "wrong password"} {
		_, err := UnwrapWithPassword(w, []byte(pw))
		wantErr(t, err, ErrWrongPassword)
	}
}

func TestWeakPassword(t *testing.T) {
	dk := newKey(t, 1)
	tests := []struct {
		pw   string
		weak bool
	}{
		{"", true},
		{"1234567", true},
		{"一二三四五六七", true}, // 7 characters, 21 bytes
		{"12345678", false},
		{"一二三四五六七八", false},
	}
	for _, tc := range tests {
		_, err := WrapWithPassword(dk, []byte(tc.pw), TestArgon2Params(), nil)
		if tc.weak {
			wantErr(t, err, ErrWeakPassword)
		} else if err != nil {
			t.Errorf("%q: %v", tc.pw, err)
		}
	}
}

func TestWrapNeedsKeyAndParams(t *testing.T) {
	_, err := WrapWithPassword(DataKey{}, []byte("correct horse"), TestArgon2Params(), nil)
	wantErr(t, err, ErrNoKey)
	for _, p := range []Argon2Params{
		{},
		{Time: 1, MemoryKiB: 64, Threads: 0},
		{Time: 0, MemoryKiB: 64, Threads: 1},
		{Time: 1, MemoryKiB: 7, Threads: 1},
		{Time: 1, MemoryKiB: 8 << 20, Threads: 1},
		{Time: 1000, MemoryKiB: 64, Threads: 1},
	} {
		_, err := WrapWithPassword(newKey(t, 1), []byte("correct horse"), p, nil)
		wantErr(t, err, ErrBadParams)
	}
	if err := DefaultArgon2Params().Validate(); err != nil {
		t.Error(err)
	}
	_, err = WrapWithPassword(newKey(t, 1), []byte("correct horse"), TestArgon2Params(), failingRand{})
	wantErr(t, err, errNoEntropy)
}

func TestKeyFileWrapRoundTrip(t *testing.T) {
	dk := newKey(t, 1)
	kf, err := NewKeyFile(newDetRand(2))
	if err != nil {
		t.Fatal(err)
	}
	w, err := WrapWithKeyFile(dk, kf, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnwrapWithKeyFile(w, kf)
	if err != nil || !got.Equal(dk) {
		t.Fatalf("UnwrapWithKeyFile = %v, %v", got, err)
	}
	other, _ := NewKeyFile(newDetRand(3))
	_, err = UnwrapWithKeyFile(w, other)
	wantErr(t, err, ErrWrongKeyFile)

	// A wrap of one kind does not go through the other's door.
	_, err = UnwrapWithPassword(w, []byte("correct horse"))
	wantErr(t, err, ErrFormat)
	_, err = UnwrapWithKeyFile(mustWrapPassword(t, dk, "correct horse"), kf)
	wantErr(t, err, ErrFormat)
}

func TestWrappedMarshalRoundTrip(t *testing.T) {
	dk := newKey(t, 1)
	kf, _ := NewKeyFile(newDetRand(2))
	kw, err := WrapWithKeyFile(dk, kf, nil)
	if err != nil {
		t.Fatal(err)
	}
	pw := mustWrapPassword(t, dk, "correct horse")
	for _, tc := range []struct {
		w    Wrapped
		size int
	}{{pw, 104}, {kw, 78}} {
		b, err := tc.w.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != tc.size {
			t.Errorf("%s wrap is %d bytes, want %d", tc.w.Kind, len(b), tc.size)
		}
		var back Wrapped
		if err := back.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		again, _ := back.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Errorf("%s wrap changed in a round trip", tc.w.Kind)
		}
		clear(b) // UnmarshalBinary must have copied
		if tc.w.Kind == WrapPassword {
			got, err := UnwrapWithPassword(back, []byte("correct horse"))
			if err != nil || !got.Equal(dk) {
				t.Errorf("unwrap after round trip: %v", err)
			}
		} else if got, err := UnwrapWithKeyFile(back, kf); err != nil || !got.Equal(dk) {
			t.Errorf("unwrap after round trip: %v", err)
		}
	}
}

func TestUnmarshalWrappedRejects(t *testing.T) {
	good, err := mustWrapPassword(t, newKey(t, 1), "correct horse").MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	with := func(i int, v byte) []byte { b := bytes.Clone(good); b[i] = v; return b }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrFormat},
		{"truncated", good[:len(good)-1], ErrFormat},
		{"trailing byte", append(bytes.Clone(good), 0), ErrFormat},
		{"version 2", with(0, 2), ErrFormat},
		{"unknown kind", with(1, 9), ErrFormat},
		{"zero time", append(append(bytes.Clone(good[:6]), 0, 0, 0, 0), good[10:]...), ErrBadParams},
		{"4 GiB of memory", append(append(bytes.Clone(good[:10]), 0xFF, 0xFF, 0xFF, 0xFF), good[14:]...), ErrBadParams},
		{"zero threads", with(14, 0), ErrBadParams},
		{"salt too short", with(15, 8), ErrFormat},
		{"salt too long", with(15, 200), ErrFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w Wrapped
			wantErr(t, w.UnmarshalBinary(tc.in), tc.want)
		})
	}
}

// TestWrappedHeaderIsAuthenticated: changing any stored byte, header
// included, makes the unwrap fail rather than yield a key.
func TestWrappedHeaderIsAuthenticated(t *testing.T) {
	dk := newKey(t, 1)
	good, _ := mustWrapPassword(t, dk, "correct horse").MarshalBinary()
	for i := 2; i < len(good); i++ { // bytes 0 and 1 are version and kind
		if i >= 6 && i < 16 {
			continue // argon2 parameters and salt length: other tests
		}
		b := bytes.Clone(good)
		b[i] ^= 0x01
		var w Wrapped
		if err := w.UnmarshalBinary(b); err != nil {
			t.Fatalf("byte %d: %v", i, err)
		}
		if _, err := UnwrapWithPassword(w, []byte("correct horse")); err == nil {
			t.Fatalf("byte %d flipped: unwrap succeeded", i)
		}
	}
	// Lowering the stored cost must not help an attacker: it fails too.
	b := bytes.Clone(good)
	b[13] ^= 0x01 // memory 64 KiB -> 65 KiB
	var w Wrapped
	if err := w.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	_, err := UnwrapWithPassword(w, []byte("correct horse"))
	wantErr(t, err, ErrWrongPassword)
}
