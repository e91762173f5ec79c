package hl7

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// MLLP block characters: a frame is StartBlock, the message, EndBlock, CR.
const (
	StartBlock     byte = 0x0b
	EndBlock       byte = 0x1c
	CarriageReturn byte = 0x0d
)

// DefaultMaxFrame bounds an MLLP frame: far more than a vital-signs message
// with a pleth wave needs, small enough that garbage cannot exhaust memory.
const DefaultMaxFrame = 1 << 20

// Reader reads MLLP frames from a byte stream. Bytes outside a frame (line
// noise, a device's boot banner) are skipped and counted. A frame ends at
// EndBlock; the CR after it is consumed when present, and a frame whose
// end block is not followed by CR is still taken, since some devices omit it.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	r         *bufio.Reader
	max       int
	discarded int64
	// wantCR is set when a frame ended with nothing yet buffered after its
	// end block: the CR that normally follows is not counted as garbage.
	wantCR bool
}

// NewReader returns a Reader of frames of at most maxFrame bytes (without
// the block characters); maxFrame <= 0 means DefaultMaxFrame.
func NewReader(r io.Reader, maxFrame int) *Reader {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	return &Reader{r: bufio.NewReader(r), max: maxFrame}
}

// Discarded returns how many bytes outside frames have been skipped.
func (r *Reader) Discarded() int64 { return r.discarded }

// ReadFrame returns the next frame's message. It returns io.EOF at the end
// of the stream between frames and an error wrapping io.ErrUnexpectedEOF
// inside one. After ErrFrameTooLarge or ErrFrameTruncated the Reader can be
// read again: it carries on at the next start block. Other errors are the
// underlying reader's.
func (r *Reader) ReadFrame() ([]byte, error) {
	for {
		c, err := r.r.ReadByte()
		if err != nil {
			return nil, err
		}
		if c == StartBlock {
			r.wantCR = false
			break
		}
		if c == CarriageReturn && r.wantCR {
			r.wantCR = false
			continue
		}
		r.wantCR = false
		r.discarded++
	}
	var msg []byte
	for {
		c, err := r.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("MLLP frame after %d bytes: %w", len(msg), err)
		}
		switch c {
		case EndBlock:
			// Never wait for the CR: a device that omits it would otherwise
			// not get its ACK until it sends something else.
			if r.r.Buffered() == 0 {
				r.wantCR = true
			} else if next, _ := r.r.ReadByte(); next != CarriageReturn {
				_ = r.r.UnreadByte()
			}
			return msg, nil
		case StartBlock:
			_ = r.r.UnreadByte()
			r.discarded += int64(len(msg)) + 1 // with its start block
			return nil, fmt.Errorf("MLLP frame after %d bytes: %w", len(msg), ErrFrameTruncated)
		}
		if len(msg) >= r.max {
			r.discarded += int64(len(msg)) + 2 // with its start block and this byte
			return nil, fmt.Errorf("MLLP frame over %d bytes: %w", r.max, ErrFrameTooLarge)
		}
		msg = append(msg, c)
	}
}

// Writer writes MLLP frames.
type Writer struct {
	w io.Writer
}

// NewWriter returns a Writer of frames to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// WriteFrame writes msg as one frame, in a single Write so that a frame is
// never interleaved on a shared connection. A message containing a block
// character wraps ErrFrameByte and nothing is written.
func (w *Writer) WriteFrame(msg []byte) error {
	b, err := AppendFrame(nil, msg)
	if err != nil {
		return err
	}
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("write MLLP frame: %w", err)
	}
	return nil
}

// AppendFrame appends msg, framed, to dst.
func AppendFrame(dst, msg []byte) ([]byte, error) {
	for i, c := range msg {
		if c == StartBlock || c == EndBlock {
			return dst, fmt.Errorf("byte %d is 0x%02x: %w", i, c, ErrFrameByte)
		}
	}
	dst = append(dst, StartBlock)
	dst = append(dst, msg...)
	return append(dst, EndBlock, CarriageReturn), nil
}
