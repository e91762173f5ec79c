package care

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaultRules(t *testing.T) {
	rules := DefaultRules()
	want := map[string]string{"elderly": "老年人", "hypertension": "高血压", "diabetes": "糖尿病", "often-missed": "易失约"}
	got := map[string]string{}
	for _, r := range rules {
		got[r.Tag] = r.TagZh
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("default tags %v, want %v", got, want)
	}
	// A fresh copy each time.
	rules[0].Tag = "changed"
	if DefaultRules()[0].Tag == "changed" {
		t.Error("DefaultRules shares its slice")
	}
}

func TestLoadRules(t *testing.T) {
	rules, err := LoadRules([]byte(`[{"tag":"copd","tagZh":"慢阻肺","kind":"diagnosisInRange","args":{"from":"j44","to":"ｊ４４"}}]`))
	if err != nil {
		t.Fatal(err)
	}
	if rules[0].Args.From != "J44" || rules[0].Args.To != "J44" {
		t.Errorf("bounds not canonical: %+v", rules[0].Args)
	}
	if rules, err := LoadRules([]byte(`[]`)); err != nil || len(rules) != 0 {
		t.Errorf("empty list: %v %v", rules, err)
	}

	tests := []struct {
		name string
		json string
		want string // part of the error
	}{
		{"not JSON", `{`, "unexpected EOF"},
		{"object", `{"tag":"x"}`, "cannot unmarshal object"},
		{"null", `null`, "got null"},
		{"trailing", `[] []`, "data after"},
		{"unknown field", `[{"tag":"a","tagZh":"甲","kind":"ageAtLeast","args":{"years":1},"colour":"red"}]`, `unknown field "colour"`},
		{"unknown arg", `[{"tag":"a","tagZh":"甲","kind":"ageAtLeast","args":{"years":1,"months":3}}]`, `unknown field "months"`},
		{"years as text", `[{"tag":"a","tagZh":"甲","kind":"ageAtLeast","args":{"years":"65"}}]`, "cannot unmarshal string"},
		{"bad tag", `[{"tag":"Elderly","tagZh":"老年人","kind":"ageAtLeast","args":{"years":65}}]`, "tag must be"},
		{"empty tag", `[{"tag":"","tagZh":"老年人","kind":"ageAtLeast","args":{"years":65}}]`, "tag must be"},
		{"no Chinese name", `[{"tag":"elderly","kind":"ageAtLeast","args":{"years":65}}]`, "tagZh must be"},
		{"two Chinese names", `[{"tag":"a","tagZh":"甲","kind":"ageAtLeast","args":{"years":1}},{"tag":"a","tagZh":"乙","kind":"ageAtLeast","args":{"years":2}}]`, `already has the Chinese name "甲"`},
		{"unknown kind", `[{"tag":"a","tagZh":"甲","kind":"ageBelow","args":{"years":6}}]`, `kind "ageBelow" is not one of`},
		{"years zero", `[{"tag":"a","tagZh":"甲","kind":"ageAtLeast","args":{}}]`, "args.years from 1 to 150"},
		{"years 151", `[{"tag":"a","tagZh":"甲","kind":"ageAtLeast","args":{"years":151}}]`, "args.years from 1 to 150"},
		{"age with range", `[{"tag":"a","tagZh":"甲","kind":"ageAtLeast","args":{"years":65,"from":"I10"}}]`, "takes only args.years"},
		{"range missing to", `[{"tag":"a","tagZh":"甲","kind":"diagnosisInRange","args":{"from":"I10"}}]`, "needs args.from and args.to"},
		{"range subcode", `[{"tag":"a","tagZh":"甲","kind":"diagnosisInRange","args":{"from":"I10","to":"I15.9"}}]`, "ICD-10 category"},
		{"range malformed", `[{"tag":"a","tagZh":"甲","kind":"diagnosisInRange","args":{"from":"高血压","to":"I15"}}]`, "ICD-10 category"},
		{"range reversed", `[{"tag":"a","tagZh":"甲","kind":"diagnosisInRange","args":{"from":"I15","to":"I10"}}]`, "comes after"},
		{"range with count", `[{"tag":"a","tagZh":"甲","kind":"diagnosisInRange","args":{"from":"I10","to":"I15","count":2}}]`, "takes only args.from and args.to"},
		{"missed no days", `[{"tag":"a","tagZh":"甲","kind":"missedAppointments","args":{"count":2}}]`, "args.days from 1"},
		{"missed no count", `[{"tag":"a","tagZh":"甲","kind":"missedAppointments","args":{"days":90}}]`, "args.count from 1"},
		{"missed negative", `[{"tag":"a","tagZh":"甲","kind":"missedAppointments","args":{"count":-1,"days":90}}]`, "args.count from 1"},
		{"missed with years", `[{"tag":"a","tagZh":"甲","kind":"missedAppointments","args":{"count":2,"days":90,"years":1}}]`, "takes only args.count and args.days"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rules, err := LoadRules([]byte(tc.json))
			if err == nil {
				t.Fatalf("accepted: %+v", rules)
			}
			if !errors.Is(err, ErrRules) {
				t.Errorf("error does not wrap ErrRules: %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to mention %q", err, tc.want)
			}
		})
	}

	// Every problem is reported, each naming its rule.
	_, err = LoadRules([]byte(`[{"tag":"ok","tagZh":"好","kind":"ageAtLeast","args":{"years":1}},{"tag":"B","tagZh":"","kind":"x"}]`))
	for _, want := range []string{"rule 2", "tag must be", "tagZh must be", "kind \"x\""} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to mention %q", err, want)
		}
	}
}

func TestEvaluate(t *testing.T) {
	rules := DefaultRules()
	on := func(date string) time.Time {
		d, err := time.ParseInLocation("2006-01-02", date, time.FixedZone("CST", 8*3600))
		if err != nil {
			t.Fatal(err)
		}
		return d.Add(23 * time.Hour) // late in the clinic's day: the date is what counts
	}
	tests := []struct {
		name  string
		facts PatientFacts
		today string
		want  []string
	}{
		{"nothing", PatientFacts{}, "2026-05-01", nil},
		{"64 the day before the 65th birthday", PatientFacts{BirthDate: "1961-05-02"}, "2026-05-01", nil},
		{"65 on the birthday", PatientFacts{BirthDate: "1961-05-01"}, "2026-05-01", []string{"elderly"}},
		{"65 the day after", PatientFacts{BirthDate: "1961-04-30"}, "2026-05-01", []string{"elderly"}},
		{"29 February: not yet on 28 February", PatientFacts{BirthDate: "1960-02-29"}, "2025-02-28", nil},
		{"29 February: 65 on 1 March", PatientFacts{BirthDate: "1960-02-29"}, "2025-03-01", []string{"elderly"}},
		{"28 February: 65 on 28 February of a leap year", PatientFacts{BirthDate: "1959-02-28"}, "2024-02-28", []string{"elderly"}},
		{"born in the future", PatientFacts{BirthDate: "2030-01-01"}, "2026-05-01", nil},
		{"malformed birth date", PatientFacts{BirthDate: "1900/01/01"}, "2026-05-01", nil},
		{"impossible birth date", PatientFacts{BirthDate: "1950-02-30"}, "2026-05-01", nil},

		{"I09 is not hypertension", PatientFacts{Diagnoses: []string{"I09"}}, "2026-05-01", nil},
		{"I10", PatientFacts{Diagnoses: []string{"I10"}}, "2026-05-01", []string{"hypertension"}},
		{"I15.9", PatientFacts{Diagnoses: []string{"I15.9"}}, "2026-05-01", []string{"hypertension"}},
		{"I16 is not", PatientFacts{Diagnoses: []string{"I16"}}, "2026-05-01", nil},
		{"I1A.0 resistant hypertension", PatientFacts{Diagnoses: []string{"I1A.0"}}, "2026-05-01", []string{"hypertension"}},
		{"i119 typed loosely", PatientFacts{Diagnoses: []string{"i119"}}, "2026-05-01", []string{"hypertension"}},
		{"E09 is not diabetes here", PatientFacts{Diagnoses: []string{"E09"}}, "2026-05-01", nil},
		{"E10", PatientFacts{Diagnoses: []string{"E10.9"}}, "2026-05-01", []string{"diabetes"}},
		{"E14 included", PatientFacts{Diagnoses: []string{"E14"}}, "2026-05-01", []string{"diabetes"}},
		{"E14.9 included", PatientFacts{Diagnoses: []string{"E14.9"}}, "2026-05-01", []string{"diabetes"}},
		{"E15 is not", PatientFacts{Diagnoses: []string{"E15"}}, "2026-05-01", nil},
		{"two hypertension codes, one tag", PatientFacts{Diagnoses: []string{"I10", "I1A.0", "I11.9"}}, "2026-05-01", []string{"hypertension"}},
		{"malformed code", PatientFacts{Diagnoses: []string{"高血压", ""}}, "2026-05-01", nil},

		{"missed 89 and 91 days ago", PatientFacts{MissedAppointments: []string{"2026-02-01", "2026-01-30"}}, "2026-05-01", nil},
		{"missed 89 and 89 days ago", PatientFacts{MissedAppointments: []string{"2026-02-01", "2026-02-01"}}, "2026-05-01", []string{"often-missed"}},
		{"missed 89 and 90 days ago", PatientFacts{MissedAppointments: []string{"2026-02-01", "2026-01-31"}}, "2026-05-01", []string{"often-missed"}},
		{"missed today and yesterday", PatientFacts{MissedAppointments: []string{"2026-05-01", "2026-04-30"}}, "2026-05-01", []string{"often-missed"}},
		{"one missed", PatientFacts{MissedAppointments: []string{"2026-04-30"}}, "2026-05-01", nil},
		{"future date not counted", PatientFacts{MissedAppointments: []string{"2026-04-30", "2026-05-02"}}, "2026-05-01", nil},
		{"bad date not counted", PatientFacts{MissedAppointments: []string{"2026-04-30", "yesterday"}}, "2026-05-01", nil},
		{"across a leap day", PatientFacts{MissedAppointments: []string{"2024-05-01", "2024-02-01"}}, "2024-05-01", []string{"often-missed"}},

		{"everything, in rule order", PatientFacts{
			BirthDate:          "1950-01-01",
			Diagnoses:          []string{"E11.9", "I10"},
			MissedAppointments: []string{"2026-04-01", "2026-03-01"},
		}, "2026-05-01", []string{"elderly", "hypertension", "diabetes", "often-missed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Evaluate(rules, tc.facts, on(tc.today))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Evaluate = %q, want %q", got, tc.want)
			}
		})
	}

	// The date is the clinic's: 00:30 on 1 May in Beijing is already the
	// birthday, though it is still 30 April in UTC.
	cst := time.FixedZone("CST", 8*3600)
	late := time.Date(2026, 5, 1, 0, 30, 0, 0, cst)
	if got := Evaluate(rules, PatientFacts{BirthDate: "1961-05-01"}, late); !reflect.DeepEqual(got, []string{"elderly"}) {
		t.Errorf("clinic date not used: %q", got)
	}
	if got := Evaluate(rules, PatientFacts{BirthDate: "1961-05-01"}, late.UTC()); got != nil {
		t.Errorf("UTC date (30 April) gave %q", got)
	}

	// A 29 February birthday falls on 29 February in a leap year.
	r64, err := LoadRules([]byte(`[{"tag":"sixty-four","tagZh":"六十四岁","kind":"ageAtLeast","args":{"years":64}}]`))
	if err != nil {
		t.Fatal(err)
	}
	if got := Evaluate(r64, PatientFacts{BirthDate: "1960-02-29"}, on("2024-02-28")); got != nil {
		t.Errorf("64 a day early: %q", got)
	}
	if got := Evaluate(r64, PatientFacts{BirthDate: "1960-02-29"}, on("2024-02-29")); len(got) != 1 {
		t.Errorf("not 64 on 2024-02-29: %q", got)
	}

	// Rules not checked by LoadRules never hold.
	odd := []TagRule{{Tag: "x", Kind: "nope"}, {Tag: "y", Kind: KindMissedAppointments}}
	if got := Evaluate(odd, PatientFacts{MissedAppointments: []string{"2026-05-01"}}, on("2026-05-01")); got != nil {
		t.Errorf("unchecked rules gave %q", got)
	}
}
