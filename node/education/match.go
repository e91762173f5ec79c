package education

import (
	"slices"
	"strings"
	"time"

	"carenode/node/chart"
	"carenode/node/icd10"
)

// Profile is what matching needs to know of a patient.
type Profile struct {
	// Codes are the patient's diagnosis codes.
	Codes []string
	// Age is in whole years; negative when unknown.
	Age int
	// Sex is care's value: male, female, other or unknown.
	Sex string
}

// ProfileOf reads a chart's profile, reckoning age at today.
func ProfileOf(p chart.Patient, today time.Time) Profile {
	pr := Profile{Age: -1, Sex: p.Sex}
	for _, d := range p.Diagnoses {
		pr.Codes = append(pr.Codes, d.Code)
	}
	if b, err := time.Parse(time.DateOnly, p.BirthDate); err == nil {
		pr.Age = ageAt(b, today)
	}
	return pr
}

// ageAt is the age in whole years on day today of someone born on birth.
func ageAt(birth, today time.Time) int {
	y, m, d := today.Date()
	age := y - birth.Year()
	if m < birth.Month() || (m == birth.Month() && d < birth.Day()) {
		age--
	}
	if age < 0 {
		return -1
	}
	return age
}

// Matches reports whether a is for a patient with profile p: one of p's
// codes in one of a's conditions (or a has none), p's age within a's range
// (an unknown age fits no range), and a's sex, if it names one, p's.
func Matches(a Article, p Profile) bool {
	if a.Sex != "" && a.Sex != p.Sex {
		return false
	}
	if a.AgeMin != nil || a.AgeMax != nil {
		if p.Age < 0 || (a.AgeMin != nil && p.Age < *a.AgeMin) || (a.AgeMax != nil && p.Age > *a.AgeMax) {
			return false
		}
	}
	if len(a.Conditions) == 0 {
		return true
	}
	for _, code := range p.Codes {
		if inConditions(code, a.Conditions) {
			return true
		}
	}
	return false
}

// inConditions reports whether code is in one of the ranges.
func inConditions(code string, conditions []string) bool {
	for _, c := range conditions {
		from, to, ok := strings.Cut(c, "-")
		if !ok {
			to = from
		}
		if icd10.InRange(code, from, to) {
			return true
		}
	}
	return false
}

// Match returns the articles of lib that match p, in lib's order.
func Match(lib []Article, p Profile) []Article {
	out := []Article{}
	for _, a := range lib {
		if Matches(a, p) {
			out = append(out, a)
		}
	}
	return slices.Clip(out)
}
