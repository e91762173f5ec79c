package followup

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"unicode/utf8"

	"carenode/node/care"
)

// Result is what Evaluate makes of an attempt's answers.
type Result struct {
	// Answers are the answers in clean form, to store: float64 for number
	// and scale, bool for yes/no, string for choice and text, []string
	// for a multiple choice (in the template's order). Unanswered
	// questions are absent.
	Answers map[string]any `json:"answers"`
	// Findings are the abnormal answers, in the template's question
	// order: each one is an alert for the responsible doctor.
	Findings []Finding `json:"findings,omitempty"`
	// Unanswered lists the questions with no answer, in order: a patient
	// without a glucose meter cannot give a glucose, and that is not an
	// error, but the screen shows it.
	Unanswered []string `json:"unanswered,omitempty"`
}

// Urgent reports whether a finding is urgent (refer at once).
func (r Result) Urgent() bool {
	for _, f := range r.Findings {
		if f.Level == LevelUrgent {
			return true
		}
	}
	return false
}

// Finding is one abnormal answer, with what the doctor needs to act.
type Finding struct {
	Question string `json:"question"` // the question's id
	Text     Text   `json:"text"`     // the question
	Value    any    `json:"value"`    // the clean answer, as in Result.Answers
	Unit     string `json:"unit,omitempty"`
	Level    string `json:"level"` // LevelAbnormal or LevelUrgent
	Rule     Rule   `json:"rule"`  // the rule that holds
	// Reason says it in both languages, values included, for the alert:
	// "Systolic blood pressure: 172 mm[Hg], at least 160 mm[Hg]".
	Reason Text `json:"reason"`
}

// Evaluate checks answers (a JSON object decoded into map[string]any, or
// values of the clean Go types) against t's questions and returns them
// clean with the abnormal ones. Every fault is reported at once, as an
// *Error wrapping ErrAnswers: an answer to a question t does not ask, a
// value of the wrong type (a number as text, a fraction on a 0–10
// scale), a number outside the question's physical range (a typo such as
// 1400 for 140: refused, not raised as an alert), a choice the question
// does not offer. A nil value is no answer. Sentences name the question
// and the allowed values but never quote the answer, since errors are
// logged and answers are health data.
//
// A question has at most one finding: the first rule of the highest
// level that holds (systolic 185 is urgent by "at least 180", not
// abnormal by "at least 160").
func Evaluate(t Template, answers map[string]any) (Result, error) {
	ps := problems{kind: ErrAnswers}
	byID := make(map[string]*Question, len(t.Questions))
	for i := range t.Questions {
		byID[t.Questions[i].ID] = &t.Questions[i]
	}
	keys := make([]string, 0, len(answers))
	for k := range answers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	clean := make(map[string]any, len(answers))
	for _, k := range keys {
		v := answers[k]
		q, ok := byID[k]
		if !ok {
			ps.add("answers", CodeUnknownQuestion,
				fmt.Sprintf("This follow-up asks no question %q; check the question ids of template %s.", clip(k), t.ID),
				fmt.Sprintf("本次随访没有问题“%s”，请核对模板%s的问题编号。", clip(k), t.ID))
			continue
		}
		if v == nil {
			continue
		}
		if c, ok := q.clean(&ps, v); ok {
			clean[k] = c
		}
	}
	if err := ps.err(); err != nil {
		return Result{}, err
	}
	res := Result{Answers: clean}
	for i := range t.Questions {
		q := &t.Questions[i]
		v, ok := clean[q.ID]
		if !ok {
			res.Unanswered = append(res.Unanswered, q.ID)
			continue
		}
		if f, ok := q.finding(v); ok {
			res.Findings = append(res.Findings, f)
		}
	}
	return res, nil
}

// clean converts v to the question's clean type, or reports why not.
func (q *Question) clean(ps *problems, v any) (any, bool) {
	field := "answers." + q.ID
	label := func() (string, string) { return q.Text.En, q.Text.Zh }
	en, zh := label()
	switch q.Type {
	case TypeNumber, TypeScale:
		x, ok := number(v)
		lo, hi := 0.0, 10.0
		if q.Type == TypeNumber && q.Min != nil && q.Max != nil {
			lo, hi = *q.Min, *q.Max
		}
		unitEn, unitZh := "", ""
		if q.Unit != "" {
			unitEn, unitZh = " "+q.Unit, " "+q.Unit
		}
		switch {
		case !ok:
			ps.add(field, care.CodeWrongType,
				fmt.Sprintf("The answer to %q must be a number from %s to %s%s.", en, num(lo), num(hi), unitEn),
				fmt.Sprintf("“%s”的回答应为%s至%s%s之间的数字。", zh, num(lo), num(hi), unitZh))
			return nil, false
		case x < lo || x > hi:
			ps.add(field, CodeOutOfRange,
				fmt.Sprintf("The answer to %q is outside %s to %s%s, which cannot be right; check the reading.", en, num(lo), num(hi), unitEn),
				fmt.Sprintf("“%s”的回答超出%s至%s%s，不可能正确，请核对读数。", zh, num(lo), num(hi), unitZh))
			return nil, false
		case q.Type == TypeScale && x != math.Trunc(x):
			ps.add(field, CodeNotWhole,
				fmt.Sprintf("The answer to %q must be a whole number from 0 to 10.", en),
				fmt.Sprintf("“%s”的回答应为0至10的整数。", zh))
			return nil, false
		}
		return x + 0, true // +0 turns -0 into 0
	case TypeYesNo:
		b, ok := v.(bool)
		if !ok {
			ps.add(field, care.CodeWrongType,
				fmt.Sprintf("The answer to %q must be true (yes) or false (no).", en),
				fmt.Sprintf("“%s”的回答应为true（是）或false（否）。", zh))
		}
		return b, ok
	case TypeText:
		s, ok := v.(string)
		if !ok || !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxAnswerLen {
			ps.add(field, care.CodeWrongType,
				fmt.Sprintf("The answer to %q must be text of at most %d characters.", en, MaxAnswerLen),
				fmt.Sprintf("“%s”的回答应为不超过%d个字的文字。", zh, MaxAnswerLen))
			return nil, false
		}
		return s, true
	case TypeChoice:
		ids := make([]string, 0, len(q.Choices))
		for _, c := range q.Choices {
			ids = append(ids, c.ID)
		}
		var picked []string
		ok := true
		if q.Multiple {
			switch l := v.(type) {
			case []string:
				picked = l
			case []any:
				for _, e := range l {
					s, isStr := e.(string)
					ok = ok && isStr
					picked = append(picked, s)
				}
			default:
				ok = false
			}
		} else {
			s, isStr := v.(string)
			ok = isStr
			picked = []string{s}
		}
		for _, p := range picked {
			ok = ok && slices.Contains(ids, p)
		}
		if !ok {
			many, manyZh := "one of", "以下之一"
			if q.Multiple {
				many, manyZh = "a list of any of", "由以下选项组成的列表"
			}
			ps.add(field, care.CodeNotInList,
				fmt.Sprintf("The answer to %q must be %s: %s.", en, many, joinIDs(ids)),
				fmt.Sprintf("“%s”的回答应为%s：%s。", zh, manyZh, joinIDs(ids)))
			return nil, false
		}
		if !q.Multiple {
			return picked[0], true
		}
		out := []string{} // in the template's order, each once
		for _, id := range ids {
			if slices.Contains(picked, id) {
				out = append(out, id)
			}
		}
		return out, true
	}
	ps.add(field, care.CodeNotInList, fmt.Sprintf("The question %q has an unknown type.", en), fmt.Sprintf("问题“%s”的类型未知。", zh))
	return nil, false
}

// number reads a JSON number: float64 from encoding/json, json.Number
// from a decoder with UseNumber, or a Go integer.
func number(v any) (float64, bool) {
	var x float64
	switch n := v.(type) {
	case float64:
		x = n
	case float32:
		x = float64(n)
	case int:
		x = float64(n)
	case int64:
		x = float64(n)
	case int32:
		x = float64(n)
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return 0, false
		}
		x = f
	default:
		return 0, false
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false
	}
	return x, true
}

// finding returns the most severe rule that holds for the clean answer v.
func (q *Question) finding(v any) (Finding, bool) {
	best := -1
	for i, r := range q.Abnormal {
		if !r.holds(v) {
			continue
		}
		if best < 0 || (r.Level == LevelUrgent && q.Abnormal[best].Level != LevelUrgent) {
			best = i
		}
	}
	if best < 0 {
		return Finding{}, false
	}
	r := q.Abnormal[best]
	condEn, condZh := r.describe(q)
	valEn, valZh := q.show(v)
	return Finding{
		Question: q.ID, Text: q.Text, Value: v, Unit: q.Unit, Level: r.Level, Rule: r,
		Reason: Text{En: q.Text.En + ": " + valEn + ", " + condEn, Zh: q.Text.Zh + "：" + valZh + "，" + condZh},
	}, true
}

func (r Rule) holds(v any) bool {
	switch {
	case r.AtLeast != nil || r.Above != nil || r.AtMost != nil || r.Below != nil:
		x, ok := v.(float64)
		if !ok {
			return false
		}
		switch {
		case r.AtLeast != nil:
			return x >= *r.AtLeast
		case r.Above != nil:
			return x > *r.Above
		case r.AtMost != nil:
			return x <= *r.AtMost
		default:
			return x < *r.Below
		}
	case r.Is != nil:
		b, ok := v.(bool)
		return ok && b == *r.Is
	case len(r.AnyOf) > 0:
		switch c := v.(type) {
		case string:
			return slices.Contains(r.AnyOf, c)
		case []string:
			for _, s := range c {
				if slices.Contains(r.AnyOf, s) {
					return true
				}
			}
		}
	}
	return false
}

// describe says the rule's condition in both languages.
func (r Rule) describe(q *Question) (string, string) {
	u := ""
	if q.Unit != "" {
		u = " " + q.Unit
	}
	switch {
	case r.AtLeast != nil:
		return "at least " + num(*r.AtLeast) + u, "≥" + num(*r.AtLeast) + u
	case r.Above != nil:
		return "above " + num(*r.Above) + u, ">" + num(*r.Above) + u
	case r.AtMost != nil:
		return "at most " + num(*r.AtMost) + u, "≤" + num(*r.AtMost) + u
	case r.Below != nil:
		return "below " + num(*r.Below) + u, "<" + num(*r.Below) + u
	case r.Is != nil:
		if *r.Is {
			return "answered yes", "回答为“是”"
		}
		return "answered no", "回答为“否”"
	}
	en, zh := q.choiceNames(r.AnyOf)
	return "one of " + en, "属于" + zh
}

// show writes a clean answer for a finding.
func (q *Question) show(v any) (string, string) {
	switch x := v.(type) {
	case float64:
		if q.Unit != "" {
			return num(x) + " " + q.Unit, num(x) + " " + q.Unit
		}
		return num(x), num(x)
	case bool:
		if x {
			return "yes", "是"
		}
		return "no", "否"
	case string:
		return q.choiceNames([]string{x})
	case []string:
		return q.choiceNames(x)
	}
	return "", ""
}

func (q *Question) choiceNames(ids []string) (string, string) {
	en, zh := "", ""
	for _, c := range q.Choices {
		if !slices.Contains(ids, c.ID) {
			continue
		}
		if en != "" {
			en += ", "
			zh += "、"
		}
		en += c.Text.En
		zh += c.Text.Zh
	}
	return en, zh
}

func num(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

func joinIDs(ids []string) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ", "
		}
		s += id
	}
	return s
}

// Change is a worsening between two follow-ups.
type Change struct {
	Question string  `json:"question"`
	Text     Text    `json:"text"`
	Prev     float64 `json:"prev"`
	Cur      float64 `json:"cur"`
	Unit     string  `json:"unit,omitempty"`
	Worse    Worse   `json:"worse"`
	// Reason says it in both languages for the alert: "Pain (0-10): 3
	// → 6, worse when higher by 2 or more".
	Reason Text `json:"reason"`
}

// Worsening returns the questions marked with Worse whose answer moved
// in the worse direction by at least Worse.By between the previous
// follow-up's answers and the current one's, in question order; nil when
// none. Answers are as Evaluate takes or returns them; a question
// unanswered (or unreadable) on either side is skipped, since there is
// nothing to compare.
func Worsening(t Template, prev, cur map[string]any) []Change {
	var out []Change
	for _, q := range t.Questions {
		w := q.Worse
		if w == nil || !(w.By > 0) {
			continue
		}
		a, ok1 := number(prev[q.ID])
		b, ok2 := number(cur[q.ID])
		if !ok1 || !ok2 {
			continue
		}
		d := b - a
		if w.When == "lower" {
			d = -d
		} else if w.When != "higher" {
			continue
		}
		if d < w.By {
			continue
		}
		u := ""
		if q.Unit != "" {
			u = " " + q.Unit
		}
		dirEn, dirZh := "higher", "升高"
		if w.When == "lower" {
			dirEn, dirZh = "lower", "降低"
		}
		out = append(out, Change{
			Question: q.ID, Text: q.Text, Prev: a, Cur: b, Unit: q.Unit, Worse: *w,
			Reason: Text{
				En: fmt.Sprintf("%s: %s → %s%s, %s by %s%s or more since the last follow-up", q.Text.En, num(a), num(b), u, dirEn, num(w.By), u),
				Zh: fmt.Sprintf("%s：%s → %s%s，较上次随访%s%s%s及以上", q.Text.Zh, num(a), num(b), u, dirZh, num(w.By), u),
			},
		})
	}
	return out
}
