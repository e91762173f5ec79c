package sample

import (
	"errors"
	"strings"
	"testing"
)

// withCheck completes 17 digits with their check character.
func withCheck(t testing.TB, first17 string) string {
	t.Helper()
	c, err := IDCheckChar(first17)
	if err != nil {
		t.Fatalf("IDCheckChar(%q): %v", first17, err)
	}
	return first17 + string(c)
}

func TestIDCheckChar(t *testing.T) {
	tests := []struct {
		name    string
		first17 string
		want    byte
		wantErr error
	}{
		// The example printed in GB 11643-1999; the weighted sum is 167,
		// 167 mod 11 = 2, and 2 maps to X (worked by hand).
		{"GB 11643 example", "11010519491231002", 'X', nil},
		// A commonly cited example; sum 195, mod 11 = 8, maps to 4.
		{"Guangdong 1880", "44052418800101001", '4', nil},
		// Sum 0 maps to 1: the first entry of the check table.
		{"all zeros", "00000000000000000", '1', nil},
		{"empty", "", 0, ErrIDLength},
		{"16 digits", "1101051949123100", 0, ErrIDLength},
		{"18 digits", "110105194912310021", 0, ErrIDLength},
		{"letter", "1101051949123100A", 0, ErrIDChar},
		{"full-width digit", "1101051949123100２", 0, ErrIDChar},
		{"space", "11010519491231 02", 0, ErrIDChar},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := IDCheckChar(tc.first17)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("IDCheckChar(%q) error = %v, want %v", tc.first17, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("IDCheckChar(%q) = %q, want %q", tc.first17, got, tc.want)
			}
		})
	}
}

// TestIDCheckCharCatchesTypos checks the property the check character
// exists for: changing any one digit changes it.
func TestIDCheckCharCatchesTypos(t *testing.T) {
	base := "53252819561103442"
	want, err := IDCheckChar(base)
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(base) {
		for d := byte('0'); d <= '9'; d++ {
			if d == base[i] {
				continue
			}
			typo := base[:i] + string(d) + base[i+1:]
			if got, _ := IDCheckChar(typo); got == want {
				t.Errorf("digit %d changed to %c: check character %c unchanged", i+1, d, got)
			}
		}
	}
}

func TestValidIDNumber(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		wantErr error
	}{
		{"GB 11643 example", "11010519491231002X", nil},
		{"Guangdong 1880", "440524188001010014", nil},
		{"leap day 2000", withCheck(t, "53252820000229001"), nil},
		{"empty", "", ErrIDLength},
		{"17 characters", "11010519491231002", ErrIDLength},
		{"19 characters", "11010519491231002X1", ErrIDLength},
		{"15-digit first generation", "110105491231002", ErrIDLength},
		{"letter inside", "1101051949123A002X", ErrIDChar},
		{"X inside", "11010519491231X02X", ErrIDChar},
		{"lower-case x", "11010519491231002x", ErrIDChar},
		{"other check letter", "11010519491231002Y", ErrIDChar},
		{"full-width digit", "11010519491231002Ｘ", ErrIDChar},
		{"dashes", "110105-19491231-02", ErrIDChar},
		{"wrong check", "110105194912310021", ErrIDCheck},
		{"swapped digits", "11010519491213002X", ErrIDCheck},
		{"30 February", withCheck(t, "53252819990230001"), ErrIDBirthDate},
		{"29 February 1900", withCheck(t, "53252819000229001"), ErrIDBirthDate},
		{"month 13", withCheck(t, "53252819991301001"), ErrIDBirthDate},
		{"month 00", withCheck(t, "53252819990001001"), ErrIDBirthDate},
		{"day 00", withCheck(t, "53252819990100001"), ErrIDBirthDate},
		{"31 April", withCheck(t, "53252819990431001"), ErrIDBirthDate},
		{"year 1700", withCheck(t, "53252817000101001"), ErrIDBirthDate},
		{"year 2100", withCheck(t, "53252821000101001"), ErrIDBirthDate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidIDNumber(tc.id)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ValidIDNumber(%q) = %v, want %v", tc.id, err, tc.wantErr)
			}
			// An ID number is personal data; errors end up in logs.
			if err != nil && tc.id != "" && strings.Contains(err.Error(), tc.id) {
				t.Errorf("error %q quotes the ID number", err)
			}
		})
	}
}

func TestValidIDNumberHints(t *testing.T) {
	tests := []struct{ id, want string }{
		{"110105491231002", "first-generation"},
		{"11010519491231002x", "upper-case X"},
		{"1101051949123A002X", "position 14"},
	}
	for _, tc := range tests {
		if err := ValidIDNumber(tc.id); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidIDNumber(%q) = %v, want a message mentioning %q", tc.id, err, tc.want)
		}
	}
}

func FuzzValidIDNumber(f *testing.F) {
	for _, s := range []string{
		"11010519491231002X", "440524188001010014", "110105491231002",
		"11010519491231002x", "53252819990230001X", "", "\xff\xfe", "１１０１０５１９４９１２３１００２Ｘ",
	} {
		f.Add(s)
	}
	sentinels := []error{ErrIDLength, ErrIDChar, ErrIDBirthDate, ErrIDCheck}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidIDNumber(s)
		if err != nil {
			if !wrapsAny(err, sentinels) {
				t.Fatalf("ValidIDNumber(%q) = %v, which wraps no sentinel", s, err)
			}
			return
		}
		if len(s) != IDLength {
			t.Fatalf("ValidIDNumber accepted %q of %d bytes", s, len(s))
		}
		c, err := IDCheckChar(s[:IDLength-1])
		if err != nil || c != s[IDLength-1] {
			t.Fatalf("ValidIDNumber accepted %q, but IDCheckChar gives %q, %v", s, c, err)
		}
	})
}

func wrapsAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
