package crdt

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestChangeValidate(t *testing.T) {
	s := st(t0, 0, "A")
	seenOK := []Stamp{st(t0-5, 0, "B")}
	long := strings.Repeat("x", MaxNameLen+1)
	muts := func(ms ...Mutation) []Mutation { return ms }
	many := func(n int, m func(i int) Mutation) []Mutation {
		out := make([]Mutation, n)
		for i := range out {
			out[i] = m(i)
		}
		return out
	}
	base := func() Change {
		return Change{Origin: "A", Seq: 1, Stamp: s, Collection: "patients", Record: "p1",
			Muts: muts(set("phone", "123"))}
	}
	tests := []struct {
		name string
		edit func(c *Change)
		ok   bool
	}{
		{"valid", func(*Change) {}, true},
		// change-level rules
		{"empty origin", func(c *Change) { c.Origin = ""; c.Stamp.Node = "" }, false},
		{"origin too long", func(c *Change) { c.Origin = NodeID(long); c.Stamp.Node = c.Origin }, false},
		{"origin with ':' would break the vector text", func(c *Change) { c.Origin = "A:B"; c.Stamp.Node = c.Origin }, false},
		{"origin not UTF-8", func(c *Change) { c.Origin = "A\xff"; c.Stamp.Node = c.Origin }, false},
		{"seq 0", func(c *Change) { c.Seq = 0 }, false},
		{"stamp from another node", func(c *Change) { c.Stamp.Node = "B" }, false},
		{"negative wall", func(c *Change) { c.Stamp.Wall = -1 }, false},
		{"wall far in the future is still data", func(c *Change) { c.Stamp.Wall = 1 << 62 }, true},
		{"bad collection", func(c *Change) { c.Collection = "pa tients" }, false},
		{"empty collection", func(c *Change) { c.Collection = "" }, false},
		{"bad record", func(c *Change) { c.Record = "p/1" }, false},
		{"record too long", func(c *Change) { c.Record = long }, false},
		{"no mutations", func(c *Change) { c.Muts = nil }, false},
		{"too many mutations", func(c *Change) {
			c.Muts = many(MaxMuts+1, func(i int) Mutation { return add("tags", "t") })
		}, false},
		{"MaxMuts mutations", func(c *Change) {
			c.Muts = many(MaxMuts, func(i int) Mutation { return add("tags", "t") })
		}, true},
		{"unknown kind", func(c *Change) { c.Muts = muts(Mutation{Kind: 99}) }, false},
		{"kind 0", func(c *Change) { c.Muts = muts(Mutation{}) }, false},
		// set
		{"set with seen", func(c *Change) { c.Muts = muts(set("phone", "1", seenOK...)) }, true},
		{"set with empty value", func(c *Change) { c.Muts = muts(set("phone", "")) }, true},
		{"set bad field", func(c *Change) { c.Muts = muts(set("ph one", "1")) }, false},
		{"set no field", func(c *Change) { c.Muts = muts(set("", "1")) }, false},
		{"set value too big", func(c *Change) {
			c.Muts = muts(Mutation{Kind: MutSet, Field: "f", Value: make([]byte, MaxValueLen+1)})
		}, false},
		{"set value at the limit", func(c *Change) {
			c.Muts = muts(Mutation{Kind: MutSet, Field: "f", Value: make([]byte, MaxValueLen)})
		}, true},
		{"set same field twice", func(c *Change) { c.Muts = muts(set("phone", "1"), set("phone", "2")) }, false},
		{"set same field twice among many", func(c *Change) {
			c.Muts = append(many(40, func(i int) Mutation { return set(fmt.Sprintf("f%d", i), "v") }), set("f3", "again"))
		}, false},
		{"set many distinct fields", func(c *Change) {
			c.Muts = many(40, func(i int) Mutation { return set(fmt.Sprintf("f%d", i), "v") })
		}, true},
		{"set two fields", func(c *Change) { c.Muts = muts(set("phone", "1"), set("name", "2")) }, true},
		{"set with elem", func(c *Change) { c.Muts = muts(Mutation{Kind: MutSet, Field: "f", Elem: "x"}) }, false},
		{"set with into", func(c *Change) { c.Muts = muts(Mutation{Kind: MutSet, Field: "f", Into: "p2"}) }, false},
		{"too many seen", func(c *Change) {
			c.Muts = muts(Mutation{Kind: MutSet, Field: "f", Seen: make([]Stamp, MaxSeen+1)})
		}, false},
		{"seen stamp with no node", func(c *Change) { c.Muts = muts(set("f", "1", st(5, 0, ""))) }, false},
		{"seen stamp with negative wall", func(c *Change) { c.Muts = muts(set("f", "1", st(-5, 0, "B"))) }, false},
		{"seen stamp with a bad node", func(c *Change) { c.Muts = muts(set("f", "1", st(5, 0, "B\xff"))) }, false},
		{"seen stamp ahead of the change (peer clock clamped)", func(c *Change) {
			c.Muts = muts(set("f", "1", st(t0+1<<40, 0, "B")))
		}, true},
		// add / remove
		{"add", func(c *Change) { c.Muts = muts(add("allergies", "penicillin")) }, true},
		{"add unicode elem", func(c *Change) { c.Muts = muts(add("allergies", "青霉素")) }, true},
		{"add elem not UTF-8", func(c *Change) { c.Muts = muts(add("allergies", "\xff\xfe")) }, false},
		{"add empty elem", func(c *Change) { c.Muts = muts(add("allergies", "")) }, false},
		{"add elem too long", func(c *Change) { c.Muts = muts(add("allergies", strings.Repeat("x", MaxElemLen+1))) }, false},
		{"add elem at limit", func(c *Change) { c.Muts = muts(add("allergies", strings.Repeat("x", MaxElemLen))) }, true},
		{"add bad field", func(c *Change) { c.Muts = muts(add("", "x")) }, false},
		{"add with seen", func(c *Change) {
			c.Muts = muts(Mutation{Kind: MutAdd, Field: "f", Elem: "x", Seen: seenOK})
		}, false},
		{"add with value", func(c *Change) {
			c.Muts = muts(Mutation{Kind: MutAdd, Field: "f", Elem: "x", Value: []byte("v")})
		}, false},
		{"add same elem twice", func(c *Change) { c.Muts = muts(add("f", "x"), add("f", "x")) }, true},
		{"remove", func(c *Change) { c.Muts = muts(remove("allergies", "penicillin", seenOK...)) }, true},
		{"remove that saw nothing", func(c *Change) { c.Muts = muts(remove("allergies", "penicillin")) }, true},
		{"remove no elem", func(c *Change) { c.Muts = muts(remove("allergies", "", seenOK...)) }, false},
		{"remove with bad seen", func(c *Change) { c.Muts = muts(remove("allergies", "x", Stamp{})) }, false},
		// facts
		{"fact", func(c *Change) { c.Muts = muts(fact("vitals", "obs-1", "120/80")) }, true},
		{"fact bad id", func(c *Change) { c.Muts = muts(fact("vitals", "obs 1", "120/80")) }, false},
		{"fact no id", func(c *Change) { c.Muts = muts(fact("vitals", "", "120/80")) }, false},
		{"fact bad list", func(c *Change) { c.Muts = muts(fact("", "obs-1", "120/80")) }, false},
		{"fact with seen", func(c *Change) {
			c.Muts = muts(Mutation{Kind: MutFact, Field: "vitals", FactID: "o", Seen: seenOK})
		}, false},
		// delete / restore / touch
		{"delete", func(c *Change) { c.Muts = muts(Mutation{Kind: MutDelete}) }, true},
		{"delete with field", func(c *Change) { c.Muts = muts(Mutation{Kind: MutDelete, Field: "f"}) }, false},
		{"restore", func(c *Change) { c.Muts = muts(Mutation{Kind: MutRestore, Seen: seenOK}) }, true},
		{"restore with value", func(c *Change) {
			c.Muts = muts(Mutation{Kind: MutRestore, Seen: seenOK, Value: []byte("x")})
		}, false},
		{"touch", func(c *Change) { c.Muts = muts(Mutation{Kind: MutTouch}) }, true},
		{"touch with elem", func(c *Change) { c.Muts = muts(Mutation{Kind: MutTouch, Elem: "x"}) }, false},
		// merge
		{"merge", func(c *Change) { c.Muts = muts(mergeInto("p2")) }, true},
		{"merge into itself", func(c *Change) { c.Muts = muts(mergeInto("p1")) }, false},
		{"merge bad target", func(c *Change) { c.Muts = muts(mergeInto("p 2")) }, false},
		{"merge no target", func(c *Change) { c.Muts = muts(mergeInto("")) }, false},
		{"merge with field", func(c *Change) { c.Muts = muts(Mutation{Kind: MutMerge, Into: "p2", Field: "f"}) }, false},
		// mixed
		{"every kind in one change", func(c *Change) {
			c.Muts = muts(Mutation{Kind: MutTouch}, set("phone", "1", seenOK...), add("tags", "x"),
				remove("tags", "y", seenOK...), fact("vitals", "o1", "v"), Mutation{Kind: MutDelete},
				Mutation{Kind: MutRestore, Seen: seenOK}, mergeInto("p2"))
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.edit(&c)
			err := c.Validate()
			if tt.ok && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if !tt.ok {
				if err == nil {
					t.Fatal("Validate accepted it")
				}
				if !errors.Is(err, ErrInvalidChange) {
					t.Fatalf("error %v does not wrap ErrInvalidChange", err)
				}
			}
		})
	}
}

func TestMutKindString(t *testing.T) {
	for k, want := range map[MutKind]string{MutSet: "set", MutAdd: "add", MutRemove: "remove", MutFact: "fact",
		MutDelete: "delete", MutRestore: "restore", MutMerge: "merge", MutTouch: "touch", 0: "kind(0)", 200: "kind(200)"} {
		if got := k.String(); got != want {
			t.Errorf("MutKind(%d).String() = %q, want %q", k, got, want)
		}
	}
}
