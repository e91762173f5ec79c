package dedup

import (
	"strings"
	"unicode"

	"carenode/node/textnorm"
)

// normIDNumber folds width, drops spaces and hyphens and upper-cases, so
// that a typed check character x matches X.
func normIDNumber(s string) string {
	return strings.Map(func(r rune) rune {
		r = textnorm.FoldWidth(r)
		if r == '-' || unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToUpper(r)
	}, s)
}

// normPhone keeps the digits of a phone number and drops a leading
// mainland country code (86 or 0086) before an 11-digit number.
func normPhone(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r = textnorm.FoldWidth(r); r >= '0' && r <= '9' {
			b = append(b, byte(r))
		}
	}
	d := string(b)
	switch {
	case len(d) == 13 && strings.HasPrefix(d, "86"):
		d = d[2:]
	case len(d) == 15 && strings.HasPrefix(d, "0086"):
		d = d[4:]
	}
	return d
}
