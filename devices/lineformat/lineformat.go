package lineformat

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"carenode/devices/vitals"
)

// Status says what a line carries.
type Status string

// What a line can carry. Only StatusReading lines have Readings.
const (
	StatusReading  Status = "reading"
	StatusNoData   Status = "no-data"  // the device says it has nothing: "---", an empty platform
	StatusUnstable Status = "unstable" // a scale still settling
	StatusOverload Status = "overload" // a scale out of its range
	StatusIgnored  Status = "ignored"  // a header or a reply that carries no measurement
)

// Line is one parsed line.
type Line struct {
	Format   string
	Raw      []byte // the line as received, without its line end
	Status   Status
	Readings []vitals.Reading
	// DeviceTime is the "HH:MM:SS" a Nonin line may start with, as sent;
	// the device's clock has no date and no zone, so it is not converted.
	DeviceTime string
	// Flags are the device's own markers and status bits, in its words.
	Flags []string
	// Age is how long before the line the readings were measured: the
	// Accutorr's minutes since the last NIBP measurement. Zero otherwise.
	Age time.Duration
}

// Format is one device's line format.
type Format struct {
	Name   string // as written in a port's configuration
	Device string
	Parse  func(line []byte) (Line, error)
}

// Formats returns every format this package reads.
func Formats() []Format {
	return []Format{
		{"nonin", "Nonin pulse oximeter (real-time ASCII output)", ParseNonin},
		{"and", "A&D scale or balance (standard data format)", ParseAND},
		{"accutorr", "Datascope Accutorr 3 NIBP monitor (PC interface, P command)", ParseAccutorr},
	}
}

// Lookup returns the format called name.
func Lookup(name string) (Format, error) {
	for _, f := range Formats() {
		if f.Name == name {
			return f, nil
		}
	}
	return Format{}, fmt.Errorf("line format %q: %w", truncate(name, 32), ErrUnknownFormat)
}

// quote shows a line in an error: short, and with control bytes visible.
func quote(b []byte) string { return fmt.Sprintf("%q", truncate(string(b), 64)) }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// trimEnd drops the line end and trailing spaces.
func trimEnd(b []byte) []byte { return bytes.TrimRight(b, " \t\r\n") }

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// ParseNonin reads a line of a Nonin oximeter's real-time output.
func ParseNonin(raw []byte) (Line, error) {
	b := trimEnd(raw)
	l := Line{Format: "nonin", Raw: append([]byte(nil), b...)}
	bad := func(kind error, why string, args ...any) (Line, error) {
		l.Readings, l.Status, l.Age = nil, "", 0 // a bad line yields no reading, not even a first field
		return l, fmt.Errorf("nonin line %s: %s: %w", quote(b), fmt.Sprintf(why, args...), kind)
	}
	if len(b) == 0 {
		return bad(ErrLine, "empty")
	}
	if bytes.IndexByte(b, '=') < 0 && printable(b) {
		l.Status = StatusIgnored // the header sent at power-up
		return l, nil
	}
	f := strings.Fields(string(b))
	if len(f) > 0 && isClock(f[0]) {
		l.DeviceTime, f = f[0], f[1:]
	}
	if len(f) < 2 || !strings.HasPrefix(f[0], "SPO2=") || !strings.HasPrefix(f[1], "HR=") {
		return bad(ErrLine, `want "SPO2=XXX HR=YYY"`)
	}
	spo2 := strings.TrimPrefix(f[0], "SPO2=")
	hr := strings.TrimPrefix(f[1], "HR=")
	// The event marker and breath flag may be glued to the pulse rate.
	for len(hr) > 3 && (strings.HasSuffix(hr, "*") || strings.HasSuffix(hr, "B")) {
		l.Flags = append(l.Flags, flagName(hr[len(hr)-1:]))
		hr = hr[:len(hr)-1]
	}
	for _, t := range f[2:] {
		for _, c := range t {
			switch c {
			case 'F', '*', 'B':
				l.Flags = append(l.Flags, flagName(string(c)))
			default:
				return bad(ErrLine, "unexpected %q after the pulse rate", truncate(t, 8))
			}
		}
	}
	for _, v := range []struct {
		name, value string
		kind        vitals.Kind
		unit        string
		max         int
	}{{"SpO2", spo2, vitals.SpO2, "%", 100}, {"pulse rate", hr, vitals.HeartRate, "/min", 999}} {
		if v.value == "---" {
			continue
		}
		if len(v.value) != 3 || !digits(v.value) {
			return bad(ErrLine, "%s %q is not three digits or ---", v.name, truncate(v.value, 8))
		}
		if atoi(v.value) > v.max {
			return bad(ErrValue, "%s %s is over %d", v.name, v.value, v.max)
		}
		r, err := vitals.New(v.kind, v.value, v.unit)
		if err != nil {
			return bad(ErrValue, "%s: %v", v.name, err)
		}
		l.Readings = append(l.Readings, r)
	}
	l.Status = StatusNoData
	if len(l.Readings) > 0 {
		l.Status = StatusReading
	}
	return l, nil
}

func flagName(c string) string {
	switch c {
	case "F":
		return "fast-responding values"
	case "*":
		return "event marker"
	case "B":
		return "breath detected"
	}
	return c
}

func isClock(s string) bool {
	return len(s) == 8 && s[2] == ':' && s[5] == ':' && digits(s[0:2]) && digits(s[3:5]) && digits(s[6:8]) &&
		atoi(s[0:2]) < 24 && atoi(s[3:5]) < 60 && atoi(s[6:8]) < 60
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c > '~' {
			return false
		}
	}
	return true
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// andUnits maps A&D unit fields to UCUM: only body-weight units.
var andUnits = map[string]string{"kg": "kg", "lb": "[lb_av]", "g": "g"}

// ParseAND reads a line of A&D's standard data format.
func ParseAND(raw []byte) (Line, error) {
	b := trimEnd(raw)
	l := Line{Format: "and", Raw: append([]byte(nil), b...)}
	bad := func(kind error, why string, args ...any) (Line, error) {
		l.Readings, l.Status, l.Age = nil, "", 0 // a bad line yields no reading, not even a first field
		return l, fmt.Errorf("A&D line %s: %s: %w", quote(b), fmt.Sprintf(why, args...), kind)
	}
	s := string(b)
	if len(s) < 3 || s[2] != ',' {
		return bad(ErrLine, "want a two-letter header and a comma, such as ST,")
	}
	head, rest := s[:2], s[3:]
	switch head {
	case "ST":
	case "US":
		l.Status = StatusUnstable
		return l, nil
	case "OL":
		l.Status = StatusOverload
		return l, nil
	case "QT":
		return bad(ErrUnit, "counting data (QT), not a weight")
	default:
		return bad(ErrLine, "header %q is not ST, US, OL or QT", head)
	}
	if len(rest) >= 3 && rest[2] == ',' {
		switch mode := rest[:2]; mode {
		case "GS", "NT":
			l.Flags = append(l.Flags, map[string]string{"GS": "gross", "NT": "net"}[mode])
			rest = rest[3:]
		case "TR":
			l.Status = StatusIgnored // the tare weight, not the patient's
			l.Flags = append(l.Flags, "tare")
			return l, nil
		default:
			return bad(ErrLine, "second header %q is not GS, NT or TR", mode)
		}
	}
	// Data: a sign and digits with one decimal point; then the unit,
	// possibly after padding spaces.
	end := len(rest)
	for end > 0 && (rest[end-1] >= 'a' && rest[end-1] <= 'z' || rest[end-1] >= 'A' && rest[end-1] <= 'Z' || rest[end-1] == '%') {
		end--
	}
	data, unit := strings.TrimRight(rest[:end], " "), rest[end:]
	if unit == "" {
		return bad(ErrLine, "no unit")
	}
	ucum, ok := andUnits[unit]
	if !ok {
		return bad(ErrUnit, "unit %q is not a body-weight unit (kg, lb, g)", truncate(unit, 8))
	}
	if len(data) < 2 || (data[0] != '+' && data[0] != '-') {
		return bad(ErrLine, "weight %q does not start with a sign", truncate(data, 16))
	}
	num := data[1:]
	if strings.Count(num, ".") > 1 || !digits(strings.Replace(num, ".", "", 1)) {
		return bad(ErrLine, "weight %q is not digits with at most one decimal point", truncate(data, 16))
	}
	v, err := vitals.ParseDecimal(data)
	if err != nil {
		return bad(ErrLine, "weight: %v", err)
	}
	if v <= 0 {
		l.Status = StatusNoData // nothing (or less than nothing) on the platform
		return l, nil
	}
	r, err := vitals.New(vitals.BodyWeight, data, ucum)
	if err != nil {
		return bad(ErrUnit, "%v", err)
	}
	r.RawUnit = unit
	l.Readings, l.Status = []vitals.Reading{r}, StatusReading
	return l, nil
}

// accutorrBits names the status bits, from the service manual, page 1-54.
var accutorrBits = [3][8]string{
	{"SaO2 no sensor", "SaO2 sensor off", "SaO2 interference", "SaO2 pulse search",
		"SaO2 pulse level weak", "SaO2 no pulse", "SaO2 check sensor site", "SaO2 pulse rate under 30 bpm"},
	{"SaO2 pulse rate over 250 bpm", "SaO2 uncalibrated", "SaO2 alarm overlapped", "SaO2 RAM test failure",
		"SaO2 ROM test failure", "SaO2 offset mismatch", "SaO2 filter mismatch", "SaO2 system test in progress"},
	{"NIBP cuff overpressure", "NIBP motion artifact", "status 2 bit 2 (undocumented)", "status 2 bit 3 (undocumented)",
		"status 2 bit 4 (undocumented)", "status 2 bit 5 (undocumented)", "status 2 bit 6 (undocumented)", "status 2 bit 7 (undocumented)"},
}

// ParseAccutorr reads the Accutorr 3's reply to the "P" command. Replies to
// its other commands ("L:" alarm limits, the ">" prompt) are StatusIgnored.
// Any SaO2 status bit withholds the SpO2 and pulse rate; any bit of status
// byte 2 withholds the blood pressure.
func ParseAccutorr(raw []byte) (Line, error) {
	b := trimEnd(raw)
	l := Line{Format: "accutorr", Raw: append([]byte(nil), b...)}
	bad := func(kind error, why string, args ...any) (Line, error) {
		l.Readings, l.Status, l.Age = nil, "", 0 // a bad line yields no reading, not even a first field
		return l, fmt.Errorf("Accutorr line %s: %s: %w", quote(b), fmt.Sprintf(why, args...), kind)
	}
	s := string(b)
	if s == ">" || len(s) >= 2 && s[1] == ':' && s[0] >= 'A' && s[0] <= 'Z' && s[0] != 'P' {
		l.Status = StatusIgnored
		return l, nil
	}
	if !strings.HasPrefix(s, "P:") {
		return bad(ErrLine, `want the "P:" patient data reply`)
	}
	f := strings.Split(s[2:], ",")
	if len(f) != 9 {
		return bad(ErrLine, "%d fields, want 9", len(f))
	}
	const unused = -1
	vals := make([]int, 9)
	names := [9]string{"SaO2", "pulse rate", "systolic", "mean", "diastolic", "status byte 0", "status byte 1", "status byte 2", "elapsed minutes"}
	for i, x := range f {
		x = strings.TrimSpace(x)
		switch {
		case x == "--" || x == "---":
			vals[i] = unused
		case len(x) <= 3 && digits(x):
			vals[i] = atoi(x)
		default:
			return bad(ErrLine, "%s %q is not up to three digits or --", names[i], truncate(x, 8))
		}
	}
	for i := 5; i <= 7; i++ {
		if vals[i] == unused {
			return bad(ErrLine, "%s is missing", names[i])
		}
		if vals[i] > 255 {
			return bad(ErrValue, "%s %d is over 255", names[i], vals[i])
		}
		for bit := 0; bit < 8; bit++ {
			if vals[i]&(1<<bit) != 0 {
				l.Flags = append(l.Flags, accutorrBits[i-5][bit])
			}
		}
	}
	if vals[0] != unused && vals[0] > 100 {
		return bad(ErrValue, "SaO2 %d is over 100", vals[0])
	}
	sys, dia := vals[2], vals[4]
	if (sys == unused) != (dia == unused) {
		return bad(ErrLine, "systolic and diastolic must both be given or both be --")
	}
	if sys != unused && sys <= dia {
		return bad(ErrValue, "systolic %d is not above diastolic %d", sys, dia)
	}
	if sys != unused && vals[8] == unused {
		return bad(ErrLine, "a blood pressure without the minutes since it was measured")
	}
	type field struct {
		kind vitals.Kind
		i    int
		unit string
	}
	var take []field
	if vals[5] == 0 && vals[6] == 0 {
		take = append(take, field{vitals.SpO2, 0, "%"}, field{vitals.HeartRate, 1, "/min"})
	}
	if vals[7] == 0 {
		take = append(take, field{vitals.Systolic, 2, "mm[Hg]"}, field{vitals.MeanBP, 3, "mm[Hg]"}, field{vitals.Diastolic, 4, "mm[Hg]"})
	}
	for _, t := range take {
		if vals[t.i] == unused {
			continue
		}
		r, err := vitals.New(t.kind, strings.TrimSpace(f[t.i]), t.unit)
		if err != nil {
			return bad(ErrValue, "%s: %v", names[t.i], err)
		}
		l.Readings = append(l.Readings, r)
	}
	if sys != unused && vals[7] == 0 {
		l.Age = time.Duration(vals[8]) * time.Minute
	}
	l.Status = StatusNoData
	if len(l.Readings) > 0 {
		l.Status = StatusReading
	}
	return l, nil
}
