package vitals

import (
	"errors"
	"testing"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name        string
		kind        Kind
		value, unit string
		want        float64
		wantUnit    string
		implausible bool
		wantErr     error
	}{
		{"systolic", Systolic, "120", "mm[Hg]", 120, "mm[Hg]", false, nil},
		{"systolic in kPa", Systolic, "16", "kPa", 120.01, "mm[Hg]", false, nil},
		{"oral temperature in °F", BodyTemp, "98.6", "[degF]", 37, "Cel", false, nil},
		{"weight in lb", BodyWeight, "154.3", "[lb_av]", 69.99, "kg", false, nil},
		{"weight in g", BodyWeight, "70500", "g", 70.5, "kg", false, nil},
		{"glucose in mg/dL", GlucoseCap, "90", "mg/dL", 5, "mmol/L", false, nil},
		{"height in inches", BodyHeight, "70", "[in_i]", 177.8, "cm", false, nil},
		{"spo2 kept with sign", SpO2, "+097", "%", 97, "%", false, nil},
		{"implausible kept", BodyTemp, "98.6", "Cel", 98.6, "Cel", true, nil},
		{"weight in °F", BodyWeight, "70", "[degF]", 0, "", false, ErrUnit},
		{"mg/dL only for glucose", Systolic, "90", "mg/dL", 0, "", false, ErrUnit},
		{"unknown unit", HeartRate, "72", "beats", 0, "", false, ErrUnit},
		{"exponent", HeartRate, "7e1", "/min", 0, "", false, ErrValue},
		{"NaN", HeartRate, "NaN", "/min", 0, "", false, ErrValue},
		{"two points", HeartRate, "7.2.1", "/min", 0, "", false, ErrValue},
		{"sign only", HeartRate, "-", "/min", 0, "", false, ErrValue},
		{"empty", HeartRate, " ", "/min", 0, "", false, ErrValue},
		{"panel has no value", BPPanel, "1", "", 0, "", false, ErrNotMeasurement},
		{"unknown kind", Kind("x"), "1", "", 0, "", false, ErrUnmapped},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(tc.kind, tc.value, tc.unit)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("New(%q, %q, %q) error = %v, want %v", tc.kind, tc.value, tc.unit, err, tc.wantErr)
			}
			if err != nil {
				if MessageZh(err) == "" {
					t.Errorf("no Chinese message for %v", err)
				}
				return
			}
			if r.Value != tc.want || r.Unit != tc.wantUnit || r.Implausible != tc.implausible {
				t.Errorf("New(%q, %q, %q) = %v %s implausible=%v, want %v %s %v", tc.kind, tc.value, tc.unit, r.Value, r.Unit, r.Implausible, tc.want, tc.wantUnit, tc.implausible)
			}
			if r.RawValue != tc.value || r.RawUnit != tc.unit {
				t.Errorf("raw = %q %q, want what was received", r.RawValue, r.RawUnit)
			}
			if c, _ := Lookup(tc.kind); r.LOINC != c.LOINC || r.LOINC == "" {
				t.Errorf("LOINC = %q", r.LOINC)
			}
		})
	}
}

// TestMDCTable checks the codes the PCD-01 test files use and that every
// mapped code and unit is in the partition it belongs to.
func TestMDCTable(t *testing.T) {
	for code, want := range map[int]Kind{150020: BPPanel, 150021: Systolic, 150022: Diastolic, 150023: MeanBP,
		150456: SpO2, 149530: HeartRate, 150364: BodyTemp, 188424: BodyTemp} {
		if k, ok := ByMDC(code); !ok || k != want {
			t.Errorf("ByMDC(%d) = %q, %v, want %q", code, k, ok, want)
		}
	}
	for code, want := range map[int]string{266016: "mm[Hg]", 262688: "%", 266560: "[degF]", 262656: "1"} {
		if u, ok := UnitByMDC(code); !ok || u != want {
			t.Errorf("UnitByMDC(%d) = %q, %v, want %q", code, u, ok, want)
		}
	}
	if _, ok := ByMDC(150452); ok {
		t.Error("the pleth wave (150452) is not a vital sign and must stay unmapped")
	}
	for code, k := range mdcKinds {
		if code>>16 != 2 {
			t.Errorf("MDC code %d for %s is not in partition 2 (SCADA)", code, k)
		}
		if _, ok := Lookup(k); !ok {
			t.Errorf("MDC code %d maps to unknown kind %q", code, k)
		}
	}
	for code, u := range mdcUnits {
		if code>>16 != 4 {
			t.Errorf("MDC unit %d (%s) is not in partition 4 (DIM)", code, u)
		}
		if got, ok := UCUM(u); !ok || got != u {
			t.Errorf("UCUM(%q) = %q, %v: every mapped unit must be its own spelling", u, got, ok)
		}
	}
	for _, k := range Kinds() {
		c, _ := Lookup(k)
		if got, ok := ByLOINC(c.LOINC); !ok || got != k {
			t.Errorf("ByLOINC(%q) = %q, %v, want %q", c.LOINC, got, ok, k)
		}
		if c.NameEn == "" || c.NameZh == "" {
			t.Errorf("%s lacks a name", k)
		}
		if c.Unit != "" && c.Min >= c.Max {
			t.Errorf("%s has no plausible range", k)
		}
	}
	if k, ok := ByLOINC("2708-6"); !ok || k != SpO2 {
		t.Errorf("ByLOINC(2708-6) = %q, %v", k, ok)
	}
}

func TestUCUM(t *testing.T) {
	for in, want := range map[string]string{"mmHg": "mm[Hg]", "°F": "[degF]", " lbs ": "[lb_av]", "bpm": "/min", "kg": "kg", "mg/dl": "mg/dL"} {
		if got, ok := UCUM(in); !ok || got != want {
			t.Errorf("UCUM(%q) = %q, %v, want %q", in, got, ok, want)
		}
	}
	if _, ok := UCUM("stone"); ok {
		t.Error("UCUM(stone) should be unknown")
	}
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"120", "+0070.5", "-1.5", "98.6", ".5", "5.", "1e3", "NaN", "Inf", "0x10", "1_000", "", "--", "١٢٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseDecimal(s)
		if err != nil {
			if !errors.Is(err, ErrValue) {
				t.Fatalf("ParseDecimal(%q): %v does not wrap ErrValue", s, err)
			}
			return
		}
		if v != v || v > 1e32 || v < -1e32 {
			t.Fatalf("ParseDecimal(%q) = %v", s, v)
		}
	})
}
