package gsm_test

import (
	"testing"

	"carenode/devices/gsm"
)

// FuzzDecodeSubmit feeds the PDU decoder arbitrary bytes: it must return
// an error or a message, never panic, and a message it decodes must encode
// again to one that decodes to the same text.
func FuzzDecodeSubmit(f *testing.F) {
	for _, h := range []string{
		"0011000B916407281553F80000AA0AE8329BFD4697D9EC37",
		"0001000B813108108300F00008044F60597D",
		"0041000D91683118325476F80000A0050003AA02016176D8FD0E",
		"0051000D91683118325476F80008AA0C05000342020100410042",
		"00", "0001", "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07",
	} {
		s, _ := gsm.DecodeSubmitHex(h)
		_ = s
		b := make([]byte, len(h)/2)
		for i := range b {
			var v byte
			for _, c := range h[2*i : 2*i+2] {
				v <<= 4
				switch {
				case c >= '0' && c <= '9':
					v |= byte(c - '0')
				default:
					v |= byte(c-'A') + 10
				}
			}
			b[i] = v
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := gsm.DecodeSubmit(b)
		if err != nil {
			return
		}
		pdus, err := gsm.EncodeSubmit(gsm.Submit{To: s.To, Text: s.Text})
		if err != nil {
			return // a decoded text need not fit one SMS when re-encoded as UCS-2, nor a number be dialable
		}
		var parts []gsm.Submit
		for _, p := range pdus {
			d, err := gsm.DecodeSubmit(p.Bytes)
			if err != nil {
				t.Fatalf("re-encoded %q does not decode: %v", s.Text, err)
			}
			parts = append(parts, d)
		}
		if got, err := gsm.Join(parts); err != nil || got != s.Text {
			t.Fatalf("re-encoded %q came back as %q (%v)", s.Text, got, err)
		}
	})
}
