package wire_test

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"carenode/crdt"
	"carenode/sync/wire"
)

func newCodec(t testing.TB) *wire.Codec {
	t.Helper()
	c, err := wire.NewCodec(wire.DefaultCodecOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestPayloadRoundTrip(t *testing.T) {
	changes := corpusSample(t)
	for _, c := range changes {
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	p := wire.Payload{Changes: changes, Through: []wire.Entry{{Origin: changes[0].Origin, Seq: 1 << 40}}}
	b := wire.EncodePayload(p)
	got, err := wire.DecodePayload(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Fatal("payload changed in a round trip")
	}
	if again := wire.EncodePayload(got); !bytes.Equal(again, b) {
		t.Fatal("re-encoding gave other bytes")
	}
	// The bytes are CBOR in core deterministic encoding: the library reads
	// them and writes them back unchanged.
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := cbor.Unmarshal(b, &v); err != nil {
		t.Fatalf("not CBOR: %v", err)
	}
	if lib, err := em.Marshal(v); err != nil || !bytes.Equal(lib, b) {
		t.Fatalf("not core deterministic CBOR (%v)", err)
	}
	t.Logf("%d changes: %d bytes of payload, %.0f a change", len(changes), len(b), float64(len(b))/float64(len(changes)))
}

func TestCompressRoundTrip(t *testing.T) {
	c := newCodec(t)
	changes := corpusSample(t)
	for _, n := range []int{1, 10, len(changes)} {
		p := wire.EncodePayload(wire.Payload{Changes: changes[:n]})
		for _, dict := range []uint32{0, c.Choose(c.DictIDs())} {
			z := c.Compress(p, dict)
			got, err := c.Decompress(z)
			if err != nil || !bytes.Equal(got, p) {
				t.Fatalf("%d changes, dictionary %d: %v", n, dict, err)
			}
		}
	}
}

func TestShippedDict(t *testing.T) {
	ds, err := wire.ShippedDicts()
	if err != nil || len(ds) == 0 {
		t.Fatalf("shipped dictionaries: %v, %v", ds, err)
	}
	for _, d := range ds {
		if d.ID < 32768 || d.ID >= 1<<31 {
			t.Errorf("%s: id %d outside the private range", d.Name, d.ID)
		}
	}
}

func TestVectorDelta(t *testing.T) {
	base := crdt.Vector{"A": 5, "B": 7, "C": 1}
	v := crdt.Vector{"A": 9, "B": 7, "D": 2}
	d := wire.Delta(v, base, wire.DigestOf(base))
	if len(d.Entries) != 3 { // A changed, C gone, D new
		t.Fatalf("entries %v", d.Entries)
	}
	got, err := d.Apply(base)
	if err != nil || !reflect.DeepEqual(got, v) {
		t.Fatalf("apply: %v %v", got, err)
	}
	if _, err := d.Apply(crdt.Vector{"A": 5}); !errors.Is(err, wire.ErrDigest) {
		t.Fatalf("wrong base: %v", err)
	}
	if eq := wire.Delta(v, v, wire.DigestOf(v)); len(eq.Entries) != 0 {
		t.Fatal("equal vectors give a non-empty delta")
	}
	if wire.DigestOf(crdt.Vector{"A": 1, "B": 0}) != wire.DigestOf(crdt.Vector{"A": 1}) {
		t.Fatal("zero entries change the digest")
	}
}

func TestScope(t *testing.T) {
	for _, s := range []string{"full", "kiosk", "nurse:zhao-li", "nurse:赵丽"} {
		p, err := wire.ParseScope(s)
		if err != nil || p.String() != s {
			t.Errorf("%q: %v %v", s, p, err)
		}
	}
	for _, s := range []string{"", "Full", "nurse:", "nurse:a\nb", "admin", "nurse:" + strings.Repeat("x", 65)} {
		if _, err := wire.ParseScope(s); !errors.Is(err, wire.ErrScope) {
			t.Errorf("%q accepted", s)
		}
	}
	if !wire.OwnOrigin("K1", "K1") || !wire.OwnOrigin("K1", "K1.x7") || wire.OwnOrigin("K1", "K12") || wire.OwnOrigin("K1", "HUB") {
		t.Error("OwnOrigin")
	}
}

func TestMessagesRoundTrip(t *testing.T) {
	v := wire.Delta(crdt.Vector{"A": 3}, crdt.Vector{"B": 1}, wire.DigestOf(crdt.Vector{"B": 1}))
	h := wire.Hello{Node: "NODEA", Scope: wire.Nurse("zhao"), Flags: wire.NeedVector, Dicts: []uint32{40000, 50000}, Vector: v}
	if got, err := wire.DecodeHello(wire.EncodeHello(h)); err != nil || !reflect.DeepEqual(got, h) {
		t.Fatalf("hello: %+v %v", got, err)
	}
	a := wire.Ack{Applied: 3, Duplicates: 1, Vector: v}
	if got, err := wire.DecodeAck(wire.EncodeAck(a)); err != nil || !reflect.DeepEqual(got, a) {
		t.Fatalf("ack: %+v %v", got, err)
	}
	d := wire.Done{Batches: 2, Changes: 900}
	if got, err := wire.DecodeDone(wire.EncodeDone(d)); err != nil || got != d {
		t.Fatalf("done: %+v %v", got, err)
	}
	e := wire.ErrorMsg{Code: wire.CodeRefused, Message: strings.Repeat("拒", 500)}
	got, err := wire.DecodeError(wire.EncodeError(e))
	if err != nil || got.Code != e.Code || len(got.Message) > wire.MaxErrorLen || !strings.HasPrefix(e.Message, got.Message) {
		t.Fatalf("error: %v", err)
	}
}

func TestFrameReader(t *testing.T) {
	var b []byte
	b = append(b, wire.Preamble[:]...)
	b = wire.AppendFrame(b, wire.FrameDone, wire.EncodeDone(wire.Done{}))
	b = wire.AppendFrame(b, wire.FrameBatch, bytes.Repeat([]byte{1}, 300))
	fr := wire.NewFrameReader(bytes.NewReader(b))
	if err := fr.ReadPreamble(); err != nil {
		t.Fatal(err)
	}
	if ty, _, err := fr.Next(); err != nil || ty != wire.FrameDone {
		t.Fatal(ty, err)
	}
	if ty, p, err := fr.Next(); err != nil || ty != wire.FrameBatch || len(p) != 300 {
		t.Fatal(ty, err)
	}
	if _, _, err := fr.Next(); err != io.EOF {
		t.Fatal(err)
	}
	if fr.BytesRead() != int64(len(b)) {
		t.Fatalf("read %d of %d", fr.BytesRead(), len(b))
	}
}
