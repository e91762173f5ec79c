package hl7

import (
	"fmt"
	"strconv"
	"strings"

	"carenode/devices/vitals"
)

// HD is an HL7 hierarchic designator (MSH-3, MSH-4): an application or
// facility, with a universal id such as a device's EUI-64.
type HD struct {
	Namespace, UniversalID, UniversalIDType string
}

// String writes h with ^ between its parts, for logs.
func (h HD) String() string { return joinTrim(h.Namespace, h.UniversalID, h.UniversalIDType) }

// EntityID is an HL7 EI: an identifier with its assigner, as in OBX-18
// (equipment instance, "0123456789ABCDEF^EUI-64") and OBR-2/OBR-3.
type EntityID struct {
	ID, Namespace, UniversalID, UniversalIDType string
}

// String writes e with ^ between its parts, for logs.
func (e EntityID) String() string {
	return joinTrim(e.ID, e.Namespace, e.UniversalID, e.UniversalIDType)
}

// PatientID is one repetition of PID-3: the identifier, who assigned it
// (CX-4, first part) and its type code (CX-5, such as PI or MR).
type PatientID struct {
	ID, AssigningAuthority, TypeCode string
}

// Coded is an HL7 CWE or CE: a code in a coding system with its text, and
// an optional alternate coding.
type Coded struct {
	ID, Text, System          string
	AltID, AltText, AltSystem string
}

// MessageType is MSH-9: ORU^R01^ORU_R01.
type MessageType struct {
	Code, Event, Structure string
}

// Header is what MSH says about a message and its sender: all an ACK needs.
type Header struct {
	Encoding             Encoding
	SendingApplication   HD // MSH-3
	SendingFacility      HD // MSH-4
	ReceivingApplication HD // MSH-5
	ReceivingFacility    HD // MSH-6
	Time                 Time
	Type                 MessageType
	ControlID            string // MSH-10, echoed in the ACK's MSA-2
	ProcessingID         string // MSH-11
	Version              string // MSH-12
}

// Patient is one PID segment, reduced to its identifiers (PID-3).
type Patient struct {
	IDs []PatientID
}

// Order is one OBR segment and the OBX rows that follow it.
type Order struct {
	SetID        string   // OBR-1
	PlacerOrder  EntityID // OBR-2
	FillerOrder  EntityID // OBR-3
	Service      Coded    // OBR-4
	Time         Time     // OBR-7
	Patient      int      // index into Message.Patients; -1 when no PID came before
	Observations []Observation
	Raw          []byte
}

// Status is an observation result status, OBX-11 (HL7 table 0085).
type Status string

// The result statuses a device sends. A correction replaces an earlier
// result; a deletion retracts it.
const (
	StatusPreliminary Status = "P"
	StatusResult      Status = "R" // results entered, not verified
	StatusFinal       Status = "F"
	StatusCorrected   Status = "C"
	StatusDeleted     Status = "D"
	StatusNotObtained Status = "X" // no result; used on structure-only rows
	StatusNone        Status = ""  // OBX-11 left empty
)

// knownStatus holds table 0085.
var knownStatus = map[Status]bool{"C": true, "D": true, "F": true, "I": true, "N": true, "O": true,
	"P": true, "R": true, "S": true, "U": true, "W": true, "X": true, "": true}

// TimeSource says which field an observation's time came from.
type TimeSource string

// Where an observation time can come from, in order of preference.
const (
	FromOBX14 TimeSource = "OBX-14"
	FromOBR7  TimeSource = "OBR-7"
	FromMSH7  TimeSource = "MSH-7"
	FromNone  TimeSource = ""
)

// SN is an HL7 structured numeric: "<^5", "^10^-^20", "^1^:^128".
type SN struct {
	Comparator string // "", ">", "<", ">=", "<=", "=", "<>"
	Num1       string
	Separator  string // "", "-", "+", "/", ".", ":"
	Num2       string
}

// Value is one repetition of OBX-5, read according to OBX-2.
type Value struct {
	Text   string   // the value as received, unescaped (NM: the number as written)
	Number float64  // NM
	SN     SN       // SN
	Coded  Coded    // CWE, CE
	Time   Time     // DTM
	Array  []string // NA: the numbers as written; "" for a missing element
}

// Observation is one OBX row.
type Observation struct {
	SetID          string // OBX-1
	ValueType      string // OBX-2; "" on a structure-only row
	Code           Coded  // OBX-3
	SubID          string // OBX-4, in PCD-01 the containment path such as 1.0.1.2
	Value          Value  // the first repetition of OBX-5
	MoreValues     []Value
	Units          Coded  // OBX-6
	RawUnits       string // OBX-6 as written
	ReferenceRange string // OBX-7
	Status         Status // OBX-11
	Time           Time
	TimeFrom       TimeSource
	Equipment      []EntityID // OBX-18
	Raw            []byte     // the segment's bytes
}

// StructureOnly reports whether the row only groups others (OBX-2 empty).
func (o Observation) StructureOnly() bool { return o.ValueType == "" }

// Message is a parsed ORU^R01.
type Message struct {
	Header
	Patients []Patient
	Orders   []Order
	Devices  []EntityID // every distinct OBX-18 equipment identifier, in order
	Raw      []byte     // a copy of the whole message
}

// Observations returns every OBX row of every order, in order.
func (m *Message) Observations() []Observation {
	var all []Observation
	for _, o := range m.Orders {
		all = append(all, o.Observations...)
	}
	return all
}

// ParseHeader reads only MSH, for a reply to a message that Parse refused.
func ParseHeader(b []byte) (Header, error) {
	b = trimLeadingBlank(b)
	e, err := readEncoding(b)
	if err != nil {
		return Header{}, err
	}
	end := len(b)
	for i, c := range b {
		if c == '\r' || c == '\n' {
			end = i
			break
		}
	}
	segs, err := splitSegments(b[:end], e)
	if err != nil {
		return Header{Encoding: e}, err
	}
	return readHeader(segs[0], e)
}

func trimLeadingBlank(b []byte) []byte {
	for len(b) > 0 && (b[0] == '\r' || b[0] == '\n' || b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

func readHeader(s segment, e Encoding) (Header, error) {
	h := Header{
		Encoding:             e,
		SendingApplication:   readHD(s, e, 3),
		SendingFacility:      readHD(s, e, 4),
		ReceivingApplication: readHD(s, e, 5),
		ReceivingFacility:    readHD(s, e, 6),
		Type:                 MessageType{s.comp(e, 9, 1), s.comp(e, 9, 2), s.comp(e, 9, 3)},
		ControlID:            s.comp(e, 10, 1),
		ProcessingID:         s.comp(e, 11, 1),
		Version:              s.comp(e, 12, 1),
	}
	t, err := ParseTime(strings.TrimSpace(s.comp(e, 7, 1)))
	if err != nil {
		return h, fmt.Errorf("%s: %w", s.where(7), err)
	}
	h.Time = t
	return h, nil
}

func readHD(s segment, e Encoding, n int) HD {
	return HD{trimComp(s, e, n, 1), trimComp(s, e, n, 2), trimComp(s, e, n, 3)}
}

func trimComp(s segment, e Encoding, n, c int) string {
	return strings.TrimSpace(s.comp(e, n, c))
}

func readEI(e Encoding, rep string) EntityID {
	t := func(c int) string { return strings.TrimSpace(leaf(e, rep, c, 1)) }
	return EntityID{t(1), t(2), t(3), t(4)}
}

func readCoded(e Encoding, rep string) Coded {
	t := func(c int) string { return strings.TrimSpace(leaf(e, rep, c, 1)) }
	return Coded{t(1), t(2), t(3), t(4), t(5), t(6)}
}

// Parse reads an ORU^R01 message. On an error after MSH was read, the
// returned Message is not nil and holds the Header (and Raw), so that the
// sender can be answered with an ACK naming the problem.
func Parse(b []byte) (*Message, error) {
	b = trimLeadingBlank(b)
	e, err := readEncoding(b)
	if err != nil {
		return nil, err
	}
	raw := append([]byte(nil), b...)
	segs, err := splitSegments(raw, e)
	if err != nil {
		h, herr := ParseHeader(raw)
		if herr != nil {
			return nil, err
		}
		return &Message{Header: h, Raw: raw}, err
	}
	h, err := readHeader(segs[0], e)
	m := &Message{Header: h, Raw: raw}
	if err != nil {
		return m, err
	}
	if h.ControlID == "" {
		return m, fmt.Errorf("MSH-10 message control id: %w", ErrMissing)
	}
	if h.Type.Code != "ORU" || h.Type.Event != "R01" {
		return m, fmt.Errorf("MSH-9 %q: only ORU^R01 is accepted: %w", truncate(h.Type.Code+"^"+h.Type.Event, 20), ErrUnsupported)
	}
	patient := -1
	seenDevice := map[EntityID]bool{}
	for _, s := range segs[1:] {
		switch s.name {
		case "MSH":
			return m, fmt.Errorf("segment %d: a second MSH (batches are not read): %w", s.pos, ErrSegment)
		case "PID":
			p := Patient{}
			for _, r := range s.reps(e, 3) {
				id := PatientID{strings.TrimSpace(leaf(e, r, 1, 1)), strings.TrimSpace(leaf(e, r, 4, 1)), strings.TrimSpace(leaf(e, r, 5, 1))}
				if id.ID != "" {
					p.IDs = append(p.IDs, id)
				}
			}
			m.Patients = append(m.Patients, p)
			patient = len(m.Patients) - 1
		case "OBR":
			o := Order{
				SetID:   trimComp(s, e, 1, 1),
				Service: readCoded(e, first(s.reps(e, 4))),
				Patient: patient,
				Raw:     s.raw,
			}
			o.PlacerOrder = readEI(e, first(s.reps(e, 2)))
			o.FillerOrder = readEI(e, first(s.reps(e, 3)))
			if o.Time, err = ParseTime(trimComp(s, e, 7, 1)); err != nil {
				return m, fmt.Errorf("%s observation time: %w", s.where(7), err)
			}
			m.Orders = append(m.Orders, o)
		case "OBX":
			if len(m.Orders) == 0 {
				return m, fmt.Errorf("segment %d: OBX before any OBR: %w", s.pos, ErrSegment)
			}
			ord := &m.Orders[len(m.Orders)-1]
			obs, err := readOBX(s, e, ord.Time, h.Time)
			if err != nil {
				return m, err
			}
			for _, d := range obs.Equipment {
				if d.ID != "" && !seenDevice[d] {
					seenDevice[d] = true
					m.Devices = append(m.Devices, d)
				}
			}
			ord.Observations = append(ord.Observations, obs)
		}
	}
	return m, nil
}

func first(reps []string) string {
	if len(reps) == 0 {
		return ""
	}
	return reps[0]
}

func readOBX(s segment, e Encoding, obrTime, mshTime Time) (Observation, error) {
	o := Observation{
		SetID:          trimComp(s, e, 1, 1),
		ValueType:      strings.ToUpper(trimComp(s, e, 2, 1)),
		Code:           readCoded(e, first(s.reps(e, 3))),
		SubID:          trimComp(s, e, 4, 1),
		Units:          readCoded(e, first(s.reps(e, 6))),
		RawUnits:       s.field(6),
		ReferenceRange: s.comp(e, 7, 1),
		Status:         Status(strings.ToUpper(trimComp(s, e, 11, 1))),
		Raw:            s.raw,
	}
	name := fmt.Sprintf("OBX %s", o.SetID)
	if o.SetID == "" {
		name = "OBX"
	}
	if !knownStatus[o.Status] {
		return o, fmt.Errorf("%s %s %q: %w", name, s.where(11), truncate(string(o.Status), 8), ErrStatus)
	}
	for _, r := range s.reps(e, 18) {
		if d := readEI(e, r); d != (EntityID{}) {
			o.Equipment = append(o.Equipment, d)
		}
	}
	t, err := ParseTime(trimComp(s, e, 14, 1))
	if err != nil {
		return o, fmt.Errorf("%s %s observation time: %w", name, s.where(14), err)
	}
	switch {
	case !t.IsZero():
		o.Time, o.TimeFrom = t, FromOBX14
	case !obrTime.IsZero():
		o.Time, o.TimeFrom = obrTime, FromOBR7
	case !mshTime.IsZero():
		o.Time, o.TimeFrom = mshTime, FromMSH7
	}
	reps := s.reps(e, 5)
	if o.ValueType == "" {
		if len(reps) > 0 && strings.TrimSpace(reps[0]) != "" {
			return o, fmt.Errorf("%s %s: a value but no value type in OBX-2: %w", name, s.where(5), ErrMissing)
		}
		return o, nil
	}
	for i, r := range reps {
		v, err := readValue(e, o.ValueType, r)
		if err != nil {
			return o, fmt.Errorf("%s %s (%s): %w", name, s.where(5), o.ValueType, err)
		}
		if i == 0 {
			o.Value = v
		} else {
			o.MoreValues = append(o.MoreValues, v)
		}
	}
	return o, nil
}

// readValue reads one repetition of OBX-5 according to its type.
func readValue(e Encoding, typ, rep string) (Value, error) {
	v := Value{}
	switch typ {
	case "NM":
		v.Text = strings.TrimSpace(leaf(e, rep, 1, 1))
		if v.Text == "" {
			return v, nil // deleted or not yet known; the status says which
		}
		n, err := vitals.ParseDecimal(v.Text)
		if err != nil {
			return v, fmt.Errorf("%v: %w", err, ErrValue)
		}
		v.Number = n
	case "SN":
		v.SN = SN{
			Comparator: strings.TrimSpace(leaf(e, rep, 1, 1)),
			Num1:       strings.TrimSpace(leaf(e, rep, 2, 1)),
			Separator:  strings.TrimSpace(leaf(e, rep, 3, 1)),
			Num2:       strings.TrimSpace(leaf(e, rep, 4, 1)),
		}
		v.Text = joinTrim(v.SN.Comparator, v.SN.Num1, v.SN.Separator, v.SN.Num2)
		switch v.SN.Comparator {
		case "", ">", "<", ">=", "<=", "=", "<>":
		default:
			return v, fmt.Errorf("comparator %q: %w", truncate(v.SN.Comparator, 8), ErrValue)
		}
		switch v.SN.Separator {
		case "", "-", "+", "/", ".", ":":
		default:
			return v, fmt.Errorf("separator %q: %w", truncate(v.SN.Separator, 8), ErrValue)
		}
		for _, n := range []string{v.SN.Num1, v.SN.Num2} {
			if n == "" {
				continue
			}
			if _, err := vitals.ParseDecimal(n); err != nil {
				return v, fmt.Errorf("%v: %w", err, ErrValue)
			}
		}
		if v.SN.Num1 != "" && v.SN.Separator == "" && v.SN.Num2 == "" {
			v.Number, _ = vitals.ParseDecimal(v.SN.Num1)
		}
	case "CWE", "CE", "CNE":
		v.Coded = readCoded(e, rep)
		v.Text = v.Coded.ID
	case "DTM", "TS", "DT":
		v.Text = strings.TrimSpace(leaf(e, rep, 1, 1))
		t, err := ParseTime(v.Text)
		if err != nil {
			return v, err
		}
		v.Time = t
	case "NA":
		comps := split(rep, e.Component)
		for _, c := range comps {
			n := strings.TrimSpace(e.unescape(c))
			if n != "" {
				if _, err := vitals.ParseDecimal(n); err != nil {
					return v, fmt.Errorf("array element: %v: %w", err, ErrValue)
				}
			}
			v.Array = append(v.Array, n)
		}
		v.Text = strings.Join(v.Array, " ")
	default: // ST, TX, FT and anything else: text as written
		v.Text = e.unescape(rep)
	}
	return v, nil
}

// joinTrim joins parts with ^ and drops trailing empty ones.
func joinTrim(parts ...string) string {
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, "^")
}

// Reading maps a numeric row to a vital sign: the code in OBX-3 (MDC or
// LOINC, in the first or the alternate coding) to its LOINC code, the units
// in OBX-6 (MDC, UCUM or a common spelling) to UCUM, and the value
// converted to the kind's unit. RawValue is OBX-5 and RawUnit OBX-6 as
// written. It does not look at the result status: a correction or a
// deletion maps like any other row, and the caller applies it.
func (o Observation) Reading() (vitals.Reading, error) {
	kind, err := o.kind()
	if err != nil {
		return vitals.Reading{}, err
	}
	if o.ValueType != "NM" && !(o.ValueType == "SN" && o.Value.SN.Comparator == "" && o.Value.SN.Separator == "" && o.Value.SN.Num1 != "") {
		return vitals.Reading{}, fmt.Errorf("OBX %s: value type %q is not a single number: %w", o.SetID, o.ValueType, ErrValue)
	}
	num := o.Value.Text
	if o.ValueType == "SN" {
		num = o.Value.SN.Num1
	}
	if num == "" {
		return vitals.Reading{}, fmt.Errorf("OBX %s: OBX-5 is empty: %w", o.SetID, ErrMissing)
	}
	unit, err := o.ucum()
	if err != nil {
		return vitals.Reading{}, err
	}
	r, err := vitals.New(kind, num, unit)
	if err != nil {
		return vitals.Reading{}, fmt.Errorf("OBX %s: %w", o.SetID, err)
	}
	r.RawUnit = o.RawUnits
	return r, nil
}

func (o Observation) kind() (vitals.Kind, error) {
	for _, c := range [][2]string{{o.Code.System, o.Code.ID}, {o.Code.AltSystem, o.Code.AltID}} {
		switch strings.ToUpper(c[0]) {
		case "MDC":
			if n, err := strconv.Atoi(c[1]); err == nil {
				if k, ok := vitals.ByMDC(n); ok {
					return k, nil
				}
			}
		case "LN", "LOINC":
			if k, ok := vitals.ByLOINC(c[1]); ok {
				return k, nil
			}
		}
	}
	return "", fmt.Errorf("OBX %s: OBX-3 %q: %w", o.SetID, truncate(joinTrim(o.Code.ID, o.Code.Text, o.Code.System), 60), vitals.ErrUnmapped)
}

func (o Observation) ucum() (string, error) {
	u := o.Units
	for _, c := range [][2]string{{u.System, u.ID}, {u.AltSystem, u.AltID}} {
		switch strings.ToUpper(c[0]) {
		case "MDC":
			if n, err := strconv.Atoi(c[1]); err == nil {
				if s, ok := vitals.UnitByMDC(n); ok {
					return s, nil
				}
			}
		case "UCUM", "ANS+":
			if s, ok := vitals.UCUM(c[1]); ok {
				return s, nil
			}
		}
	}
	if u.System == "" {
		if s, ok := vitals.UCUM(u.ID); ok {
			return s, nil
		}
	}
	return "", fmt.Errorf("OBX %s: OBX-6 %q: %w", o.SetID, truncate(o.RawUnits, 60), vitals.ErrUnit)
}

// DeviceClock returns the device's own clock and the time it was read, from
// the PCD-01 row MDC_ATTR_TIME_ABS (67975): OBX-5 is the device clock and
// OBX-14 the gateway's time when it read it. The difference is the device
// clock's drift (or an unset time zone); ok is false when the message has no
// such row.
func (m *Message) DeviceClock() (device, reference Time, ok bool) {
	for _, o := range m.Observations() {
		if o.Code.ID == "67975" && strings.EqualFold(o.Code.System, "MDC") && o.ValueType == "DTM" && o.TimeFrom == FromOBX14 {
			return o.Value.Time, o.Time, true
		}
	}
	return Time{}, Time{}, false
}
