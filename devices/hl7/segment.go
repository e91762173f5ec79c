package hl7

import (
	"bytes"
	"fmt"
)

// segment is one segment of a message, split into fields but not further.
type segment struct {
	name   string
	raw    []byte   // the segment's bytes, without its terminator
	fields []string // fields[n] is field n; for MSH, fields[1] is MSH-1
	pos    int      // 1-based position in the message, for errors
}

// splitSegments cuts a message at CR, LF or CRLF, skipping blank lines, and
// splits each segment into fields.
func splitSegments(b []byte, e Encoding) ([]segment, error) {
	var segs []segment
	for len(b) > 0 {
		i := bytes.IndexAny(b, "\r\n")
		line := b
		if i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		s := segment{raw: line, pos: len(segs) + 1}
		parts := bytes.Split(line, []byte{e.Field})
		s.name = string(parts[0])
		if !segmentNameOK(s.name) {
			return nil, fmt.Errorf("segment %d: name %q: %w", s.pos, truncate(s.name, 8), ErrSegment)
		}
		if s.name == "MSH" {
			s.fields = make([]string, 0, len(parts)+1)
			s.fields = append(s.fields, "MSH", string([]byte{e.Field}))
		} else {
			s.fields = make([]string, 0, len(parts))
			s.fields = append(s.fields, s.name)
		}
		for _, p := range parts[1:] {
			s.fields = append(s.fields, string(p))
		}
		segs = append(segs, s)
	}
	return segs, nil
}

// segmentNameOK: three upper-case letters or digits, starting with a letter.
func segmentNameOK(n string) bool {
	if len(n) != 3 || n[0] < 'A' || n[0] > 'Z' {
		return false
	}
	for i := 1; i < 3; i++ {
		if !(n[i] >= 'A' && n[i] <= 'Z') && !(n[i] >= '0' && n[i] <= '9') {
			return false
		}
	}
	return true
}

// field returns field n as written (escaped, with its repetitions).
func (s segment) field(n int) string {
	if n < len(s.fields) {
		return s.fields[n]
	}
	return ""
}

// where names field n of s for an error message, e.g. "OBX-14 (segment 5)".
func (s segment) where(n int) string {
	return fmt.Sprintf("%s-%d (segment %d)", s.name, n, s.pos)
}

// reps returns the repetitions of field n; MSH-2 never repeats.
func (s segment) reps(e Encoding, n int) []string {
	f := s.field(n)
	if f == "" {
		return nil
	}
	if s.name == "MSH" && n <= 2 {
		return []string{f}
	}
	return split(f, e.Repetition)
}

// comp returns component c (1-based), first subcomponent, of the first
// repetition of field n, unescaped.
func (s segment) comp(e Encoding, n, c int) string {
	r := s.reps(e, n)
	if len(r) == 0 {
		return ""
	}
	return leaf(e, r[0], c, 1)
}

// leaf returns component c, subcomponent sc (both 1-based) of one
// repetition, unescaped. HL7's explicit null ("") reads as empty.
func leaf(e Encoding, rep string, c, sc int) string {
	comps := split(rep, e.Component)
	if c > len(comps) {
		return ""
	}
	subs := split(comps[c-1], e.Subcomponent)
	if sc > len(subs) {
		return ""
	}
	v := subs[sc-1]
	if v == `""` {
		return ""
	}
	return e.unescape(v)
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
