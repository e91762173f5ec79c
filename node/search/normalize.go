package search

import (
	"strings"
	"unicode"

	"carenode/node/textnorm"
)

// normCode normalizes an ID or card number: width folded, spaces and
// hyphens dropped, upper case (so a typed 'x' check character matches).
func normCode(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || c == ' ' || c == '-' || ('a' <= c && c <= 'z') || unicode.IsSpace(rune(c)) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		r = textnorm.FoldWidth(r)
		if r == '-' || unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToUpper(r)
	}, s)
}

// phoneDigits returns the digits of a phone number and whether s looked
// like one: digits with optional spaces, hyphens, parentheses and a plus
// sign. A leading mainland country code (86 or 0086) before an 11-digit
// number is dropped.
func phoneDigits(s string) (string, bool) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		r = textnorm.FoldWidth(r)
		switch {
		case r >= '0' && r <= '9':
			b = append(b, byte(r))
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '+':
		default:
			return "", false
		}
	}
	d := string(b)
	switch {
	case len(d) == 13 && strings.HasPrefix(d, "86"):
		d = d[2:]
	case len(d) == 15 && strings.HasPrefix(d, "0086"):
		d = d[4:]
	}
	return d, d != ""
}

// pinyinKey returns s as a pinyin query: lower-case a-z only, with
// spaces, apostrophes (xi'an) and hyphens dropped and ü written v. The
// second result is false when s has anything else in it.
func pinyinKey(s string) (string, bool) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		r = textnorm.FoldWidth(r)
		switch {
		case r >= 'a' && r <= 'z':
			b = append(b, byte(r))
		case r >= 'A' && r <= 'Z':
			b = append(b, byte(r-'A'+'a'))
		case r == 'ü' || r == 'Ü':
			b = append(b, 'v')
		case r == '\'' || r == '’' || r == '-' || unicode.IsSpace(r):
		default:
			return "", false
		}
	}
	return string(b), len(b) > 0
}

// hanKey returns s as a Chinese-name query: separators dropped, and the
// second result true only when every remaining rune is a Han character.
func hanKey(s string) (string, bool) {
	k := textnorm.NameKey(s)
	if k == "" {
		return "", false
	}
	for _, r := range k {
		if !unicode.Is(unicode.Han, r) {
			return "", false
		}
	}
	return k, true
}
