package vault

import (
	"bytes"
	"errors"
	"testing"
)

func TestDropBoxRoundTrip(t *testing.T) {
	dk := newKey(t, 1)
	db, err := NewDropBox(dk)
	if err != nil {
		t.Fatal(err)
	}
	pub := db.PublicKey()
	if pub.KeyID != dk.KeyID() {
		t.Fatalf("public key carries key id %s, want %s", pub.KeyID, dk.KeyID())
	}
	// A locked node has only the public key, in its text form from a record.
	text, err := pub.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var stored DropBoxKey
	if err := stored.UnmarshalText(text); err != nil {
		t.Fatalf("read back %q: %v", text, err)
	}
	if stored != pub {
		t.Fatalf("text round trip changed the key: %v != %v", stored, pub)
	}
	msg := []byte("MSH|^~\\&|...\rPID|||789567^^^Imaginary Hospital^PI||Doe^John")
	aad := FieldAAD("readings", "r1", "raw")
	sealed, err := stored.Seal(msg, aad, newDetRand(9))
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != len(msg)+DropBoxOverhead || !IsDropBoxSealed(sealed) || IsSealed(sealed) {
		t.Fatalf("sealed value of %d bytes (want %d), first byte %#x", len(sealed), len(msg)+DropBoxOverhead, sealed[0])
	}
	if bytes.Contains(sealed, []byte("Doe")) || bytes.Contains(sealed, []byte("789567")) {
		t.Fatal("plaintext visible in the sealed value")
	}
	got, err := db.Open(sealed, aad)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("Open = %q, %v; want the message", got, err)
	}

	// The same data key, unwrapped on another node, derives the same box.
	again, err := DataKeyFromBytes(dk.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	db2, err := NewDropBox(again)
	if err != nil {
		t.Fatal(err)
	}
	if db2.PublicKey() != pub {
		t.Fatal("the drop box is not a function of the data key")
	}
	if got, err := db2.Open(sealed, aad); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("another node's Open = %q, %v", got, err)
	}
}

func TestDropBoxRefuses(t *testing.T) {
	dk := newKey(t, 1)
	db, err := NewDropBox(dk)
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewDropBox(newKey(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	aad := FieldAAD("readings", "r1", "raw")
	sealed, err := db.PublicKey().Seal([]byte("120 mmHg"), aad, nil)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	cases := []struct {
		name   string
		box    *DropBox
		sealed []byte
		aad    []byte
		want   error
	}{
		{"moved to another record", db, sealed, FieldAAD("readings", "r2", "raw"), ErrTampered},
		{"altered", db, flipped, aad, ErrTampered},
		{"another network's key", other, sealed, aad, ErrWrongKey},
		{"truncated", db, sealed[:DropBoxOverhead-1], aad, ErrFormat},
		{"a Sealer value", db, append([]byte{SealedVersion}, sealed[1:]...), aad, ErrFormat},
		{"empty", db, nil, aad, ErrFormat},
	}
	for _, c := range cases {
		if _, err := c.box.Open(c.sealed, c.aad); !errors.Is(err, c.want) {
			t.Errorf("%s: Open error %v, want %v", c.name, err, c.want)
		}
	}
	db.Wipe()
	if _, err := db.Open(sealed, aad); !errors.Is(err, ErrLocked) {
		t.Errorf("after Wipe: %v, want ErrLocked", err)
	}
	if _, err := (DropBoxKey{}).Seal([]byte("x"), aad, nil); !errors.Is(err, ErrNoKey) {
		t.Errorf("seal to no key: %v, want ErrNoKey", err)
	}
	if _, err := NewDropBox(DataKey{}); !errors.Is(err, ErrNoKey) {
		t.Errorf("drop box of no key: %v, want ErrNoKey", err)
	}
}

func TestVaultDropBox(t *testing.T) {
	v, err := New(Config{Argon2: TestArgon2Params()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.DropBox(); !errors.Is(err, ErrLocked) {
		t.Fatalf("locked vault: %v, want ErrLocked", err)
	}
	dk := newKey(t, 3)
	if err := v.UnlockWithDataKey(dk); err != nil {
		t.Fatal(err)
	}
	db, err := v.DropBox()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := NewDropBox(dk)
	if db.PublicKey() != want.PublicKey() {
		t.Fatal("the vault's drop box differs from the data key's")
	}
}

func TestDropBoxKeyText(t *testing.T) {
	bad := []string{"", "dropbox1", "dropbox2:00000000:" + string(make([]byte, 43)), "dropbox1:zz:AAAA",
		"dropbox1:00000000:AAAA", "dropbox1:0000000000:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
	for _, s := range bad {
		var k DropBoxKey
		if err := k.UnmarshalText([]byte(s)); !errors.Is(err, ErrFormat) {
			t.Errorf("UnmarshalText(%q) = %v, want ErrFormat", s, err)
		}
	}
}

func FuzzDropBoxOpen(f *testing.F) {
	dk, err := NewDataKey(newDetRand(4))
	if err != nil {
		f.Fatal(err)
	}
	db, err := NewDropBox(dk)
	if err != nil {
		f.Fatal(err)
	}
	sealed, err := db.PublicKey().Seal([]byte("98.6"), []byte("aad"), newDetRand(5))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed, []byte("aad"))
	f.Add([]byte{DropBoxVersion}, []byte(""))
	f.Add([]byte("dropbox1:00000000:AAAA"), []byte("x"))
	f.Fuzz(func(t *testing.T, b, aad []byte) {
		// Outside bytes never panic, and only the genuine value opens.
		if got, err := db.Open(b, aad); err == nil && !(bytes.Equal(b, sealed) && string(aad) == "aad" && string(got) == "98.6") {
			t.Fatalf("Open accepted %x with aad %q", b, aad)
		}
		var k DropBoxKey
		_ = k.UnmarshalText(b)
	})
}
