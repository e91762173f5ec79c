package crdt

import (
	"errors"
	"maps"
	"testing"
)

// Stamps and vectors arrive as text from outside (the HTTP API's `after`
// parameter, seen lists in JSON). The parsers must never panic, and what
// they accept must survive parse -> String -> parse.
//
//	go test ./crdt -run '^$' -fuzz FuzzParseStamp -fuzztime 15s

func FuzzParseStamp(f *testing.F) {
	for _, s := range []string{"0.0@A", "1750000000000.3@NODEAAAAAAAAAQ", "9223372036854775807.4294967295@Z",
		"", "1.0@", "-1.0@A", "01.0@A", "1.0@A@B", "1.0@\xff", "1..0@A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseStamp(text)
		if err != nil {
			if !errors.Is(err, ErrBadStamp) {
				t.Fatalf("ParseStamp(%q): error %v does not wrap ErrBadStamp", text, err)
			}
			return
		}
		out := s.String()
		if out != text {
			t.Fatalf("ParseStamp(%q) accepted a non-canonical form; String() = %q", text, out)
		}
		back, err := ParseStamp(out)
		if err != nil || back != s {
			t.Fatalf("round trip %q -> %+v -> %q -> %+v, %v", text, s, out, back, err)
		}
		if !s.valid() {
			t.Fatalf("ParseStamp(%q) = %+v, which no node could have made", text, s)
		}
		var u Stamp
		if err := u.UnmarshalText([]byte(text)); err != nil || u != s {
			t.Fatalf("UnmarshalText(%q) = %+v, %v", text, u, err)
		}
	})
}

func FuzzParseVector(f *testing.F) {
	for _, s := range []string{"", "A:1", "A:1,B:2", " A:1 , B:2 ", "A:0,B:3", "A:1,A:2", "A:-1", ",", "A:18446744073709551615",
		"A:18446744073709551616", "\xff:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		v, err := ParseVector(text)
		if err != nil {
			if !errors.Is(err, ErrBadVector) {
				t.Fatalf("ParseVector(%q): error %v does not wrap ErrBadVector", text, err)
			}
			return
		}
		out := v.String()
		back, err := ParseVector(out)
		if err != nil {
			t.Fatalf("ParseVector(%q) -> %q, which does not parse: %v", text, out, err)
		}
		if !maps.Equal(back, v) {
			t.Fatalf("round trip %q -> %v -> %q -> %v", text, v, out, back)
		}
		if again := back.String(); again != out {
			t.Fatalf("String is not stable: %q then %q", out, again)
		}
		for o, n := range v {
			if !ValidName(string(o)) || n == 0 {
				t.Fatalf("ParseVector(%q) holds %q:%d", text, o, n)
			}
		}
	})
}
