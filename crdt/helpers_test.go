package crdt

import (
	"github.com/fxamacker/cbor/v2"
)

// st builds a stamp.
func st(wall int64, logical uint32, node NodeID) Stamp {
	return Stamp{Wall: wall, Logical: logical, Node: node}
}

// chg builds a valid-looking change of record id in collection "c".
func chg(origin NodeID, seq uint64, stamp Stamp, id string, muts ...Mutation) *Change {
	return &Change{Origin: origin, Seq: seq, Stamp: stamp, Collection: "c", Record: id, Muts: muts}
}

func set(field, value string, seen ...Stamp) Mutation {
	return Mutation{Kind: MutSet, Field: field, Value: []byte(value), Seen: seen}
}

func add(field, elem string) Mutation { return Mutation{Kind: MutAdd, Field: field, Elem: elem} }

func remove(field, elem string, seen ...Stamp) Mutation {
	return Mutation{Kind: MutRemove, Field: field, Elem: elem, Seen: seen}
}

func fact(list, id, value string) Mutation {
	return Mutation{Kind: MutFact, Field: list, FactID: id, Value: []byte(value)}
}

func mergeInto(into string) Mutation { return Mutation{Kind: MutMerge, Into: into} }

// applyAll applies changes to a fresh record, checking each is valid.
func applyAll(t tb, cs ...*Change) *Record {
	t.Helper()
	r := &Record{}
	for _, c := range cs {
		if err := c.Validate(); err != nil {
			t.Fatalf("test change invalid: %v", err)
		}
		r.Apply(c)
	}
	return r
}

// detEnc is the store's encoding: CBOR, core deterministic.
var detEnc = func() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

// tb is what the helpers need of *testing.T and *rapid.T alike.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

// enc encodes v deterministically; equal states give equal bytes.
func enc(t tb, v any) []byte {
	t.Helper()
	b, err := detEnc.Marshal(v)
	if err != nil {
		t.Fatalf("cbor encode: %v", err)
	}
	return b
}
