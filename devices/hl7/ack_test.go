package hl7

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestBuildACK(t *testing.T) {
	m, err := Parse(withLineEnds(t, "valid-bp-continua-wan.hl7v2", "\r"))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 3, 1, 10, 15, 0, 0, time.FixedZone("", 8*3600))
	us := HD{Namespace: "carenode", UniversalID: "node-1", UniversalIDType: "L"}
	tests := []struct {
		name string
		ack  Ack
		want string
	}{
		{"accepted", Ack{Code: AA, ControlID: "ACK1", Time: at, Application: us},
			"MSH|^~\\&|carenode^node-1^L||AcmeInc^ACDE48234567ABCD^EUI-64||20240301101500+0800||ACK^R01^ACK|ACK1|P|2.6\r" +
				"MSA|AA|MSGID1234\r"},
		{"error with separators in the reason", Ack{Code: AE, Text: `store full | retry ^ later \ soon`, ControlID: "ACK2", Application: us},
			"MSH|^~\\&|carenode^node-1^L||AcmeInc^ACDE48234567ABCD^EUI-64||||ACK^R01^ACK|ACK2|P|2.6\r" +
				"MSA|AE|MSGID1234|store full \\F\\ retry \\S\\ later \\E\\ soon\r" +
				"ERR|||207^Application internal error^HL70357|E||||store full \\F\\ retry \\S\\ later \\E\\ soon\r"},
		{"rejected with a code", Ack{Code: AR, Text: "OBX 4 OBX-5 (NM): value \"12O\"", ErrorCode: "102", ControlID: "ACK3"},
			"MSH|^~\\&|||AcmeInc^ACDE48234567ABCD^EUI-64||||ACK^R01^ACK|ACK3|P|2.6\r" +
				"MSA|AR|MSGID1234|OBX 4 OBX-5 (NM): value \"12O\"\r" +
				"ERR|||102^Data type error^HL70357|E||||OBX 4 OBX-5 (NM): value \"12O\"\r"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := BuildACK(&m.Header, tc.ack)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("BuildACK =\n%q\nwant\n%q", got, tc.want)
			}
			res, err := ParseACK(got)
			if err != nil || res.Code != tc.ack.Code || res.ControlID != "MSGID1234" || res.Text != tc.ack.Text || res.Header.ControlID != tc.ack.ControlID {
				t.Errorf("ParseACK = %+v, %v", res, err)
			}
		})
	}
}

func TestBuildACKRefuses(t *testing.T) {
	for _, a := range []Ack{{Code: "CA", ControlID: "1"}, {Code: AA}} {
		if _, err := BuildACK(nil, a); !errors.Is(err, ErrACK) {
			t.Errorf("BuildACK(%+v) error = %v, want ErrACK", a, err)
		}
	}
}

func TestBuildACKWithoutHeader(t *testing.T) {
	got, err := BuildACK(nil, Ack{Code: AR, Text: "not HL7", ErrorCode: "100", ControlID: "Z"})
	if err != nil {
		t.Fatal(err)
	}
	want := "MSH|^~\\&|||||||ACK^^ACK|Z|P|2.6\rMSA|AR||not HL7\rERR|||100^Segment sequence error^HL70357|E||||not HL7\r"
	if string(got) != want {
		t.Errorf("BuildACK(nil) = %q, want %q", got, want)
	}
}

func TestParseACKRefuses(t *testing.T) {
	for _, in := range []string{"", "MSH|^~\\&|A\r", "MSH|^~\\&|A\rMSA|XX|1\r", "MSH|^~\\&|A\rmsa|AA\r"} {
		if _, err := ParseACK([]byte(in)); err == nil {
			t.Errorf("ParseACK(%q) accepted", in)
		}
	}
}

func TestErrorCodeFor(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{{ErrNotHL7, "100"}, {ErrSegment, "100"}, {ErrMissing, "101"}, {ErrValue, "102"}, {ErrTime, "102"},
		{ErrStatus, "103"}, {ErrUnsupported, "200"}, {errors.New("disk full"), "207"}} {
		if got := ErrorCodeFor(tc.err); got != tc.want || errorTexts[got] == "" {
			t.Errorf("ErrorCodeFor(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	if !strings.Contains(MessageZh(ErrTime), "时间") {
		t.Errorf("MessageZh(ErrTime) = %q", MessageZh(ErrTime))
	}
}
