package crdt

import (
	"bytes"
	"reflect"
	"slices"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

func important(field string) bool { return field == "phone" || field == "dob" }

// permutations calls f with every order of cs.
func permutations(cs []*Change, f func([]*Change)) {
	var rec func(k int)
	cs = slices.Clone(cs)
	rec = func(k int) {
		if k == len(cs) {
			f(cs)
			return
		}
		for i := k; i < len(cs); i++ {
			cs[k], cs[i] = cs[i], cs[k]
			rec(k + 1)
			cs[k], cs[i] = cs[i], cs[k]
		}
	}
	rec(0)
}

// sameInEveryOrder applies cs in every order (and once more twice over) and
// checks that each gives the same bytes; it returns the record.
func sameInEveryOrder(t *testing.T, cs ...*Change) *Record {
	t.Helper()
	want := applyAll(t, cs...)
	wantBytes := enc(t, want)
	permutations(cs, func(order []*Change) {
		got := applyAll(t, append(slices.Clone(order), order...)...)
		if b := enc(t, got); !bytes.Equal(b, wantBytes) {
			t.Fatalf("order %v gives a different record:\n got %+v\nwant %+v", stampsOf(order), got, want)
		}
	})
	return want
}

func stampsOf(cs []*Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Stamp.String()
	}
	return out
}

func values(r *Register) []string {
	var out []string
	for _, e := range r.Values {
		out = append(out, string(e.Value))
	}
	return out
}

func TestRegister(t *testing.T) {
	a1, b1, a2, c1 := st(t0, 0, "A"), st(t0+1, 0, "B"), st(t0+2, 0, "A"), st(t0+3, 0, "C")
	tests := []struct {
		name     string
		changes  []*Change
		want     []string // current values, oldest first
		current  string
		conflict []string // Conflict in the View of an important field, newest first
	}{
		{name: "single write",
			changes: []*Change{chg("A", 1, a1, "p", set("phone", "111"))},
			want:    []string{"111"}, current: "111"},
		{name: "write that saw the old value replaces it",
			changes: []*Change{
				chg("A", 1, a1, "p", set("phone", "111")),
				chg("B", 1, b1, "p", set("phone", "222", a1))},
			want: []string{"222"}, current: "222"},
		{name: "replacement wins even with an older stamp (skewed clock)",
			changes: []*Change{
				chg("B", 1, b1, "p", set("phone", "222")),
				chg("A", 1, a1, "p", set("phone", "111", b1))},
			want: []string{"111"}, current: "111"},
		{name: "concurrent writes are both kept; newest shown; conflict",
			changes: []*Change{
				chg("A", 1, a1, "p", set("phone", "111")),
				chg("B", 1, b1, "p", set("phone", "222"))},
			want: []string{"111", "222"}, current: "222", conflict: []string{"222", "111"}},
		{name: "concurrent writes that both saw a common parent",
			changes: []*Change{
				chg("A", 1, a1, "p", set("phone", "111")),
				chg("B", 1, b1, "p", set("phone", "222", a1)),
				chg("C", 1, c1, "p", set("phone", "333", a1))},
			want: []string{"222", "333"}, current: "333", conflict: []string{"333", "222"}},
		{name: "a write naming all current stamps resolves the conflict",
			changes: []*Change{
				chg("A", 1, a1, "p", set("phone", "111")),
				chg("B", 1, b1, "p", set("phone", "222")),
				chg("A", 2, a2, "p", set("phone", "333", a1, b1))},
			want: []string{"333"}, current: "333"},
		{name: "a write naming only some leaves the rest in conflict",
			changes: []*Change{
				chg("A", 1, a1, "p", set("phone", "111")),
				chg("B", 1, b1, "p", set("phone", "222")),
				chg("C", 1, c1, "p", set("phone", "333", a1))},
			want: []string{"222", "333"}, current: "333", conflict: []string{"333", "222"}},
		{name: "resolution that names a value the replica has not seen yet",
			changes: []*Change{
				chg("A", 1, a1, "p", set("phone", "111")),
				chg("C", 1, c1, "p", set("phone", "333", a1, b1)),
				chg("B", 1, b1, "p", set("phone", "222"))},
			want: []string{"333"}, current: "333"},
		{name: "older unimportant field keeps no conflict list",
			changes: []*Change{
				chg("A", 1, a1, "p", set("note", "x")),
				chg("B", 1, b1, "p", set("note", "y"))},
			want: []string{"x", "y"}, current: "y"},
		{name: "write that superseded everything and then was superseded",
			changes: []*Change{
				chg("A", 1, a1, "p", set("phone", "111")),
				chg("B", 1, b1, "p", set("phone", "222", a1)),
				chg("A", 2, a2, "p", set("phone", "333", b1))},
			want: []string{"333"}, current: "333"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sameInEveryOrder(t, tt.changes...)
			field := tt.changes[0].Muts[0].Field
			reg := r.Fields[field]
			if got := values(reg); !slices.Equal(got, tt.want) {
				t.Errorf("values = %q, want %q", got, tt.want)
			}
			cur, ok := reg.Current()
			if !ok || string(cur.Value) != tt.current {
				t.Errorf("Current() = %q, %v, want %q", cur.Value, ok, tt.current)
			}
			if got := reg.Stamps(); len(got) != len(tt.want) {
				t.Errorf("Stamps() = %v", got)
			}
			v := r.View(important)
			var conflict []string
			for _, e := range v.Fields[field].Conflict {
				conflict = append(conflict, string(e.Value))
			}
			if !slices.Equal(conflict, tt.conflict) {
				t.Errorf("View conflict = %q, want %q", conflict, tt.conflict)
			}
			if (len(tt.conflict) > 0) != slices.Contains(v.Conflicts(), field) {
				t.Errorf("Conflicts() = %v", v.Conflicts())
			}
			if fv := v.Fields[field]; string(fv.Value) != tt.current || !slices.Equal(fv.Seen, reg.Stamps()) {
				t.Errorf("FieldView = %+v", fv)
			}
		})
	}
}

func TestRegisterLateArrivalStaysSuperseded(t *testing.T) {
	a1, b1 := st(t0, 0, "A"), st(t0+1, 0, "B")
	old := chg("A", 1, a1, "p", set("phone", "111"))
	repl := chg("B", 1, b1, "p", set("phone", "222", a1))
	r := applyAll(t, repl)
	r.Apply(old) // the replaced value arrives after its replacement
	if got := values(r.Fields["phone"]); !slices.Equal(got, []string{"222"}) {
		t.Fatalf("late superseded value came back: %q", got)
	}
	// And again after a Join with a replica that only had the old value.
	r.Join(applyAll(t, old))
	if got := values(r.Fields["phone"]); !slices.Equal(got, []string{"222"}) {
		t.Fatalf("superseded value came back through Join: %q", got)
	}
}

func TestRegisterConflictViewIdenticalInAnyOrder(t *testing.T) {
	cs := []*Change{
		chg("A", 1, st(t0, 0, "A"), "p", set("phone", "111"), set("dob", "1970-01-01")),
		chg("B", 1, st(t0, 0, "B"), "p", set("phone", "222")),
		chg("C", 1, st(t0, 1, "C"), "p", set("phone", "333"), set("dob", "1971-02-02")),
	}
	want := applyAll(t, cs...).View(important)
	if got := want.Conflicts(); !slices.Equal(got, []string{"dob", "phone"}) {
		t.Fatalf("Conflicts() = %v", got)
	}
	permutations(cs, func(order []*Change) {
		if got := applyAll(t, order...).View(important); !reflect.DeepEqual(got, want) {
			t.Fatalf("order %v: view differs:\n got %+v\nwant %+v", stampsOf(order), got, want)
		}
	})
}

// Regression: two values with one stamp (an origin that reissued a stamp
// after restoring an old backup, or a forged change) were kept in arrival
// order by Apply and in unspecified sort order by Join, so replicas could
// disagree for ever.
func TestRegisterSameStampDifferentValues(t *testing.T) {
	s := st(t0, 0, "A")
	x := chg("A", 1, s, "p", set("phone", "xxx"))
	y := chg("A", 2, s, "p", set("phone", "aaa"))
	r1 := applyAll(t, x, y)
	r2 := applyAll(t, y, x)
	if !bytes.Equal(enc(t, r1), enc(t, r2)) {
		t.Fatalf("Apply order decides: %q vs %q", values(r1.Fields["phone"]), values(r2.Fields["phone"]))
	}
	j1, j2 := applyAll(t, x), applyAll(t, y)
	j1.Join(applyAll(t, y))
	j2.Join(applyAll(t, x))
	if !bytes.Equal(enc(t, j1), enc(t, r1)) || !bytes.Equal(enc(t, j2), enc(t, r1)) {
		t.Fatalf("Join disagrees with Apply: %q, %q, %q",
			values(j1.Fields["phone"]), values(j2.Fields["phone"]), values(r1.Fields["phone"]))
	}
}

// Regression: an empty value was kept as []byte{} on the replica that wrote
// it and as nil on replicas that decoded the change, so their views differed
// (JSON "" against null).
func TestEmptyValueSameOnEveryReplica(t *testing.T) {
	c := chg("A", 1, st(t0, 0, "A"), "p", set("note", ""), fact("log", "f1", ""))
	local := applyAll(t, c)
	var decoded Change
	if err := cbor.Unmarshal(enc(t, c), &decoded); err != nil {
		t.Fatal(err)
	}
	remote := applyAll(t, &decoded)
	if lv, rv := local.View(nil), remote.View(nil); !reflect.DeepEqual(lv, rv) {
		t.Fatalf("views differ:\nlocal  %#v\nremote %#v", lv, rv)
	}
}

func TestORSetAddWins(t *testing.T) {
	a1, b1, a2, c1 := st(t0, 0, "A"), st(t0+1, 0, "B"), st(t0+2, 0, "A"), st(t0+3, 0, "C")
	tests := []struct {
		name    string
		changes []*Change
		want    []string
		tags    map[string][]Stamp
	}{
		{name: "add",
			changes: []*Change{chg("A", 1, a1, "p", add("allergies", "penicillin"))},
			want:    []string{"penicillin"}, tags: map[string][]Stamp{"penicillin": {a1}}},
		{name: "remove of the seen tag",
			changes: []*Change{
				chg("A", 1, a1, "p", add("allergies", "penicillin")),
				chg("B", 1, b1, "p", remove("allergies", "penicillin", a1))},
			want: nil},
		{name: "concurrent add survives a remove that did not see it",
			changes: []*Change{
				chg("A", 1, a1, "p", add("allergies", "penicillin")),
				chg("B", 1, b1, "p", remove("allergies", "penicillin", a1)),
				chg("C", 1, c1, "p", add("allergies", "penicillin"))},
			want: []string{"penicillin"}, tags: map[string][]Stamp{"penicillin": {c1}}},
		{name: "re-add after remove",
			changes: []*Change{
				chg("A", 1, a1, "p", add("allergies", "penicillin")),
				chg("B", 1, b1, "p", remove("allergies", "penicillin", a1)),
				chg("A", 2, a2, "p", add("allergies", "penicillin"))},
			want: []string{"penicillin"}, tags: map[string][]Stamp{"penicillin": {a2}}},
		{name: "remove that saw nothing removes nothing",
			changes: []*Change{
				chg("A", 1, a1, "p", add("allergies", "penicillin")),
				chg("B", 1, b1, "p", remove("allergies", "penicillin"))},
			want: []string{"penicillin"}, tags: map[string][]Stamp{"penicillin": {a1}}},
		{name: "remove names one of two tags",
			changes: []*Change{
				chg("A", 1, a1, "p", add("allergies", "penicillin")),
				chg("B", 1, b1, "p", add("allergies", "penicillin")),
				chg("C", 1, c1, "p", remove("allergies", "penicillin", b1))},
			want: []string{"penicillin"}, tags: map[string][]Stamp{"penicillin": {a1}}},
		{name: "list edited elsewhere never loses the allergy",
			changes: []*Change{
				chg("A", 1, a1, "p", add("allergies", "penicillin"), add("allergies", "latex")),
				chg("B", 1, b1, "p", add("allergies", "aspirin"), remove("allergies", "latex", a1)),
				chg("A", 2, a2, "p", add("allergies", "sulfa"))},
			want: []string{"aspirin", "penicillin", "sulfa"},
			tags: map[string][]Stamp{"aspirin": {b1}, "penicillin": {a1}, "sulfa": {a2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sameInEveryOrder(t, tt.changes...)
			s := r.Sets["allergies"]
			if got := s.Elems(); !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("Elems() = %q, want %q", got, tt.want)
			}
			for _, e := range []string{"penicillin", "latex", "aspirin", "sulfa"} {
				if s.Contains(e) != slices.Contains(tt.want, e) {
					t.Errorf("Contains(%q) = %v", e, s.Contains(e))
				}
				if got := s.Tags(e); !slices.Equal(got, tt.tags[e]) {
					t.Errorf("Tags(%q) = %v, want %v", e, got, tt.tags[e])
				}
			}
			if v := r.View(nil); !slices.Equal(v.Sets["allergies"], tt.want) {
				t.Errorf("View sets = %q", v.Sets["allergies"])
			}
		})
	}
}

func TestORSetTagsIsACopy(t *testing.T) {
	r := applyAll(t, chg("A", 1, st(t0, 0, "A"), "p", add("tags", "x")))
	tags := r.Sets["tags"].Tags("x")
	tags[0] = Stamp{}
	if !r.Sets["tags"].Contains("x") || r.Sets["tags"].Tags("x")[0].IsZero() {
		t.Fatal("Tags returned the set's own storage")
	}
}

func TestFacts(t *testing.T) {
	a1, b1, a2 := st(t0, 0, "A"), st(t0+1, 0, "B"), st(t0+2, 0, "A")
	cs := []*Change{
		chg("A", 1, a1, "p", fact("vitals", "obs-1", "120/80")),
		chg("B", 1, b1, "p", fact("vitals", "obs-2", "130/85")),
		// The same reading delivered twice by a device, recorded by two nodes:
		chg("A", 2, a2, "p", fact("vitals", "obs-2", "130/85 again")),
		chg("B", 2, st(t0+3, 0, "B"), "p", fact("attempts", "call-1", "no answer")),
	}
	r := sameInEveryOrder(t, cs...)
	v := r.View(nil)
	want := []FactView{
		{ID: "obs-1", Stamp: a1, Value: []byte("120/80")},
		{ID: "obs-2", Stamp: b1, Value: []byte("130/85")}, // the earliest stamp wins the id
	}
	if !reflect.DeepEqual(v.Facts["vitals"], want) {
		t.Errorf("vitals = %+v, want %+v", v.Facts["vitals"], want)
	}
	if len(v.Facts["attempts"]) != 1 {
		t.Errorf("attempts = %+v", v.Facts["attempts"])
	}
	// Same id and stamp, different value: the smaller value, on every replica.
	x := chg("A", 3, st(t0+9, 0, "A"), "p", fact("vitals", "obs-9", "b"))
	y := chg("A", 4, st(t0+9, 0, "A"), "p", fact("vitals", "obs-9", "a"))
	r2 := sameInEveryOrder(t, x, y)
	if got := string(r2.Facts["vitals"]["obs-9"].Value); got != "a" {
		t.Errorf("same stamp tie-break kept %q", got)
	}
}

func TestDeleteRestore(t *testing.T) {
	a1, b1, a2, c1 := st(t0, 0, "A"), st(t0+1, 0, "B"), st(t0+2, 0, "A"), st(t0+3, 0, "C")
	del := Mutation{Kind: MutDelete}
	restore := func(seen ...Stamp) Mutation { return Mutation{Kind: MutRestore, Seen: seen} }
	tests := []struct {
		name    string
		changes []*Change
		deleted bool
		tombs   []Stamp
	}{
		{"delete", []*Change{chg("A", 1, a1, "p", set("name", "x")), chg("B", 1, b1, "p", del)}, true, []Stamp{b1}},
		{"restore of the seen tombstone",
			[]*Change{chg("B", 1, b1, "p", del), chg("A", 1, a2, "p", restore(b1))}, false, nil},
		{"restore arriving before its delete",
			[]*Change{chg("A", 1, a2, "p", restore(b1)), chg("B", 1, b1, "p", del)}, false, nil},
		{"concurrent delete not seen by the restore stays",
			[]*Change{chg("B", 1, b1, "p", del), chg("C", 1, c1, "p", del), chg("A", 1, a2, "p", restore(b1))},
			true, []Stamp{c1}},
		{"delete after restore",
			[]*Change{chg("B", 1, b1, "p", del), chg("A", 1, a2, "p", restore(b1)), chg("C", 1, c1, "p", del)},
			true, []Stamp{c1}},
		{"delete keeps the data",
			[]*Change{chg("A", 1, a1, "p", set("name", "x"), add("tags", "t")), chg("B", 1, b1, "p", del),
				chg("A", 2, a2, "p", restore(b1))}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sameInEveryOrder(t, tt.changes...)
			if r.Deleted() != tt.deleted {
				t.Errorf("Deleted() = %v, want %v", r.Deleted(), tt.deleted)
			}
			v := r.View(nil)
			if v.Deleted != tt.deleted || !slices.Equal(v.Tombstones, tt.tombs) {
				t.Errorf("View deleted %v tombstones %v, want %v %v", v.Deleted, v.Tombstones, tt.deleted, tt.tombs)
			}
			if tt.changes[0].Muts[0].Kind == MutSet && string(v.Fields["name"].Value) != "x" {
				t.Errorf("data lost under the tombstone: %+v", v.Fields)
			}
		})
	}
}

func TestRecordFirstLastAndTouch(t *testing.T) {
	a1, b1 := st(t0, 0, "A"), st(t0+1, 0, "B")
	r := sameInEveryOrder(t,
		chg("B", 1, b1, "p", set("name", "x")),
		chg("A", 1, a1, "p", Mutation{Kind: MutTouch}))
	if r.First != a1 || r.Last != b1 {
		t.Errorf("First, Last = %v, %v", r.First, r.Last)
	}
	v := r.View(nil)
	if v.Created != a1 || v.Updated != b1 {
		t.Errorf("Created, Updated = %v, %v", v.Created, v.Updated)
	}
	touched := applyAll(t, chg("A", 1, a1, "p", Mutation{Kind: MutTouch}))
	if tv := touched.View(nil); tv.Created != a1 || len(tv.Fields) != 0 || tv.Deleted {
		t.Errorf("touched view = %+v", tv)
	}
}

func TestJoinMatchesApply(t *testing.T) {
	a1, b1, a2, c1 := st(t0, 0, "A"), st(t0+1, 0, "B"), st(t0+2, 0, "A"), st(t0+3, 0, "C")
	cs := []*Change{
		chg("A", 1, a1, "p", set("phone", "1"), add("tags", "x"), fact("v", "o1", "1")),
		chg("B", 1, b1, "p", set("phone", "2", a1), remove("tags", "x", a1), Mutation{Kind: MutDelete}),
		chg("A", 2, a2, "p", set("phone", "3"), add("tags", "x"), mergeInto("q")),
		chg("C", 1, c1, "p", Mutation{Kind: MutRestore, Seen: []Stamp{b1}}, fact("v", "o1", "0")),
	}
	want := enc(t, applyAll(t, cs...))
	for mask := range 1 << len(cs) {
		var left, right []*Change
		for i, c := range cs {
			if mask&(1<<i) != 0 {
				left = append(left, c)
			} else {
				right = append(right, c)
			}
		}
		l, r := applyAll(t, left...), applyAll(t, right...)
		rBefore := enc(t, r)
		l.Join(r)
		if !bytes.Equal(enc(t, l), want) {
			t.Fatalf("split %b: Join differs from applying all", mask)
		}
		if !bytes.Equal(enc(t, r), rBefore) {
			t.Fatalf("split %b: Join modified its argument", mask)
		}
	}
}

func TestCloneIsDeep(t *testing.T) {
	a1, b1 := st(t0, 0, "A"), st(t0+1, 0, "B")
	orig := applyAll(t,
		chg("A", 1, a1, "p", set("phone", "1"), add("tags", "x"), fact("v", "o1", "1"), Mutation{Kind: MutDelete}, mergeInto("q")))
	before := enc(t, orig)
	c := orig.Clone()
	if !bytes.Equal(enc(t, c), before) {
		t.Fatal("clone differs")
	}
	c.Apply(chg("B", 1, b1, "p", set("phone", "2", a1), remove("tags", "x", a1), fact("v", "o2", "2"),
		Mutation{Kind: MutRestore, Seen: []Stamp{a1}}, mergeInto("r")))
	c.Join(applyAll(t, chg("B", 2, st(t0+2, 0, "B"), "p", set("dob", "d"), add("tags", "y"))))
	if !bytes.Equal(enc(t, orig), before) {
		t.Fatal("changing the clone changed the original")
	}
}

func TestMergedRecord(t *testing.T) {
	a1, b1 := st(t0, 0, "A"), st(t0+1, 0, "B")
	survivor := applyAll(t, chg("A", 1, a1, "p1", set("phone", "111"), add("allergies", "latex")))
	dup := applyAll(t,
		chg("B", 1, b1, "p2", set("phone", "222"), add("allergies", "penicillin"), fact("vitals", "o1", "120/80")),
		chg("B", 2, st(t0+2, 0, "B"), "p2", mergeInto("p1"), Mutation{Kind: MutDelete}))
	sBefore, dBefore := enc(t, survivor), enc(t, dup)
	m := MergedRecord(survivor, []*Record{dup})
	v := m.View(important)
	if !slices.Equal(v.Sets["allergies"], []string{"latex", "penicillin"}) {
		t.Errorf("sets = %v", v.Sets)
	}
	if len(v.Facts["vitals"]) != 1 {
		t.Errorf("facts = %v", v.Facts)
	}
	if len(v.Fields["phone"].Conflict) != 2 {
		t.Errorf("the two phones should be a conflict to review: %+v", v.Fields["phone"])
	}
	if v.Deleted {
		t.Error("the duplicate's tombstone deleted the survivor")
	}
	if !bytes.Equal(enc(t, survivor), sBefore) || !bytes.Equal(enc(t, dup), dBefore) {
		t.Error("MergedRecord modified its inputs")
	}
}

// Regression: Validate let through set elements (and node IDs) that are not
// valid UTF-8. CBOR encodes them as text without complaint, but decoding
// refuses them, so a change accepted from a peer made the record unreadable.
func TestStoredStringsDecode(t *testing.T) {
	c := chg("A", 1, st(t0, 0, "A"), "p", add("tags", "\xff"))
	if c.Validate() == nil {
		t.Fatal("Validate accepted an element that is not UTF-8")
	}
	// What Validate accepts round-trips through the store's encoding.
	ok := chg("A", 1, st(t0, 0, "A"), "p", add("tags", "高血压"), set("note", "\xff\x00", st(1, 0, "B")))
	r := applyAll(t, ok)
	var back Record
	if err := cbor.Unmarshal(enc(t, r), &back); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if !bytes.Equal(enc(t, &back), enc(t, r)) {
		t.Fatal("round trip changed the record")
	}
}
