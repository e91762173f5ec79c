package store

import (
	"encoding/binary"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// formatV1 prefixes every CBOR value this build writes.
const formatV1 = 1

// codec encodes values deterministically and decodes them with limits, so a
// damaged or hostile value cannot make the decoder allocate without bound.
type codec struct {
	enc cbor.EncMode
	dec cbor.DecMode
}

func newCodec() (codec, error) {
	enc, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		return codec{}, fmt.Errorf("cbor encoder: %w", err)
	}
	dec, err := cbor.DecOptions{
		MaxNestedLevels:  32,
		MaxArrayElements: 1 << 20,
		MaxMapPairs:      1 << 20,
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
	}.DecMode()
	if err != nil {
		return codec{}, fmt.Errorf("cbor decoder: %w", err)
	}
	return codec{enc: enc, dec: dec}, nil
}

func (c codec) marshal(v any) ([]byte, error) {
	return c.marshalTo(nil, v)
}

// marshalTo is marshal with the result carved from a (a fresh slice when a
// is nil).
func (c codec) marshalTo(a *arena, v any) ([]byte, error) {
	if b, ok := encodeFastTo(a, v); ok {
		return b, nil
	}
	b, err := c.enc.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out []byte
	if a == nil {
		out = make([]byte, 1+len(b))
	} else {
		out = a.alloc(1 + len(b))
	}
	out[0] = formatV1
	copy(out[1:], b)
	return out, nil
}

// arenaChunk is the size of an arena's chunks: about a hundred records.
const arenaChunk = 64 << 10

// arena hands out byte slices carved from large chunks. A transaction's
// values must live until it commits (bbolt keeps them, unlike keys), and
// one allocation per chunk instead of one per value spares the garbage
// collector. Not safe for concurrent use: give each goroutine its own.
type arena struct{ buf []byte }

// alloc returns n bytes of its own.
func (a *arena) alloc(n int) []byte {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, max(arenaChunk, n))
	}
	i := len(a.buf)
	a.buf = a.buf[:i+n]
	return a.buf[i : i+n : i+n]
}

// copy returns a copy of b.
func (a *arena) copy(b []byte) []byte {
	out := a.alloc(len(b))
	copy(out, b)
	return out
}

func (c codec) unmarshal(b []byte, v any) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty value", ErrCorrupt)
	}
	if b[0] != formatV1 {
		return fmt.Errorf("%w: unknown value format %d", ErrCorrupt, b[0])
	}
	if decodeFast(b[1:], v) {
		return nil
	}
	if err := c.dec.Unmarshal(b[1:], v); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return nil
}

func u64(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

func getU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// logKey is len(origin) | origin | seq: sorted by origin, then sequence.
func logKey(origin string, seq uint64) []byte {
	k := make([]byte, 0, 1+len(origin)+8)
	k = append(k, byte(len(origin)))
	k = append(k, origin...)
	return binary.BigEndian.AppendUint64(k, seq)
}

func logPrefix(origin string) []byte {
	k := make([]byte, 0, 1+len(origin))
	k = append(k, byte(len(origin)))
	return append(k, origin...)
}
