package residentid

import (
	"errors"
	"strings"
	"testing"
)

// withCheck completes 17 digits with their check character.
func withCheck(t testing.TB, first17 string) string {
	t.Helper()
	c, err := CheckChar(first17)
	if err != nil {
		t.Fatalf("CheckChar(%q): %v", first17, err)
	}
	return first17 + string(c)
}

func TestCheckChar(t *testing.T) {
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
		{"empty", "", 0, ErrLength},
		{"16 digits", "1101051949123100", 0, ErrLength},
		{"18 digits", "110105194912310021", 0, ErrLength},
		{"letter", "1101051949123100A", 0, ErrChar},
		{"full-width digit", "1101051949123100２", 0, ErrChar},
		{"space", "11010519491231 02", 0, ErrChar},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CheckChar(tc.first17)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("CheckChar(%q) error = %v, want %v", tc.first17, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("CheckChar(%q) = %q, want %q", tc.first17, got, tc.want)
			}
		})
	}
}

// TestCheckCharCatchesTypos checks the property the check character
// exists for: changing any one digit changes it.
func TestCheckCharCatchesTypos(t *testing.T) {
	base := "53252819561103442"
	want, err := CheckChar(base)
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(base) {
		for d := byte('0'); d <= '9'; d++ {
			if d == base[i] {
				continue
			}
			typo := base[:i] + string(d) + base[i+1:]
			if got, _ := CheckChar(typo); got == want {
				t.Errorf("digit %d changed to %c: check character %c unchanged", i+1, d, got)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		wantErr error
	}{
		{"GB 11643 example", "11010519491231002X", nil},
		{"Guangdong 1880", "440524188001010014", nil},
		{"leap day 2000", withCheck(t, "53252820000229001"), nil},
		{"empty", "", ErrLength},
		{"17 characters", "11010519491231002", ErrLength},
		{"19 characters", "11010519491231002X1", ErrLength},
		{"15-digit first generation", "110105491231002", ErrLength},
		{"letter inside", "1101051949123A002X", ErrChar},
		{"X inside", "11010519491231X02X", ErrChar},
		{"lower-case x", "11010519491231002x", ErrChar},
		{"other check letter", "11010519491231002Y", ErrChar},
		{"full-width digit", "11010519491231002Ｘ", ErrChar},
		{"dashes", "110105-19491231-02", ErrChar},
		{"wrong check", "110105194912310021", ErrCheck},
		{"swapped digits", "11010519491213002X", ErrCheck},
		{"30 February", withCheck(t, "53252819990230001"), ErrBirthDate},
		{"29 February 1900", withCheck(t, "53252819000229001"), ErrBirthDate},
		{"month 13", withCheck(t, "53252819991301001"), ErrBirthDate},
		{"month 00", withCheck(t, "53252819990001001"), ErrBirthDate},
		{"day 00", withCheck(t, "53252819990100001"), ErrBirthDate},
		{"31 April", withCheck(t, "53252819990431001"), ErrBirthDate},
		{"year 1700", withCheck(t, "53252817000101001"), ErrBirthDate},
		{"year 2100", withCheck(t, "53252821000101001"), ErrBirthDate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.id)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Validate(%q) = %v, want %v", tc.id, err, tc.wantErr)
			}
			// An ID number is personal data; errors end up in logs.
			if err != nil && tc.id != "" && strings.Contains(err.Error(), tc.id) {
				t.Errorf("error %q quotes the ID number", err)
			}
		})
	}
}

func TestValidateHints(t *testing.T) {
	tests := []struct{ id, want string }{
		{"110105491231002", "first-generation"},
		{"11010519491231002x", "upper-case X"},
		{"1101051949123A002X", "position 14"},
	}
	for _, tc := range tests {
		if err := Validate(tc.id); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%q) = %v, want a message mentioning %q", tc.id, err, tc.want)
		}
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		"11010519491231002X", "440524188001010014", "110105491231002",
		"11010519491231002x", "53252819990230001X", "", "\xff\xfe", "１１０１０５１９４９１２３１００２Ｘ",
	} {
		f.Add(s)
	}
	sentinels := []error{ErrLength, ErrChar, ErrBirthDate, ErrCheck}
	f.Fuzz(func(t *testing.T, s string) {
		err := Validate(s)
		if err != nil {
			if !wrapsAny(err, sentinels) {
				t.Fatalf("Validate(%q) = %v, which wraps no sentinel", s, err)
			}
			return
		}
		if len(s) != Length {
			t.Fatalf("Validate accepted %q of %d bytes", s, len(s))
		}
		c, err := CheckChar(s[:Length-1])
		if err != nil || c != s[Length-1] {
			t.Fatalf("Validate accepted %q, but CheckChar gives %q, %v", s, c, err)
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
