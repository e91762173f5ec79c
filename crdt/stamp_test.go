package crdt

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestStampParseFormat(t *testing.T) {
	good := []struct {
		text string
		want Stamp
	}{
		{"0.0@A", st(0, 0, "A")},
		{"1750000000000.0@NODEAAAAAAAAAQ", st(1750000000000, 0, "NODEAAAAAAAAAQ")},
		{"1750000000000.17@b-c_d.e", st(1750000000000, 17, "b-c_d.e")},
		{"9223372036854775807.4294967295@Z", st(math.MaxInt64, math.MaxUint32, "Z")},
		{"5.0@" + strings.Repeat("n", MaxNameLen), st(5, 0, NodeID(strings.Repeat("n", MaxNameLen)))},
	}
	for _, g := range good {
		got, err := ParseStamp(g.text)
		if err != nil {
			t.Errorf("ParseStamp(%q): %v", g.text, err)
			continue
		}
		if got != g.want {
			t.Errorf("ParseStamp(%q) = %+v, want %+v", g.text, got, g.want)
		}
		if s := got.String(); s != g.text {
			t.Errorf("String() = %q, want %q", s, g.text)
		}
	}

	bad := []string{
		"", "@", "1.0@", "1.0", "1@A", "1.@A", ".1@A", "1.2.3@A",
		"-1.0@A", "-0.0@A", "+1.0@A", "1.+0@A", "1.-1@A", // signs
		"01.0@A", "1.00@A", // leading zeros: one text per stamp
		" 1.0@A", "1.0@A ", "1 .0@A", "1_000.0@A", "0x10.0@A",
		"9223372036854775808.0@A", // wall overflows int64
		"1.4294967296@A",          // counter overflows uint32
		"99999999999999999999999.0@A",
		"1.0@A@B", "1.0@A B", "1.0@A,B", "1.0@A:B", "1.0@\xff", "1.0@é",
		"1.0@" + strings.Repeat("n", MaxNameLen+1),
	}
	for _, text := range bad {
		if s, err := ParseStamp(text); err == nil {
			t.Errorf("ParseStamp(%q) = %v, want an error", text, s)
		} else if !errors.Is(err, ErrBadStamp) {
			t.Errorf("ParseStamp(%q) error %v does not wrap ErrBadStamp", text, err)
		}
	}
}

func TestStampCompare(t *testing.T) {
	ordered := []Stamp{
		{},
		st(0, 0, "A"),
		st(0, 1, "A"),
		st(1, 0, "A"),
		st(1, 0, "B"),
		st(1, 1, "A"),
		st(2, 0, "A"),
	}
	for i, a := range ordered {
		for j, b := range ordered {
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got := a.Compare(b); got != want {
				t.Errorf("%v.Compare(%v) = %d, want %d", a, b, got, want)
			}
			if a.Less(b) != (want < 0) {
				t.Errorf("%v.Less(%v) = %v", a, b, a.Less(b))
			}
		}
	}
}

func TestStampText(t *testing.T) {
	// Stamps travel as text in JSON; the zero stamp (a fresh store's clock)
	// must survive the round trip too.
	for _, s := range []Stamp{{}, st(t0, 3, "A")} {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back Stamp
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("json round trip of %v (%s): %v", s, b, err)
		}
		if back != s {
			t.Errorf("json round trip: %v -> %s -> %v", s, b, back)
		}
	}
	var s Stamp
	if err := s.UnmarshalText([]byte("1.0@")); !errors.Is(err, ErrBadStamp) {
		t.Errorf("UnmarshalText of a bad stamp: %v", err)
	}
}
