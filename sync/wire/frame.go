package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Version is the protocol version this build speaks.
const Version = 1

// Preamble opens each direction of a sync stream: "CNS" and the version.
var Preamble = [4]byte{'C', 'N', 'S', Version}

// MaxFrame bounds a frame's payload as sent. A batch is cut well below it
// (a few hundred KiB); a single change larger than the limits allow cannot
// be synced and fails the session with a clear error.
const MaxFrame = 8 << 20

// FrameType says what a frame carries.
type FrameType byte

// The frame types. Their numbers are sent; never renumber.
const (
	FrameHello  FrameType = 1 // Hello
	FrameVector FrameType = 2 // VectorDelta, when the peer could not resolve a hello's base
	FrameBatch  FrameType = 3 // compressed Payload
	FrameDone   FrameType = 4 // Done: no more batches from this side
	FrameAck    FrameType = 5 // Ack: the vector after applying the peer's batches
	FrameError  FrameType = 6 // ErrorMsg: the sender stopped
)

func (t FrameType) String() string {
	switch t {
	case FrameHello:
		return "hello"
	case FrameVector:
		return "vector"
	case FrameBatch:
		return "batch"
	case FrameDone:
		return "done"
	case FrameAck:
		return "ack"
	case FrameError:
		return "error"
	}
	return fmt.Sprintf("frame(%d)", byte(t))
}

// AppendFrame appends a frame: its type, the payload length as a uvarint,
// and the payload.
func AppendFrame(b []byte, t FrameType, payload []byte) []byte {
	b = append(b, byte(t))
	b = binary.AppendUvarint(b, uint64(len(payload)))
	return append(b, payload...)
}

// FrameReader reads frames from a peer's stream and counts the bytes read.
type FrameReader struct {
	r *bufio.Reader
	n int64
}

// NewFrameReader returns a reader of r.
func NewFrameReader(r io.Reader) *FrameReader {
	return &FrameReader{r: bufio.NewReaderSize(r, 32<<10)}
}

// BytesRead returns the bytes of whole frames and preamble read so far.
func (f *FrameReader) BytesRead() int64 { return f.n }

// ReadPreamble reads and checks the stream's first four bytes.
func (f *FrameReader) ReadPreamble() error {
	var p [4]byte
	if _, err := io.ReadFull(f.r, p[:]); err != nil {
		return fmt.Errorf("read sync preamble: %w", truncated(err))
	}
	f.n += 4
	if p[0] != 'C' || p[1] != 'N' || p[2] != 'S' {
		return fmt.Errorf("%w: starts with %q", ErrNotSync, p[:])
	}
	if p[3] != Version {
		return fmt.Errorf("%w: peer speaks %d, this node %d", ErrVersion, p[3], Version)
	}
	return nil
}

// Next reads one frame. The payload is a new slice the caller may keep.
// io.EOF means the stream ended cleanly between frames.
func (f *FrameReader) Next() (FrameType, []byte, error) {
	tb, err := f.r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, err := binary.ReadUvarint(f.r)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, fmt.Errorf("read %s frame length: %w", FrameType(tb), ErrTruncated)
		}
		return 0, nil, fmt.Errorf("%w: %s frame length: %w", ErrMalformed, FrameType(tb), err)
	}
	if n > MaxFrame {
		return 0, nil, fmt.Errorf("%w: %s frame of %d bytes, limit %d", ErrFrameTooLarge, FrameType(tb), n, MaxFrame)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(f.r, p); err != nil {
		return 0, nil, fmt.Errorf("read %s frame of %d bytes: %w", FrameType(tb), n, truncated(err))
	}
	f.n += int64(1+uvarintLen(n)) + int64(n)
	return FrameType(tb), p, nil
}

func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %w", ErrTruncated, err)
	}
	return err
}

func uvarintLen(n uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], n)
}
