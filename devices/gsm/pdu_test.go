package gsm_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"carenode/devices/gsm"
)

// Known vectors. The first is the classic SMS-SUBMIT example of the PDU
// literature (to +46708251358, "hellohello", validity 4 days), whose user
// data E8329BFD4697D9EC37 is the 7-bit packing example of 3GPP TS 23.038.
func TestEncodeKnownVectors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   gsm.Submit
		hex  string
		len  int
	}{
		{"hellohello", gsm.Submit{To: "+46708251358", Text: "hellohello", Validity: 4 * 24 * time.Hour},
			"0011000B916407281553F80000AA0AE8329BFD4697D9EC37", 23},
		{"UCS-2 Chinese", gsm.Submit{To: "13800138000", Text: "你好"},
			"0001000B813108108300F0000804" + "4F60597D", 17},
		{"extension characters count twice", gsm.Submit{To: "10086", Text: "€1"},
			"00010005810180F6000003" + "9B720C", 13},
	} {
		pdus, err := gsm.EncodeSubmit(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(pdus) != 1 || pdus[0].Hex() != tc.hex || pdus[0].TPDULen != tc.len {
			t.Errorf("%s: got %d PDUs, first %s (len %d), want %s (len %d)", tc.name, len(pdus), pdus[0].Hex(), pdus[0].TPDULen, tc.hex, tc.len)
		}
		got, err := gsm.DecodeSubmitHex(tc.hex)
		if err != nil {
			t.Fatalf("%s: decode: %v", tc.name, err)
		}
		if got.Text != tc.in.Text || got.To != tc.in.To || got.Validity != tc.in.Validity {
			t.Errorf("%s: decoded %+v", tc.name, got)
		}
	}
}

func TestLongMessagesSplit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		text  string
		parts []int // characters per part
		dcs   byte
	}{
		{"160 septets fit one SMS", strings.Repeat("a", 160), []int{160}, gsm.DCS7Bit},
		{"161 septets make two", strings.Repeat("a", 161), []int{153, 8}, gsm.DCS7Bit},
		{"an escape pair is not split", strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10), []int{152, 11}, gsm.DCS7Bit},
		{"70 Chinese characters fit one SMS", strings.Repeat("药", 70), []int{70}, gsm.DCSUCS2},
		{"71 make two", strings.Repeat("药", 71), []int{67, 4}, gsm.DCSUCS2},
		{"a surrogate pair is not split", strings.Repeat("药", 66) + "😀" + strings.Repeat("好", 10), []int{66, 11}, gsm.DCSUCS2},
		{"one Chinese character makes it all UCS-2", strings.Repeat("a", 100) + "好", []int{67, 34}, gsm.DCSUCS2},
	} {
		pdus, err := gsm.EncodeSubmit(gsm.Submit{To: "+8613812345678", Text: tc.text, Ref: 42})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var parts []gsm.Submit
		for i, p := range pdus {
			s, err := gsm.DecodeSubmit(p.Bytes)
			if err != nil {
				t.Fatalf("%s: part %d: %v", tc.name, i+1, err)
			}
			if s.DCS != tc.dcs || len(p.Bytes)-1 != p.TPDULen || p.TPDULen > 140+26 {
				t.Errorf("%s: part %d: dcs %x len %d", tc.name, i+1, s.DCS, p.TPDULen)
			}
			if len(pdus) > 1 && (s.Ref != 42 || int(s.Total) != len(pdus) || int(s.Seq) != i+1) {
				t.Errorf("%s: part %d header %d %d/%d", tc.name, i+1, s.Ref, s.Seq, s.Total)
			}
			parts = append(parts, s)
		}
		if len(parts) != len(tc.parts) {
			t.Fatalf("%s: %d parts, want %d", tc.name, len(parts), len(tc.parts))
		}
		for i, p := range parts {
			if n := len([]rune(p.Text)); n != tc.parts[i] {
				t.Errorf("%s: part %d has %d characters, want %d", tc.name, i+1, n, tc.parts[i])
			}
		}
		joined, err := gsm.Join(parts)
		if err != nil || joined != tc.text {
			t.Errorf("%s: joined %q %v", tc.name, joined, err)
		}
	}
}

func TestEncodeRefusesBadInput(t *testing.T) {
	for name, s := range map[string]gsm.Submit{
		"letters in the number":  {To: "138abc", Text: "x"},
		"no digits":              {To: "+", Text: "x"},
		"21 digits":              {To: strings.Repeat("1", 21), Text: "x"},
		"plus inside the number": {To: "138+1", Text: "x"},
	} {
		if _, err := gsm.EncodeSubmit(s); !errors.Is(err, gsm.ErrNumber) {
			t.Errorf("%s: %v, want ErrNumber", name, err)
		}
	}
	if _, err := gsm.EncodeSubmit(gsm.Submit{To: "10086", Text: strings.Repeat("好", 67*255+1)}); !errors.Is(err, gsm.ErrTooLong) {
		t.Errorf("256 parts: %v, want ErrTooLong", err)
	}
}

func TestValidityRoundsDown(t *testing.T) {
	for _, tc := range []struct{ in, want time.Duration }{
		{3 * time.Minute, 5 * time.Minute},
		{7 * time.Minute, 5 * time.Minute},
		{2 * time.Hour, 2 * time.Hour},
		{13*time.Hour + 10*time.Minute, 13 * time.Hour},
		{47 * time.Hour, 24 * time.Hour},
		{4 * 24 * time.Hour, 4 * 24 * time.Hour},
		{32 * 24 * time.Hour, 30 * 24 * time.Hour},
		{10 * 7 * 24 * time.Hour, 10 * 7 * 24 * time.Hour},
		{100 * 7 * 24 * time.Hour, 63 * 7 * 24 * time.Hour},
	} {
		pdus, err := gsm.EncodeSubmit(gsm.Submit{To: "10086", Text: "x", Validity: tc.in})
		if err != nil {
			t.Fatal(err)
		}
		s, err := gsm.DecodeSubmit(pdus[0].Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if s.Validity != tc.want {
			t.Errorf("validity %v: encoded as %v, want %v", tc.in, s.Validity, tc.want)
		}
	}
}

// Any text to any number survives encoding, splitting and joining.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		alphabet := rapid.SampledFrom([]rune("abcXYZ019 @£$€[]{}|^~\\\n你好药血压😀é"))
		text := string(rapid.SliceOfN(alphabet, 1, 600).Draw(t, "text"))
		to := rapid.StringMatching(`\+?[0-9]{3,15}`).Draw(t, "to")
		ref := rapid.Byte().Draw(t, "ref")
		pdus, err := gsm.EncodeSubmit(gsm.Submit{To: to, Text: text, Ref: ref})
		if err != nil {
			t.Fatal(err)
		}
		var parts []gsm.Submit
		for _, p := range pdus {
			s, err := gsm.DecodeSubmitHex(p.Hex())
			if err != nil {
				t.Fatal(err)
			}
			if s.To != to {
				t.Fatalf("to %q, want %q", s.To, to)
			}
			parts = append(parts, s)
		}
		joined, err := gsm.Join(parts)
		if err != nil {
			t.Fatal(err)
		}
		if joined != text {
			t.Fatalf("joined %q, want %q", joined, text)
		}
	})
}

// BenchmarkEncodeSubmit measures encoding a 152-character Chinese message
// (three UCS-2 parts).
func BenchmarkEncodeSubmit(b *testing.B) {
	text := strings.Repeat("请按时服用降压药，每日测量血压并记录。", 8)
	for b.Loop() {
		if _, err := gsm.EncodeSubmit(gsm.Submit{To: "+8613812345678", Text: text, Ref: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
