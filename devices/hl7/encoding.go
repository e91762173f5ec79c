package hl7

import (
	"fmt"
	"strings"
)

// Encoding holds the separators a message declares in MSH-1 and MSH-2. A
// zero byte means the sender declared none, so nothing is split on it and
// (for Escape) nothing is unescaped.
type Encoding struct {
	Field, Component, Repetition, Escape, Subcomponent, Truncation byte
}

// readEncoding reads MSH-1 and MSH-2 from the start of a message.
func readEncoding(b []byte) (Encoding, error) {
	if len(b) < 4 || string(b[:3]) != "MSH" {
		return Encoding{}, fmt.Errorf("first segment is not MSH: %w", ErrNotHL7)
	}
	e := Encoding{Field: b[3]}
	if !separatorOK(e.Field) {
		return Encoding{}, fmt.Errorf("MSH-1 field separator %q: %w", e.Field, ErrNotHL7)
	}
	var chars []byte
	for _, c := range b[4:] {
		if c == e.Field || c == '\r' || c == '\n' {
			break
		}
		chars = append(chars, c)
	}
	if len(chars) == 0 || len(chars) > 5 {
		return Encoding{}, fmt.Errorf("MSH-2 encoding characters %q: want 1 to 5: %w", chars, ErrNotHL7)
	}
	seen := map[byte]bool{e.Field: true}
	for _, c := range chars {
		if !separatorOK(c) || seen[c] {
			return Encoding{}, fmt.Errorf("MSH-2 encoding characters %q: %q is repeated or not a punctuation character: %w", chars, c, ErrNotHL7)
		}
		seen[c] = true
	}
	dst := []*byte{&e.Component, &e.Repetition, &e.Escape, &e.Subcomponent, &e.Truncation}
	for i, c := range chars {
		*dst[i] = c
	}
	return e, nil
}

// separatorOK allows printable ASCII punctuation: never a letter, digit,
// space or control character, which would make segments unreadable.
func separatorOK(c byte) bool {
	return c > ' ' && c < 0x7f && !(c >= '0' && c <= '9') && !(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z')
}

// chars is MSH-2 as the sender wrote it.
func (e Encoding) chars() string {
	var b []byte
	for _, c := range []byte{e.Component, e.Repetition, e.Escape, e.Subcomponent, e.Truncation} {
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	return string(b)
}

// split cuts s at sep; with no separator declared it is one piece.
func split(s string, sep byte) []string {
	if sep == 0 {
		return []string{s}
	}
	return strings.Split(s, string([]byte{sep}))
}

// unescape decodes HL7 escape sequences in a leaf value. Sequences it does
// not know, and an escape character with no closing one, stay as written.
func (e Encoding) unescape(s string) string {
	if e.Escape == 0 || strings.IndexByte(s, e.Escape) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != e.Escape {
			b.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(s[i+1:], e.Escape)
		if end < 0 {
			b.WriteString(s[i:])
			break
		}
		seq := s[i+1 : i+1+end]
		if out, ok := e.decode(seq); ok {
			b.WriteString(out)
		} else {
			b.WriteString(s[i : i+end+2])
		}
		i += end + 2
	}
	return b.String()
}

// decode turns one escape sequence (without its delimiters) into text.
func (e Encoding) decode(seq string) (string, bool) {
	one := func(c byte) (string, bool) {
		if c == 0 {
			return "", false
		}
		return string([]byte{c}), true
	}
	switch seq {
	case "F":
		return one(e.Field)
	case "S":
		return one(e.Component)
	case "T":
		return one(e.Subcomponent)
	case "R":
		return one(e.Repetition)
	case "E":
		return one(e.Escape)
	case "P":
		return one(e.Truncation)
	case ".br":
		return "\n", true
	case "H", "N":
		return "", true // highlighting on/off: no meaning in a stored value
	}
	if len(seq) > 1 && seq[0] == 'X' && len(seq)%2 == 1 {
		out := make([]byte, 0, len(seq)/2)
		for i := 1; i < len(seq); i += 2 {
			hi, ok1 := hexVal(seq[i])
			lo, ok2 := hexVal(seq[i+1])
			if !ok1 || !ok2 {
				return "", false
			}
			out = append(out, hi<<4|lo)
		}
		return string(out), true
	}
	return "", false
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// escape encodes text so that it can stand in a leaf value. Where the
// sender declared no escape character, separators are replaced by spaces:
// a reason text must never split a field.
func (e Encoding) escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		var code string
		switch {
		case c == 0:
			code = "X00"
		case c == e.Escape:
			code = "E"
		case c == e.Field:
			code = "F"
		case c == e.Component:
			code = "S"
		case c == e.Subcomponent:
			code = "T"
		case c == e.Repetition:
			code = "R"
		case c == e.Truncation:
			code = "P"
		case c == '\r':
			code = "X0D"
		case c == '\n':
			code = "X0A"
		case c == 0x0b || c == 0x1c:
			code = fmt.Sprintf("X%02X", c)
		default:
			b.WriteByte(c)
			continue
		}
		if e.Escape == 0 {
			b.WriteByte(' ')
			continue
		}
		b.WriteByte(e.Escape)
		b.WriteString(code)
		b.WriteByte(e.Escape)
	}
	return b.String()
}
