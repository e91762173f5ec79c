package identity

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// rfc8032 holds the first two test vectors of RFC 8032 section 7.1. The
// expected IDs were computed by an independent implementation (Python
// hashlib, base64 and Luhn mod N from its textbook description), so a
// change here means node IDs changed and every paired peer would break.
var rfc8032 = []struct {
	name, seed, pub string
	id              ID
}{
	{
		name: "test 1",
		seed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
		pub:  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
		id:   "EH7DDX5BKSRGCD",
	},
	{
		name: "test 2",
		seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
		pub:  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
		id:   "HH3RHUFGIQST64",
	},
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIDFromPublicKeyGolden(t *testing.T) {
	for _, tc := range rfc8032 {
		t.Run(tc.name, func(t *testing.T) {
			if got := IDFromPublicKey(mustHex(t, tc.pub)); got != tc.id {
				t.Errorf("IDFromPublicKey = %s, want %s", got, tc.id)
			}
		})
	}
}

func TestGenerateFromFixedSeed(t *testing.T) {
	for _, tc := range rfc8032 {
		t.Run(tc.name, func(t *testing.T) {
			id, err := Generate(bytes.NewReader(mustHex(t, tc.seed)))
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(id.Public); got != tc.pub {
				t.Errorf("public key = %s, want %s", got, tc.pub)
			}
			if id.ID != tc.id {
				t.Errorf("ID = %s, want %s", id.ID, tc.id)
			}
			if _, err := ParseID(id.ID.String()); err != nil {
				t.Errorf("generated ID does not parse: %v", err)
			}
		})
	}
}

func TestGenerateRandom(t *testing.T) {
	a, err := Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == b.ID {
		t.Errorf("two random identities share ID %s", a.ID)
	}
}

func TestGenerateShortRead(t *testing.T) {
	if _, err := Generate(bytes.NewReader(make([]byte, 5))); err == nil {
		t.Fatal("Generate with 5 bytes of randomness succeeded")
	}
}

func TestParseID(t *testing.T) {
	const good = ID("EH7DDX5BKSRGCD")
	tests := []struct {
		name    string
		in      string
		want    ID
		wantErr error
		// wantMsg is a substring the error text must hold, so staff see
		// what went wrong and not just that something did.
		wantMsg string
	}{
		{name: "canonical", in: "EH7DDX5BKSRGCD", want: good},
		{name: "lower case", in: "eh7ddx5bksrgcd", want: good},
		{name: "mixed case", in: "Eh7dDx5BkSrGcD", want: good},
		{name: "dashes", in: "EH7DD-X5BKS-RGCD", want: good},
		{name: "spaces", in: "EH7 DDX 5BK SRG CD", want: good},
		{name: "surrounding blanks", in: "  eh7ddx5bksrgcd\n", want: good},
		{name: "tab and dashes", in: "EH7DDX5\t-BKSRGCD", want: good},
		{name: "second vector", in: "hh3rhufgiqst64", want: "HH3RHUFGIQST64"},

		{name: "empty", in: "", wantErr: ErrIDLength, wantMsg: "has 0 characters, want 14"},
		{name: "only separators", in: "- - -", wantErr: ErrIDLength},
		{name: "one short", in: "EH7DDX5BKSRGC", wantErr: ErrIDLength, wantMsg: "has 13 characters"},
		{name: "one long", in: "EH7DDX5BKSRGCDA", wantErr: ErrIDLength, wantMsg: "has 15 characters"},
		{name: "syncthing-length", in: strings.Repeat("A", 56), wantErr: ErrIDLength},
		{name: "digit zero", in: "EH7DDX5BKSRGC0", wantErr: ErrIDChar, wantMsg: "letter O"},
		{name: "digit one", in: "1H7DDX5BKSRGCD", wantErr: ErrIDChar, wantMsg: "position 1"},
		{name: "digit eight", in: "EH7DDX5BK8RGCD", wantErr: ErrIDChar, wantMsg: "letter B"},
		{name: "digit nine", in: "EH7DDX5BK9RGCD", wantErr: ErrIDChar, wantMsg: "A-Z and 2-7"},
		{name: "punctuation", in: "EH7DDX5BK.RGCD", wantErr: ErrIDChar, wantMsg: "position 10"},
		{name: "underscore", in: "EH7DDX5_BKSRGC", wantErr: ErrIDChar},
		{name: "dotless i is not I", in: "EH7DDX5BKSRGCı", wantErr: ErrIDChar},
		{name: "fullwidth letter", in: "ＥH7DDX5BKSRGCD", wantErr: ErrIDChar},
		{name: "invalid utf-8", in: "EH7DDX5BKSRGC\xff", wantErr: ErrIDChar},
		{name: "wrong check", in: "EH7DDX5BKSRGCE", wantErr: ErrIDCheck, wantMsg: "typos"},
		{name: "typo in payload", in: "EH7DDX5BKSRGDD", wantErr: ErrIDCheck},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseID(tc.in)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("ParseID(%q) error: %v", tc.in, err)
				}
				if got != tc.want {
					t.Fatalf("ParseID(%q) = %s, want %s", tc.in, got, tc.want)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ParseID(%q) error = %v, want %v", tc.in, err, tc.wantErr)
			}
			if got != "" {
				t.Errorf("ParseID(%q) returned %q with an error", tc.in, got)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tc.wantMsg)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.in)) {
				t.Errorf("error %q does not quote the input", err)
			}
		})
	}
}

// sampleIDs returns n IDs from deterministic keys.
func sampleIDs(t testing.TB, n int) []ID {
	t.Helper()
	ids := make([]ID, n)
	for i := range ids {
		seed := make([]byte, ed25519.SeedSize)
		seed[0], seed[1] = byte(i), byte(i>>8)
		ids[i] = IDFromPublicKey(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	}
	return ids
}

// TestParseIDCatchesSingleTypos tries every single-character substitution
// at every position of a sample of IDs; each must be rejected, since a
// mistyped ID that parses would pair a clinic with the wrong node.
func TestParseIDCatchesSingleTypos(t *testing.T) {
	for _, id := range sampleIDs(t, 200) {
		s := []byte(id)
		for pos := range s {
			orig := s[pos]
			for _, c := range []byte(alphabet) {
				if c == orig {
					continue
				}
				s[pos] = c
				if _, err := ParseID(string(s)); !errors.Is(err, ErrIDCheck) {
					t.Fatalf("%s with position %d changed to %c: error = %v, want ErrIDCheck", id, pos+1, c, err)
				}
			}
			s[pos] = orig
		}
	}
}

// TestParseIDTranspositions checks swaps of neighbouring characters within
// the first 13. Luhn mod N catches all of them except a swap of the first
// and last code points ("A" and "7"), so only that one may parse.
func TestParseIDTranspositions(t *testing.T) {
	for _, id := range sampleIDs(t, 200) {
		for pos := 0; pos+1 < payloadLen; pos++ {
			s := []byte(id)
			a, b := s[pos], s[pos+1]
			if a == b {
				continue
			}
			s[pos], s[pos+1] = b, a
			_, err := ParseID(string(s))
			missed := err == nil
			allowed := (a == 'A' && b == '7') || (a == '7' && b == 'A')
			if missed && !allowed {
				t.Errorf("%s: swapping positions %d and %d (%c%c) went unnoticed", id, pos+1, pos+2, a, b)
			}
		}
	}
}

func TestIDText(t *testing.T) {
	const good = ID("HH3RHUFGIQST64")
	tests := []struct {
		name    string
		id      ID
		wantErr error
	}{
		{name: "valid", id: good},
		{name: "zero", id: "", wantErr: ErrIDLength},
		{name: "non-canonical is written canonically", id: "hh3rh-ufgiq-st64"},
		{name: "bad check", id: "HH3RHUFGIQST65", wantErr: ErrIDCheck},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text, err := tc.id.MarshalText()
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("MarshalText error = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if string(text) != string(good) {
				t.Errorf("MarshalText = %q, want %q", text, good)
			}
			var back ID
			if err := back.UnmarshalText(text); err != nil {
				t.Fatalf("UnmarshalText(%q): %v", text, err)
			}
			if back != good {
				t.Errorf("round trip = %s, want %s", back, good)
			}
		})
	}
}

func TestIDJSON(t *testing.T) {
	type peer struct {
		ID ID `json:"id"`
	}
	var p peer
	if err := json.Unmarshal([]byte(`{"id":"hh3rh-ufgiq-st64"}`), &p); err != nil {
		t.Fatal(err)
	}
	if p.ID != "HH3RHUFGIQST64" {
		t.Errorf("decoded %q", p.ID)
	}
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"id":"HH3RHUFGIQST64"}` {
		t.Errorf("encoded %s", out)
	}
	if err := json.Unmarshal([]byte(`{"id":"HH3RHUFGIQST65"}`), &p); !errors.Is(err, ErrIDCheck) {
		t.Errorf("decoding a bad ID: error = %v, want ErrIDCheck", err)
	}
}

func FuzzParseID(f *testing.F) {
	for _, tc := range rfc8032 {
		f.Add(string(tc.id))
		f.Add(strings.ToLower(string(tc.id)))
	}
	f.Add("EH7DD-X5BKS-RGCD")
	f.Add("")
	f.Add("EH7DDX5BKSRGCı")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			if id != "" {
				t.Fatalf("ParseID(%q) returned %q with error %v", s, id, err)
			}
			if !errors.Is(err, ErrIDLength) && !errors.Is(err, ErrIDChar) && !errors.Is(err, ErrIDCheck) {
				t.Fatalf("ParseID(%q) error %v wraps no sentinel", s, err)
			}
			return
		}
		canon := id.String()
		if len(canon) != IDLength || strings.Trim(canon, alphabet) != "" {
			t.Fatalf("ParseID(%q) = %q, not canonical", s, canon)
		}
		again, err := ParseID(canon)
		if err != nil || again != id {
			t.Fatalf("ParseID(%q) = %q, but reparsing gives %q, %v", s, canon, again, err)
		}
		if _, err := id.MarshalText(); err != nil {
			t.Fatalf("MarshalText of parsed ID %q: %v", id, err)
		}
	})
}
