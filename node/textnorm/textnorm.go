// Package textnorm holds the small text foldings that the patient packages
// (care, search, dedup) must agree on, so a name typed in full-width mode or
// with a minority name's middle dot is the same name everywhere.
package textnorm

import (
	"strings"
	"unicode"
)

// FoldWidth maps full-width ASCII (what a Chinese input method types in
// full-width mode: ｚｈａｎｇ, １３８, ｘ) and the ideographic space to ASCII.
// Use it with strings.Map.
func FoldWidth(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - 0xFEE0
	case r == 0x3000:
		return ' '
	}
	return r
}

// IsNameSeparator reports runes that may appear inside a written name but
// are not part of it: spaces, and the middle dots of transliterated
// minority names (阿依古丽·买买提).
func IsNameSeparator(r rune) bool {
	switch r {
	case '·', '•', '・', '.', '．', '‧':
		return true
	}
	return unicode.IsSpace(r)
}

// NameKey returns name with widths folded and separators dropped, so that
// 买买提·艾力 and 买买提艾力 compare equal. It returns name itself when
// there is nothing to drop, which is the common case and allocates nothing.
func NameKey(name string) string {
	if strings.IndexFunc(name, func(r rune) bool { return IsNameSeparator(FoldWidth(r)) || FoldWidth(r) != r }) < 0 {
		return name
	}
	return strings.Map(func(r rune) rune {
		if r = FoldWidth(r); IsNameSeparator(r) {
			return -1
		}
		return r
	}, name)
}
