package dedup

import (
	"strings"
	"unicode"
)

// foldWidth maps full-width ASCII (what an input method types in
// full-width mode: １３８, ｘ) and the ideographic space to ASCII.
func foldWidth(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - 0xFEE0
	case r == 0x3000:
		return ' '
	}
	return r
}

// normName drops what may appear inside a written name without being
// part of it — spaces and the middle dots of transliterated minority names
// (阿依古丽·买买提) — so that two spellings compare equal.
func normName(s string) string {
	return strings.Map(func(r rune) rune {
		r = foldWidth(r)
		switch r {
		case '·', '•', '・', '.', '‧':
			return -1
		}
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// normIDNumber folds width, drops spaces and hyphens and upper-cases, so
// that a typed check character x matches X.
func normIDNumber(s string) string {
	return strings.Map(func(r rune) rune {
		r = foldWidth(r)
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
		if r = foldWidth(r); r >= '0' && r <= '9' {
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
