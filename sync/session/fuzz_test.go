package session_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"carenode/crdt"
	"carenode/sync/session"
	"carenode/sync/wire"
)

// FuzzRespondStream feeds a responder an arbitrary stream from its first
// byte (preamble, hello, vector, batches, done, ack): whatever a peer can
// send. It must end with an error or a completed session, never panic or
// hang, and the store must keep only valid changes.
func FuzzRespondStream(f *testing.F) {
	codec := newCodec(f)
	dict := codec.Choose(codec.DictIDs())
	hello := func(s wire.Scope, v crdt.Vector) []byte {
		h := wire.EncodeHello(wire.Hello{Node: "NODEX", Scope: s, Dicts: codec.DictIDs(), Vector: wire.FullDelta(v)})
		return append(wire.Preamble[:], wire.AppendFrame(nil, wire.FrameHello, h)...)
	}
	done := wire.AppendFrame(nil, wire.FrameDone, wire.EncodeDone(wire.Done{Batches: 1, Changes: 2}))
	full := append(append(hello(wire.Full(), crdt.Vector{"NODEX": 2}), batchFrame(f, codec, dict, change("NODEX", 1), change("NODEX", 2))...), done...)
	f.Add(full)
	f.Add(hello(wire.Kiosk(), nil))
	f.Add(hello(wire.Nurse("li"), crdt.Vector{"NODEX": 1, "NODER": 3}))
	f.Add(full[:len(full)/2])
	resp := newPeer(f, "NODER", codec, func(c *session.Config) { c.Policy = kioskPolicy })
	f.Fuzz(func(t *testing.T, in []byte) {
		_, _ = resp.eng.Respond(context.Background(), bytes.NewReader(in), io.Discard, "")
	})
}

// FuzzInitiate plays a responder from arbitrary bytes against an
// initiator with a real store that holds changes to send: the initiator
// reads the responder's hello (with or without NeedVector), batches, done
// and ack from them.
func FuzzInitiate(f *testing.F) {
	codec := newCodec(f)
	dict := codec.Choose(codec.DictIDs())
	init := newPeer(f, "NODEI", codec, nil)
	for i := range 3 {
		w := change("NODEI", uint64(i+1))
		if _, err := init.st.ApplyRemote([]crdt.Change{w}); err != nil {
			f.Fatal(err)
		}
	}
	my := init.st.Vector()
	hello := func(flags wire.HelloFlags, v wire.VectorDelta) []byte {
		h := wire.EncodeHello(wire.Hello{Node: "NODEX", Scope: wire.Full(), Flags: flags, Dicts: codec.DictIDs(), Vector: v})
		return append(wire.Preamble[:], wire.AppendFrame(nil, wire.FrameHello, h)...)
	}
	ack := wire.AppendFrame(nil, wire.FrameAck, wire.EncodeAck(wire.Ack{Applied: 3,
		Vector: wire.Delta(crdt.Vector{"NODEI": 3, "NODEX": 1}, my, wire.DigestOf(my))}))
	resp := append(hello(0, wire.Delta(crdt.Vector{"NODEX": 1}, my, wire.DigestOf(my))),
		batchFrame(f, codec, dict, change("NODEX", 1))...)
	resp = append(resp, wire.AppendFrame(nil, wire.FrameDone, wire.EncodeDone(wire.Done{Batches: 1, Changes: 1}))...)
	full := append(resp, ack...)
	// The first seed is a whole session: the fuzzer starts from the path
	// that applies a batch and reads an ack.
	if r, err := init.eng.Initiate(context.Background(), bytes.NewReader(full), io.Discard, "NODEX"); err != nil || r.Received != 1 || r.Sent != 3 {
		f.Fatalf("the seed session: %+v, %v", r, err)
	}
	f.Add(full)
	f.Add(hello(wire.NeedVector, wire.FullDelta(nil)))
	f.Add(append(wire.Preamble[:], wire.AppendFrame(nil, wire.FrameError, wire.EncodeError(wire.ErrorMsg{Code: wire.CodeRefused, Message: "no"}))...))
	f.Fuzz(func(t *testing.T, in []byte) {
		_, _ = init.eng.Initiate(context.Background(), bytes.NewReader(in), io.Discard, "NODEX")
	})
}
