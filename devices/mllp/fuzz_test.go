package mllp

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"

	"carenode/devices"
	"carenode/devices/hl7"
)

// FuzzHandle: whatever a device sends, the answer is a readable ACK, and
// it says AA exactly when the batch was stored.
func FuzzHandle(f *testing.F) {
	for _, name := range samples {
		b, err := readSample(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Add([]byte("MSH|^~\\&|x||||20240101||ORU^R01|C1|P|2.6\rOBR|1\rOBX|1|NM|150456^X^MDC||97|%||||||F"), false)
	f.Add([]byte("MSH#^~\\&"), false)
	f.Fuzz(func(t *testing.T, msg []byte, failStore bool) {
		sink := &memSink{fail: func(devices.Batch) error {
			if failStore {
				return errors.New("store down")
			}
			return nil
		}}
		h := &Handler{Sink: sink, Logger: slog.New(slog.DiscardHandler)}
		ack, stored := h.Handle(context.Background(), msg, "fuzz")
		a, err := hl7.ParseACK(ack)
		if err != nil {
			t.Fatalf("ACK %q unreadable: %v", ack, err)
		}
		n := len(sink.all())
		if stored != (a.Code == hl7.AA) || stored != (n == 1) {
			t.Fatalf("ACK %s, stored %v, %d batches", a.Code, stored, n)
		}
		if stored && !bytes.Equal(sink.all()[0].Raw, msg) {
			t.Fatalf("raw bytes changed")
		}
		// A sender that declares no escape character cannot have a control
		// character echoed back (hl7.BuildACK's limit), so only printable ids
		// are compared.
		if hdr, err := hl7.ParseHeader(msg); err == nil && printable(hdr.ControlID) && a.ControlID != hdr.ControlID && a.Code != hl7.AR {
			t.Fatalf("MSA-2 %q, MSH-10 %q", a.ControlID, hdr.ControlID)
		}
	})
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
