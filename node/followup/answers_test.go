package followup

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// decode reads answers as the API will: encoding/json into map[string]any.
func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		template, answers string
		want              string // question:level of each finding
		urgent            bool
	}{
		{"hypertension", `{"systolic":159,"diastolic":99}`, "", false},
		{"hypertension", `{"systolic":160,"diastolic":90}`, "systolic:abnormal", false},
		{"hypertension", `{"systolic":140,"diastolic":100}`, "diastolic:abnormal", false},
		{"hypertension", `{"systolic":185,"diastolic":112}`, "systolic:urgent diastolic:urgent", true},
		{"hypertension", `{"systolic":179.9,"diastolic":110}`, "systolic:abnormal diastolic:urgent", true},
		{"hypertension", `{"heart_rate":101}`, "heart_rate:abnormal", false},
		{"hypertension", `{"heart_rate":49}`, "heart_rate:abnormal", false},
		{"hypertension", `{"heart_rate":100,"adherence":"regular","side_effects":false,"symptoms":["none"]}`, "", false},
		{"hypertension", `{"adherence":"intermittent","side_effects":true,"symptoms":["none","nosebleed"]}`, "adherence:abnormal side_effects:abnormal symptoms:abnormal", false},
		{"hypertension", `{"symptoms":[],"notes":"很好","weight":60.5}`, "", false},
		{"diabetes-t2", `{"fasting_glucose":6.9}`, "", false},
		{"diabetes-t2", `{"fasting_glucose":7.0}`, "fasting_glucose:abnormal", false},
		{"diabetes-t2", `{"fasting_glucose":16.7}`, "fasting_glucose:urgent", true},
		{"diabetes-t2", `{"fasting_glucose":3.9}`, "fasting_glucose:urgent", true},
		{"diabetes-t2", `{"fasting_glucose":4.0,"hypoglycaemia":"frequent"}`, "hypoglycaemia:abnormal", false},
		{"post-surgery", `{"wound_redness":true,"pain":7,"temperature":38.0}`, "wound_redness:abnormal pain:abnormal temperature:abnormal", false},
		{"post-surgery", `{"wound_redness":false,"wound_discharge":false,"pain":6,"temperature":37.9}`, "", false},
		{"post-surgery", `{"pain":null}`, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.template+tc.answers, func(t *testing.T) {
			res, err := Evaluate(template(t, tc.template), decode(t, tc.answers))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range res.Findings {
				got = append(got, f.Question+":"+f.Level)
				if f.Reason.En == "" || f.Reason.Zh == "" || f.Text.En == "" || f.Value == nil {
					t.Errorf("incomplete finding %+v", f)
				}
			}
			if s := strings.Join(got, " "); s != tc.want {
				t.Errorf("findings %q, want %q", s, tc.want)
			}
			if res.Urgent() != tc.urgent {
				t.Errorf("urgent %v", res.Urgent())
			}
		})
	}
}

func TestEvaluateResult(t *testing.T) {
	h := template(t, "hypertension")
	res, err := Evaluate(h, map[string]any{
		"systolic": json.Number("172"), "diastolic": 88, "symptoms": []any{"nosebleed", "headache_dizziness", "nosebleed"},
		"adherence": "regular", "notes": nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"systolic": 172.0, "diastolic": 88.0, "symptoms": []string{"headache_dizziness", "nosebleed"}, "adherence": "regular"}
	if !reflect.DeepEqual(res.Answers, want) {
		t.Errorf("clean answers %#v", res.Answers)
	}
	if want := []string{"heart_rate", "side_effects", "weight", "notes"}; !slices.Equal(res.Unanswered, want) {
		t.Errorf("unanswered %v", res.Unanswered)
	}
	f := res.Findings[0]
	if f.Question != "systolic" || f.Value != 172.0 || f.Unit != "mm[Hg]" || *f.Rule.AtLeast != 160 ||
		f.Reason.En != "Systolic blood pressure: 172 mm[Hg], at least 160 mm[Hg]" || f.Reason.Zh != "收缩压：172 mm[Hg]，≥160 mm[Hg]" {
		t.Errorf("finding %+v", f)
	}
	if g := res.Findings[1]; g.Reason.Zh != "上次随访以来的症状：头痛头晕、鼻衄出血不止，属于头痛头晕、恶心呕吐、眼花耳鸣、呼吸困难、心悸胸闷、鼻衄出血不止、四肢发麻、下肢水肿" {
		t.Errorf("symptoms reason %q", g.Reason.Zh)
	}
	// Clean answers evaluate to the same result.
	again, err := Evaluate(h, res.Answers)
	if err != nil || !reflect.DeepEqual(again, res) {
		t.Errorf("clean answers evaluate differently: %v\n%+v\n%+v", err, again, res)
	}
}

func TestEvaluateErrors(t *testing.T) {
	h := template(t, "hypertension")
	p := template(t, "post-surgery")
	tests := []struct {
		name    string
		t       Template
		answers map[string]any
		field   string
		code    string
	}{
		{"unknown question", h, map[string]any{"sbp": 140.0}, "answers", "unknown_question"},
		{"number as text", h, map[string]any{"systolic": "140"}, "answers.systolic", "wrong_type"},
		{"typo", h, map[string]any{"systolic": 1400.0}, "answers.systolic", "out_of_range"},
		{"negative", h, map[string]any{"diastolic": -80.0}, "answers.diastolic", "out_of_range"},
		{"NaN", h, map[string]any{"systolic": math.NaN()}, "answers.systolic", "wrong_type"},
		{"bad json.Number", h, map[string]any{"systolic": json.Number("1e")}, "answers.systolic", "wrong_type"},
		{"yes as text", h, map[string]any{"side_effects": "yes"}, "answers.side_effects", "wrong_type"},
		{"choice not offered", h, map[string]any{"adherence": "sometimes"}, "answers.adherence", "not_in_list"},
		{"single choice as list", h, map[string]any{"adherence": []any{"regular"}}, "answers.adherence", "not_in_list"},
		{"multiple as string", h, map[string]any{"symptoms": "none"}, "answers.symptoms", "not_in_list"},
		{"multiple with a number", h, map[string]any{"symptoms": []any{"none", 1.0}}, "answers.symptoms", "not_in_list"},
		{"text too long", h, map[string]any{"notes": strings.Repeat("好", MaxAnswerLen+1)}, "answers.notes", "wrong_type"},
		{"text as number", h, map[string]any{"notes": 1.0}, "answers.notes", "wrong_type"},
		{"scale fraction", p, map[string]any{"pain": 3.5}, "answers.pain", "not_whole"},
		{"scale 11", p, map[string]any{"pain": 11.0}, "answers.pain", "out_of_range"},
		{"temperature in Fahrenheit", p, map[string]any{"temperature": 101.3}, "answers.temperature", "out_of_range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Evaluate(tc.t, tc.answers)
			if err == nil {
				t.Fatalf("accepted: %+v", res)
			}
			fe := checkError(t, err, ErrAnswers)
			if pr := fe.Problems[0]; pr.Field != tc.field || pr.Code != tc.code {
				t.Errorf("problem %+v, want %s %s", pr, tc.field, tc.code)
			}
		})
	}

	// Every problem at once, in key order; no sentence quotes a value.
	_, err := Evaluate(h, decode(t, `{"systolic":1400,"diastolic":"95","zzz":1,"notes":"my phone 13800138000"}`))
	fe := checkError(t, err, ErrAnswers)
	var fields []string
	for _, pr := range fe.Problems {
		fields = append(fields, pr.Field)
		for _, s := range []string{pr.En, pr.Zh} {
			if strings.Contains(s, "1400") || strings.Contains(s, "95") {
				t.Errorf("problem quotes the answer: %s", s)
			}
		}
	}
	if want := []string{"answers.diastolic", "answers.systolic", "answers"}; !slices.Equal(fields, want) {
		t.Errorf("problems at %v, want %v", fields, want)
	}
	if m := fe.Message("zh"); !strings.Contains(m, "“收缩压”的回答超出50至300 mm[Hg]") || !strings.Contains(m, "没有问题“zzz”") {
		t.Errorf("Chinese message %q", m)
	}
}

func TestWorsening(t *testing.T) {
	h := template(t, "hypertension")
	p := template(t, "post-surgery")
	tests := []struct {
		name      string
		t         Template
		prev, cur string
		want      string
	}{
		{"systolic up 20", h, `{"systolic":130,"diastolic":80}`, `{"systolic":150,"diastolic":85}`, "systolic"},
		{"systolic up 19", h, `{"systolic":130}`, `{"systolic":149}`, ""},
		{"both up", h, `{"systolic":130,"diastolic":80}`, `{"systolic":170,"diastolic":95}`, "systolic diastolic"},
		{"down is better", h, `{"systolic":170}`, `{"systolic":120}`, ""},
		{"heart rate not marked", h, `{"heart_rate":60}`, `{"heart_rate":120}`, ""},
		{"no previous", h, `{}`, `{"systolic":190}`, ""},
		{"unreadable previous", h, `{"systolic":"high"}`, `{"systolic":190}`, ""},
		{"pain up 2", p, `{"pain":2,"temperature":37}`, `{"pain":4,"temperature":38.2}`, "pain temperature"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, c := range Worsening(tc.t, decode(t, tc.prev), decode(t, tc.cur)) {
				got = append(got, c.Question)
				if c.Reason.En == "" || c.Reason.Zh == "" || c.Cur-c.Prev < c.Worse.By {
					t.Errorf("change %+v", c)
				}
			}
			if s := strings.Join(got, " "); s != tc.want {
				t.Errorf("worse %q, want %q", s, tc.want)
			}
		})
	}
	lower := Template{Questions: []Question{{ID: "spo2", Type: TypeNumber, Unit: "%", Text: Text{En: "SpO2", Zh: "血氧"}, Worse: &Worse{When: "lower", By: 3}}}}
	c := Worsening(lower, map[string]any{"spo2": 97.0}, map[string]any{"spo2": 94})
	if len(c) != 1 || c[0].Reason.En != "SpO2: 97 → 94 %, lower by 3 % or more since the last follow-up" || c[0].Reason.Zh != "血氧：97 → 94 %，较上次随访降低3 %及以上" {
		t.Errorf("lower: %+v", c)
	}
}
