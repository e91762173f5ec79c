package care

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"

	"carenode/node/icd10"
	"carenode/node/residentid"
)

// today is the clinic's date in every test: 2026-05-01 in China.
var today = time.Date(2026, 5, 1, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))

// withCheck completes 17 digits into a valid ID number.
func withCheck(t testing.TB, first17 string) string {
	t.Helper()
	c, err := residentid.CheckChar(first17)
	if err != nil {
		t.Fatal(err)
	}
	return first17 + string(c)
}

// validPatient is a record every rule accepts.
func validPatient(t testing.TB) PatientInput {
	return PatientInput{
		Name:      "张三",
		Sex:       SexMale,
		BirthDate: "1956-06-20",
		IDNumber:  withCheck(t, "53252819560620001"), // sequence 001: male
		Phones:    []string{"13800138000", "087161234567"},
		Address:   "云南省文山州砚山县平远镇",
		EmergencyContacts: []Contact{
			{Name: "张小红", Relation: "女儿", Phone: "13912345678"},
		},
		CardNumber: "A00012345",
	}
}

// problemsOf returns the problems of a *ValidationError, failing the test
// for any other non-nil error.
func problemsOf(t testing.TB, err error) []Problem {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %T %v is not a *ValidationError", err, err)
	}
	if len(ve.Problems) == 0 {
		t.Fatal("ValidationError with no problems")
	}
	return ve.Problems
}

// checkSentences fails when a problem lacks a code or a sentence in
// either language, or its Chinese sentence has no Chinese in it.
func checkSentences(t testing.TB, ps []Problem) {
	t.Helper()
	for _, p := range ps {
		if p.Code == "" || strings.TrimSpace(p.En) == "" || strings.TrimSpace(p.Zh) == "" {
			t.Errorf("incomplete problem %+v", p)
		}
		if !strings.ContainsFunc(p.Zh, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			t.Errorf("Chinese sentence without Chinese: %q", p.Zh)
		}
		if p.En == p.Zh {
			t.Errorf("same sentence in both languages: %q", p.En)
		}
	}
}

// find returns the problem with field and code.
func find(ps []Problem, field, code string) (Problem, bool) {
	for _, p := range ps {
		if p.Field == field && p.Code == code {
			return p, true
		}
	}
	return Problem{}, false
}

// testTable is the ICD-10 table, loaded once per call site.
func testTable() *icd10.Table { return icd10.Default() }
