package session_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"carenode/crdt"
	"carenode/sync/session"
	"carenode/sync/wire"
)

// scripted plays an initiator from raw bytes: its hello (node NODEX, the
// given scope, an empty vector) followed by the frames in tail, then the
// end of its stream. It returns the responder's error.
func scripted(t testing.TB, resp *peer, scope wire.Scope, tail []byte) error {
	t.Helper()
	hello := wire.EncodeHello(wire.Hello{Node: "NODEX", Scope: scope, Dicts: []uint32{}, Vector: wire.FullDelta(nil)})
	in := append(append(wire.Preamble[:], wire.AppendFrame(nil, wire.FrameHello, hello)...), tail...)
	return rawRespond(resp, in)
}

// rawRespond runs a responder that reads in and whose output is discarded.
func rawRespond(resp *peer, in []byte) error {
	_, err := resp.eng.Respond(context.Background(), bytes.NewReader(in), io.Discard, "")
	return err
}

func batchFrame(t testing.TB, codec *wire.Codec, dict uint32, changes ...crdt.Change) []byte {
	t.Helper()
	return wire.AppendFrame(nil, wire.FrameBatch, codec.Compress(wire.EncodePayload(wire.Payload{Changes: changes}), dict))
}

func change(origin crdt.NodeID, seq uint64) crdt.Change {
	return crdt.Change{Origin: origin, Seq: seq, Stamp: crdt.Stamp{Wall: 1_790_000_000_000 + int64(seq), Node: origin},
		Collection: "patients", Record: "r1", Muts: []crdt.Mutation{{Kind: crdt.MutSet, Field: "status", Value: []byte(`"ok"`)}}}
}

// run returns changes 1..n of NODEX.
func run(n int) []crdt.Change {
	out := make([]crdt.Change, n)
	for i := range out {
		out[i] = change("NODEX", uint64(i+1))
	}
	return out
}

func TestBadInput(t *testing.T) {
	codec := newCodec(t)
	dict := codec.Choose(codec.DictIDs())
	if dict == 0 {
		t.Fatal("no shipped dictionary")
	}
	// A codec whose only dictionary has another ID.
	shipped, err := wire.ShippedDicts()
	if err != nil {
		t.Fatal(err)
	}
	other := bytes.Clone(shipped[0].Content)
	binary.LittleEndian.PutUint32(other[4:], 99999)
	otherCodec, err := wire.NewCodec(wire.CodecOptions{Dicts: []wire.Dict{{ID: 99999, Content: other}}})
	if err != nil {
		t.Fatal(err)
	}
	defer otherCodec.Close()

	bad := change("NODEX", 2)
	bad.Collection = "no spaces allowed"
	oversized := []byte{byte(wire.FrameBatch)}
	oversized = binary.AppendUvarint(oversized, wire.MaxFrame+1)
	good := batchFrame(t, codec, dict, change("NODEX", 1), change("NODEX", 2))

	for _, tc := range []struct {
		name  string
		scope wire.Scope
		in    []byte // after a valid hello; nil means in is the whole stream
		whole []byte
		want  error
	}{
		{name: "garbage", whole: []byte("GET / HTTP/1.1\r\n\r\n"), want: wire.ErrNotSync},
		{name: "other version", whole: []byte{'C', 'N', 'S', 9}, want: wire.ErrVersion},
		{name: "empty", whole: []byte{}, want: wire.ErrTruncated},
		{name: "truncated hello", whole: append(wire.Preamble[:], byte(wire.FrameHello), 40, 0x85), want: wire.ErrTruncated},
		{name: "garbage hello", whole: append(wire.Preamble[:], wire.AppendFrame(nil, wire.FrameHello, []byte{0xff, 0, 1})...), want: wire.ErrMalformed},
		{name: "batch first", whole: append(wire.Preamble[:], good...), want: session.ErrProtocol},
		{name: "truncated batch", in: good[:len(good)-3], want: wire.ErrTruncated},
		{name: "oversized frame", in: oversized, want: wire.ErrFrameTooLarge},
		{name: "garbage batch", in: wire.AppendFrame(nil, wire.FrameBatch, []byte{1, 2, 3, 4, 5, 6}), want: session.ErrBadBatch},
		{name: "unknown codec", in: wire.AppendFrame(nil, wire.FrameBatch, []byte{7, 0}), want: wire.ErrMalformed},
		{name: "wrong dictionary", in: batchFrame(t, otherCodec, 99999, run(20)...), want: wire.ErrUnknownDict},
		{name: "invalid change", in: batchFrame(t, codec, dict, change("NODEX", 1), bad, change("NODEX", 3)), want: crdt.ErrInvalidChange},
		{name: "zero sequence", in: batchFrame(t, codec, dict, change("NODEX", 0)), want: crdt.ErrInvalidChange},
		{name: "relay from kiosk", scope: wire.Kiosk(), in: batchFrame(t, codec, dict, change("NODEX", 1), change("HUB", 1)), want: session.ErrRelay},
		{name: "wrong done count", in: wire.AppendFrame(nil, wire.FrameDone, wire.EncodeDone(wire.Done{Batches: 1, Changes: 2})), want: session.ErrProtocol},
		{name: "unknown frame", in: wire.AppendFrame(nil, 42, nil), want: session.ErrProtocol},
		{name: "ack with foreign base", in: append(wire.AppendFrame(nil, wire.FrameDone, wire.EncodeDone(wire.Done{})),
			wire.AppendFrame(nil, wire.FrameAck, wire.EncodeAck(wire.Ack{Vector: wire.Delta(crdt.Vector{"A": 1}, crdt.Vector{"B": 1}, wire.DigestOf(crdt.Vector{"B": 1}))}))...), want: session.ErrProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := newPeer(t, "NODER", codec, func(c *session.Config) { c.Policy = kioskPolicy })
			scope := tc.scope
			if scope.Kind == 0 {
				scope = wire.Full()
			}
			var err error
			if tc.whole != nil {
				err = rawRespond(resp, tc.whole)
			} else {
				err = scripted(t, resp, scope, tc.in)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if n := resp.st.LogLen(); n != 0 {
				t.Fatalf("%d changes applied from a bad stream", n)
			}
			t.Logf("%v", err)
		})
	}

	// The same good batch is applied, so the cases above failed for the
	// reason given and not for some other.
	resp := newPeer(t, "NODER", codec, nil)
	err = scripted(t, resp, wire.Full(), good)
	if !errors.Is(err, wire.ErrTruncated) || resp.st.LogLen() != 2 {
		t.Fatalf("good batch: %v, %d applied", err, resp.st.LogLen())
	}
}

// FuzzRespond feeds arbitrary bytes after a valid hello to a responder with
// a real store: it must return an error or finish, never panic or hang,
// and everything it applied must be valid.
func FuzzRespond(f *testing.F) {
	codec := newCodec(f)
	dict := codec.Choose(codec.DictIDs())
	f.Add(batchFrame(f, codec, dict, change("NODEX", 1), change("NODEX", 2)))
	f.Add(wire.AppendFrame(nil, wire.FrameDone, wire.EncodeDone(wire.Done{})))
	f.Add(append(batchFrame(f, codec, 0, change("NODEX", 1)), wire.AppendFrame(nil, wire.FrameDone, wire.EncodeDone(wire.Done{Batches: 1, Changes: 1}))...))
	resp := newPeer(f, "NODER", codec, func(c *session.Config) { c.Policy = kioskPolicy })
	f.Fuzz(func(t *testing.T, tail []byte) {
		hello := wire.EncodeHello(wire.Hello{Node: "NODEX", Scope: wire.Full(), Vector: wire.FullDelta(nil)})
		in := append(append(wire.Preamble[:], wire.AppendFrame(nil, wire.FrameHello, hello)...), tail...)
		_, _ = resp.eng.Respond(context.Background(), bytes.NewReader(in), io.Discard, "")
	})
}
