package care

import (
	"errors"
	"strings"
	"testing"

	"carenode/node/icd10"
)

func TestAllergyValidate(t *testing.T) {
	if err := (AllergyInput{Substance: "青霉素", Reaction: "皮疹", Severity: SeveritySevere}).Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		in     AllergyInput
		field  string
		code   string
		en, zh string
	}{
		{"no substance", AllergyInput{Severity: SeverityMild}, "substance", CodeRequired, "what the patient is allergic to", "请填写过敏物质"},
		{"substance too long", AllergyInput{Substance: strings.Repeat("药", 65), Severity: SeverityMild}, "substance", CodeTooLong, "65 characters", "过敏物质有65个字"},
		{"reaction too long", AllergyInput{Substance: "x", Reaction: strings.Repeat("痒", 501), Severity: SeverityMild}, "reaction", CodeTooLong, "at most 500", "过敏反应有501个字"},
		{"severity unknown word", AllergyInput{Substance: "x", Severity: "deadly"}, "severity", CodeNotInList, "mild, moderate, severe or unknown", "严重程度应为"},
		{"severity missing before Normalize", AllergyInput{Substance: "x"}, "severity", CodeRequired, "severity is missing", "请选择严重程度"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := problemsOf(t, tc.in.Validate())
			checkSentences(t, ps)
			p, ok := find(ps, tc.field, tc.code)
			if !ok {
				t.Fatalf("no %s on %s: %+v", tc.code, tc.field, ps)
			}
			if !strings.Contains(p.En, tc.en) || !strings.Contains(p.Zh, tc.zh) {
				t.Errorf("got %q / %q, want %q / %q", p.En, p.Zh, tc.en, tc.zh)
			}
		})
	}
}

func TestMedicationValidate(t *testing.T) {
	if err := (MedicationInput{Name: "硝苯地平缓释片", Dose: "10 mg", Frequency: "每日两次"}).Validate(); err != nil {
		t.Fatal(err)
	}
	ps := problemsOf(t, MedicationInput{Dose: strings.Repeat("1", 65), Frequency: strings.Repeat("次", 65)}.Validate())
	checkSentences(t, ps)
	for _, want := range []struct{ field, code string }{{"name", CodeRequired}, {"dose", CodeTooLong}, {"frequency", CodeTooLong}} {
		if _, ok := find(ps, want.field, want.code); !ok {
			t.Errorf("no %s on %s: %+v", want.code, want.field, ps)
		}
	}
}

func TestDiagnosisValidate(t *testing.T) {
	table := icd10.Default()
	tests := []struct {
		name     string
		in       DiagnosisInput
		wantCode string // canonical code when accepted
		problem  string // problem code when refused
		warning  string // warning code
		en, zh   string // phrases of the problem or warning
	}{
		{"listed", DiagnosisInput{Code: "I10"}, "I10", "", "", "", ""},
		{"normalised subcode", DiagnosisInput{Code: "E11.9"}, "E11.9", "", "", "", ""},
		{"lower case without dot", DiagnosisInput{Code: "e119"}, "E11.9", "", "", "", ""},
		{"WHO code E14", DiagnosisInput{Code: "E14"}, "E14", "", "", "", ""},
		{"unlisted subcode", DiagnosisInput{Code: "K57.30"}, "K57.30", "", CodeICD10Unlisted, "K57.30 is accepted under its category K57", "编码K57.30不在编码表的细目中"},
		{"unknown in a complete category", DiagnosisInput{Code: "E11.99"}, "", CodeICD10Unknown, "", "no ICD-10 code \"E11.99\"", "没有ICD-10编码“E11.99”"},
		{"malformed", DiagnosisInput{Code: "11E"}, "", CodeICD10Malformed, "", "not an ICD-10 code", "不是ICD-10编码"},
		{"a disease name", DiagnosisInput{Code: "糖尿病"}, "", CodeICD10Malformed, "", "not an ICD-10 code", "不是ICD-10编码"},
		{"empty", DiagnosisInput{}, "", CodeRequired, "", "Enter an ICD-10 code", "请输入ICD-10编码"},
		{"note too long", DiagnosisInput{Code: "I10", Note: strings.Repeat("注", 2001)}, "", CodeTooLong, "", "diagnosis note has 2001", "诊断备注有2001个字"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, warnings, err := tc.in.Validate(table)
			if tc.problem != "" {
				ps := problemsOf(t, err)
				checkSentences(t, ps)
				if ps[0].Code != tc.problem || !strings.Contains(ps[0].En, tc.en) || !strings.Contains(ps[0].Zh, tc.zh) {
					t.Errorf("problem %+v, want %s with %q / %q", ps[0], tc.problem, tc.en, tc.zh)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Code != tc.wantCode {
				t.Errorf("code %q, want %q", c.Code, tc.wantCode)
			}
			if tc.warning == "" {
				if len(warnings) != 0 || !c.Listed {
					t.Errorf("warnings %+v, listed %v", warnings, c.Listed)
				}
				return
			}
			checkSentences(t, warnings)
			if len(warnings) != 1 || warnings[0].Code != tc.warning || warnings[0].Field != "code" ||
				!strings.Contains(warnings[0].En, tc.en) || !strings.Contains(warnings[0].Zh, tc.zh) {
				t.Errorf("warnings %+v, want %s with %q / %q", warnings, tc.warning, tc.en, tc.zh)
			}
		})
	}

	// A warning found next to a problem travels in the error.
	_, _, err := DiagnosisInput{Code: "K57.30", Note: strings.Repeat("注", 2001)}.Validate(table)
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Warnings) != 1 || ve.Warnings[0].Code != CodeICD10Unlisted {
		t.Errorf("err = %#v, want the unlisted warning inside", err)
	}

	// A broken table is not the clerk's problem.
	_, _, err = DiagnosisInput{Code: "I10"}.Validate(&icd10.Table{})
	if !errors.Is(err, icd10.ErrTable) || errors.As(err, &ve) {
		t.Errorf("broken table: err = %v", err)
	}
}
