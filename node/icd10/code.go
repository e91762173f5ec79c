package icd10

import (
	"strings"
	"unicode"
)

// Code is one entry of the table, as Lookup and Search return it.
type Code struct {
	// Code is the canonical form: upper case, a dot after the third
	// character when more follow ("E11.9", "I10").
	Code string
	// TitleEn is the English title: ICD-10-CM's, or the project's own for
	// the few codes ICD-10-CM lacks (see SOURCE.md).
	TitleEn string
	// TitleZh is the project's Simplified Chinese title, or "" where it has
	// none yet; Title falls back to English.
	TitleZh string
	// Listed reports whether the table holds Code itself. When false, Code
	// is accepted because it sits under a known category — a subcategory
	// heading such as I25.7, or any code in a category whose subcodes the
	// table does not ship — and the titles are those of the nearest code
	// above it that the table holds.
	Listed bool
}

// Title returns the title in Chinese when lang starts with "zh" and a
// Chinese title exists, and in English otherwise.
func (c Code) Title(lang string) string {
	if c.TitleZh != "" && strings.HasPrefix(strings.ToLower(strings.TrimSpace(lang)), "zh") {
		return c.TitleZh
	}
	return c.TitleEn
}

// maxInput bounds the text parse looks at; nothing longer can be a code,
// even with spaces around it.
const maxInput = 64

// Normalize returns the canonical form of a code as people type it: "i10",
// " E119 ", "e11.9" and the full-width "Ｅ１１．９" all give "E11.9". It checks
// the shape only; Lookup checks the table. The error wraps ErrMalformed.
func Normalize(s string) (string, error) {
	_, canon, ok := parse(s)
	if !ok {
		return "", &Error{Input: s, Err: ErrMalformed}
	}
	return canon, nil
}

// parse returns the dotless key ("E119") and canonical form ("E11.9").
func parse(s string) (key, canon string, ok bool) {
	if len(s) > maxInput {
		return "", "", false
	}
	s = strings.TrimFunc(s, unicode.IsSpace)
	var b [8]byte
	n, dot := 0, false
	for _, r := range s {
		r = foldWidth(r)
		switch {
		case r == '.':
			if dot || n != 3 {
				return "", "", false
			}
			dot = true
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		default:
			return "", "", false
		}
		if n == len(b)-1 {
			return "", "", false
		}
		b[n] = byte(r)
		n++
	}
	if n < 3 || (dot && n == 3) {
		return "", "", false
	}
	k := b[:n]
	if k[0] < 'A' || k[0] > 'Z' || (!isDigit(k[1]) && !isDigit(k[2])) {
		return "", "", false
	}
	key = string(k)
	if n == 3 {
		return key, key, true
	}
	return key, key[:3] + "." + key[3:], true
}

// foldWidth maps the full-width forms a Chinese input method types
// ("Ｅ１１．９", and its full stop "。") to ASCII.
func foldWidth(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - (0xFF01 - 0x21)
	case r == '。':
		return '.'
	}
	return r
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// InRange reports whether code falls in the category range from–to,
// inclusive, subcodes included: InRange("I15.9", "I10", "I15") is true and
// InRange("I16", "I10", "I15") false. Only the first three characters of
// each argument count, so "E11.65" is in E10–E14. Categories compare as
// text, which is ICD-10's own order for every category except the few with
// a letter in third place (C4A sorts after C49, not after C43). Malformed
// arguments give false; the table is not consulted, so a rule may name a
// range that no table lists in full.
func InRange(code, from, to string) bool {
	c, _, ok1 := parse(code)
	f, _, ok2 := parse(from)
	t, _, ok3 := parse(to)
	if !ok1 || !ok2 || !ok3 {
		return false
	}
	c, f, t = c[:3], f[:3], t[:3]
	return f <= c && c <= t
}
