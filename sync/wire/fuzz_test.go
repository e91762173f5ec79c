package wire_test

import (
	"bytes"
	"reflect"
	"testing"

	"carenode/crdt"
	"carenode/sync/wire"
)

// Every decoder of peer bytes has a fuzz target: it must not panic, must
// not allocate beyond what its input justifies, and what it accepts must
// encode back to an equal value.

func seedChanges() []crdt.Change {
	s := crdt.Stamp{Wall: 1_790_000_000_000, Node: "NODEA"}
	return []crdt.Change{
		{Origin: "NODEA", Seq: 1, Stamp: s, Collection: "patients", Record: "p1", Muts: []crdt.Mutation{
			{Kind: crdt.MutSet, Field: "name", Value: []byte{0xf8, 1, 2, 3}},
			{Kind: crdt.MutAdd, Field: "allergies", Elem: "penicillin"}}},
		{Origin: "NODEA", Seq: 2, Stamp: crdt.Stamp{Wall: s.Wall + 5, Logical: 2, Node: "NODEA"}, Collection: "patients", Record: "p1",
			Muts: []crdt.Mutation{{Kind: crdt.MutSet, Field: "phone", Value: []byte(`"138"`), Seen: []crdt.Stamp{s, {Wall: 7, Node: "NODEB"}}},
				{Kind: crdt.MutFact, Field: "vitals", FactID: "f1", Value: []byte(`{}`)}, {Kind: crdt.MutMerge, Into: "p2"}}},
	}
}

func FuzzDecodePayload(f *testing.F) {
	f.Add(wire.EncodePayload(wire.Payload{Changes: seedChanges(), Through: []wire.Entry{{Origin: "NODEB", Seq: 9}}}))
	f.Add(wire.EncodePayload(wire.Payload{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := wire.DecodePayload(b)
		if err != nil {
			return
		}
		again, err := wire.DecodePayload(wire.EncodePayload(p))
		if err != nil {
			t.Fatalf("re-encoded payload does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, p) {
			t.Fatal("payload changed in a round trip")
		}
	})
}

func FuzzDecodeHello(f *testing.F) {
	v := wire.Delta(crdt.Vector{"A": 3}, crdt.Vector{"B": 1}, wire.DigestOf(crdt.Vector{"B": 1}))
	f.Add(wire.EncodeHello(wire.Hello{Node: "NODEA", Scope: wire.Nurse("zhao"), Dicts: []uint32{40000}, Vector: v}))
	f.Add(wire.EncodeHello(wire.Hello{Node: "NODEA", Scope: wire.Full(), Vector: wire.FullDelta(nil)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := wire.DecodeHello(b)
		if err != nil {
			return
		}
		if !bytes.Equal(wire.EncodeHello(h), b) {
			t.Fatal("accepted a non-canonical hello")
		}
	})
}

func FuzzDecodeVector(f *testing.F) {
	f.Add(wire.EncodeVector(wire.FullDelta(crdt.Vector{"A": 3, "B": 1 << 40})))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := wire.DecodeVector(b)
		if err != nil {
			return
		}
		if !bytes.Equal(wire.EncodeVector(v), b) {
			t.Fatal("accepted a non-canonical vector")
		}
		_, _ = v.Apply(crdt.Vector{"A": 1})
	})
}

func FuzzDecodeAck(f *testing.F) {
	f.Add(wire.EncodeAck(wire.Ack{Applied: 4, Vector: wire.FullDelta(crdt.Vector{"A": 3})}))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := wire.DecodeAck(b)
		if err != nil {
			return
		}
		if !bytes.Equal(wire.EncodeAck(a), b) {
			t.Fatal("accepted a non-canonical ack")
		}
	})
}

func FuzzDecodeDone(f *testing.F) {
	f.Add(wire.EncodeDone(wire.Done{Batches: 3, Changes: 1000}))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := wire.DecodeDone(b)
		if err != nil {
			return
		}
		if !bytes.Equal(wire.EncodeDone(d), b) {
			t.Fatal("accepted a non-canonical done")
		}
	})
}

func FuzzDecodeError(f *testing.F) {
	f.Add(wire.EncodeError(wire.ErrorMsg{Code: wire.CodeRefused, Message: "scope refused"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := wire.DecodeError(b)
		if err != nil {
			return
		}
		if !bytes.Equal(wire.EncodeError(m), b) {
			t.Fatal("accepted a non-canonical error")
		}
	})
}

func FuzzDecompress(f *testing.F) {
	c, err := wire.NewCodec(wire.DefaultCodecOptions())
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	p := wire.EncodePayload(wire.Payload{Changes: seedChanges()})
	f.Add(c.Compress(p, c.Choose(c.DictIDs())))
	f.Add(c.Compress(bytes.Repeat(p, 20), 0))
	f.Add(append([]byte{0}, p...))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := c.Decompress(b)
		if err == nil && len(out) > wire.MaxBatchRaw {
			t.Fatalf("decompressed to %d bytes", len(out))
		}
	})
}

func FuzzFrameReader(f *testing.F) {
	s := append(wire.Preamble[:], wire.AppendFrame(nil, wire.FrameDone, wire.EncodeDone(wire.Done{}))...)
	f.Add(s)
	f.Add(append(s, byte(wire.FrameBatch), 0xff, 0xff, 0xff, 0xff, 0x7f))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr := wire.NewFrameReader(bytes.NewReader(b))
		if fr.ReadPreamble() != nil {
			return
		}
		for {
			_, p, err := fr.Next()
			if err != nil {
				return
			}
			if len(p) > wire.MaxFrame {
				t.Fatal("frame over the limit")
			}
		}
	})
}
