package care

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	var p PatientInput
	body := `{"name":"张三","sex":"male","birthDate":"1956-06-20","idNumber":"53252819560620001X",
		"phones":["13800138000"],"address":"平远镇","occupation":"农民","maritalStatus":"married",
		"emergencyContacts":[{"name":"李四","relation":"儿子","phone":"13912345678"}],
		"cardNumber":"A0001234","history":"h","familyHistory":"f","notes":"n"}`
	if err := Decode([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	want := PatientInput{Name: "张三", Sex: "male", BirthDate: "1956-06-20", IDNumber: "53252819560620001X",
		Phones: []string{"13800138000"}, Address: "平远镇", Occupation: "农民", MaritalStatus: "married",
		EmergencyContacts: []Contact{{Name: "李四", Relation: "儿子", Phone: "13912345678"}},
		CardNumber:        "A0001234", History: "h", FamilyHistory: "f", Notes: "n"}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got %#v", p)
	}
	var a AllergyInput
	if err := Decode([]byte(`{"substance":"青霉素","reaction":"皮疹","severity":"severe"}`), &a); err != nil || a.Severity != "severe" {
		t.Errorf("allergy %+v %v", a, err)
	}
	var d DiagnosisInput
	if err := Decode([]byte(`{"code":"I10"}`), &d); err != nil || d.Code != "I10" {
		t.Errorf("diagnosis %+v %v", d, err)
	}
	var m MedicationInput
	if err := Decode([]byte(`{"name":"x","dose":"1","frequency":"qd"}`), &m); err != nil || m.Frequency != "qd" {
		t.Errorf("medication %+v %v", m, err)
	}
}

// TestDecodePatch: a body laid over a record replaces what it names and
// keeps the rest; null clears.
func TestDecodePatch(t *testing.T) {
	p := validPatient(t)
	before := p
	if err := Decode([]byte(`{"phones":["13911112222"],"notes":null,"address":"新地址"}`), &p); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Phones, []string{"13911112222"}) || p.Address != "新地址" || p.Notes != "" {
		t.Errorf("patched %+v", p)
	}
	if p.Name != before.Name || p.IDNumber != before.IDNumber || !reflect.DeepEqual(p.EmergencyContacts, before.EmergencyContacts) {
		t.Error("absent fields changed")
	}
	// A patch of the birth date alone is cross-checked with the stored ID.
	if err := Decode([]byte(`{"birthDate":"1956-06-21"}`), &p); err != nil {
		t.Fatal(err)
	}
	if _, ok := find(problemsOf(t, p.Normalize().Validate(today)), "idNumber", CodeIDBirthDateMismatch); !ok {
		t.Error("patched birth date not cross-checked with the stored ID number")
	}
}

func TestDecodeProblems(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		field  string
		code   string
		en, zh string
	}{
		{"empty", ``, "", CodeBadJSON, "empty", "为空"},
		{"not JSON", `name=张三`, "", CodeBadJSON, "not valid JSON", "不是有效的JSON"},
		{"array", `[{"name":"张三"}]`, "", CodeBadJSON, "must be a JSON object", "应为JSON对象"},
		{"string", `"张三"`, "", CodeBadJSON, "must be a JSON object", "应为JSON对象"},
		{"null", `null`, "", CodeBadJSON, "must be a JSON object", "应为JSON对象"},
		{"cut short", `{"name":"张三"`, "", CodeBadJSON, "not valid JSON", "JSON"},
		{"trailing data", `{"name":"张三"} {}`, "", CodeBadJSON, "more data after", "多余内容"},
		{"name a number", `{"name":42}`, "name", CodeWrongType, `"name" must be text in quotes ("…"), not a number`, `字段"name"应为加引号的文字（"…"），而不是数字`},
		{"phones a string", `{"phones":"13800138000"}`, "phones", CodeWrongType, "must be a list of texts", "应为文字列表"},
		{"phone a number", `{"phones":[13800138000]}`, "phones", CodeWrongType, "not a number", "而不是数字"},
		{"contacts an object", `{"emergencyContacts":{"name":"李四"}}`, "emergencyContacts", CodeWrongType, "a list of objects", "对象列表"},
		{"contact phone a number", `{"emergencyContacts":[{"name":"李四","phone":139}]}`, "emergencyContacts.phone", CodeWrongType, "not a number", "而不是数字"},
		{"sex a boolean", `{"sex":true}`, "sex", CodeWrongType, "not true or false", "true/false"},
		{"unknown field", `{"nmae":"张三"}`, "nmae", CodeUnknownField, "no field “nmae”", "没有字段“nmae”"},
		{"wrong case", `{"Name":"张三"}`, "Name", CodeUnknownField, `did you mean "name"`, `是否应为"name"`},
		{"unknown field in contact", `{"emergencyContacts":[{"name":"李四","tel":"139"}]}`, "emergencyContacts.tel", CodeUnknownField, "no field “tel”", "没有字段“tel”"},
		{"allergies not here", `{"allergies":[]}`, "allergies", CodeUnknownField, "no field", "没有字段"},
		{"same field twice", `{"name":"张三","name":"李四"}`, "name", CodeDuplicate, "appears twice", "出现了两次"},
		{"same field twice in a contact", `{"emergencyContacts":[{"name":"李四","phone":"139","phone":"138"}]}`, "emergencyContacts[0].phone", CodeDuplicate,
			`"emergencyContacts[0].phone" appears twice`, "出现了两次"},
		{"too large", `{"notes":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, "", CodeTooLarge, "too large", "过大"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p PatientInput
			ps := problemsOf(t, Decode([]byte(tc.body), &p))
			checkSentences(t, ps)
			got, ok := find(ps, tc.field, tc.code)
			if !ok {
				t.Fatalf("no %s on %q: %+v", tc.code, tc.field, ps)
			}
			if !strings.Contains(got.En, tc.en) || !strings.Contains(got.Zh, tc.zh) {
				t.Errorf("got %q / %q, want %q / %q", got.En, got.Zh, tc.en, tc.zh)
			}
		})
	}
}

// TestDecodeEveryProblem: several bad fields are all reported, and the
// good ones still decoded.
func TestDecodeEveryProblem(t *testing.T) {
	var p PatientInput
	ps := problemsOf(t, Decode([]byte(`{"name":1,"sex":"male","phones":2,"foo":3,"birthDate":[]}`), &p))
	if len(ps) != 4 {
		t.Errorf("want 4 problems, got %+v", ps)
	}
	if p.Sex != "male" {
		t.Error("a good field next to bad ones was not decoded")
	}
	// Ten thousand unknown fields get a short answer.
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&b, `"f%d":0,`, i)
	}
	b.WriteString(`"name":"x"}`)
	ps = problemsOf(t, Decode([]byte(b.String()), &p))
	if len(ps) > maxDecodeProblems+1 {
		t.Errorf("%d problems listed", len(ps))
	}
}
