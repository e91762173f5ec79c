package lineformat

import (
	"bytes"
	"errors"
	"io"
	"math"
	"testing"

	"carenode/devices/vitals"
)

// FuzzParse feeds one arbitrary line to every format. None may panic; a
// refusal is one of this package's errors with no readings; an accepted
// line's status matches its readings, and each reading has its kind's LOINC
// code and unit and a finite value.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"SPO2=097 HR=072", "SPO2=--- HR=---", "10:15:02 SPO2=098 HR=064 B", "SPO2=095 HR=101*",
		"ST,GS,+0070.5kg", "US,GS,+0070.3kg", "OL,GS,+9999.9kg", "ST,+70500.0  g", "ST,NT,-0000.2kg", "QT,+00012345PC",
		"P:097, 72,120, 93, 80,000,000,000,  5", "P:--,85,120, 45, 80,000,010,000, 5", "L:100, 85", ">", "", "\x00\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		for _, format := range Formats() {
			l, err := format.Parse(line)
			if err != nil {
				if !errors.Is(err, ErrLine) && !errors.Is(err, ErrValue) && !errors.Is(err, ErrUnit) {
					t.Fatalf("%s(%q): unexpected error %v", format.Name, line, err)
				}
				if len(l.Readings) != 0 || MessageZh(err) == "" {
					t.Fatalf("%s(%q): error %v with readings %+v", format.Name, line, err, l.Readings)
				}
				continue
			}
			if !bytes.Equal(l.Raw, bytes.TrimRight(line, " \t\r\n")) {
				t.Fatalf("%s(%q): Raw = %q", format.Name, line, l.Raw)
			}
			if (l.Status == StatusReading) != (len(l.Readings) > 0) {
				t.Fatalf("%s(%q): status %s with %d readings", format.Name, line, l.Status, len(l.Readings))
			}
			for _, r := range l.Readings {
				c, ok := vitals.Lookup(r.Kind)
				if !ok || r.LOINC != c.LOINC || r.Unit != c.Unit || r.RawValue == "" || math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
					t.Fatalf("%s(%q): bad reading %+v", format.Name, line, r)
				}
				if r.Kind == vitals.SpO2 && r.Value > 100 {
					t.Fatalf("%s(%q): SpO2 %v", format.Name, line, r.Value)
				}
			}
		}
	})
}

// FuzzReader feeds an arbitrary stream to a Reader of each format, which
// must reach the end of it.
func FuzzReader(f *testing.F) {
	f.Add([]byte("Nonin\r\nSPO2=097 HR=072\r\nST,GS,+0070.5kg\r\nP:--,85,120, 45, 80,000,010,000, 5\r\nSPO2=09"))
	f.Add(bytes.Repeat([]byte("x"), 600))
	f.Fuzz(func(t *testing.T, stream []byte) {
		for _, format := range Formats() {
			r := NewReader(bytes.NewReader(stream), format, 64)
			for i := 0; ; i++ {
				if i > len(stream)+1 {
					t.Fatalf("%s: reader does not progress", format.Name)
				}
				l, err := r.Next()
				if err == io.EOF {
					break
				}
				if errors.Is(err, io.ErrUnexpectedEOF) {
					if _, err := r.Next(); err != io.EOF {
						t.Fatalf("%s: after a cut-off line: %v", format.Name, err)
					}
					break
				}
				if len(l.Raw) > 64 {
					t.Fatalf("%s: line of %d bytes past the limit", format.Name, len(l.Raw))
				}
			}
		}
	})
}
