package devices

import (
	"os"
	"strings"
	"testing"
	"time"

	"carenode/devices/hl7"
	"carenode/devices/lineformat"
	"carenode/devices/vitals"
)

func parseSample(t *testing.T, name string) *hl7.Message {
	t.Helper()
	b, err := os.ReadFile("hl7/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	m, err := hl7.Parse([]byte(strings.ReplaceAll(string(b), "\n", "\r")))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBatchFromHL7(t *testing.T) {
	m := parseSample(t, "valid-bp-continua-wan.hl7v2")
	b := BatchFromHL7(m, "")
	if b.DeviceID != "0123456789ABCDEF^EUI-64" || b.ControlID != "MSGID1234" || b.Format != "hl7" || b.HL7 != m {
		t.Errorf("batch %s %s %s", b.DeviceID, b.ControlID, b.Format)
	}
	// The device clock row (MDC_ATTR_TIME_ABS) wins over MSH-7.
	if b.DeviceClock != "20091028123702" || b.DeviceTimeZoned || !b.DeviceTime.Equal(time.Date(2009, 10, 28, 12, 37, 2, 0, time.UTC)) {
		t.Errorf("device time %q %v %v", b.DeviceClock, b.DeviceTime, b.DeviceTimeZoned)
	}
	var kinds []vitals.Kind
	for _, o := range b.Observations {
		kinds = append(kinds, o.Kind)
		if o.Status != "R" || o.Time.IsZero() || !strings.HasPrefix(o.Ref, "OBR 1 OBX ") {
			t.Errorf("observation %+v", o)
		}
	}
	if want := []vitals.Kind{vitals.Systolic, vitals.Diastolic, vitals.MeanBP}; strings.Join(kindStrings(kinds), ",") != strings.Join(kindStrings(want), ",") {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
	if len(b.Unmapped) != 2 {
		t.Errorf("unmapped %q", b.Unmapped)
	}
	if got := BatchFromHL7(m, "bp-desk-2").DeviceID; got != "bp-desk-2" {
		t.Errorf("configured device id: %q", got)
	}
}

func kindStrings(ks []vitals.Kind) []string {
	var s []string
	for _, k := range ks {
		s = append(s, string(k))
	}
	return s
}

func TestBatchFromLine(t *testing.T) {
	l, err := lineformat.ParseNonin([]byte("10:15:02 SPO2=097 HR=072\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 10, 15, 3, 0, time.UTC)
	b := BatchFromLine(l, "oxi-1", now)
	if b.DeviceID != "oxi-1" || b.Format != "nonin" || string(b.Raw) != "10:15:02 SPO2=097 HR=072" || b.DeviceClock != "10:15:02" ||
		!b.Received.Equal(now) || len(b.Observations) != 2 || !b.Observations[0].Time.IsZero() {
		t.Errorf("batch %+v", b)
	}
}
