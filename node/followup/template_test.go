package followup

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestDefaultTemplates(t *testing.T) {
	ts := DefaultTemplates()
	var ids []string
	for _, x := range ts {
		ids = append(ids, x.ID)
		// Loaded templates are canonical: they load again unchanged.
		js, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		again, err := LoadTemplate(js)
		if err != nil || !reflect.DeepEqual(again, x) {
			t.Errorf("%s does not load again: %v", x.ID, err)
		}
		if x.MaxFailedAttempts != 3 || !slices.Equal(x.Escalation, DefaultLadder()) {
			t.Errorf("%s: ladder %v after %d failures, want the default", x.ID, x.Escalation, x.MaxFailedAttempts)
		}
	}
	if want := []string{"diabetes-t2", "hypertension", "post-surgery"}; !slices.Equal(ids, want) {
		t.Errorf("shipped %v, want %v", ids, want)
	}
	ts[0].Questions[0].ID = "changed"
	if DefaultTemplates()[0].Questions[0].ID == "changed" {
		t.Error("DefaultTemplates shares its data")
	}

	// Chronic-disease templates name the national standard, in both languages.
	for _, id := range []string{"hypertension", "diabetes-t2"} {
		x := template(t, id)
		if x.Source == nil || !strings.Contains(x.Source.Zh, "国家基本公共卫生服务规范（第三版）") ||
			!strings.Contains(x.Source.En, "National Basic Public Health Service Standards, 3rd edition") {
			t.Errorf("%s does not name its source: %+v", id, x.Source)
		}
		if r := x.Schedule.Repeat; r == nil || r.Unit != "month" || r.Every != 1 || r.Count != 0 {
			t.Errorf("%s is not monthly and open-ended: %+v", id, r)
		}
	}

	// The contract: hypertension asks systolic and diastolic in mm[Hg].
	h := template(t, "hypertension")
	for _, id := range []string{"systolic", "diastolic", "heart_rate", "adherence", "symptoms"} {
		i := slices.IndexFunc(h.Questions, func(q Question) bool { return q.ID == id })
		if i < 0 {
			t.Errorf("hypertension does not ask %s", id)
			continue
		}
		if q := h.Questions[i]; (id == "systolic" || id == "diastolic") && (q.Type != TypeNumber || q.Unit != "mm[Hg]") {
			t.Errorf("%s is %s in %q", id, q.Type, q.Unit)
		}
	}
	if got := Triggered(DefaultTemplates(), Event{Kind: EventDiagnosis, Code: "I10"}); len(got) != 1 || got[0].ID != "hypertension" {
		t.Errorf("I10 starts %v", got)
	}

	p := template(t, "post-surgery")
	var days []int
	for _, o := range p.Schedule.Offsets {
		days = append(days, o.Days)
	}
	if !slices.Equal(days, []int{1, 3, 7, 14}) {
		t.Errorf("post-surgery days %v", days)
	}
}

func TestLoadTemplate(t *testing.T) {
	x, err := LoadTemplate(vary(t, `{"triggers":[{"event":"diagnosis","from":"i10","to":"ｉ１５"},{"event":"discharge"}],"maxFailedAttempts":0,"escalation":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if x.Triggers[0].From != "I10" || x.Triggers[0].To != "I15" {
		t.Errorf("bounds not canonical: %+v", x.Triggers[0])
	}
	if x.MaxFailedAttempts != DefaultMaxFailed || !slices.Equal(x.Escalation, DefaultLadder()) {
		t.Errorf("defaults not filled: %d %v", x.MaxFailedAttempts, x.Escalation)
	}
	if x, err := LoadTemplate(vary(t, `{"escalation":["home_visit","lost_to_follow_up"],"maxFailedAttempts":1}`)); err != nil || len(x.Escalation) != 2 {
		t.Errorf("short ladder: %v %v", x.Escalation, err)
	}

	num := `{"id":"q","type":"number","unit":"mm[Hg]","min":0,"max":300,"text":{"en":"Q","zh":"问"}`
	tests := []struct {
		name, json string
		raw        bool   // json is the whole file, not a patch
		field      string // of the first problem
		code       string
	}{
		{"not JSON", `{`, true, "", "bad_json"},
		{"array", `[]`, true, "", "bad_json"},
		{"null", `null`, true, "", "bad_json"},
		{"trailing", minimal + ` {}`, true, "", "bad_json"},
		{"unknown field", `{"colour":"red"}`, false, "", "bad_json"},
		{"too large", `{"id":"` + strings.Repeat("a", MaxTemplateBytes) + `"}`, false, "", "too_large"},
		{"bad id", `{"id":"Hypertension"}`, false, "id", "bad_char"},
		{"no Chinese name", `{"name":{"en":"T"}}`, false, "name.zh", "required"},
		{"no triggers", `{"triggers":[]}`, false, "triggers", "required"},
		{"diagnosis without range", `{"triggers":[{"event":"diagnosis"}]}`, false, "triggers[0]", "required"},
		{"range subcode", `{"triggers":[{"event":"diagnosis","from":"I10","to":"I15.9"}]}`, false, "triggers[0]", "icd10_malformed"},
		{"range reversed", `{"triggers":[{"event":"diagnosis","from":"I15","to":"I10"}]}`, false, "triggers[0]", "icd10_malformed"},
		{"procedure without kind", `{"triggers":[{"event":"procedure"}]}`, false, "triggers[0].procedure", "required"},
		{"procedure kind", `{"triggers":[{"event":"procedure","procedure":"Surgery!"}]}`, false, "triggers[0].procedure", "bad_char"},
		{"procedure with range", `{"triggers":[{"event":"procedure","procedure":"surgery","from":"I10","to":"I10"}]}`, false, "triggers[0]", "unknown_field"},
		{"unknown event", `{"triggers":[{"event":"admission"}]}`, false, "triggers[0].event", "not_in_list"},
		{"no schedule", `{"schedule":{}}`, false, "schedule", "bad_schedule"},
		{"both schedules", `{"schedule":{"offsets":[{"days":1}],"repeat":{"unit":"month","every":1}}}`, false, "schedule", "bad_schedule"},
		{"offsets unordered", `{"schedule":{"offsets":[{"days":3},{"days":3}]}}`, false, "schedule.offsets[1].days", "bad_schedule"},
		{"offset negative", `{"schedule":{"offsets":[{"days":-1}]}}`, false, "schedule.offsets[0].days", "bad_schedule"},
		{"offset method", `{"schedule":{"offsets":[{"days":1,"method":"letter"}]}}`, false, "schedule.offsets[0].method", "not_in_list"},
		{"repeat unit", `{"source":{"en":"S","zh":"源"},"schedule":{"repeat":{"unit":"year","every":1}}}`, false, "schedule.repeat.unit", "not_in_list"},
		{"repeat every 0", `{"source":{"en":"S","zh":"源"},"schedule":{"repeat":{"unit":"month"}}}`, false, "schedule.repeat.every", "bad_schedule"},
		{"repeat count", `{"source":{"en":"S","zh":"源"},"schedule":{"repeat":{"unit":"month","every":1,"count":-1}}}`, false, "schedule.repeat.count", "bad_schedule"},
		{"repeat methods", `{"source":{"en":"S","zh":"源"},"schedule":{"repeat":{"unit":"month","every":1,"methods":["fax"]}}}`, false, "schedule.repeat.methods[0]", "not_in_list"},
		{"repeat without source", `{"schedule":{"repeat":{"unit":"month","every":1}}}`, false, "source", "required"},
		{"method", `{"method":"letter"}`, false, "method", "not_in_list"},
		{"attempts", `{"maxFailedAttempts":11}`, false, "maxFailedAttempts", "not_in_list"},
		{"ladder unknown", `{"escalation":["police","lost_to_follow_up"]}`, false, "escalation[0]", "not_in_list"},
		{"ladder twice", `{"escalation":["family","family","lost_to_follow_up"]}`, false, "escalation[1]", "duplicate"},
		{"ladder not ending lost", `{"escalation":["family"]}`, false, "escalation", "bad_ladder"},
		{"ladder empty", `{"escalation":[]}`, false, "escalation", "bad_ladder"},
		{"question id", `{"questions":[{"id":"Q","type":"yes_no","text":{"en":"Q","zh":"问"}}]}`, false, "questions[0].id", "bad_char"},
		{"question twice", `{"questions":[` + num + `},` + num + `}]}`, false, "questions[1].id", "duplicate"},
		{"question type", `{"questions":[{"id":"q","type":"date","text":{"en":"Q","zh":"问"}}]}`, false, "questions[0].type", "not_in_list"},
		{"number no unit", `{"questions":[{"id":"q","type":"number","min":0,"max":1,"text":{"en":"Q","zh":"问"}}]}`, false, "questions[0].unit", "required"},
		{"number no range", `{"questions":[{"id":"q","type":"number","unit":"kg","text":{"en":"Q","zh":"问"}}]}`, false, "questions[0]", "required"},
		{"scale with unit", `{"questions":[{"id":"q","type":"scale","unit":"kg","text":{"en":"Q","zh":"问"}}]}`, false, "questions[0].unit", "unknown_field"},
		{"choice too few", `{"questions":[{"id":"q","type":"choice","choices":[{"id":"a","text":{"en":"A","zh":"甲"}}],"text":{"en":"Q","zh":"问"}}]}`, false, "questions[0].choices", "required"},
		{"yes_no multiple", `{"questions":[{"id":"q","type":"yes_no","multiple":true,"text":{"en":"Q","zh":"问"}}]}`, false, "questions[0].multiple", "unknown_field"},
		{"rule level", `{"questions":[` + num + `,"abnormal":[{"atLeast":1,"level":"high"}]}]}`, false, "questions[0].abnormal[0]", "bad_rule"},
		{"rule two bounds", `{"questions":[` + num + `,"abnormal":[{"atLeast":1,"below":2,"level":"abnormal"}]}]}`, false, "questions[0].abnormal[0]", "bad_rule"},
		{"rule outside range", `{"questions":[` + num + `,"abnormal":[{"atLeast":400,"level":"abnormal"}]}]}`, false, "questions[0].abnormal[0]", "bad_rule"},
		{"rule is on number", `{"questions":[` + num + `,"abnormal":[{"is":true,"level":"abnormal"}]}]}`, false, "questions[0].abnormal[0]", "bad_rule"},
		{"rule unknown choice", `{"questions":[{"id":"q","type":"choice","choices":[{"id":"a","text":{"en":"A","zh":"甲"}},{"id":"b","text":{"en":"B","zh":"乙"}}],"abnormal":[{"anyOf":["c"],"level":"abnormal"}],"text":{"en":"Q","zh":"问"}}]}`, false, "questions[0].abnormal[0]", "bad_rule"},
		{"rule on text", `{"questions":[{"id":"q","type":"text","abnormal":[{"is":true,"level":"abnormal"}],"text":{"en":"Q","zh":"问"}}]}`, false, "questions[0].abnormal[0]", "bad_rule"},
		{"worse direction", `{"questions":[` + num + `,"worse":{"when":"up","by":1}}]}`, false, "questions[0].worse", "not_in_list"},
		{"worse by 0", `{"questions":[` + num + `,"worse":{"when":"higher","by":0}}]}`, false, "questions[0].worse", "not_in_list"},
		{"worse on yes_no", `{"questions":[{"id":"q","type":"yes_no","worse":{"when":"higher","by":1},"text":{"en":"Q","zh":"问"}}]}`, false, "questions[0].worse", "unknown_field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.json)
			if !tc.raw {
				data = vary(t, tc.json)
			}
			x, err := LoadTemplate(data)
			if err == nil {
				t.Fatalf("accepted: %+v", x)
			}
			fe := checkError(t, err, ErrTemplate)
			if p := fe.Problems[0]; p.Field != tc.field || p.Code != tc.code {
				t.Errorf("first problem %+v, want field %q code %q", p, tc.field, tc.code)
			}
		})
	}
}

// TestLoadTemplateEveryProblem: an admin fixes the file once, not once
// per fault.
func TestLoadTemplateEveryProblem(t *testing.T) {
	_, err := LoadTemplate(vary(t, `{"id":"","method":"fax","triggers":[],"escalation":["family"]}`))
	fe := checkError(t, err, ErrTemplate)
	var fields []string
	for _, p := range fe.Problems {
		fields = append(fields, p.Field)
	}
	if want := []string{"id", "triggers", "method", "escalation"}; !slices.Equal(fields, want) {
		t.Errorf("problems at %v, want %v", fields, want)
	}
	if !strings.Contains(fe.Message("zh"), "模板编号") || !strings.Contains(fe.Error(), "invalid follow-up template: The template id") {
		t.Errorf("messages: %q / %q", fe.Message("zh"), fe.Error())
	}
}
