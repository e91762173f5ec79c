package store

import (
	"bytes"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"carenode/crdt"
)

// The hand-written codec must write exactly what the library writes and,
// whenever it reads a value at all, read what the library reads. Failures
// print rapid's seed; rerun with -rapid.seed=N.

func genText() *rapid.Generator[string] {
	return rapid.OneOf(
		rapid.SampledFrom([]string{"", "a", "name", "phone", "NODEB", "张伟", "z"}),
		rapid.StringN(0, 30, -1),
		rapid.StringN(24, 300, -1), // one- and two-byte length heads
	)
}

func genValue() *rapid.Generator[[]byte] {
	return rapid.OneOf(
		rapid.Just([]byte(nil)),
		rapid.SliceOfN(rapid.Byte(), 0, 30),
		rapid.SliceOfN(rapid.Byte(), 250, 300),
	)
}

func genStamp() *rapid.Generator[crdt.Stamp] {
	return rapid.Custom(func(t *rapid.T) crdt.Stamp {
		return crdt.Stamp{
			Wall:    rapid.OneOf(rapid.Int64Range(-30, 30), rapid.Int64(), rapid.SampledFrom([]int64{math.MinInt64, math.MaxInt64, 1 << 40})).Draw(t, "wall"),
			Logical: rapid.OneOf(rapid.Just(uint32(0)), rapid.Uint32()).Draw(t, "logical"),
			Node:    crdt.NodeID(genText().Draw(t, "node")),
		}
	})
}

// genStamps makes nil, empty and filled slices: they encode differently
// where a slice is not omitempty.
func genStamps() *rapid.Generator[[]crdt.Stamp] {
	return rapid.OneOf(rapid.Just([]crdt.Stamp(nil)), rapid.SliceOfN(genStamp(), 0, 4))
}

func genRecord() *rapid.Generator[*crdt.Record] {
	return rapid.Custom(func(t *rapid.T) *crdt.Record {
		r := &crdt.Record{First: genStamp().Draw(t, "first"), Last: genStamp().Draw(t, "last")}
		if rapid.Bool().Draw(t, "fields") {
			r.Fields = rapid.MapOfN(genText(), rapid.Custom(func(t *rapid.T) *crdt.Register {
				if rapid.IntRange(0, 9).Draw(t, "nilreg") == 0 {
					return nil
				}
				reg := &crdt.Register{Superseded: genStamps().Draw(t, "superseded")}
				for range rapid.IntRange(0, 3).Draw(t, "values") {
					reg.Values = append(reg.Values, crdt.Entry{Stamp: genStamp().Draw(t, "stamp"), Value: genValue().Draw(t, "value")})
				}
				return reg
			}), 0, 4).Draw(t, "fieldmap")
		}
		if rapid.Bool().Draw(t, "sets") {
			tags := rapid.MapOfN(genText(), genStamps(), 0, 3)
			r.Sets = rapid.MapOfN(genText(), rapid.Custom(func(t *rapid.T) *crdt.ORSet {
				if rapid.IntRange(0, 9).Draw(t, "nilset") == 0 {
					return nil
				}
				s := &crdt.ORSet{}
				if rapid.Bool().Draw(t, "adds") {
					s.Adds = tags.Draw(t, "addmap")
				}
				if rapid.Bool().Draw(t, "removed") {
					s.Removed = tags.Draw(t, "removedmap")
				}
				return s
			}), 0, 3).Draw(t, "setmap")
		}
		if rapid.Bool().Draw(t, "facts") {
			r.Facts = rapid.MapOfN(genText(), rapid.Custom(func(t *rapid.T) map[string]crdt.Fact {
				if rapid.IntRange(0, 9).Draw(t, "nillist") == 0 {
					return nil
				}
				return rapid.MapOfN(genText(), rapid.Custom(func(t *rapid.T) crdt.Fact {
					return crdt.Fact{Stamp: genStamp().Draw(t, "stamp"), Value: genValue().Draw(t, "value")}
				}), 0, 3).Draw(t, "list")
			}), 0, 3).Draw(t, "factmap")
		}
		r.Deletes = genStamps().Draw(t, "deletes")
		r.Restored = genStamps().Draw(t, "restored")
		for range rapid.IntRange(0, 2).Draw(t, "merged") {
			r.MergedTo = append(r.MergedTo, crdt.MergeEdge{From: genText().Draw(t, "from"), Into: genText().Draw(t, "into"), Stamp: genStamp().Draw(t, "stamp")})
		}
		return r
	})
}

func genChange() *rapid.Generator[*crdt.Change] {
	return rapid.Custom(func(t *rapid.T) *crdt.Change {
		c := &crdt.Change{
			Origin:     crdt.NodeID(genText().Draw(t, "origin")),
			Seq:        rapid.OneOf(rapid.Uint64Range(0, 300), rapid.Uint64()).Draw(t, "seq"),
			Stamp:      genStamp().Draw(t, "stamp"),
			Collection: genText().Draw(t, "collection"),
			Record:     genText().Draw(t, "record"),
		}
		if rapid.IntRange(0, 9).Draw(t, "nilmuts") > 0 {
			c.Muts = []crdt.Mutation{}
		}
		for range rapid.IntRange(0, 3).Draw(t, "muts") {
			c.Muts = append(c.Muts, crdt.Mutation{
				Kind:   crdt.MutKind(rapid.Uint8().Draw(t, "kind")),
				Field:  genText().Draw(t, "field"),
				Value:  genValue().Draw(t, "value"),
				Elem:   genText().Draw(t, "elem"),
				FactID: genText().Draw(t, "fact"),
				Seen:   genStamps().Draw(t, "seen"),
				Into:   genText().Draw(t, "into"),
			})
		}
		return c
	})
}

// checkRoundTrip checks that the fast encoder writes the library's bytes
// for v, and that the fast decoder reads them back as the library does.
func checkRoundTrip[T any](t *rapid.T, c codec, v *T) {
	lib, err := c.enc.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	fast, ok := encodeFast(v)
	if !ok {
		t.Fatalf("encodeFast does not write %T", v)
	}
	if fast[0] != formatV1 || !bytes.Equal(fast[1:], lib) {
		t.Fatalf("encodings differ:\nfast %x\nlib  %x", fast[1:], lib)
	}
	checkDecode[T](t, c, lib)
}

// checkDecode checks that when the fast decoder accepts b, the library
// accepts it too and decodes the same value.
func checkDecode[T any](t interface{ Fatalf(string, ...any) }, c codec, b []byte) bool {
	var fast, lib T
	if !decodeFast(b, &fast) {
		return false
	}
	if err := c.dec.Unmarshal(b, &lib); err != nil {
		t.Fatalf("fast decoder accepted what the library refuses (%v): %x", err, b)
	}
	if !reflect.DeepEqual(fast, lib) {
		t.Fatalf("decoded values differ for %x:\nfast %#v\nlib  %#v", b, fast, lib)
	}
	return true
}

func TestFastCodecMatchesLibrary(t *testing.T) {
	c, err := newCodec()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("record", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) { checkRoundTrip(t, c, genRecord().Draw(t, "record")) })
	})
	t.Run("change", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) { checkRoundTrip(t, c, genChange().Draw(t, "change")) })
	})
}

// TestFastDecodeTakesStoredValues checks that what the store really writes
// takes the fast path (a fallback would be correct but slow).
func TestFastDecodeTakesStoredValues(t *testing.T) {
	c, err := newCodec()
	if err != nil {
		t.Fatal(err)
	}
	g := newRemoteGen(7)
	recs := map[string]*crdt.Record{}
	for range 2000 {
		ch := g.next()
		b, err := c.enc.Marshal(&ch)
		if err != nil {
			t.Fatal(err)
		}
		if !checkDecode[crdt.Change](t, c, b) {
			t.Fatalf("fast decoder refused a stored change: %x", b)
		}
		r := recs[ch.Record]
		if r == nil {
			r = &crdt.Record{}
			recs[ch.Record] = r
		}
		r.Apply(&ch)
	}
	for id, r := range recs {
		b, err := c.enc.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if !checkDecode[crdt.Record](t, c, b) {
			t.Fatalf("fast decoder refused stored record %s: %x", id, b)
		}
	}
}

// TestRecordPartMatchesWhole checks ApplyRemote's shortcut: decoding only
// the entries some changes write, applying them and writing the rest back
// as stored gives exactly the bytes of decoding, applying and encoding the
// whole record.
func TestRecordPartMatchesWhole(t *testing.T) {
	c, err := newCodec()
	if err != nil {
		t.Fatal(err)
	}
	rapid.Check(t, func(t *rapid.T) {
		rec := genRecord().Draw(t, "record")
		stored, _ := encodeFast(rec)
		// Field names the record has, and others.
		var names []string
		for k := range rec.Fields {
			names = append(names, k)
		}
		for k := range rec.Sets {
			names = append(names, k)
		}
		for k := range rec.Facts {
			names = append(names, k)
		}
		slices.Sort(names)
		field := rapid.OneOf(genText(), rapid.SampledFrom(append(names, "phone")))
		var changes []*crdt.Change
		for range rapid.IntRange(1, 4).Draw(t, "changes") {
			ch := &crdt.Change{Stamp: genStamp().Draw(t, "stamp"), Record: "r"}
			for range rapid.IntRange(1, 3).Draw(t, "muts") {
				ch.Muts = append(ch.Muts, crdt.Mutation{
					Kind:   crdt.MutKind(rapid.IntRange(1, 8).Draw(t, "kind")),
					Field:  field.Draw(t, "field"),
					Value:  genValue().Draw(t, "value"),
					Elem:   genText().Draw(t, "elem"),
					FactID: genText().Draw(t, "fact"),
					Seen:   genStamps().Draw(t, "seen"),
					Into:   genText().Draw(t, "into"),
				})
			}
			changes = append(changes, ch)
		}

		var whole crdt.Record
		if err := c.unmarshal(stored, &whole); err != nil {
			t.Fatal(err)
		}
		var parts recordParts
		for _, ch := range changes {
			whole.Apply(ch)
			parts.note(ch)
		}
		want, _ := encodeFast(&whole)

		var part crdt.Record
		var kept keptEntries
		ok := decodeRecordPart(stored, &parts, &part, &kept)
		if !ok {
			if decodeFast(stored[1:], &crdt.Record{}) {
				t.Fatalf("part decoder refused a record the whole fast decoder takes: %x", stored)
			}
			if err := c.unmarshal(stored, &part); err != nil {
				t.Fatal(err)
			}
		}
		for _, ch := range changes {
			part.Apply(ch)
		}
		if got := encodeRecordTo(&arena{}, &part, &kept); !bytes.Equal(got, want) {
			t.Fatalf("part path wrote\n%x\nwhole path wrote\n%x\n(stored %x, parts %q)", got, want, stored, parts)
		}
	})
}

// FuzzFastDecode feeds arbitrary bytes to both decoders. The seed corpus is
// valid encodings (testdata/fuzz/FuzzFastDecode holds more).
func FuzzFastDecode(f *testing.F) {
	c, err := newCodec()
	if err != nil {
		f.Fatal(err)
	}
	g := newRemoteGen(8)
	for range 20 {
		ch := g.next()
		b, _ := c.enc.Marshal(&ch)
		f.Add(b)
		r := &crdt.Record{}
		r.Apply(&ch)
		b, _ = c.enc.Marshal(r)
		f.Add(b)
	}
	parts := recordParts{{"phone", "name"}, {"allergies"}, {"vitals"}}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecode[crdt.Record](t, c, b)
		checkDecode[crdt.Change](t, c, b)
		// The part decoder takes exactly what the whole fast decoder
		// takes, and writes back the same record.
		var whole, part crdt.Record
		var kept keptEntries
		okWhole := decodeFast(b, &whole)
		okPart := decodeRecordPart(append([]byte{formatV1}, b...), &parts, &part, &kept)
		if okWhole != okPart {
			t.Fatalf("fast decoder takes %x: %v; part decoder: %v", b, okWhole, okPart)
		}
		if okPart {
			var again crdt.Record
			if out := encodeRecordTo(&arena{}, &part, &kept); !decodeFast(out[1:], &again) || !reflect.DeepEqual(again, whole) {
				t.Fatalf("part decode and encode of %x wrote %x:\n%#v\nwant %#v", b, out, again, whole)
			}
		}
	})
}

// TestFastCodecKnowsEveryField fails when a crdt type the fast codec writes
// gains, loses or renumbers a field: fastcodec.go must learn it first, or it
// would silently drop the field.
func TestFastCodecKnowsEveryField(t *testing.T) {
	known := map[string]string{
		"Stamp":     "Wall 1,keyasint; Logical 2,keyasint,omitempty; Node 3,keyasint",
		"Entry":     "Stamp 1,keyasint; Value 2,keyasint,omitempty",
		"Register":  "Values 1,keyasint,omitempty; Superseded 2,keyasint,omitempty",
		"ORSet":     "Adds 1,keyasint,omitempty; Removed 2,keyasint,omitempty",
		"Fact":      "Stamp 1,keyasint; Value 2,keyasint,omitempty",
		"MergeEdge": "From 1,keyasint; Into 2,keyasint; Stamp 3,keyasint",
		"Record": "First 1,keyasint; Last 2,keyasint; Fields 3,keyasint,omitempty; Sets 4,keyasint,omitempty; " +
			"Facts 5,keyasint,omitempty; Deletes 6,keyasint,omitempty; Restored 7,keyasint,omitempty; MergedTo 8,keyasint,omitempty",
		"Mutation": "Kind 1,keyasint; Field 2,keyasint,omitempty; Value 3,keyasint,omitempty; Elem 4,keyasint,omitempty; " +
			"FactID 5,keyasint,omitempty; Seen 6,keyasint,omitempty; Into 7,keyasint,omitempty",
		"Change": "Origin 1,keyasint; Seq 2,keyasint; Stamp 3,keyasint; Collection 4,keyasint; Record 5,keyasint; Muts 6,keyasint",
	}
	types := []any{crdt.Stamp{}, crdt.Entry{}, crdt.Register{}, crdt.ORSet{}, crdt.Fact{}, crdt.MergeEdge{}, crdt.Record{}, crdt.Mutation{}, crdt.Change{}}
	for _, v := range types {
		rt := reflect.TypeOf(v)
		var got []string
		for f := range rt.Fields() {
			got = append(got, f.Name+" "+f.Tag.Get("cbor"))
		}
		if g := strings.Join(got, "; "); g != known[rt.Name()] {
			t.Errorf("crdt.%s fields changed; update fastcodec.go and this list.\ngot  %s\nknew %s", rt.Name(), g, known[rt.Name()])
		}
	}
	// The fields' Go types matter too (an int that becomes a string …).
	if got := slices.Collect(func(yield func(string) bool) {
		for _, v := range types {
			for f := range reflect.TypeOf(v).Fields() {
				if !yield(f.Type.String()) {
					return
				}
			}
		}
	}); strings.Join(got, ",") != "int64,uint32,crdt.NodeID,crdt.Stamp,[]uint8,[]crdt.Entry,[]crdt.Stamp,map[string][]crdt.Stamp,map[string][]crdt.Stamp,"+
		"crdt.Stamp,[]uint8,string,string,crdt.Stamp,crdt.Stamp,crdt.Stamp,map[string]*crdt.Register,map[string]*crdt.ORSet,map[string]map[string]crdt.Fact,"+
		"[]crdt.Stamp,[]crdt.Stamp,[]crdt.MergeEdge,crdt.MutKind,string,[]uint8,string,string,[]crdt.Stamp,string,crdt.NodeID,uint64,crdt.Stamp,string,string,[]crdt.Mutation" {
		t.Errorf("a crdt field changed type; update fastcodec.go and this list:\n%s", strings.Join(got, ","))
	}
}
