package vitals

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Kind names one vital sign. Its string form is stable and may be stored.
type Kind string

// The kinds a device reading can be mapped to.
const (
	BPPanel     Kind = "bp-panel" // groups systolic, diastolic and mean; no value of its own
	Systolic    Kind = "bp-systolic"
	Diastolic   Kind = "bp-diastolic"
	MeanBP      Kind = "bp-mean"
	HeartRate   Kind = "heart-rate"
	SpO2        Kind = "spo2"
	BodyTemp    Kind = "body-temperature"
	BodyWeight  Kind = "body-weight"
	BodyHeight  Kind = "body-height"
	BMI         Kind = "bmi"
	RespRate    Kind = "respiratory-rate"
	GlucoseCap  Kind = "glucose-capillary"
	unknownKind Kind = ""
)

// Concept is what a Kind means: its LOINC code and names, the UCUM unit its
// values are kept in, and the range outside which a value is flagged.
type Concept struct {
	Kind      Kind
	LOINC     string
	AlsoLOINC []string // further codes a FHIR Vital Signs profile asks for
	NameEn    string
	NameZh    string
	Unit      string // UCUM; "" for a grouping
	Min, Max  float64
}

var concepts = map[Kind]Concept{
	BPPanel:    {BPPanel, "85354-9", nil, "Blood pressure panel", "血压", "", 0, 0},
	Systolic:   {Systolic, "8480-6", nil, "Systolic blood pressure", "收缩压", "mm[Hg]", 40, 300},
	Diastolic:  {Diastolic, "8462-4", nil, "Diastolic blood pressure", "舒张压", "mm[Hg]", 20, 200},
	MeanBP:     {MeanBP, "8478-0", nil, "Mean blood pressure", "平均动脉压", "mm[Hg]", 25, 250},
	HeartRate:  {HeartRate, "8867-4", nil, "Heart rate", "心率", "/min", 20, 300},
	SpO2:       {SpO2, "59408-5", []string{"2708-6"}, "Oxygen saturation by pulse oximetry", "血氧饱和度", "%", 50, 100},
	BodyTemp:   {BodyTemp, "8310-5", nil, "Body temperature", "体温", "Cel", 25, 45},
	BodyWeight: {BodyWeight, "29463-7", nil, "Body weight", "体重", "kg", 0.3, 350},
	BodyHeight: {BodyHeight, "8302-2", nil, "Body height", "身高", "cm", 30, 250},
	BMI:        {BMI, "39156-5", nil, "Body mass index", "体重指数", "kg/m2", 8, 100},
	RespRate:   {RespRate, "9279-1", nil, "Respiratory rate", "呼吸频率", "/min", 3, 80},
	GlucoseCap: {GlucoseCap, "14743-9", nil, "Glucose in capillary blood by glucometer", "毛细血管血糖", "mmol/L", 0.5, 40},
}

// Lookup returns what k means.
func Lookup(k Kind) (Concept, bool) {
	c, ok := concepts[k]
	return c, ok
}

// Kinds returns every kind, in a fixed order.
func Kinds() []Kind {
	return []Kind{BPPanel, Systolic, Diastolic, MeanBP, HeartRate, SpO2, BodyTemp, BodyWeight, BodyHeight, BMI, RespRate, GlucoseCap}
}

// mdcKinds maps MDC observation codes (partition 2, SCADA) to kinds.
var mdcKinds = map[int]Kind{
	150020: BPPanel,    // MDC_PRESS_BLD_NONINV
	150021: Systolic,   // MDC_PRESS_BLD_NONINV_SYS
	150022: Diastolic,  // MDC_PRESS_BLD_NONINV_DIA
	150023: MeanBP,     // MDC_PRESS_BLD_NONINV_MEAN
	149530: HeartRate,  // MDC_PULS_OXIM_PULS_RATE
	149546: HeartRate,  // MDC_PULS_RATE_NON_INV
	147842: HeartRate,  // MDC_ECG_HEART_RATE
	150456: SpO2,       // MDC_PULS_OXIM_SAT_O2
	150364: BodyTemp,   // MDC_TEMP_BODY
	188424: BodyTemp,   // MDC_TEMP_ORAL
	188736: BodyWeight, // MDC_MASS_BODY_ACTUAL
	188740: BodyHeight, // MDC_LEN_BODY_ACTUAL
	188752: BMI,        // MDC_RATIO_MASS_BODY_LEN_SQ
	151562: RespRate,   // MDC_RESP_RATE
	160184: GlucoseCap, // MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD
}

// mdcUnits maps MDC unit codes (partition 4, DIM) to UCUM.
var mdcUnits = map[int]string{
	262656: "1",       // MDC_DIM_DIMLESS
	262688: "%",       // MDC_DIM_PERCENT
	263441: "cm",      // MDC_DIM_CENTI_M
	263520: "[in_i]",  // MDC_DIM_INCH
	263872: "g",       // MDC_DIM_X_G
	263875: "kg",      // MDC_DIM_KILO_G
	263904: "[lb_av]", // MDC_DIM_LB
	264096: "kg/m2",   // MDC_DIM_KG_PER_M_SQ
	264274: "mg/dL",   // MDC_DIM_MILLI_G_PER_DL
	264864: "/min",    // MDC_DIM_BEAT_PER_MIN
	264928: "/min",    // MDC_DIM_RESP_PER_MIN
	265987: "kPa",     // MDC_DIM_KILO_PASCAL
	266016: "mm[Hg]",  // MDC_DIM_MMHG
	266560: "[degF]",  // MDC_DIM_FAHR
	266866: "mmol/L",  // MDC_DIM_MILLI_MOLE_PER_L
	268192: "Cel",     // MDC_DIM_DEGC
}

// ByMDC returns the kind an MDC observation code (such as 150021) stands for.
func ByMDC(code int) (Kind, bool) {
	k, ok := mdcKinds[code]
	return k, ok
}

// UnitByMDC returns the UCUM unit for an MDC unit code (such as 266016).
func UnitByMDC(code int) (string, bool) {
	u, ok := mdcUnits[code]
	return u, ok
}

// ByLOINC returns the kind whose LOINC code (or one of its AlsoLOINC) is code.
func ByLOINC(code string) (Kind, bool) {
	for _, k := range Kinds() {
		c := concepts[k]
		if c.LOINC == code {
			return k, true
		}
		for _, a := range c.AlsoLOINC {
			if a == code {
				return k, true
			}
		}
	}
	return unknownKind, false
}

// unitSpellings maps the ways devices and people write units to UCUM.
var unitSpellings = map[string]string{
	"mm[Hg]": "mm[Hg]", "mmHg": "mm[Hg]", "mm Hg": "mm[Hg]", "mmhg": "mm[Hg]",
	"kPa": "kPa", "kpa": "kPa",
	"%":    "%",
	"/min": "/min", "{beat}/min": "/min", "bpm": "/min", "beats/min": "/min", "{breath}/min": "/min", "min-1": "/min",
	"Cel": "Cel", "°C": "Cel", "degC": "Cel", "C": "Cel", "℃": "Cel",
	"[degF]": "[degF]", "°F": "[degF]", "degF": "[degF]", "F": "[degF]", "℉": "[degF]",
	"kg": "kg", "g": "g", "[lb_av]": "[lb_av]", "lb": "[lb_av]", "lbs": "[lb_av]",
	"cm": "cm", "[in_i]": "[in_i]", "in": "[in_i]",
	"kg/m2": "kg/m2", "kg/m²": "kg/m2",
	"mmol/L": "mmol/L", "mmol/l": "mmol/L", "mg/dL": "mg/dL", "mg/dl": "mg/dL",
	"1": "1",
}

// UCUM returns the UCUM code for a unit as a device or person writes it
// ("mmHg", "°F", "lbs", "bpm"), or false when it is not one the table knows.
func UCUM(unit string) (string, bool) {
	u, ok := unitSpellings[strings.TrimSpace(unit)]
	return u, ok
}

// glucoseMgPerMmol is the molar mass of glucose (180.156 g/mol) in mg/dL per
// mmol/L.
const glucoseMgPerMmol = 18.0156

// convert turns v in unit from into unit to, for kind k.
func convert(k Kind, v float64, from, to string) (float64, bool) {
	if from == to {
		return v, true
	}
	switch {
	case from == "[degF]" && to == "Cel":
		return (v - 32) * 5 / 9, true
	case from == "[lb_av]" && to == "kg":
		return v * 0.45359237, true
	case from == "g" && to == "kg":
		return v / 1000, true
	case from == "kPa" && to == "mm[Hg]":
		return v * 1000 / 133.322387415, true
	case from == "[in_i]" && to == "cm":
		return v * 2.54, true
	case from == "mg/dL" && to == "mmol/L" && k == GlucoseCap:
		return v / glucoseMgPerMmol, true
	}
	return 0, false
}

// Reading is one measured vital sign, normalised, with what the device sent.
type Reading struct {
	Kind        Kind
	LOINC       string
	Value       float64 // in Unit
	Unit        string  // UCUM, the kind's unit
	RawValue    string  // the value exactly as received
	RawUnit     string  // the unit exactly as received
	Implausible bool    // outside the kind's plausible range; kept, not dropped
}

// New makes a Reading of kind k from a value and a UCUM unit (use UCUM or
// UnitByMDC to get one). The value must be a plain decimal number; it is
// converted to the kind's unit when the units differ. RawValue is value and
// RawUnit is unit; callers that received the unit in another form (an MDC
// code, say) overwrite RawUnit with it.
func New(k Kind, value, unit string) (Reading, error) {
	c, ok := concepts[k]
	if !ok {
		return Reading{}, fmt.Errorf("reading of kind %q: %w", k, ErrUnmapped)
	}
	if c.Unit == "" {
		return Reading{}, fmt.Errorf("%s: %w", c.NameEn, ErrNotMeasurement)
	}
	v, err := ParseDecimal(value)
	if err != nil {
		return Reading{}, fmt.Errorf("%s: %w", c.NameEn, err)
	}
	n, ok := convert(k, v, unit, c.Unit)
	if !ok {
		return Reading{}, fmt.Errorf("%s in %q: %w (want %s)", c.NameEn, unit, ErrUnit, c.Unit)
	}
	if unit != c.Unit {
		n = math.Round(n*100) / 100
	}
	return Reading{
		Kind:        k,
		LOINC:       c.LOINC,
		Value:       n,
		Unit:        c.Unit,
		RawValue:    value,
		RawUnit:     unit,
		Implausible: n < c.Min || n > c.Max,
	}, nil
}

// maxDecimalLen bounds what ParseDecimal reads; no device sends longer.
const maxDecimalLen = 32

// ParseDecimal reads a plain decimal number as HL7's NM type and the line
// formats write it: optional spaces, an optional sign, digits with at most
// one decimal point and at least one digit. Anything else, including
// exponents, "Inf" and "NaN", wraps ErrValue.
func ParseDecimal(s string) (float64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("empty value: %w", ErrValue)
	}
	if len(t) > maxDecimalLen {
		return 0, fmt.Errorf("value of %d characters: %w", len(t), ErrValue)
	}
	digits, dots := 0, 0
	for i := 0; i < len(t); i++ {
		switch b := t[i]; {
		case b >= '0' && b <= '9':
			digits++
		case b == '.':
			dots++
		case (b == '+' || b == '-') && i == 0:
		default:
			return 0, fmt.Errorf("value %q: %w", t, ErrValue)
		}
	}
	if digits == 0 || dots > 1 {
		return 0, fmt.Errorf("value %q: %w", t, ErrValue)
	}
	v, err := strconv.ParseFloat(strings.TrimPrefix(t, "+"), 64)
	if err != nil {
		return 0, fmt.Errorf("value %q: %w", t, ErrValue)
	}
	return v, nil
}
