package lineformat

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxLine bounds a line: every format here fits in under 80 bytes.
const DefaultMaxLine = 256

// Reader reads lines from a device and parses each with its format. A line
// ends at CR or LF; blank lines are skipped. A bad line is an error for
// that line only: the Reader can be read again.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	r      *bufio.Reader
	format Format
	max    int
}

// NewReader returns a Reader of f-formatted lines of at most maxLine bytes;
// maxLine <= 0 means DefaultMaxLine.
func NewReader(r io.Reader, f Format, maxLine int) *Reader {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	return &Reader{r: bufio.NewReader(r), format: f, max: maxLine}
}

// Next returns the next line, parsed. At the end of the stream it returns
// io.EOF, or an error wrapping io.ErrUnexpectedEOF when a line was cut off
// with no line end: a cut-off "HR=07" must not be read as 7. A line past the
// limit wraps ErrLineTooLong and is skipped up to its end; a parse error
// returns the Line (with Raw) and the format's error.
func (r *Reader) Next() (Line, error) {
	var buf []byte
	tooLong := false
	for {
		c, err := r.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) && (len(buf) > 0 || tooLong) {
				return Line{Format: r.format.Name, Raw: buf}, fmt.Errorf("%s line %s with no line end: %w", r.format.Name, quote(buf), io.ErrUnexpectedEOF)
			}
			return Line{}, err
		}
		if c == '\r' || c == '\n' {
			if tooLong {
				return Line{Format: r.format.Name, Raw: buf}, fmt.Errorf("%s line over %d bytes: %w", r.format.Name, r.max, ErrLineTooLong)
			}
			if len(buf) == 0 {
				continue
			}
			return r.format.Parse(buf)
		}
		if len(buf) >= r.max {
			tooLong = true
			continue
		}
		buf = append(buf, c)
	}
}
