package hl7

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"carenode/devices/vitals"
)

// lineEnds are the segment terminators a parser must take: what a device
// on a wire sends, what the shared test data holds, and what upstream has.
var lineEnds = map[string]string{"CR": "\r", "LF": "\n", "CRLF": "\r\n"}

// withLineEnds returns the file's message with its LF line ends replaced.
func withLineEnds(t *testing.T, name, end string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("\r")) {
		t.Fatalf("%s: expected LF line ends as stored in the shared test data", name)
	}
	return bytes.ReplaceAll(b, []byte("\n"), []byte(end))
}

// row summarises an observation: set id, type, code, status, value, units,
// where its time came from, and the time.
func row(o Observation) string {
	return fmt.Sprintf("%s %s %s:%s %s %q %s %s %s", o.SetID, o.ValueType, o.Code.System, o.Code.ID, o.Status,
		o.Value.Text, o.Units.ID, o.TimeFrom, o.Time)
}

type wantReading struct {
	setID string
	kind  vitals.Kind
	loinc string
	value float64
	unit  string
	raw   string
}

func TestSamples(t *testing.T) {
	tests := []struct {
		file     string
		rows     []string
		readings []wantReading
		devices  []EntityID
		check    func(t *testing.T, m *Message)
	}{
		{
			file: "valid-bp-continua-wan.hl7v2",
			// OBX 1 has its "R" in OBX-10, one field early, as upstream
			// wrote it: OBX-11 is empty and read as such.
			rows: []string{
				`1 CWE MDC:68220  "532224"  OBR-7 20090813095715+0000`,
				`2  MDC:528391 X ""  OBR-7 20090813095715+0000`,
				`3  MDC:150020 X ""  OBX-14 20090813095715+0000`,
				`4 NM MDC:150021 R "120" 266016 OBR-7 20090813095715+0000`,
				`5 NM MDC:150022 R "80" 266016 OBR-7 20090813095715+0000`,
				`6 NM MDC:150023 R "100" 266016 OBR-7 20090813095715+0000`,
				`7 DTM MDC:67975 R "20091028123702"  OBX-14 20091028173702+0000`,
			},
			readings: []wantReading{
				{"4", vitals.Systolic, "8480-6", 120, "mm[Hg]", "120"},
				{"5", vitals.Diastolic, "8462-4", 80, "mm[Hg]", "80"},
				{"6", vitals.MeanBP, "8478-0", 100, "mm[Hg]", "100"},
			},
			devices: []EntityID{{ID: "0123456789ABCDEF", Namespace: "EUI-64"}},
			check: func(t *testing.T, m *Message) {
				dev, ref, ok := m.DeviceClock()
				if !ok || dev.Zoned || dev.String() != "20091028123702" || ref.String() != "20091028173702+0000" {
					t.Errorf("DeviceClock = %v, %v, %v", dev, ref, ok)
				}
				if k, _ := m.Orders[0].Observations[2].kind(); k != vitals.BPPanel {
					t.Errorf("OBX 3 (150020) maps to %q, want the blood-pressure panel", k)
				}
				if _, err := m.Orders[0].Observations[2].Reading(); !errors.Is(err, ErrValue) {
					t.Errorf("structure-only row gave a reading: %v", err)
				}
			},
		},
		{
			file: "valid-oximeter-continua-wan.hl7v2",
			rows: []string{
				`1  MDC:528388 X ""  OBX-14 20090715070707+0000`,
				`2 NM MDC:150456 R "80.5" 262688 OBX-14 20090715070707+0000`,
				`3 NA MDC:150452 R "12 123 24 12 234 55 66 77 88 99" 262656 OBX-14 20090715070707+0000`,
			},
			readings: []wantReading{{"2", vitals.SpO2, "59408-5", 80.5, "%", "80.5"}},
			devices:  []EntityID{{ID: "0123456789ABCDEF", Namespace: "EUI-64"}},
			check: func(t *testing.T, m *Message) {
				pleth := m.Orders[0].Observations[2]
				if len(pleth.Value.Array) != 10 || pleth.Value.Array[4] != "234" {
					t.Errorf("pleth array = %q", pleth.Value.Array)
				}
				if _, err := pleth.Reading(); !errors.Is(err, vitals.ErrUnmapped) {
					t.Errorf("pleth wave Reading() error = %v, want ErrUnmapped", err)
				}
				if _, _, ok := m.DeviceClock(); ok {
					t.Error("no MDC_ATTR_TIME_ABS row, but DeviceClock found one")
				}
			},
		},
		{
			file: "valid-thermometer-continua-wan.hl7v2",
			rows: []string{
				`1  MDC:528392 X ""  OBR-7 20090813095715+0000`,
				`2 NM MDC:188424 R "98.6" 266560 OBX-14 20090715070707+0000`,
			},
			// 98.6 °F is 37 °C: labelled Cel only after conversion.
			readings: []wantReading{{"2", vitals.BodyTemp, "8310-5", 37, "Cel", "98.6"}},
			devices:  []EntityID{{ID: "0123456789ABCDEF", Namespace: "EUI-64"}},
		},
	}
	for _, tc := range tests {
		for endName, end := range lineEnds {
			t.Run(tc.file+"/"+endName, func(t *testing.T) {
				m, err := Parse(withLineEnds(t, tc.file, end))
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if m.ControlID != "MSGID1234" {
					t.Errorf("ControlID = %q", m.ControlID)
				}
				if want := (HD{"AcmeInc", "ACDE48234567ABCD", "EUI-64"}); m.SendingApplication != want {
					t.Errorf("SendingApplication = %+v, want %+v", m.SendingApplication, want)
				}
				if m.Time.String() != "20090713090030+0000" || m.Type != (MessageType{"ORU", "R01", "ORU_R01"}) || m.Version != "2.6" {
					t.Errorf("header = %+v", m.Header)
				}
				if m.Encoding != (Encoding{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&'}) {
					t.Errorf("Encoding = %+v", m.Encoding)
				}
				wantPatients := []Patient{{IDs: []PatientID{{"789567", "Imaginary Hospital", "PI"}}}}
				if fmt.Sprint(m.Patients) != fmt.Sprint(wantPatients) {
					t.Errorf("Patients = %+v, want %+v", m.Patients, wantPatients)
				}
				if len(m.Orders) != 1 || m.Orders[0].Patient != 0 || m.Orders[0].Service.ID != "182777000" {
					t.Fatalf("Orders = %+v", m.Orders)
				}
				if fmt.Sprint(m.Devices) != fmt.Sprint(tc.devices) {
					t.Errorf("Devices = %+v, want %+v", m.Devices, tc.devices)
				}
				var got []string
				for _, o := range m.Observations() {
					got = append(got, row(o))
					if !bytes.HasPrefix(o.Raw, []byte("OBX|"+o.SetID+"|")) || bytes.ContainsAny(o.Raw, "\r\n") {
						t.Errorf("OBX %s raw = %q", o.SetID, o.Raw)
					}
					if o.StructureOnly() != (o.ValueType == "") {
						t.Errorf("OBX %s StructureOnly wrong", o.SetID)
					}
				}
				if strings.Join(got, "\n") != strings.Join(tc.rows, "\n") {
					t.Errorf("observations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.rows, "\n"))
				}
				var readings []wantReading
				for _, o := range m.Observations() {
					r, err := o.Reading()
					if err != nil {
						continue
					}
					if r.RawUnit != o.RawUnits || r.RawUnit == "" {
						t.Errorf("OBX %s RawUnit = %q, want OBX-6 as written", o.SetID, r.RawUnit)
					}
					readings = append(readings, wantReading{o.SetID, r.Kind, r.LOINC, r.Value, r.Unit, r.RawValue})
				}
				if fmt.Sprint(readings) != fmt.Sprint(tc.readings) {
					t.Errorf("readings = %+v\nwant %+v", readings, tc.readings)
				}
				if tc.check != nil {
					tc.check(t, m)
				}
			})
		}
	}
}

// TestSamplesOverMLLP sends the three messages, with CR line ends as a
// device would, through the MLLP writer and reader with garbage between
// frames, and answers each with an ACK that echoes its control id.
func TestSamplesOverMLLP(t *testing.T) {
	var stream bytes.Buffer
	w := NewWriter(&stream)
	files := []string{"valid-bp-continua-wan.hl7v2", "valid-oximeter-continua-wan.hl7v2", "valid-thermometer-continua-wan.hl7v2"}
	for _, f := range files {
		stream.WriteString("\x00noise\r\n")
		if err := w.WriteFrame(withLineEnds(t, f, "\r")); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(&stream, 0)
	for _, f := range files {
		frame, err := r.ReadFrame()
		if err != nil {
			t.Fatalf("%s: ReadFrame: %v", f, err)
		}
		m, err := Parse(frame)
		if err != nil {
			t.Fatalf("%s: Parse: %v", f, err)
		}
		ack, err := BuildACK(&m.Header, Ack{Code: AA, ControlID: "ACK-" + f})
		if err != nil {
			t.Fatal(err)
		}
		res, err := ParseACK(ack)
		if err != nil || res.Code != AA || res.ControlID != "MSGID1234" {
			t.Errorf("%s: ACK %q read back as %+v, %v", f, ack, res, err)
		}
	}
	if r.Discarded() != 3*int64(len("\x00noise\r\n")) {
		t.Errorf("Discarded = %d", r.Discarded())
	}
}
