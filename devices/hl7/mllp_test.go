package hl7

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadFrame(t *testing.T) {
	type step struct {
		frame string
		err   error
	}
	tests := []struct {
		name      string
		stream    string
		max       int
		steps     []step
		discarded int64
	}{
		{"one frame", "\x0bMSH|1\x1c\r", 0, []step{{"MSH|1", nil}, {"", io.EOF}}, 0},
		{"garbage around frames", "boot banner\r\n\x0bA\x1c\r\x00\xff\x0bB\x1c\rtail", 0,
			[]step{{"A", nil}, {"B", nil}, {"", io.EOF}}, int64(len("boot banner\r\n") + 2 + 4)},
		{"no CR after end block", "\x0bA\x1c\x0bB\x1c", 0, []step{{"A", nil}, {"B", nil}, {"", io.EOF}}, 0},
		{"empty frame", "\x0b\x1c\r", 0, []step{{"", nil}, {"", io.EOF}}, 0},
		{"cut short by a new start", "\x0bAB\x0bC\x1c\r", 0, []step{{"", ErrFrameTruncated}, {"C", nil}, {"", io.EOF}}, 3},
		{"too large, then a good one", "\x0b123456789\x1c\r\x0b1234\x1c\r", 4,
			[]step{{"", ErrFrameTooLarge}, {"1234", nil}, {"", io.EOF}}, 5 + 5 + 2},
		{"exactly the limit", "\x0b1234\x1c\r", 4, []step{{"1234", nil}}, 0},
		{"end of stream inside a frame", "\x0bMSH|", 0, []step{{"", io.ErrUnexpectedEOF}}, 0},
		{"nothing", "", 0, []step{{"", io.EOF}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.stream), tc.max)
			for i, s := range tc.steps {
				got, err := r.ReadFrame()
				if !errors.Is(err, s.err) {
					t.Fatalf("step %d: error = %v, want %v", i, err, s.err)
				}
				if string(got) != s.frame {
					t.Fatalf("step %d: frame = %q, want %q", i, got, s.frame)
				}
				if err != nil && s.err != io.EOF && MessageZh(err) == "" && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("no Chinese message for %v", err)
				}
			}
			if r.Discarded() != tc.discarded {
				t.Errorf("Discarded = %d, want %d", r.Discarded(), tc.discarded)
			}
		})
	}
}

// TestReadFrameDoesNotWaitForCR: a device that ends a frame with 0x1C and
// no CR, then waits for its ACK, must get the frame at once.
func TestReadFrameDoesNotWaitForCR(t *testing.T) {
	pr, pw := io.Pipe()
	r := NewReader(pr, 0)
	go func() {
		pw.Write([]byte("\x0bFIRST\x1c"))
		pw.Write([]byte("\r\x0bSECOND\x1c\r"))
		pw.Close()
	}()
	for _, want := range []string{"FIRST", "SECOND"} {
		got, err := r.ReadFrame()
		if err != nil || string(got) != want {
			t.Fatalf("ReadFrame = %q, %v, want %q", got, err, want)
		}
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Fatalf("error = %v, want io.EOF", err)
	}
	if r.Discarded() != 0 {
		t.Errorf("the late CR was counted as garbage: Discarded = %d", r.Discarded())
	}
}

type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

func TestWriteFrame(t *testing.T) {
	var w countingWriter
	fw := NewWriter(&w)
	if err := fw.WriteFrame([]byte("MSH|^~\\&\rMSA|AA|1\r")); err != nil {
		t.Fatal(err)
	}
	if w.String() != "\x0bMSH|^~\\&\rMSA|AA|1\r\x1c\r" || w.writes != 1 {
		t.Errorf("wrote %q in %d writes", w.String(), w.writes)
	}
	for _, bad := range []string{"a\x0bb", "a\x1cb"} {
		if err := fw.WriteFrame([]byte(bad)); !errors.Is(err, ErrFrameByte) {
			t.Errorf("WriteFrame(%q) error = %v, want ErrFrameByte", bad, err)
		}
	}
	if w.writes != 1 {
		t.Error("a refused frame was written")
	}
}
