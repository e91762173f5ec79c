package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"
)

// The wire format uses a small subset of CBOR (RFC 8949): unsigned and
// negative integers, byte strings, text strings and definite-length arrays,
// always in the shortest form. That is RFC 8949's core deterministic encoding,
// so one value has exactly one encoding; the decoder accepts only that form,
// which is what makes decode -> encode give back the same bytes.

const (
	majUint  = 0 << 5
	majNint  = 1 << 5
	majBytes = 2 << 5
	majText  = 3 << 5
	majArray = 4 << 5
)

// enc appends CBOR items to b.
type enc struct{ b []byte }

func (e *enc) head(major byte, n uint64) {
	switch {
	case n < 24:
		e.b = append(e.b, major|byte(n))
	case n <= math.MaxUint8:
		e.b = append(e.b, major|24, byte(n))
	case n <= math.MaxUint16:
		e.b = binary.BigEndian.AppendUint16(append(e.b, major|25), uint16(n))
	case n <= math.MaxUint32:
		e.b = binary.BigEndian.AppendUint32(append(e.b, major|26), uint32(n))
	default:
		e.b = binary.BigEndian.AppendUint64(append(e.b, major|27), n)
	}
}

func (e *enc) uint(n uint64) { e.head(majUint, n) }

func (e *enc) int(n int64) {
	if n >= 0 {
		e.head(majUint, uint64(n))
	} else {
		e.head(majNint, uint64(-(n + 1)))
	}
}

func (e *enc) bytes(p []byte) { e.head(majBytes, uint64(len(p))); e.b = append(e.b, p...) }
func (e *enc) text(s string)  { e.head(majText, uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) array(n int)    { e.head(majArray, uint64(n)) }

// dec reads CBOR items from b. The first error sticks: later reads return
// zero values, and the caller checks err once at the end.
type dec struct {
	b   []byte
	off int
	err error
}

func (d *dec) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: at byte %d: %s", ErrMalformed, d.off, fmt.Sprintf(format, args...))
	}
}

// head reads an item's initial byte and argument, refusing anything but
// the shortest form of the majors this format uses.
func (d *dec) head(want byte) uint64 {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail("unexpected end of message")
		return 0
	}
	ib := d.b[d.off]
	major, info := ib&0xe0, ib&0x1f
	if major != want {
		d.fail("CBOR major type %d where %d was expected", major>>5, want>>5)
		return 0
	}
	d.off++
	var n uint64
	var size int
	switch {
	case info < 24:
		return uint64(info)
	case info == 24:
		size = 1
	case info == 25:
		size = 2
	case info == 26:
		size = 4
	case info == 27:
		size = 8
	default:
		d.fail("CBOR additional information %d not allowed", info)
		return 0
	}
	if len(d.b)-d.off < size {
		d.fail("unexpected end of message")
		return 0
	}
	p := d.b[d.off : d.off+size]
	switch size {
	case 1:
		n = uint64(p[0])
	case 2:
		n = uint64(binary.BigEndian.Uint16(p))
	case 4:
		n = uint64(binary.BigEndian.Uint32(p))
	case 8:
		n = binary.BigEndian.Uint64(p)
	}
	d.off += size
	var min uint64
	switch size {
	case 1:
		min = 24
	case 2:
		min = math.MaxUint8 + 1
	case 4:
		min = math.MaxUint16 + 1
	case 8:
		min = math.MaxUint32 + 1
	}
	if n < min {
		d.fail("integer %d not in its shortest form", n)
		return 0
	}
	return n
}

func (d *dec) uint() uint64 { return d.head(majUint) }

// uintMax reads an unsigned integer no larger than max.
func (d *dec) uintMax(max uint64, what string) uint64 {
	n := d.uint()
	if n > max {
		d.fail("%s %d is larger than %d", what, n, max)
		return 0
	}
	return n
}

func (d *dec) int() int64 {
	if d.err != nil {
		return 0
	}
	if d.off < len(d.b) && d.b[d.off]&0xe0 == majNint {
		n := d.head(majNint)
		if n > math.MaxInt64 {
			d.fail("integer out of range")
			return 0
		}
		return -1 - int64(n)
	}
	n := d.head(majUint)
	if n > math.MaxInt64 {
		d.fail("integer out of range")
		return 0
	}
	return int64(n)
}

// bytes returns a byte string as a slice of the message (no copy).
func (d *dec) bytes(max int) []byte {
	n := d.head(majBytes)
	if d.err != nil {
		return nil
	}
	if n > uint64(max) || n > uint64(len(d.b)-d.off) {
		d.fail("byte string of %d bytes too long", n)
		return nil
	}
	p := d.b[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return p
}

func (d *dec) text(max int) string {
	n := d.head(majText)
	if d.err != nil {
		return ""
	}
	if n > uint64(max) || n > uint64(len(d.b)-d.off) {
		d.fail("text string of %d bytes too long", n)
		return ""
	}
	s := string(d.b[d.off : d.off+int(n)])
	if !utf8.ValidString(s) {
		d.fail("text string is not valid UTF-8")
		return ""
	}
	d.off += int(n)
	return s
}

// array reads an array head of at most max elements. Every element takes
// at least one byte, so a length beyond what is left is refused at once
// rather than allocated.
func (d *dec) array(max int) int {
	n := d.head(majArray)
	if d.err != nil {
		return 0
	}
	if n > uint64(max) || n > uint64(len(d.b)-d.off) {
		d.fail("array of %d elements too long", n)
		return 0
	}
	return int(n)
}

// arrayRange reads an array head of min..max elements.
func (d *dec) arrayRange(min, max int, what string) int {
	n := d.array(max)
	if d.err == nil && n < min {
		d.fail("%s has %d elements, fewer than %d", what, n, min)
	}
	return n
}

// end fails unless every byte was read.
func (d *dec) end() {
	if d.err == nil && d.off != len(d.b) {
		d.fail("%d bytes left over", len(d.b)-d.off)
	}
}
