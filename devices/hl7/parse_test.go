package hl7

import (
	"errors"
	"strings"
	"testing"
	"time"

	"carenode/devices/vitals"
)

// msg joins segments with CR, as a device sends them.
func msg(segs ...string) []byte { return []byte(strings.Join(segs, "\r") + "\r") }

const (
	msh = `MSH|^~\&|Gateway^0011223344556677^EUI-64|Clinic|||20240301101500+0800||ORU^R01^ORU_R01|C42|P|2.6`
	pid = `PID|||P-1^^^Township^MR~ID7^^^State^NI`
	obr = `OBR|1|||182777000^monitoring of patient^SNOMED-CT|||20240301101000+0800`
)

func TestEncodingFromMSH(t *testing.T) {
	// Every separator differs from the usual ones; the escape sequences
	// are written with the declared escape character.
	m, err := Parse(msg(
		`MSH#*!@%#App*ns#Fac#####ORU*R01#C1#P#2.6`,
		`OBR#1######20240301`,
		`OBX#1#ST#X*text*L#1#a@F@b@S@c@T@d@R@e@E@f!second#`,
		`OBX#2#NM#150021*MDC_PRESS_BLD_NONINV_SYS*MDC#1#120#266016*MDC_DIM_MMHG*MDC#####F`,
	))
	if err != nil {
		t.Fatal(err)
	}
	want := Encoding{Field: '#', Component: '*', Repetition: '!', Escape: '@', Subcomponent: '%'}
	if m.Encoding != want {
		t.Errorf("Encoding = %+v, want %+v", m.Encoding, want)
	}
	if m.SendingApplication.Namespace != "App" || m.SendingApplication.UniversalID != "ns" || m.ControlID != "C1" {
		t.Errorf("header = %+v", m.Header)
	}
	obs := m.Observations()
	if got := obs[0].Value.Text; got != "a#b*c%d!e@f" {
		t.Errorf("ST value = %q", got)
	}
	if len(obs[0].MoreValues) != 1 || obs[0].MoreValues[0].Text != "second" {
		t.Errorf("repetition = %+v", obs[0].MoreValues)
	}
	r, err := obs[1].Reading()
	if err != nil || r.Kind != vitals.Systolic || r.Value != 120 {
		t.Errorf("Reading = %+v, %v", r, err)
	}
	if obs[1].TimeFrom != FromOBR7 || obs[1].Time.Precision != PrecisionDay || obs[1].Time.Zoned {
		t.Errorf("time = %+v from %s", obs[1].Time, obs[1].TimeFrom)
	}
}

func TestFewEncodingCharacters(t *testing.T) {
	// Only component and repetition declared: there is no escape, so a
	// backslash is text, and no subcomponent separator, so & is text.
	m, err := Parse(msg(`MSH|^~|App|Fac|||||ORU^R01|C2|P|2.6`, `OBR|1`, `OBX|1|ST|x||a\F\b&c`))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Observations()[0].Value.Text; got != `a\F\b&c` {
		t.Errorf("value = %q", got)
	}
	ack, err := BuildACK(&m.Header, Ack{Code: AE, Text: `bad | value ^ here`, ControlID: "A1"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(ack), "MSH|^~|") || !strings.Contains(string(ack), "MSA|AE|C2|bad   value   here\r") {
		t.Errorf("ACK = %q", ack)
	}
}

func TestUnescape(t *testing.T) {
	e := defaultEncoding
	tests := []struct{ in, want string }{
		{`plain`, `plain`},
		{`\F\\S\\T\\R\\E\`, `|^&~\`},
		{`\X41\\X4243\`, `ABC`},
		{`line\X0D0A\two`, "line\r\ntwo"},
		{`one\.br\two`, "one\ntwo"},
		{`\H\bold\N\`, `bold`},
		{`\Z99\`, `\Z99\`},
		{`\X4\`, `\X4\`},
		{`\XZZ\`, `\XZZ\`},
		{`trailing\`, `trailing\`},
		{`\F`, `\F`},
		{`\\`, `\\`},
	}
	for _, tc := range tests {
		if got := e.unescape(tc.in); got != tc.want {
			t.Errorf("unescape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, s := range []string{"a|b^c&d~e\\f", "cr\rlf\n", "\x0b\x1c", "plain"} {
		if got := e.unescape(e.escape(s)); got != s {
			t.Errorf("unescape(escape(%q)) = %q", s, got)
		}
	}
}

func TestGroupsAndPatients(t *testing.T) {
	m, err := Parse(msg(msh,
		pid,
		obr,
		`OBX|1|NM|150021^^MDC||130|266016^^MDC|90-140||||F`,
		`OBX|2|NM|150021^^MDC||125|266016^^MDC|||||C|||20240301101200+0800`,
		`NTE|1||a note`,
		`PID|||P-2^^^Township^MR`,
		`OBR|1|||x|||20240301102000+0800`,
		`OBX|1|NM|188736^MDC_MASS_BODY_ACTUAL^MDC||154.3|263904^MDC_DIM_LB^MDC|||||D`,
		`ZXY|custom|segment`,
		`OBR|2`,
		`OBX|1|NM|8867-4^Heart rate^LN||72|/min^^UCUM|||||F`,
	))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Patients) != 2 || len(m.Patients[0].IDs) != 2 || m.Patients[0].IDs[1] != (PatientID{"ID7", "State", "NI"}) {
		t.Fatalf("Patients = %+v", m.Patients)
	}
	if len(m.Orders) != 3 || m.Orders[0].Patient != 0 || m.Orders[1].Patient != 1 || m.Orders[2].Patient != 1 {
		t.Fatalf("Orders = %+v", m.Orders)
	}
	o := m.Orders[0].Observations
	if o[0].Status != StatusFinal || o[0].ReferenceRange != "90-140" || o[1].Status != StatusCorrected {
		t.Errorf("first group = %+v", o)
	}
	if o[1].TimeFrom != FromOBX14 || o[0].TimeFrom != FromOBR7 || !o[0].Time.Time.Equal(time.Date(2024, 3, 1, 2, 10, 0, 0, time.UTC)) {
		t.Errorf("times = %v %s, %v %s", o[0].Time, o[0].TimeFrom, o[1].Time, o[1].TimeFrom)
	}
	w := m.Orders[1].Observations[0]
	if w.Status != StatusDeleted {
		t.Errorf("status = %q", w.Status)
	}
	r, err := w.Reading()
	if err != nil || r.Kind != vitals.BodyWeight || r.Value != 69.99 || r.Unit != "kg" || r.RawValue != "154.3" || r.RawUnit != "263904^MDC_DIM_LB^MDC" {
		t.Errorf("weight = %+v, %v", r, err)
	}
	hr := m.Orders[2].Observations[0]
	if hr.TimeFrom != FromMSH7 {
		t.Errorf("no OBX-14 or OBR-7: time from %q, want MSH-7", hr.TimeFrom)
	}
	if r, err := hr.Reading(); err != nil || r.Kind != vitals.HeartRate || r.Unit != "/min" {
		t.Errorf("LOINC-coded heart rate = %+v, %v", r, err)
	}
}

func TestValueTypes(t *testing.T) {
	tests := []struct {
		name, obx string
		check     func(Observation) bool
		wantErr   error
	}{
		{"SN plain", `OBX|1|SN|150021^^MDC||^118|266016^^MDC|||||F`, func(o Observation) bool {
			r, err := o.Reading()
			return err == nil && r.Value == 118 && o.Value.Text == "^118"
		}, nil},
		{"SN comparator is no reading", `OBX|1|SN|150021^^MDC||<^40|266016^^MDC|||||F`, func(o Observation) bool {
			_, err := o.Reading()
			return o.Value.SN.Comparator == "<" && errors.Is(err, ErrValue)
		}, nil},
		{"SN range", `OBX|1|SN|x||^10^-^20`, func(o Observation) bool { return o.Value.SN == SN{"", "10", "-", "20"} }, nil},
		{"SN bad comparator", `OBX|1|SN|x||!^10`, nil, ErrValue},
		{"SN bad number", `OBX|1|SN|x||^1x`, nil, ErrValue},
		{"CE", `OBX|1|CE|x||532224^MDC_TIME_SYNC_NONE^MDC`, func(o Observation) bool {
			return o.Value.Coded == Coded{ID: "532224", Text: "MDC_TIME_SYNC_NONE", System: "MDC"}
		}, nil},
		{"DTM", `OBX|1|DTM|x||20240229235959.123-0500`, func(o Observation) bool {
			return o.Value.Time.Precision == PrecisionFraction && o.Value.Time.Time.Equal(time.Date(2024, 3, 1, 4, 59, 59, 123e6, time.UTC))
		}, nil},
		{"DTM malformed", `OBX|1|DTM|x||2024-02-29`, nil, ErrTime},
		{"NA with gap", `OBX|1|NA|x||1^^3`, func(o Observation) bool { return strings.Join(o.Value.Array, ",") == "1,,3" }, nil},
		{"NA bad element", `OBX|1|NA|x||1^two^3`, nil, ErrValue},
		{"NM not a number", `OBX|1|NM|150021^^MDC||12O|266016^^MDC`, nil, ErrValue},
		{"NM exponent", `OBX|1|NM|150021^^MDC||1.2E2|266016^^MDC`, nil, ErrValue},
		{"NM empty", `OBX|1|NM|150021^^MDC|||266016^^MDC|||||D`, func(o Observation) bool {
			_, err := o.Reading()
			return errors.Is(err, ErrMissing)
		}, nil},
		{"value without type", `OBX|1||150021^^MDC||120`, nil, ErrMissing},
		{"unknown status", `OBX|1|NM|x||1||||||Q`, nil, ErrStatus},
		{"lower-case status", `OBX|1|NM|x||1||||||f`, func(o Observation) bool { return o.Status == StatusFinal }, nil},
		{"malformed OBX-14", `OBX|1|NM|x||1||||||F|||20241301`, nil, ErrTime},
		{"unmapped code", `OBX|1|NM|999999^^MDC||1|266016^^MDC`, func(o Observation) bool {
			_, err := o.Reading()
			return errors.Is(err, vitals.ErrUnmapped)
		}, nil},
		{"unknown unit", `OBX|1|NM|150021^^MDC||1|999^^MDC`, func(o Observation) bool {
			_, err := o.Reading()
			return errors.Is(err, vitals.ErrUnit)
		}, nil},
		{"wrong unit for kind", `OBX|1|NM|150021^^MDC||1|263875^MDC_DIM_KILO_G^MDC`, func(o Observation) bool {
			_, err := o.Reading()
			return errors.Is(err, vitals.ErrUnit)
		}, nil},
		{"code in alternate coding", `OBX|1|NM|SYS^Systolic^L^150021^^MDC||120|mmHg`, func(o Observation) bool {
			r, err := o.Reading()
			return err == nil && r.Kind == vitals.Systolic && r.Unit == "mm[Hg]"
		}, nil},
		{"equipment repeats", `OBX|1||528391^^MDC|1|||||||X|||||||AA^EUI-64~BB^EUI-64`, func(o Observation) bool {
			return len(o.Equipment) == 2 && o.Equipment[1].ID == "BB"
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(msg(msh, obr, tc.obx))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Parse error = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if m == nil || m.ControlID != "C42" {
					t.Errorf("a refused message must still return its header, got %+v", m)
				}
				if !strings.Contains(err.Error(), "OBX") {
					t.Errorf("error %q does not name the segment", err)
				}
				if MessageZh(err) == "" {
					t.Errorf("no Chinese message for %v", err)
				}
				return
			}
			if o := m.Observations()[0]; !tc.check(o) {
				t.Errorf("observation = %+v", o)
			}
		})
	}
}

func TestMessageErrors(t *testing.T) {
	tests := []struct {
		name       string
		in         []byte
		wantErr    error
		wantHeader bool
	}{
		{"empty", nil, ErrNotHL7, false},
		{"not MSH", msg(`PID|1`), ErrNotHL7, false},
		{"letter as separator", msg(`MSHX^~\&X`), ErrNotHL7, false},
		{"repeated encoding char", msg(`MSH|^^\&|`), ErrNotHL7, false},
		{"no encoding chars", msg(`MSH||A`), ErrNotHL7, false},
		{"bad segment name", msg(msh, "obx|1"), ErrSegment, true},
		{"OBX before OBR", msg(msh, pid, `OBX|1|NM|x||1`), ErrSegment, true},
		{"second MSH", msg(msh, msh), ErrSegment, true},
		{"ADT", msg(`MSH|^~\&|A|B|||20240301||ADT^A01|C9|P|2.5`), ErrUnsupported, true},
		{"no control id", msg(`MSH|^~\&|A|B|||20240301||ORU^R01|||2.6`), ErrMissing, true},
		{"malformed MSH-7", msg(`MSH|^~\&|A|B|||2024030|ORU^R01|C9|P|2.6`), ErrTime, true},
		{"malformed OBR-7", msg(msh, `OBR|1|||x|||20240230`), ErrTime, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(tc.in)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Parse error = %v, want %v", err, tc.wantErr)
			}
			if (m != nil) != tc.wantHeader {
				t.Fatalf("message returned = %v, want %v", m != nil, tc.wantHeader)
			}
			var h *Header
			if m != nil {
				h = &m.Header
			}
			ack, err2 := BuildACK(h, Ack{Code: AR, Text: err.Error(), ErrorCode: ErrorCodeFor(err), ControlID: "N1"})
			if err2 != nil {
				t.Fatal(err2)
			}
			res, err2 := ParseACK(ack)
			if err2 != nil || res.Code != AR || res.Text != err.Error() || res.ErrorCode != ErrorCodeFor(err) {
				t.Errorf("ACK %q read back as %+v, %v", ack, res, err2)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in        string
		want      time.Time
		prec      Precision
		zoned     bool
		wantError bool
	}{
		{"", time.Time{}, PrecisionNone, false, false},
		{"2009", time.Date(2009, 1, 1, 0, 0, 0, 0, time.UTC), PrecisionYear, false, false},
		{"200907", time.Date(2009, 7, 1, 0, 0, 0, 0, time.UTC), PrecisionMonth, false, false},
		{"20090713", time.Date(2009, 7, 13, 0, 0, 0, 0, time.UTC), PrecisionDay, false, false},
		{"2009071309", time.Date(2009, 7, 13, 9, 0, 0, 0, time.UTC), PrecisionHour, false, false},
		{"200907130900", time.Date(2009, 7, 13, 9, 0, 0, 0, time.UTC), PrecisionMinute, false, false},
		{"20090713090030+0000", time.Date(2009, 7, 13, 9, 0, 30, 0, time.UTC), PrecisionSecond, true, false},
		{"20090713090030-0330", time.Date(2009, 7, 13, 12, 30, 30, 0, time.UTC), PrecisionSecond, true, false},
		{"20090713090030.5", time.Date(2009, 7, 13, 9, 0, 30, 5e8, time.UTC), PrecisionFraction, false, false},
		{"2009071309+0800", time.Date(2009, 7, 13, 1, 0, 0, 0, time.UTC), PrecisionHour, true, false},
		{"20240229", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), PrecisionDay, false, false},
		{"20230229", time.Time{}, 0, false, true},
		{"20091328", time.Time{}, 0, false, true},
		{"2009071325", time.Time{}, 0, false, true},
		{"20090713096000", time.Time{}, 0, false, true},
		{"200907130900301", time.Time{}, 0, false, true},
		{"2009071309003.5", time.Time{}, 0, false, true},
		{"20090713090030.12345", time.Time{}, 0, false, true},
		{"20090713090030+08", time.Time{}, 0, false, true},
		{"20090713090030+1500", time.Time{}, 0, false, true},
		{"2009-07-13", time.Time{}, 0, false, true},
		{"09", time.Time{}, 0, false, true},
		{"+0800", time.Time{}, 0, false, true},
	}
	for _, tc := range tests {
		got, err := ParseTime(tc.in)
		if tc.wantError {
			if !errors.Is(err, ErrTime) || !strings.Contains(err.Error(), tc.in) {
				t.Errorf("ParseTime(%q) error = %v, want ErrTime quoting the input", tc.in, err)
			}
			continue
		}
		if err != nil || !got.Time.Equal(tc.want) || got.Precision != tc.prec || got.Zoned != tc.zoned {
			t.Errorf("ParseTime(%q) = %+v, %v; want %v precision %d zoned %v", tc.in, got, err, tc.want, tc.prec, tc.zoned)
			continue
		}
		if got.String() != tc.in && tc.prec != PrecisionFraction { // fractions are written with 4 digits
			t.Errorf("ParseTime(%q).String() = %q", tc.in, got.String())
		}
	}
}
