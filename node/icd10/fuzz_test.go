package icd10

import (
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzLookup feeds arbitrary text to the parts of the package that see what
// a clerk types. None may panic; an accepted code must be canonical and look
// itself up again; a refusal must be one of the two sentinels with a
// sentence for the clerk in both languages.
func FuzzLookup(f *testing.F) {
	for _, s := range []string{"I10", "e11.9", "E119 ", "Ｅ１１．９", "E11。9", "Z99.999", "U99", "E1.19", "",
		"I25.7", "K57.30", "E11.37X1", "QA0", "糖尿病", "E11..9", "\xff\xfe", "E11.9\x00"} {
		f.Add(s)
	}
	tb := Default()
	f.Fuzz(func(t *testing.T, s string) {
		c, err := tb.Lookup(s)
		_ = InRange(s, "E10", "E14")
		_ = InRange("I10", s, s)
		_ = tb.Search(s, 5)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknown) {
				t.Fatalf("Lookup(%q): unexpected error %v", s, err)
			}
			for _, lang := range []string{"zh", "en"} {
				if m := Describe(err, lang); m == "" || !utf8.ValidString(m) {
					t.Fatalf("Describe(%v, %s) = %q", err, lang, m)
				}
			}
			return
		}
		canon, nerr := Normalize(s)
		if nerr != nil || canon != c.Code {
			t.Fatalf("Lookup(%q) = %q but Normalize = %q, %v", s, c.Code, canon, nerr)
		}
		again, err := tb.Lookup(c.Code)
		if err != nil || again != c {
			t.Fatalf("Lookup(%q) = %+v, but Lookup(%q) = %+v, %v", s, c, c.Code, again, err)
		}
		if c.TitleEn == "" {
			t.Fatalf("Lookup(%q) has no English title", s)
		}
		if !InRange(c.Code, c.Code, c.Code) {
			t.Fatalf("InRange(%[1]q, %[1]q, %[1]q) is false", c.Code)
		}
	})
}
