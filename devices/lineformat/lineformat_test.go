package lineformat

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"carenode/devices/vitals"
)

// got summarises a parsed line: status, readings (kind=value unit, raw
// value) and flags.
func got(l Line) string {
	var parts []string
	parts = append(parts, string(l.Status))
	for _, r := range l.Readings {
		parts = append(parts, fmt.Sprintf("%s=%v%s(%s)", r.Kind, r.Value, r.Unit, r.RawValue))
		if r.LOINC == "" {
			parts = append(parts, "NO-LOINC")
		}
	}
	if l.DeviceTime != "" {
		parts = append(parts, "at "+l.DeviceTime)
	}
	for _, f := range l.Flags {
		parts = append(parts, "["+f+"]")
	}
	if l.Age != 0 {
		parts = append(parts, "age "+l.Age.String())
	}
	return strings.Join(parts, " ")
}

type lineCase struct {
	name, line, want string
	wantErr          error
}

func runCases(t *testing.T, parse func([]byte) (Line, error), cases []lineCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := parse([]byte(tc.line))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Parse(%q) error = %v, want %v", tc.line, err, tc.wantErr)
			}
			if err != nil {
				if len(l.Readings) != 0 {
					t.Errorf("an error with readings: %+v", l.Readings)
				}
				if MessageZh(err) == "" {
					t.Errorf("no Chinese message for %v", err)
				}
				return
			}
			if g := got(l); g != tc.want {
				t.Errorf("Parse(%q) = %s\nwant %s", tc.line, g, tc.want)
			}
			if string(l.Raw) != strings.TrimRight(tc.line, " \r\n") {
				t.Errorf("Raw = %q", l.Raw)
			}
		})
	}
}

func TestNonin(t *testing.T) {
	runCases(t, ParseNonin, []lineCase{
		{"reading", "SPO2=097 HR=072\r\n", "reading spo2=97%(097) heart-rate=72/min(072)", nil},
		{"no data", "SPO2=--- HR=---", "no-data", nil},
		{"pulse only", "SPO2=--- HR=088", "reading heart-rate=88/min(088)", nil},
		{"fast", "SPO2=095 HR=101 F", "reading spo2=95%(095) heart-rate=101/min(101) [fast-responding values]", nil},
		{"event glued", "SPO2=095 HR=101*", "reading spo2=95%(095) heart-rate=101/min(101) [event marker]", nil},
		{"with time and breath", "10:15:02 SPO2=098 HR=064 B", "reading spo2=98%(098) heart-rate=64/min(064) at 10:15:02 [breath detected]", nil},
		{"low SpO2 kept, flagged by vitals", "SPO2=045 HR=140", "reading spo2=45%(045) heart-rate=140/min(140)", nil},
		{"header", "Nonin 9847 Format 2", "ignored", nil},
		{"SpO2 over 100", "SPO2=107 HR=072", "", ErrValue},
		{"dropped digit", "SPO2=97 HR=072", "", ErrLine},
		{"letter O for zero", "SPO2=O97 HR=072", "", ErrLine},
		{"order swapped", "HR=072 SPO2=097", "", ErrLine},
		{"trailing junk", "SPO2=097 HR=072 X", "", ErrLine},
		{"cut off", "SPO2=097 H", "", ErrLine},
		{"pulse rate empty (fuzz crasher)", "SPO2=000 HR=", "", ErrLine},
		{"empty", "\r\n", "", ErrLine},
		{"binary", "\x00\x01=\xff", "", ErrLine},
		{"bad clock", "25:00:00 SPO2=097 HR=072", "", ErrLine},
	})
}

func TestAND(t *testing.T) {
	runCases(t, ParseAND, []lineCase{
		{"gross kg", "ST,GS,+0070.5kg\r\n", "reading body-weight=70.5kg(+0070.5) [gross]", nil},
		{"net kg", "ST,NT,+0012.25kg", "reading body-weight=12.25kg(+0012.25) [net]", nil},
		{"one header, grams", "ST,+70500.0  g", "reading body-weight=70.5kg(+70500.0)", nil},
		{"pounds", "ST,GS,+0154.3lb", "reading body-weight=69.99kg(+0154.3) [gross]", nil},
		{"unstable", "US,GS,+0070.3kg", "unstable", nil},
		{"overload", "OL,GS,+9999.9kg", "overload", nil},
		{"overload, exponent form", "OL,+9999999E+19", "overload", nil},
		{"empty platform", "ST,GS,+0000.0kg", "no-data [gross]", nil},
		{"negative after tare", "ST,NT,-0000.2kg", "no-data [net]", nil},
		{"tare", "ST,TR,+0001.0kg", "ignored [tare]", nil},
		{"counting", "QT,+00012345PC", "", ErrUnit},
		{"ounces", "ST,+00012.34 oz", "", ErrUnit},
		{"percent", "ST,+000123.4  %", "", ErrUnit},
		{"no sign", "ST,GS,0070.5kg", "", ErrLine},
		{"two points", "ST,GS,+00.70.5kg", "", ErrLine},
		{"letter in weight", "ST,GS,+007O.5kg", "", ErrLine},
		{"no unit", "ST,GS,+0070.5", "", ErrLine},
		{"unknown header", "XX,GS,+0070.5kg", "", ErrLine},
		{"unknown second header", "ST,ZZ,+0070.5kg", "", ErrLine},
		{"short", "ST", "", ErrLine},
	})
}

func TestAccutorr(t *testing.T) {
	runCases(t, ParseAccutorr, []lineCase{
		{"full reading", "P:097, 72,120, 93, 80,000,000,000,  5\r\n",
			"reading spo2=97%(097) heart-rate=72/min(72) bp-systolic=120mm[Hg](120) bp-mean=93mm[Hg](93) bp-diastolic=80mm[Hg](80) age 5m0s", nil},
		{"no oximeter", "P:--, 85,128, 96, 82,000,000,000,  0",
			"reading heart-rate=85/min(85) bp-systolic=128mm[Hg](128) bp-mean=96mm[Hg](96) bp-diastolic=82mm[Hg](82)", nil},
		// The example in the manual: status byte 1 = 10 (uncalibrated,
		// RAM test failure) withholds the pulse rate.
		{"manual's example", "P:--,85,120, 45, 80,000,010,000, 5",
			"reading bp-systolic=120mm[Hg](120) bp-mean=45mm[Hg](45) bp-diastolic=80mm[Hg](80) [SaO2 uncalibrated] [SaO2 RAM test failure] age 5m0s", nil},
		{"sensor off", "P:097, 72,120, 93, 80,002,000,000,  5",
			"reading bp-systolic=120mm[Hg](120) bp-mean=93mm[Hg](93) bp-diastolic=80mm[Hg](80) [SaO2 sensor off] age 5m0s", nil},
		{"motion artifact", "P:097, 72,120, 93, 80,000,000,002,  5",
			"reading spo2=97%(097) heart-rate=72/min(72) [NIBP motion artifact]", nil},
		{"nothing yet", "P:--,--,--,--,--,000,000,000,--", "no-data", nil},
		{"alarm limits reply", "L:100, 85,150, 50,200, 90,120, 60,100, 50", "ignored", nil},
		{"prompt", ">", "ignored", nil},
		{"systolic below diastolic", "P:--,85,80,90,120,000,000,000,5", "", ErrValue},
		{"SaO2 over 100", "P:101,85,120,93,80,000,000,000,5", "", ErrValue},
		{"status over 255", "P:--,85,120,93,80,000,256,000,5", "", ErrValue},
		{"status missing", "P:--,85,120,93,80,--,000,000,5", "", ErrLine},
		{"diastolic missing", "P:--,85,120,93,--,000,000,000,5", "", ErrLine},
		{"no age", "P:--,85,120,93,80,000,000,000,--", "", ErrLine},
		{"eight fields", "P:--,85,120,93,80,000,000,000", "", ErrLine},
		{"four digits", "P:--,85,1200,93,80,000,000,000,5", "", ErrLine},
		{"negative", "P:--,-85,120,93,80,000,000,000,5", "", ErrLine},
		{"garbage", "p:097", "", ErrLine},
	})
}

func TestLookup(t *testing.T) {
	for _, f := range Formats() {
		g, err := Lookup(f.Name)
		if err != nil || g.Name != f.Name || g.Parse == nil || g.Device == "" {
			t.Errorf("Lookup(%q) = %+v, %v", f.Name, g, err)
		}
	}
	if _, err := Lookup("hl7"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("Lookup(hl7) error = %v", err)
	}
}

func TestReader(t *testing.T) {
	f, _ := Lookup("nonin")
	stream := "Nonin header\r\n\r\nSPO2=097 HR=072\r\n" + strings.Repeat("x", 300) + "\rSPO2=97 HR=072\nSPO2=096 HR=070\rSPO2=095 HR=07"
	r := NewReader(strings.NewReader(stream), f, 0)
	want := []struct {
		status Status
		err    error
	}{{StatusIgnored, nil}, {StatusReading, nil}, {"", ErrLineTooLong}, {"", ErrLine}, {StatusReading, nil}, {"", io.ErrUnexpectedEOF}}
	for i, w := range want {
		l, err := r.Next()
		if !errors.Is(err, w.err) || (err == nil && l.Status != w.status) {
			t.Fatalf("line %d: %s, %v; want %s, %v", i, got(l), err, w.status, w.err)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
}

// TestReadingsAreMapped: every reading a line format produces has the
// LOINC code and unit of its kind.
func TestReadingsAreMapped(t *testing.T) {
	for _, in := range []struct {
		f    func([]byte) (Line, error)
		line string
	}{{ParseNonin, "SPO2=097 HR=072"}, {ParseAND, "ST,GS,+0070.5kg"}, {ParseAccutorr, "P:097, 72,120, 93, 80,000,000,000,  5"}} {
		l, err := in.f([]byte(in.line))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range l.Readings {
			c, _ := vitals.Lookup(r.Kind)
			if r.LOINC != c.LOINC || r.Unit != c.Unit {
				t.Errorf("%q: %+v, want LOINC %s unit %s", in.line, r, c.LOINC, c.Unit)
			}
		}
	}
}
