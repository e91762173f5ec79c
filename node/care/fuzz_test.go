package care

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzValidate feeds request bodies through what the API will do with
// them: Decode, Normalize, Validate. Nothing panics; every problem has a
// code and both sentences; Normalize is idempotent; a record that passed
// still passes after a JSON round trip; no sentence quotes the ID number
// or a phone.
func FuzzValidate(f *testing.F) {
	seeds := []string{
		`{"name":"张三","sex":"male","birthDate":"1956-06-20","idNumber":"53252819560620001X","phones":["13800138000"],"address":"平远镇"}`,
		`{"name":" 阿依古丽 • 买买提 ","sex":"女","birthDate":"1949/12/31","idNumber":"１１０１０５１９４９１２３１００２ｘ","phones":["+86 139-1234-5678","(0871) 6123-4567"]}`,
		`{"name":"张3","sex":"x","birthDate":"2030-02-30","idNumber":"123","phones":["1380013800","",13800138000]}`,
		`{"emergencyContacts":[{"name":"李四","relation":"儿子","phone":"139"},{"tel":1}],"cardNumber":"a-1","maritalStatus":"已婚"}`,
		`{"history":"\u0000\r\n","notes":null,"Name":"x","name":"y","name":"z"}`,
		`[1,2,3]`, `"x"`, `{`, ``, `{"phones":{"a":1}}`, `{"sex":1e999}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var p PatientInput
		err := Decode(body, &p)
		if err != nil {
			checkFuzzProblems(t, err, p)
			return
		}
		n := p.Normalize()
		if again := n.Normalize(); !reflect.DeepEqual(again, n) {
			t.Fatalf("Normalize not idempotent:\n%#v\n%#v", n, again)
		}
		err = n.Validate(today)
		if err != nil {
			checkFuzzProblems(t, err, n)
			return
		}
		// What passed survives being stored as JSON and read back.
		js, jerr := json.Marshal(n)
		if jerr != nil {
			t.Fatal(jerr)
		}
		var back PatientInput
		if err := Decode(js, &back); err != nil {
			t.Fatalf("stored record does not decode: %v\n%s", err, js)
		}
		if err := back.Normalize().Validate(today); err != nil {
			t.Fatalf("stored record refused after a round trip: %v\n%s", err, js)
		}
	})
}

func checkFuzzProblems(t *testing.T, err error, p PatientInput) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) == 0 {
		t.Fatalf("error %T %v is not a *ValidationError with problems", err, err)
	}
	secrets := []string{}
	if len(p.IDNumber) >= 8 && allDigits(p.IDNumber[:8]) {
		secrets = append(secrets, p.IDNumber)
	}
	for _, ph := range p.Phones {
		if len(ph) >= 7 && allDigits(ph) {
			secrets = append(secrets, ph)
		}
	}
	// The sentences' own examples are not the patient's data.
	examples := strings.NewReplacer("13800138000", "", "0871-61234567", "", "1956-06-20", "")
	for _, pr := range ve.Problems {
		if pr.Code == "" || strings.TrimSpace(pr.En) == "" || strings.TrimSpace(pr.Zh) == "" {
			t.Fatalf("incomplete problem %+v", pr)
		}
		if !utf8.ValidString(pr.En) || !utf8.ValidString(pr.Zh) || !utf8.ValidString(pr.Field) {
			t.Fatalf("problem is not valid UTF-8: %+v", pr)
		}
		if pr.Code == CodeUnknownField {
			continue // quotes the client's field name, never a value
		}
		for _, s := range secrets {
			if strings.Contains(examples.Replace(pr.En), s) || strings.Contains(examples.Replace(pr.Zh), s) {
				t.Fatalf("problem quotes %q: %+v", s, pr)
			}
		}
	}
	if ve.Message("zh") == "" || ve.Error() == "" {
		t.Fatal("empty joined message")
	}
}

// FuzzDecodeItems: the other bodies decode without panicking, and
// whatever Normalize makes of them, Validate answers in both languages.
func FuzzDecodeItems(f *testing.F) {
	for _, s := range []string{
		`{"substance":"青霉素","reaction":"皮疹","severity":"重度"}`,
		`{"code":"e119","note":"n"}`, `{"code":"K57.30"}`, `{"code":"Z99.999"}`,
		`{"name":"硝苯地平","dose":"10 mg","frequency":"bid"}`, `{"code":1}`, `null`,
	} {
		f.Add([]byte(s))
	}
	table := testTable()
	f.Fuzz(func(t *testing.T, body []byte) {
		var a AllergyInput
		if err := Decode(body, &a); err == nil {
			checkItemErr(t, a.Normalize().Validate())
		} else {
			checkItemErr(t, err)
		}
		var m MedicationInput
		if err := Decode(body, &m); err == nil {
			checkItemErr(t, m.Normalize().Validate())
		}
		var d DiagnosisInput
		if err := Decode(body, &d); err == nil {
			_, warnings, err := d.Normalize().Validate(table)
			checkItemErr(t, err)
			for _, w := range warnings {
				if w.En == "" || w.Zh == "" || w.Code != CodeICD10Unlisted {
					t.Fatalf("bad warning %+v", w)
				}
			}
		}
	})
}

func checkItemErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %T %v", err, err)
	}
	for _, pr := range ve.Problems {
		if pr.Code == "" || pr.En == "" || pr.Zh == "" {
			t.Fatalf("incomplete problem %+v", pr)
		}
	}
}

// FuzzLang: any header gives "zh" or "en".
func FuzzLang(f *testing.F) {
	for _, s := range []string{"", "zh-CN,zh;q=0.9,en;q=0.8", "en;q=0.5,zh;q=0.1", "*;q=1", "en;q=NaN", "en;q=1e-400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if l := Lang(h); l != "zh" && l != "en" {
			t.Fatalf("Lang(%q) = %q", h, l)
		}
	})
}

// FuzzLoadRules: any file is either refused with ErrRules or gives rules
// that Evaluate can use and LoadRules accepts again.
func FuzzLoadRules(f *testing.F) {
	f.Add([]byte(defaultRules))
	f.Add([]byte(`[{"tag":"a","tagZh":"甲","kind":"diagnosisInRange","args":{"from":"i10","to":"I15"}}]`))
	f.Add([]byte(`[{"tag":"a","tagZh":"甲","kind":"missedAppointments","args":{"count":1,"days":1}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := LoadRules(data)
		if err != nil {
			if !errors.Is(err, ErrRules) {
				t.Fatalf("error does not wrap ErrRules: %v", err)
			}
			return
		}
		js, err := json.Marshal(rules)
		if err != nil {
			t.Fatal(err)
		}
		again, err := LoadRules(js)
		if err != nil || !reflect.DeepEqual(again, rules) {
			t.Fatalf("loaded rules do not load again: %v\n%s", err, js)
		}
		Evaluate(rules, PatientFacts{BirthDate: "1950-01-01", Diagnoses: []string{"I10", "E11.9"}, MissedAppointments: []string{"2026-04-30"}}, today)
	})
}

// FuzzNormalize drives Normalize and Validate with arbitrary field values,
// which random JSON rarely reaches: Normalize is idempotent, and Validate
// answers every value with complete problems.
func FuzzNormalize(f *testing.F) {
	f.Add("阿依古丽 • 买买提", "+86 10 6234 5678", "11010519491231002x", "1949/12/31", "a-123456", "女", "平远镇\n1号")
	f.Add("张 三", "0086008613800138000", "１１０１０５", "1956年6月20日", "ＡＢ", "MALE", "\u200b")
	f.Add(" . ", "+", "x", "2026-05-02", "", "", "")
	f.Fuzz(func(t *testing.T, name, phone, id, birth, card, sex, text string) {
		p := PatientInput{
			Name: name, Sex: sex, BirthDate: birth, IDNumber: id, Phones: []string{phone, phone + "1"},
			Address: text, Occupation: text, MaritalStatus: sex, CardNumber: card,
			EmergencyContacts: []Contact{{Name: name, Relation: text, Phone: phone}},
			History:           text, FamilyHistory: name, Notes: text,
		}
		n := p.Normalize()
		if again := n.Normalize(); !reflect.DeepEqual(again, n) {
			t.Fatalf("Normalize not idempotent:\n%#v\n%#v", n, again)
		}
		for _, q := range []PatientInput{p, n} {
			if err := q.Validate(today); err != nil {
				checkFuzzProblems(t, err, q)
			}
		}
		a := AllergyInput{Substance: name, Reaction: text, Severity: sex}
		if na := a.Normalize(); na.Normalize() != na {
			t.Fatalf("allergy Normalize not idempotent: %#v", na)
		}
	})
}
