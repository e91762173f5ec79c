package hl7

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse. It may refuse them but never
// panic; what it accepts must survive CR → LF, keep each row's raw bytes,
// map or refuse every row, and be answerable with an ACK that echoes its
// control id.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.hl7v2"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bytes.ReplaceAll(b, []byte("\n"), []byte("\r")))
	}
	f.Add(msg(msh, pid, obr, `OBX|1|SN|150021^^MDC||<^5|266016^^MDC|||||C|||20240301101200.12-0330`, `OBX|2|NA|x||1^^3`))
	f.Add(msg(`MSH#*!@%#App*ns#Fac#####ORU*R01#C@F@1#P#2.6`, `OBR#1`, `OBX#1#ST#X#1#a@X0D0A@b!c`))
	f.Add(msg(`MSH|^~|A|B|||||ORU^R01|C2`, `OBR|1`, `OBX|1|CWE|a^b^c||d^e^f`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		lf, lfErr := Parse(bytes.ReplaceAll(b, []byte("\r"), []byte("\n")))
		if (err == nil) != (lfErr == nil) {
			t.Fatalf("CR and LF line ends disagree: %v / %v", err, lfErr)
		}
		if err != nil {
			if m != nil {
				ack(t, &m.Header, err)
			}
			return
		}
		if m.ControlID == "" {
			t.Fatal("accepted a message without MSH-10")
		}
		if len(lf.Observations()) != len(m.Observations()) {
			t.Fatalf("CR gives %d observations, LF %d", len(m.Observations()), len(lf.Observations()))
		}
		for _, o := range m.Observations() {
			if !bytes.Contains(m.Raw, o.Raw) || bytes.ContainsAny(o.Raw, "\r\n") {
				t.Fatalf("OBX %q raw bytes %q not a segment of the message", o.SetID, o.Raw)
			}
			if r, err := o.Reading(); err == nil && (r.LOINC == "" || r.Unit == "" || r.RawValue == "") {
				t.Fatalf("reading without code, unit or raw value: %+v", r)
			}
		}
		ack(t, &m.Header, nil)
	})
}

// ack builds an ACK for h and reads it back.
func ack(t *testing.T, h *Header, cause error) {
	a := Ack{Code: AA, ControlID: "ACK"}
	if cause != nil {
		a = Ack{Code: AE, Text: cause.Error(), ErrorCode: ErrorCodeFor(cause), ControlID: "ACK"}
	}
	b, err := BuildACK(h, a)
	if err != nil {
		t.Fatalf("BuildACK: %v", err)
	}
	if _, err := AppendFrame(nil, b); err != nil {
		t.Fatalf("ACK cannot be framed: %v", err)
	}
	res, err := ParseACK(b)
	if err != nil {
		t.Fatalf("ParseACK(%q): %v", b, err)
	}
	if h.Encoding.Escape != 0 && h.Encoding.Field != 0 && h.Encoding.Component != 0 && res.ControlID != h.ControlID {
		t.Fatalf("MSA-2 = %q, want %q (ACK %q)", res.ControlID, h.ControlID, b)
	}
	if res.Code != a.Code {
		t.Fatalf("MSA-1 = %q, want %q", res.Code, a.Code)
	}
}

// FuzzMLLP feeds an arbitrary stream to the MLLP reader, which must end,
// never hand back a block character or an oversized frame, and read back
// exactly the frames the writer framed.
func FuzzMLLP(f *testing.F) {
	f.Add([]byte("\x0bMSH|^~\\&|A\rMSA|AA|1\r\x1c\r"), 64)
	f.Add([]byte("noise\x0bA\x1c\x0bB\x1c\r\x0bC"), 2)
	f.Add([]byte("\x0b\x0b\x1c\x1c\r\r"), 0)
	f.Fuzz(func(t *testing.T, stream []byte, max int) {
		max = max%256 + 1
		if max < 1 {
			max = -max + 1
		}
		r := NewReader(bytes.NewReader(stream), max)
		for i := 0; ; i++ {
			if i > len(stream)+1 {
				t.Fatal("reader does not progress")
			}
			frame, err := r.ReadFrame()
			if errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrFrameTruncated) {
				continue
			}
			if err != nil {
				if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("unexpected error %v", err)
				}
				break
			}
			if len(frame) > max || bytes.IndexByte(frame, StartBlock) >= 0 || bytes.IndexByte(frame, EndBlock) >= 0 {
				t.Fatalf("bad frame %q (max %d)", frame, max)
			}
		}
		if r.Discarded() > int64(len(stream)) {
			t.Fatalf("discarded %d of %d bytes", r.Discarded(), len(stream))
		}

		// Round trip: the stream's pieces between block characters, framed.
		pieces := bytes.FieldsFunc(stream, func(c rune) bool { return c == rune(StartBlock) || c == rune(EndBlock) })
		var framed bytes.Buffer
		w := NewWriter(&framed)
		for _, p := range pieces {
			if err := w.WriteFrame(p); err != nil {
				t.Fatal(err)
			}
		}
		rr := NewReader(&framed, len(stream)+1)
		for _, p := range pieces {
			got, err := rr.ReadFrame()
			if err != nil || !bytes.Equal(got, p) {
				t.Fatalf("read back %q, %v; want %q", got, err, p)
			}
		}
		if _, err := rr.ReadFrame(); err != io.EOF {
			t.Fatalf("after the last frame: %v", err)
		}
	})
}
