package vault

import (
	"bytes"
	"testing"
)

func mustToken(t *testing.T, s *Sealer, kind, value string) []byte {
	t.Helper()
	tok, err := s.Token(kind, value)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) != TokenSize {
		t.Fatalf("token is %d bytes, want %d", len(tok), TokenSize)
	}
	return tok
}

func TestTokens(t *testing.T) {
	dk := newKey(t, 1)
	same, err := DataKeyFromBytes(dk.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	s1, s1again, s2 := newSealer(t, dk), newSealer(t, same), newSealer(t, newKey(t, 2))

	tests := []struct {
		name      string
		a, b      *Sealer
		ak, av    string
		bk, bv    string
		wantEqual bool
	}{
		{"same key, kind and value", s1, s1, TokenPhone, "13800138000", TokenPhone, "13800138000", true},
		{"another node of the network", s1, s1again, TokenIDNumber, "11010519491231002X", TokenIDNumber, "11010519491231002X", true},
		{"other value", s1, s1, TokenPhone, "13800138000", TokenPhone, "13800138001", false},
		{"other kind, same digits", s1, s1, TokenPhone, "13800138000", TokenCard, "13800138000", false},
		{"other network key", s1, s2, TokenPhone, "13800138000", TokenPhone, "13800138000", false},
		{"kind and value boundary", s1, s1, "ab", "c", "a", "bc", false},
		{"empty value", s1, s1, TokenCard, "", TokenPhone, "", false},
		{"case matters (normalize first)", s1, s1, TokenIDNumber, "11010519491231002X", TokenIDNumber, "11010519491231002x", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := mustToken(t, tc.a, tc.ak, tc.av), mustToken(t, tc.b, tc.bk, tc.bv)
			if bytes.Equal(a, b) != tc.wantEqual {
				t.Errorf("Token(%q,%q) = %x, Token(%q,%q) = %x; want equal = %v", tc.ak, tc.av, a, tc.bk, tc.bv, b, tc.wantEqual)
			}
		})
	}
}

func TestTokenDoesNotAlias(t *testing.T) {
	s := newSealer(t, newKey(t, 1))
	a := mustToken(t, s, TokenPhone, "13800138000")
	b := mustToken(t, s, TokenPhone, "13800138000")
	_ = append(a, 0xFF) // must not write into b or into a shared buffer
	a[0] ^= 0xFF
	if bytes.Equal(a, b) {
		t.Error("tokens share memory")
	}
}

func TestTokenEmptyKind(t *testing.T) {
	s := newSealer(t, newKey(t, 1))
	_, err := s.Token("", "13800138000")
	wantErr(t, err, ErrBadTokenKind)
}
