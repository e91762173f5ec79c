package followup

import (
	"encoding/json"

	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzLoadTemplate: any file is refused with a complete *Error wrapping
// ErrTemplate, or gives a template that loads again unchanged and that
// Schedule, Evaluate, Worsening and NextStep can use without panicking or
// running away.
func FuzzLoadTemplate(f *testing.F) {
	for _, name := range []string{"hypertension", "diabetes-t2", "post-surgery"} {
		data, err := shipped.ReadFile("templates/" + name + ".json")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(minimal))
	f.Add([]byte(`{"id":"x","name":{"en":"X","zh":"乙"},"source":{"en":"S","zh":"源"},"triggers":[{"event":"discharge","from":"i60","to":"I64","procedure":"surgery"}],"schedule":{"repeat":{"unit":"week","every":2,"count":3,"methods":["sms","video"]}},"method":"sms","maxFailedAttempts":1,"escalation":["lost_to_follow_up"],"sendSummary":true,"questions":[{"id":"q","type":"scale","text":{"en":"Q","zh":"问"},"abnormal":[{"below":1,"level":"urgent"}],"worse":{"when":"lower","by":0.5}}]}`))
	f.Add([]byte(`{"schedule":{"offsets":[{"days":1e400}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := LoadTemplate(data)
		if err != nil {
			fe := checkError(t, err, ErrTemplate)
			for _, p := range fe.Problems {
				if !utf8.ValidString(p.En) || !utf8.ValidString(p.Zh) {
					t.Fatalf("problem is not UTF-8: %+v", p)
				}
			}
			return
		}
		js, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		again, err := LoadTemplate(js)
		if err != nil || !reflect.DeepEqual(again, x) {
			t.Fatalf("loaded template does not load again: %v\n%s", err, js)
		}
		start := Date{2024, 2, 29}
		dues := Schedule(x, start, start.AddMonths(24))
		for i, d := range dues {
			if d.Seq < 1 || !d.Date.Valid() || !validMethod(d.Method) || (i > 0 && d.Date.Compare(dues[i-1].Date) <= 0) {
				t.Fatalf("bad due %+v", d)
			}
		}
		res, err := Evaluate(x, map[string]any{})
		if err != nil || len(res.Unanswered) != len(x.Questions) {
			t.Fatalf("empty answers: %+v %v", res, err)
		}
		Worsening(x, map[string]any{}, map[string]any{})
		s, err := NextStep(x, []Outcome{OutcomeNoAnswer, OutcomeWrongNumber})
		if err != nil || s.Action == ActionDone || s.Action == ActionEndPlan {
			t.Fatalf("failed attempts closed the task: %+v %v", s, err)
		}
	})
}

// FuzzEvaluate feeds answer bodies, decoded as the API will, to every
// shipped template: answers are refused with complete problems, or give
// clean answers that evaluate to the same result again, and each finding's
// rule holds for its value.
func FuzzEvaluate(f *testing.F) {
	for _, s := range []string{
		`{"systolic":172,"diastolic":104,"heart_rate":88,"adherence":"intermittent","symptoms":["none","nosebleed"],"notes":"头晕"}`,
		`{"fasting_glucose":3.2,"hypoglycaemia":"frequent","weight":72.5}`,
		`{"wound_redness":true,"pain":8,"temperature":38.6}`,
		`{"systolic":"140","pain":3.5,"x":null,"symptoms":[1,{}]}`,
		`{"systolic":1e308,"temperature":-0}`, `{}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	templates := DefaultTemplates()
	f.Fuzz(func(t *testing.T, body []byte) {
		var answers map[string]any
		if err := json.Unmarshal(body, &answers); err != nil {
			return
		}
		for _, x := range templates {
			res, err := Evaluate(x, answers)
			if err != nil {
				checkError(t, err, ErrAnswers)
				continue
			}
			for _, fd := range res.Findings {
				if !fd.Rule.holds(fd.Value) || fd.Reason.En == "" || fd.Reason.Zh == "" {
					t.Fatalf("finding does not hold: %+v", fd)
				}
			}
			again, err := Evaluate(x, res.Answers)
			if err != nil || !reflect.DeepEqual(again, res) {
				t.Fatalf("clean answers evaluate differently: %v\n%+v\n%+v", err, again, res)
			}
			Worsening(x, answers, res.Answers)
		}
	})
}
