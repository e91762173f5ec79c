package hl7

import (
	"fmt"
	"time"
)

// Precision says how much of an HL7 date/time the sender gave.
type Precision int

// Precisions of an HL7 DTM, from a year alone to fractions of a second.
const (
	PrecisionNone Precision = iota
	PrecisionYear
	PrecisionMonth
	PrecisionDay
	PrecisionHour
	PrecisionMinute
	PrecisionSecond
	PrecisionFraction
)

// Time is an HL7 DTM: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ].
type Time struct {
	// Time is the instant. Without a zone offset (Zoned false) it is the
	// sender's wall-clock time written as UTC: the caller must know the
	// device's zone before comparing it with anything.
	Time      time.Time
	Precision Precision
	Zoned     bool
}

// IsZero reports whether no time was given.
func (t Time) IsZero() bool { return t.Precision == PrecisionNone }

// String writes t back in HL7 form with its precision.
func (t Time) String() string {
	if t.IsZero() {
		return ""
	}
	layouts := [...]string{"", "2006", "200601", "20060102", "2006010215", "200601021504", "20060102150405", "20060102150405.0000"}
	s := t.Time.Format(layouts[t.Precision])
	if t.Zoned {
		s += t.Time.Format("-0700")
	}
	return s
}

// ParseTime reads an HL7 DTM. The empty string is the zero Time and no
// error; anything malformed (wrong digit count, month 13, 30 February, an
// offset past ±14:00) wraps ErrTime and names what is wrong.
func ParseTime(s string) (Time, error) {
	if s == "" {
		return Time{}, nil
	}
	bad := func(why string) (Time, error) {
		return Time{}, fmt.Errorf("%q: %s: %w", truncate(s, 40), why, ErrTime)
	}
	i, zoned := len(s), false
	for j := 0; j < len(s); j++ {
		if s[j] == '+' || s[j] == '-' {
			i, zoned = j, true
			break
		}
	}
	body, zone := s[:i], s[i:]
	frac := ""
	if dot := indexByte(body, '.'); dot >= 0 {
		body, frac = body[:dot], body[dot+1:]
		if len(body) != 14 {
			return bad("fractional seconds need the full date and time before them")
		}
		if len(frac) < 1 || len(frac) > 4 || !allDigits(frac) {
			return bad("fractional seconds must be 1 to 4 digits")
		}
	}
	if !allDigits(body) {
		return bad("only digits may come before the fraction and zone")
	}
	prec := map[int]Precision{4: PrecisionYear, 6: PrecisionMonth, 8: PrecisionDay, 10: PrecisionHour, 12: PrecisionMinute, 14: PrecisionSecond}[len(body)]
	if prec == PrecisionNone {
		return bad("want 4, 6, 8, 10, 12 or 14 digits")
	}
	num := func(from, to, def int) int {
		if to > len(body) {
			return def
		}
		return atoi(body[from:to])
	}
	y, mo, d := num(0, 4, 0), num(4, 6, 1), num(6, 8, 1)
	h, mi, sec := num(8, 10, 0), num(10, 12, 0), num(12, 14, 0)
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 {
		return bad("a month, day, hour, minute or second is out of range")
	}
	ns := 0
	if frac != "" {
		prec = PrecisionFraction
		ns = atoi(frac)
		for k := len(frac); k < 9; k++ {
			ns *= 10
		}
	}
	loc := time.UTC
	if zoned {
		if len(zone) != 5 || !allDigits(zone[1:]) {
			return bad("the zone offset must be +HHMM or -HHMM")
		}
		zh, zm := atoi(zone[1:3]), atoi(zone[3:5])
		if zh > 14 || zm > 59 {
			return bad("the zone offset is out of range")
		}
		off := zh*3600 + zm*60
		if zone[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, ns, loc)
	if t.Day() != d {
		return bad("no such day in that month")
	}
	return Time{Time: t, Precision: prec, Zoned: zoned}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// atoi reads a short string known to be all digits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}
