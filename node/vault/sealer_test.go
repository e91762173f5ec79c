package vault

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// TestXChaChaMatchesNewX: our spelled-out construction is XChaCha20-Poly1305
// exactly, byte for byte, as chacha20poly1305.NewX computes it.
func TestXChaChaMatchesNewX(t *testing.T) {
	r := newDetRand(1)
	for _, n := range []int{0, 1, 15, 16, 32, 63, 64, 65, 1000} {
		var key [KeySize]byte
		nonce := make([]byte, NonceSize)
		plain := make([]byte, n)
		aad := make([]byte, n%7)
		for _, b := range [][]byte{key[:], nonce, plain, aad} {
			r.Read(b)
		}
		x, err := chacha20poly1305.NewX(key[:])
		if err != nil {
			t.Fatal(err)
		}
		want := x.Seal(nil, nonce, plain, aad)
		ours, inner, err := xchacha(&key, nonce)
		if err != nil {
			t.Fatal(err)
		}
		got := ours.Seal(nil, inner[:], plain, aad)
		if !bytes.Equal(got, want) {
			t.Fatalf("len %d: our XChaCha20-Poly1305 differs from NewX", n)
		}
		back, err := x.Open(nil, nonce, got, aad)
		if err != nil || !bytes.Equal(back, plain) {
			t.Fatalf("len %d: NewX cannot open ours: %v", n, err)
		}
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	s := newSealer(t, newKey(t, 1))
	aad := FieldAAD("patients", "p-1", "name")
	tests := []struct {
		name  string
		plain []byte
	}{
		{"empty", nil},
		{"one byte", []byte{0}},
		{"chinese name", []byte("张三")},
		{"phone", []byte("13800138000")},
		{"id number", []byte("11010519491231002X")},
		{"json", []byte(`{"street":"朝阳区建国路88号","village":"三河村"}`)},
		{"32 bytes", bytes.Repeat([]byte{0xAB}, 32)},
		{"long note", bytes.Repeat([]byte("高血压病史十年，"), 4000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sealed := mustSeal(t, s, tc.plain, aad)
			if len(sealed) != len(tc.plain)+SealedOverhead {
				t.Errorf("sealed length = %d, want %d", len(sealed), len(tc.plain)+SealedOverhead)
			}
			if sealed[0] != SealedVersion || !IsSealed(sealed) {
				t.Errorf("first byte 0x%02x, want 0x%02x", sealed[0], SealedVersion)
			}
			if id, err := SealedKeyID(sealed); err != nil || id != s.KeyID() {
				t.Errorf("SealedKeyID = %v, %v; want %v", id, err, s.KeyID())
			}
			got, err := s.Open(sealed, aad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.plain) {
				t.Errorf("Open = %q, want %q", got, tc.plain)
			}
			again := mustSeal(t, s, tc.plain, aad)
			if bytes.Equal(again, sealed) {
				t.Error("sealing twice gave the same bytes: the nonce is not fresh")
			}
		})
	}
}

// TestSealedValueIsBoundToItsPlace: a ciphertext copied to another field,
// record or collection, or with any bit flipped, does not open.
func TestSealedValueIsBoundToItsPlace(t *testing.T) {
	dk := newKey(t, 1)
	s := newSealer(t, dk)
	here := FieldAAD("patients", "p-1", "phones")
	sealed := mustSeal(t, s, []byte("13800138000"), here)

	places := []struct {
		name string
		aad  []byte
	}{
		{"other field", FieldAAD("patients", "p-1", "idNumber")},
		{"other patient", FieldAAD("patients", "p-2", "phones")},
		{"other collection", FieldAAD("staff", "p-1", "phones")},
		{"no aad", nil},
		{"aad with a byte more", append(bytes.Clone(here), 0)},
		{"aad a byte short", here[:len(here)-1]},
		{"parts shifted", FieldAAD("patients", "p-1p", "hones")},
	}
	for _, p := range places {
		t.Run(p.name, func(t *testing.T) {
			_, err := s.Open(sealed, p.aad)
			wantErr(t, err, ErrTampered)
		})
	}

	t.Run("swapped between patients", func(t *testing.T) {
		a1, a2 := FieldAAD("patients", "p-1", "name"), FieldAAD("patients", "p-2", "name")
		v1, v2 := mustSeal(t, s, []byte("张三"), a1), mustSeal(t, s, []byte("李四"), a2)
		_, err := s.Open(v2, a1)
		wantErr(t, err, ErrTampered)
		_, err = s.Open(v1, a2)
		wantErr(t, err, ErrTampered)
	})

	t.Run("every bit flipped", func(t *testing.T) {
		for i := range sealed {
			for bit := range 8 {
				b := bytes.Clone(sealed)
				b[i] ^= 1 << bit
				_, err := s.Open(b, here)
				var want error
				switch {
				case i == 0:
					want = ErrFormat // version byte
				case i < sealedHeaderLen:
					want = ErrWrongKey // key id
				default:
					want = ErrTampered // nonce, ciphertext, tag
				}
				if !errors.Is(err, want) {
					t.Fatalf("byte %d bit %d flipped: error %v, want %v", i, bit, err, want)
				}
			}
		}
	})
}

func TestOpenTruncated(t *testing.T) {
	s := newSealer(t, newKey(t, 1))
	aad := FieldAAD("patients", "p-1", "name")
	sealed := mustSeal(t, s, []byte("张三"), aad)
	for n := range len(sealed) {
		_, err := s.Open(sealed[:n], aad)
		if n < SealedOverhead {
			// Too short to be a sealed value at all.
			wantErr(t, err, ErrFormat)
		} else {
			// Long enough for the layout, so only the tag can tell.
			wantErr(t, err, ErrTampered)
		}
	}
	_, err := s.Open(append(bytes.Clone(sealed), 0), aad)
	wantErr(t, err, ErrTampered)
}

func TestOpenWrongKey(t *testing.T) {
	aad := FieldAAD("patients", "p-1", "name")
	a, b := newSealer(t, newKey(t, 1)), newSealer(t, newKey(t, 2))
	if a.KeyID() == b.KeyID() {
		t.Fatal("two keys with one key id")
	}
	_, err := b.Open(mustSeal(t, a, []byte("张三"), aad), aad)
	wantErr(t, err, ErrWrongKey)
	if !strings.Contains(err.Error(), a.KeyID().String()) || !strings.Contains(err.Error(), b.KeyID().String()) {
		t.Errorf("error %q should name both key ids", err)
	}
}

func TestOpenNotSealed(t *testing.T) {
	s := newSealer(t, newKey(t, 1))
	for _, in := range []string{"", `"张三"`, "13800138000", "{}", "\xf9" + strings.Repeat("x", 60)} {
		_, err := s.Open([]byte(in), nil)
		wantErr(t, err, ErrFormat)
	}
}

func TestSameKeyBytesSameSealer(t *testing.T) {
	// Two nodes of one network hold the same data key: each opens what
	// the other sealed.
	dk := newKey(t, 7)
	other, err := DataKeyFromBytes(dk.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	a, b := newSealer(t, dk), newSealer(t, other)
	aad := FieldAAD("patients", "p-1", "address")
	got, err := b.Open(mustSeal(t, a, []byte("北京市朝阳区"), aad), aad)
	if err != nil || string(got) != "北京市朝阳区" {
		t.Fatalf("Open on the other node = %q, %v", got, err)
	}
}

func TestSealerWipe(t *testing.T) {
	dk := newKey(t, 1)
	s := newSealer(t, dk)
	dk.Wipe() // the Sealer keeps its own subkeys
	aad := FieldAAD("patients", "p-1", "name")
	sealed := mustSeal(t, s, []byte("张三"), aad)

	s.Wipe()
	if s.fieldKey != ([KeySize]byte{}) || s.tokenKey != ([KeySize]byte{}) {
		t.Error("Wipe left key bytes in the Sealer")
	}
	_, err := s.Seal([]byte("x"), aad)
	wantErr(t, err, ErrLocked)
	_, err = s.Open(sealed, aad)
	wantErr(t, err, ErrLocked)
	_, err = s.Token(TokenPhone, "13800138000")
	wantErr(t, err, ErrLocked)
}

func TestNewSealerNeedsKey(t *testing.T) {
	_, err := NewSealer(DataKey{}, nil)
	wantErr(t, err, ErrNoKey)
	dk := newKey(t, 1)
	dk.Wipe()
	_, err = NewSealer(dk, nil)
	wantErr(t, err, ErrNoKey)
}

func TestSealRandomFailure(t *testing.T) {
	s, err := NewSealer(newKey(t, 1), failingRand{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Seal([]byte("张三"), nil)
	wantErr(t, err, errNoEntropy)
}

func TestFieldAADUnambiguous(t *testing.T) {
	triples := [][3]string{
		{"patients", "p-1", "name"},
		{"patients", "p-1n", "ame"},
		{"patient", "sp-1", "name"},
		{"patients", "p-1", "name\x00"},
		{"", "patientsp-1", "name"},
		{"", "", ""},
		{"", "", "\x00"},
	}
	seen := map[string][3]string{}
	for _, tr := range triples {
		k := string(FieldAAD(tr[0], tr[1], tr[2]))
		if prev, ok := seen[k]; ok {
			t.Errorf("FieldAAD%q == FieldAAD%q", tr, prev)
		}
		seen[k] = tr
	}
}

func TestKeysNeverPrinted(t *testing.T) {
	dk := newKey(t, 1)
	kf, err := NewKeyFile(newDetRand(2))
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range [][]byte{dk.Bytes(), kf.s.b[:]} {
		for _, format := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
			out := fmt.Sprintf(format, dk) + fmt.Sprintf(format, kf)
			if strings.Contains(out, hex.EncodeToString(raw)) || strings.Contains(out, string(raw)) {
				t.Errorf("%s printed key bytes: %s", format, out)
			}
		}
	}
	if s := dk.String(); !strings.Contains(s, dk.KeyID().String()) {
		t.Errorf("DataKey string %q lacks the key id", s)
	}
}
