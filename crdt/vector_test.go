package crdt

import (
	"errors"
	"maps"
	"testing"
)

func TestVectorParseFormat(t *testing.T) {
	good := []struct {
		text string
		want Vector
		out  string // String() of the result
	}{
		{"", Vector{}, ""},
		{"   ", Vector{}, ""},
		{"A:1", Vector{"A": 1}, "A:1"},
		{"B:2,A:1", Vector{"A": 1, "B": 2}, "A:1,B:2"},
		{" A:1 , B:2 ", Vector{"A": 1, "B": 2}, "A:1,B:2"},
		{"A:0,B:3", Vector{"B": 3}, "B:3"}, // 0 says nothing
		{"A:007", Vector{"A": 7}, "A:7"},
		{"n.o-d_e:18446744073709551615", Vector{"n.o-d_e": 18446744073709551615}, "n.o-d_e:18446744073709551615"},
	}
	for _, g := range good {
		got, err := ParseVector(g.text)
		if err != nil {
			t.Errorf("ParseVector(%q): %v", g.text, err)
			continue
		}
		if !maps.Equal(got, g.want) {
			t.Errorf("ParseVector(%q) = %v, want %v", g.text, got, g.want)
		}
		if s := got.String(); s != g.out {
			t.Errorf("ParseVector(%q).String() = %q, want %q", g.text, s, g.out)
		}
	}

	bad := []string{
		",", "A:1,", ",A:1", "A", "A:", ":1", "A:-1", "A:+1", "A:1x", "A: 1",
		"A:18446744073709551616", "A:1,A:2", "A:0,A:2", "A:0,A:0",
		"A B:1", "A\xff:1", "A:1:2", "é:1",
	}
	for _, text := range bad {
		if v, err := ParseVector(text); err == nil {
			t.Errorf("ParseVector(%q) = %v, want an error", text, v)
		} else if !errors.Is(err, ErrBadVector) {
			t.Errorf("ParseVector(%q) error %v does not wrap ErrBadVector", text, err)
		}
	}
}

func TestVectorOps(t *testing.T) {
	v := Vector{"A": 3, "B": 0, "C": 5}
	if s := v.String(); s != "A:3,C:5" {
		t.Errorf("String() = %q", s)
	}
	if !v.Has("A", 3) || v.Has("A", 4) || v.Has("B", 1) || v.Has("Z", 1) {
		t.Error("Has is wrong")
	}
	if !v.Covers(Vector{"A": 2, "C": 5}) || v.Covers(Vector{"A": 4}) || v.Covers(Vector{"Z": 1}) {
		t.Error("Covers is wrong")
	}
	if !v.Covers(Vector{}) || !(Vector{}).Covers(Vector{"Z": 0}) {
		t.Error("Covers of empty is wrong")
	}
	c := v.Clone()
	c["A"] = 9
	if v["A"] != 3 {
		t.Error("Clone shares storage")
	}
	if got := v.Origins(); len(got) != 3 || got[0] != "A" || got[2] != "C" {
		t.Errorf("Origins() = %v", got)
	}
}
