package care

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode"

	"carenode/node/icd10"
)

// Kinds of tag rule.
const (
	// KindAgeAtLeast: the patient is at least Args.Years old today.
	KindAgeAtLeast = "ageAtLeast"
	// KindDiagnosisInRange: a diagnosis falls in the ICD-10 category range
	// Args.From–Args.To, inclusive, subcodes included.
	KindDiagnosisInRange = "diagnosisInRange"
	// KindMissedAppointments: at least Args.Count appointments were missed
	// in the last Args.Days days.
	KindMissedAppointments = "missedAppointments"
)

// TagRule gives a patient a tag when its condition holds. Rules are data
// (default_tags.json, or a file a hospital edits), not code, so a clinic
// can add a tag without a new release. Several rules may give one tag
// (hypertension is I10–I15 and I1A): the tag is given when any of them
// holds.
type TagRule struct {
	Tag   string   `json:"tag"`   // the stored tag: lower case a-z, 0-9 and -, as "often-missed"
	TagZh string   `json:"tagZh"` // what a Chinese screen shows: 易失约
	Kind  string   `json:"kind"`  // a Kind… constant
	Args  RuleArgs `json:"args"`
}

// RuleArgs are a rule's parameters; each kind uses its own and no other.
type RuleArgs struct {
	Years int    `json:"years,omitempty"` // ageAtLeast: 1–150
	From  string `json:"from,omitempty"`  // diagnosisInRange: an ICD-10 category, as I10
	To    string `json:"to,omitempty"`    // diagnosisInRange: a category not before From
	Count int    `json:"count,omitempty"` // missedAppointments: 1–1000
	Days  int    `json:"days,omitempty"`  // missedAppointments: 1–3660
}

// PatientFacts are what the rules look at.
type PatientFacts struct {
	BirthDate string   // YYYY-MM-DD
	Diagnoses []string // ICD-10 codes, in any form icd10 accepts
	// MissedAppointments are the dates (YYYY-MM-DD, the clinic's calendar
	// date) of appointments the patient did not come to; one entry per
	// appointment, so two missed on one day count twice.
	MissedAppointments []string
}

//go:embed default_tags.json
var defaultRules []byte // read-only: DefaultRules parses a fresh copy

// DefaultRules returns the rules shipped with the node: 65 or older →
// 老年人/elderly; I10–I15 or I1A → 高血压/hypertension; E10–E14 →
// 糖尿病/diabetes; two or more missed appointments in 90 days →
// 易失约/often-missed. A test keeps the embedded file valid, so this
// panics only on a build defect.
func DefaultRules() []TagRule {
	rules, err := LoadRules(defaultRules)
	if err != nil {
		panic("care: embedded default_tags.json: " + err.Error())
	}
	return rules
}

// LoadRules reads a JSON array of rules and checks each: a tag of lower
// case letters, digits and hyphens (at most 32), a Chinese name (at most
// 16 characters), a known kind with exactly its arguments in range, and
// one Chinese name per tag. ICD-10 bounds come back in canonical form
// ("i10" becomes I10) and must be categories (three characters). Every
// problem is reported, each wrapping ErrRules.
func LoadRules(data []byte) ([]TagRule, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var rules []TagRule
	if err := dec.Decode(&rules); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRules, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the JSON array", ErrRules)
	}
	if rules == nil {
		return nil, fmt.Errorf("%w: want a JSON array of rules, got null", ErrRules)
	}
	var errs []error
	zhOf := map[string]string{}
	for i := range rules {
		r := &rules[i]
		bad := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("%w: rule %d (tag %q): %s", ErrRules, i+1, r.Tag, fmt.Sprintf(format, a...)))
		}
		if !validTag(r.Tag) {
			bad("tag must be 1-32 characters of a-z, 0-9 and -, starting with a letter")
		}
		if n := runeLen(r.TagZh); n == 0 || n > 16 || !printable(r.TagZh) {
			bad("tagZh must be 1-16 printable characters")
		}
		if zh, ok := zhOf[r.Tag]; ok && zh != r.TagZh {
			bad("tag already has the Chinese name %q; one tag, one name", zh)
		} else if !ok {
			zhOf[r.Tag] = r.TagZh
		}
		a := r.Args
		switch r.Kind {
		case KindAgeAtLeast:
			if a.Years < 1 || a.Years > 150 {
				bad("ageAtLeast needs args.years from 1 to 150")
			}
			if a.From != "" || a.To != "" || a.Count != 0 || a.Days != 0 {
				bad("ageAtLeast takes only args.years")
			}
		case KindDiagnosisInRange:
			from, ok1 := category(a.From)
			to, ok2 := category(a.To)
			switch {
			case !ok1 || !ok2:
				bad("diagnosisInRange needs args.from and args.to, each an ICD-10 category such as I10")
			case from > to:
				bad("args.from %s comes after args.to %s", from, to)
			default:
				r.Args.From, r.Args.To = from, to
			}
			if a.Years != 0 || a.Count != 0 || a.Days != 0 {
				bad("diagnosisInRange takes only args.from and args.to")
			}
		case KindMissedAppointments:
			if a.Count < 1 || a.Count > 1000 {
				bad("missedAppointments needs args.count from 1 to 1000")
			}
			if a.Days < 1 || a.Days > 3660 {
				bad("missedAppointments needs args.days from 1 to 3660")
			}
			if a.Years != 0 || a.From != "" || a.To != "" {
				bad("missedAppointments takes only args.count and args.days")
			}
		default:
			bad("kind %q is not one of %s, %s, %s", clipRaw(r.Kind), KindAgeAtLeast, KindDiagnosisInRange, KindMissedAppointments)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rules, nil
}

func validTag(s string) bool {
	if len(s) == 0 || len(s) > 32 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) || r == '\uFFFD' {
			return false
		}
	}
	return true
}

// clipRaw shortens a value from a rule file for an error message.
func clipRaw(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// category returns the canonical form of an ICD-10 category (three
// characters, no subcode).
func category(s string) (string, bool) {
	c, err := icd10.Normalize(s)
	if err != nil || len(c) != 3 {
		return "", false
	}
	return c, true
}

// Evaluate returns the tags whose rules hold for facts on the calendar
// date of today (in today's location), each once, in the order of their
// first rule; nil when none. It is pure: the same arguments give the same
// tags. Facts that cannot be read (a malformed birth date, a missed date
// that is not a date or lies after today) make no rule hold rather than
// failing: tags are hints, and the record's own validation is elsewhere.
// Rules should come from LoadRules or DefaultRules; a rule of an unknown
// kind never holds.
//
// Ages are whole years (周岁): 65 on the 65th birthday, and a 29 February
// birthday falls on 1 March in other years. A missed appointment counts
// when it is at most Days days before today: with 90 days, 90 days ago
// counts and 91 does not.
func Evaluate(rules []TagRule, facts PatientFacts, today time.Time) []string {
	ty, tm, td := today.Date()
	day := dayNumber(ty, int(tm), td)
	var tags []string
	for _, r := range rules {
		if contains(tags, r.Tag) || !holds(r, facts, day) {
			continue
		}
		tags = append(tags, r.Tag)
	}
	return tags
}

func holds(r TagRule, f PatientFacts, today int64) bool {
	switch r.Kind {
	case KindAgeAtLeast:
		y, m, d, _, real := parseDate(f.BirthDate)
		if !real || r.Args.Years < 0 {
			return false
		}
		// time.Date carries 29 February into 1 March in a common year.
		return today >= dayNumber(y+r.Args.Years, m, d)
	case KindDiagnosisInRange:
		for _, c := range f.Diagnoses {
			if icd10.InRange(c, r.Args.From, r.Args.To) {
				return true
			}
		}
	case KindMissedAppointments:
		if r.Args.Count < 1 {
			return false
		}
		n := 0
		for _, s := range f.MissedAppointments {
			y, m, d, _, real := parseDate(s)
			if !real {
				continue
			}
			if ago := today - dayNumber(y, m, d); ago >= 0 && ago <= int64(r.Args.Days) {
				n++
			}
		}
		return n >= r.Args.Count
	}
	return false
}

// dayNumber counts days since 1970-01-01 on the proleptic Gregorian
// calendar; month and day out of range carry over as in time.Date.
func dayNumber(y, m, d int) int64 {
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Unix() / 86400 // midnight: exact, also before 1970
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
