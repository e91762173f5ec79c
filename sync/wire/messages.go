package wire

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"carenode/crdt"
)

// Hello opens each side's stream: who it is, what it holds, and its version
// vector as a delta from a vector the receiver is believed to know.
type Hello struct {
	Node  crdt.NodeID
	Scope Scope
	Flags HelloFlags
	// Dicts lists the dictionary IDs this node can decompress with, newest
	// first; the peer compresses with the first it also has.
	Dicts []uint32
	// Vector is the sender's version vector (for a partial replica, joined
	// with its mark), as a delta.
	Vector VectorDelta
}

// HelloFlags are bits in a hello.
type HelloFlags uint64

// NeedVector, in the responder's hello, says it could not resolve the
// initiator's base: the initiator must send its vector in a Vector frame
// before anything else. The responder's own vector is then sent whole.
const NeedVector HelloFlags = 1

// MaxDicts bounds the dictionary list of a hello.
const MaxDicts = 16

// MaxErrorLen bounds an error frame's message.
const MaxErrorLen = 1024

// EncodeHello returns h's payload: [node, scope, flags, [dict...], vector].
func EncodeHello(h Hello) []byte {
	var e enc
	e.array(5)
	e.text(string(h.Node))
	e.text(h.Scope.String())
	e.uint(uint64(h.Flags))
	e.array(len(h.Dicts))
	for _, id := range h.Dicts {
		e.uint(uint64(id))
	}
	h.Vector.encode(&e)
	return e.b
}

// DecodeHello parses a hello payload.
func DecodeHello(b []byte) (Hello, error) {
	d := dec{b: b}
	var h Hello
	d.arrayRange(5, 5, "hello")
	h.Node = crdt.NodeID(d.text(crdt.MaxNameLen))
	scope := d.text(MaxStaffLen + 16)
	h.Flags = HelloFlags(d.uint())
	nd := d.array(MaxDicts)
	for i := 0; i < nd && d.err == nil; i++ {
		h.Dicts = append(h.Dicts, uint32(d.uintMax(math.MaxUint32, "dictionary id")))
	}
	h.Vector = d.vectorDelta()
	d.end()
	if d.err != nil {
		return Hello{}, fmt.Errorf("hello: %w", d.err)
	}
	if !crdt.ValidName(string(h.Node)) {
		return Hello{}, fmt.Errorf("hello: %w: bad node ID %q", ErrMalformed, h.Node)
	}
	s, err := ParseScope(scope)
	if err != nil {
		return Hello{}, fmt.Errorf("hello: %w: %w", ErrMalformed, err)
	}
	h.Scope = s
	if h.Flags&^NeedVector != 0 {
		return Hello{}, fmt.Errorf("hello: %w: unknown flags %#x", ErrMalformed, uint64(h.Flags))
	}
	return h, nil
}

// EncodeVector returns a Vector frame's payload.
func EncodeVector(v VectorDelta) []byte {
	var e enc
	v.encode(&e)
	return e.b
}

// DecodeVector parses a Vector frame's payload.
func DecodeVector(b []byte) (VectorDelta, error) {
	d := dec{b: b}
	v := d.vectorDelta()
	d.end()
	if d.err != nil {
		return VectorDelta{}, fmt.Errorf("vector: %w", d.err)
	}
	return v, nil
}

// Done ends a side's batches; the receiver checks the counts against what
// it read, so a lost batch cannot pass unnoticed.
type Done struct {
	Batches uint64
	Changes uint64
}

// EncodeDone returns [batches, changes].
func EncodeDone(m Done) []byte {
	var e enc
	e.array(2)
	e.uint(m.Batches)
	e.uint(m.Changes)
	return e.b
}

// DecodeDone parses a Done frame's payload.
func DecodeDone(b []byte) (Done, error) {
	d := dec{b: b}
	var m Done
	d.arrayRange(2, 2, "done")
	m.Batches = d.uint()
	m.Changes = d.uint()
	d.end()
	if d.err != nil {
		return Done{}, fmt.Errorf("done: %w", d.err)
	}
	return m, nil
}

// Ack reports what the sender of the ack did with the peer's batches, and
// its vector afterwards as a delta from the vector in the peer's hello.
type Ack struct {
	Applied    uint64
	Duplicates uint64
	Vector     VectorDelta
}

// EncodeAck returns [applied, duplicates, vector].
func EncodeAck(m Ack) []byte {
	var e enc
	e.array(3)
	e.uint(m.Applied)
	e.uint(m.Duplicates)
	m.Vector.encode(&e)
	return e.b
}

// DecodeAck parses an Ack frame's payload.
func DecodeAck(b []byte) (Ack, error) {
	d := dec{b: b}
	var m Ack
	d.arrayRange(3, 3, "ack")
	m.Applied = d.uint()
	m.Duplicates = d.uint()
	m.Vector = d.vectorDelta()
	d.end()
	if d.err != nil {
		return Ack{}, fmt.Errorf("ack: %w", d.err)
	}
	return m, nil
}

// ErrorCode classifies an Error frame.
type ErrorCode uint64

// The error codes. Their numbers are sent; never renumber.
const (
	CodeProtocol ErrorCode = 1 // the peer's bytes broke the protocol
	CodeRefused  ErrorCode = 2 // the peer may not have what it asked (scope, identity)
	CodeApply    ErrorCode = 3 // a batch could not be applied (invalid change, store error)
	CodeInternal ErrorCode = 4 // the sender failed for its own reasons
)

func (c ErrorCode) String() string {
	switch c {
	case CodeProtocol:
		return "protocol error"
	case CodeRefused:
		return "refused"
	case CodeApply:
		return "batch not applied"
	case CodeInternal:
		return "internal error"
	}
	return fmt.Sprintf("error %d", uint64(c))
}

// ErrorMsg is an Error frame: the last frame its sender writes.
type ErrorMsg struct {
	Code    ErrorCode
	Message string
}

// EncodeError returns [code, message], the message cut to MaxErrorLen bytes
// at a character boundary.
func EncodeError(m ErrorMsg) []byte {
	msg := strings.ToValidUTF8(m.Message, "?")
	if len(msg) > MaxErrorLen {
		msg = msg[:MaxErrorLen]
		for !utf8.ValidString(msg) {
			msg = msg[:len(msg)-1]
		}
	}
	var e enc
	e.array(2)
	e.uint(uint64(m.Code))
	e.text(msg)
	return e.b
}

// DecodeError parses an Error frame's payload.
func DecodeError(b []byte) (ErrorMsg, error) {
	d := dec{b: b}
	var m ErrorMsg
	d.arrayRange(2, 2, "error")
	m.Code = ErrorCode(d.uint())
	m.Message = d.text(MaxErrorLen)
	d.end()
	if d.err != nil {
		return ErrorMsg{}, fmt.Errorf("error frame: %w", d.err)
	}
	return m, nil
}
