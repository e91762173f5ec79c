package followup

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"carenode/node/care"
	"carenode/node/icd10"
)

// Methods of contact.
const (
	MethodPhone     = "phone"
	MethodSMS       = "sms"
	MethodVideo     = "video"
	MethodHomeVisit = "home_visit"
)

// Events that start a plan.
const (
	EventDiagnosis = "diagnosis" // a diagnosis recorded with an ICD-10 code
	EventDischarge = "discharge" // a discharge from an inpatient stay
	EventProcedure = "procedure" // a procedure of a kind, as "surgery"
)

// Question types.
const (
	TypeNumber = "number" // a measurement with a UCUM unit and a physical range
	TypeYesNo  = "yes_no" // true or false
	TypeScale  = "scale"  // a whole number from 0 to 10, as pain
	TypeChoice = "choice" // one choice id, or a list of them when multiple
	TypeText   = "text"   // free text, at most MaxAnswerLen characters
)

// Levels of an abnormal rule.
const (
	// LevelAbnormal: the doctor is alerted the same day.
	LevelAbnormal = "abnormal"
	// LevelUrgent: as abnormal, and the answer calls for urgent referral
	// (the national standard's 紧急转诊 thresholds, where a template cites
	// them).
	LevelUrgent = "urgent"
)

// Rungs of the escalation ladder, after the patient themselves.
const (
	RungPatient             = "patient"               // the patient, by the template's method
	RungFamily              = "family"                // a family member or emergency contact, by phone
	RungVillageHealthWorker = "village_health_worker" // the village doctor or community health worker, by phone
	RungHomeVisit           = "home_visit"            // someone goes to the patient's home
	RungLost                = "lost_to_follow_up"     // last: the task stays open and the supervisor is notified
)

// Limits of a template.
const (
	MaxTemplateBytes = 64 << 10 // a template file; the API refuses a larger body
	MaxQuestions     = 50
	MaxChoices       = 30
	MaxRules         = 10
	MaxTriggers      = 20
	MaxOffsets       = 60
	MaxOffsetDays    = 3660 // ten years
	MaxRepeatCount   = 1200
	MaxNameLen       = 64  // characters of a name or a choice's text
	MaxTextLen       = 400 // characters of a question, a note or a source
	MaxAnswerLen     = 500 // characters of a text answer
	DefaultMaxFailed = 3   // failed attempts at one rung before the next
)

// Template is a follow-up plan's recipe: what starts it, when contacts are
// due and by which method, what to ask, what answer is abnormal, and how
// to escalate when the patient cannot be reached. Templates are data (see
// the package comment for the JSON); use LoadTemplate or DefaultTemplates
// to get one, since the functions of this package trust what they load.
type Template struct {
	ID   string `json:"id"` // lower case a-z, 0-9 and -, as "hypertension"
	Name Text   `json:"name"`
	// Source names the norm the template follows; required when the
	// schedule repeats (chronic disease), so a reviewer can check it.
	Source   *Text     `json:"source,omitempty"`
	Triggers []Trigger `json:"triggers"`
	Schedule Timing    `json:"schedule"`
	Method   string    `json:"method"` // a Method… constant: the default for each contact
	// MaxFailedAttempts is how many failed attempts a rung of the ladder
	// gets before the next; LoadTemplate sets 0 to DefaultMaxFailed.
	MaxFailedAttempts int `json:"maxFailedAttempts"`
	// Escalation is the ladder after the patient, ending in RungLost;
	// LoadTemplate sets an absent one to DefaultLadder.
	Escalation []string `json:"escalation"`
	// SendSummary: a summary of each completed follow-up is queued to
	// the patient.
	SendSummary bool       `json:"sendSummary"`
	Questions   []Question `json:"questions"`
}

// Text is one sentence or name in both languages.
type Text struct {
	En string `json:"en"`
	Zh string `json:"zh"`
}

// In returns the text in lang: Chinese for "zh" (see care.Lang), English
// otherwise.
func (t Text) In(lang string) string {
	if isZh(lang) {
		return t.Zh
	}
	return t.En
}

// Trigger is one event that starts the template's plan.
type Trigger struct {
	Event string `json:"event"` // an Event… constant
	// From and To are an ICD-10 category range, inclusive, subcodes
	// included: required for diagnosis, optional for discharge (the
	// discharge diagnosis), absent for procedure.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Procedure is the kind of procedure ("surgery"): required for
	// procedure, optional for discharge, absent for diagnosis.
	Procedure string `json:"procedure,omitempty"`
}

// Timing is a template's schedule: either Offsets or Repeat, never both.
type Timing struct {
	// Offsets are contacts a number of days after the start event, in
	// ascending order, as days 1, 3, 7 and 14 after surgery.
	Offsets []Offset `json:"offsets,omitempty"`
	// Repeat is a contact every so many days, weeks or months.
	Repeat *Repeat `json:"repeat,omitempty"`
}

// Offset is one contact of an offset schedule.
type Offset struct {
	Days   int    `json:"days"`             // 0 (the day of the event) to MaxOffsetDays
	Method string `json:"method,omitempty"` // "" uses the template's method
}

// Repeat is a recurring schedule: the k-th contact is due k×Every Units
// after the start (k = 1, 2, …), counted from the start each time so that
// month ends do not drift.
type Repeat struct {
	Unit  string `json:"unit"`  // "day", "week" or "month"
	Every int    `json:"every"` // 1 to 12
	// Count is the number of contacts, up to MaxRepeatCount; 0 is
	// open-ended (the plan runs until it is ended).
	Count int `json:"count,omitempty"`
	// Methods, when given, cycle over the contacts: [phone, phone,
	// home_visit] makes every third contact a home visit. Empty uses the
	// template's method.
	Methods []string `json:"methods,omitempty"`
}

// Question is one thing asked at a contact.
type Question struct {
	ID   string `json:"id"` // lower case a-z, 0-9 and _, as "systolic"
	Text Text   `json:"text"`
	Type string `json:"type"` // a Type… constant
	// Unit is the UCUM code of a number ("mm[Hg]", "mmol/L", "/min",
	// "Cel"); numbers only, required.
	Unit string `json:"unit,omitempty"`
	// Min and Max bound what can be measured (numbers only, required): an
	// answer outside is refused as a typo, not flagged as abnormal.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// Choices of a choice question; Multiple allows several at once.
	Choices  []Choice `json:"choices,omitempty"`
	Multiple bool     `json:"multiple,omitempty"`
	// Abnormal lists when an answer is outside normal; a normal range is
	// written as its two edges (below 3.9, at least 7.0).
	Abnormal []Rule `json:"abnormal,omitempty"`
	// Worse marks a number or scale whose rise (or fall) between two
	// follow-ups is worth an alert even inside the normal range.
	Worse *Worse `json:"worse,omitempty"`
}

// Choice is one answer of a choice question.
type Choice struct {
	ID   string `json:"id"` // lower case a-z, 0-9 and _
	Text Text   `json:"text"`
}

// Rule is one abnormal condition. A number or scale rule has exactly one
// of AtLeast (≥), Above (>), AtMost (≤) and Below (<); a yes/no rule has
// Is; a choice rule has AnyOf (abnormal when any chosen id is listed).
// Text questions have no rules.
type Rule struct {
	AtLeast *float64 `json:"atLeast,omitempty"`
	Above   *float64 `json:"above,omitempty"`
	AtMost  *float64 `json:"atMost,omitempty"`
	Below   *float64 `json:"below,omitempty"`
	Is      *bool    `json:"is,omitempty"`
	AnyOf   []string `json:"anyOf,omitempty"`
	Level   string   `json:"level"` // LevelAbnormal or LevelUrgent
	// Note says where the threshold comes from or what to do; optional.
	Note *Text `json:"note,omitempty"`
}

// Worse says which direction is worse, and by how much a change counts.
type Worse struct {
	When string  `json:"when"` // "higher" or "lower"
	By   float64 `json:"by"`   // the smallest change that counts, > 0, in the question's unit
}

// DefaultLadder is the escalation ladder of a template that names none:
// a family member, then the village health worker, then a home visit,
// then lost to follow-up with the supervisor notified.
func DefaultLadder() []string {
	return []string{RungFamily, RungVillageHealthWorker, RungHomeVisit, RungLost}
}

//go:embed templates/*.json
var shipped embed.FS // read-only: DefaultTemplates parses fresh copies

// DefaultTemplates returns the templates shipped with the node, in the
// order of their file names: diabetes-t2, hypertension, post-surgery. A
// test keeps the embedded files valid, so this panics only on a build
// defect.
func DefaultTemplates() []Template {
	entries, err := shipped.ReadDir("templates")
	if err != nil {
		panic("followup: embedded templates: " + err.Error())
	}
	var out []Template
	for _, e := range entries {
		name := path.Join("templates", e.Name())
		data, err := shipped.ReadFile(name)
		if err != nil {
			panic("followup: embedded " + name + ": " + err.Error())
		}
		t, err := LoadTemplate(data)
		if err != nil {
			panic("followup: embedded " + name + ": " + err.Error())
		}
		if strings.TrimSuffix(e.Name(), ".json") != t.ID {
			panic("followup: embedded " + name + " holds template " + t.ID)
		}
		out = append(out, t)
	}
	return out
}

// LoadTemplate reads one template in JSON and checks it, reporting every
// problem at once as an *Error wrapping ErrTemplate, each with the JSON
// path and a sentence in both languages. What it returns is filled in
// (the default ladder and attempt count) and canonical (ICD-10 bounds as
// I10), so marshalling it and loading it again gives the same template.
//
// The checks: the shape (JSON object, no unknown fields, no trailing
// data, at most MaxTemplateBytes); ids of lower-case letters, digits and
// - (template) or _ (question, choice), unique; both languages in every
// name and text; at least one trigger, each complete for its event; a
// schedule that gives dates (ascending offsets, or a repeat with a unit,
// an interval and a known method cycle), and a source when it repeats; a
// known method; 1–10 attempts per rung; a ladder of known rungs, each
// once, ending in lost_to_follow_up; questions whose extras fit their
// type (a number has a UCUM unit and a physical range, a choice has
// choices), and rules and worse-markers that can apply to them, with
// thresholds inside the physical range.
func LoadTemplate(data []byte) (Template, error) {
	ps := problems{kind: ErrTemplate}
	if len(data) > MaxTemplateBytes {
		ps.add("", care.CodeTooLarge,
			fmt.Sprintf("The template is over %d KiB; make it smaller.", MaxTemplateBytes>>10),
			fmt.Sprintf("模板超过%d KiB，请精简。", MaxTemplateBytes>>10))
		return Template{}, ps.err()
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var t Template
	var raw json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || len(raw) == 0 || raw[0] != '{' {
		ps.add("", care.CodeBadJSON, "The template must be one JSON object.", "模板必须是一个JSON对象。")
		return Template{}, ps.err()
	}
	if err := dec.Decode(&t); err != nil {
		ps.add("", care.CodeBadJSON, "The template does not fit the template format: "+clip(err.Error())+".",
			"模板不符合模板格式："+clip(err.Error())+"。")
		return Template{}, ps.err()
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		ps.add("", care.CodeBadJSON, "There is data after the template's JSON object.", "模板的JSON对象之后还有多余内容。")
		return Template{}, ps.err()
	}
	t.check(&ps)
	if err := ps.err(); err != nil {
		return Template{}, err
	}
	return t, nil
}

// check validates t and fills in its defaults and canonical forms.
func (t *Template) check(ps *problems) {
	if !validID(t.ID, '-') {
		ps.add("id", care.CodeBadChar,
			"The template id must be 1-32 characters of a-z, 0-9 and -, starting with a letter.",
			"模板编号应为1至32个字符，由小写字母、数字和“-”组成，并以字母开头。")
	}
	checkText(ps, "name", t.Name, MaxNameLen, "The template's name", "模板名称")
	if t.Source != nil {
		checkText(ps, "source", *t.Source, MaxTextLen, "The source", "依据来源")
	}
	t.checkTriggers(ps)
	t.checkSchedule(ps)
	if !validMethod(t.Method) {
		badMethod(ps, "method")
	}
	switch {
	case t.MaxFailedAttempts == 0:
		t.MaxFailedAttempts = DefaultMaxFailed
	case t.MaxFailedAttempts < 1 || t.MaxFailedAttempts > 10:
		ps.add("maxFailedAttempts", care.CodeNotInList,
			"maxFailedAttempts must be from 1 to 10 (or left out for 3).",
			"最大失败次数（maxFailedAttempts）应为1至10（省略则为3）。")
	}
	t.checkLadder(ps)
	t.checkQuestions(ps)
}

func (t *Template) checkTriggers(ps *problems) {
	if len(t.Triggers) == 0 || len(t.Triggers) > MaxTriggers {
		ps.add("triggers", care.CodeRequired,
			fmt.Sprintf("A template needs 1 to %d triggers: the events that start its plan.", MaxTriggers),
			fmt.Sprintf("模板需要1至%d个触发条件，即开始随访计划的事件。", MaxTriggers))
	}
	for i := range t.Triggers {
		tr := &t.Triggers[i]
		f := fmt.Sprintf("triggers[%d]", i)
		n := i + 1
		hasRange := tr.From != "" || tr.To != ""
		switch tr.Event {
		case EventDiagnosis, EventDischarge:
			if tr.Event == EventDiagnosis && !hasRange {
				ps.add(f, care.CodeRequired,
					fmt.Sprintf("Trigger %d is a diagnosis: give from and to, an ICD-10 category range such as I10 to I15.", n),
					fmt.Sprintf("第%d个触发条件是诊断，请填写from和to，即ICD-10类目范围，如I10至I15。", n))
				continue
			}
			if tr.Event == EventDiagnosis && tr.Procedure != "" {
				ps.add(f+".procedure", care.CodeUnknownField,
					fmt.Sprintf("Trigger %d is a diagnosis and takes no procedure.", n),
					fmt.Sprintf("第%d个触发条件是诊断，不应填写手术/操作类型。", n))
			}
			if hasRange {
				from, ok1 := category(tr.From)
				to, ok2 := category(tr.To)
				switch {
				case !ok1 || !ok2:
					ps.add(f, care.CodeICD10Malformed,
						fmt.Sprintf("Trigger %d needs from and to, each an ICD-10 category of three characters such as I10.", n),
						fmt.Sprintf("第%d个触发条件的from和to都应是三位的ICD-10类目，如I10。", n))
				case from > to:
					ps.add(f, care.CodeICD10Malformed,
						fmt.Sprintf("Trigger %d: %s comes after %s; write the range from the lower code.", n, from, to),
						fmt.Sprintf("第%d个触发条件：%s排在%s之后，请从较小的编码写起。", n, from, to))
				default:
					tr.From, tr.To = from, to
				}
			}
		case EventProcedure:
			if hasRange {
				ps.add(f, care.CodeUnknownField,
					fmt.Sprintf("Trigger %d is a procedure and takes no ICD-10 range.", n),
					fmt.Sprintf("第%d个触发条件是手术/操作，不应填写ICD-10范围。", n))
			}
			if tr.Procedure == "" {
				ps.add(f+".procedure", care.CodeRequired,
					fmt.Sprintf("Trigger %d is a procedure: give its kind, such as surgery.", n),
					fmt.Sprintf("第%d个触发条件是手术/操作，请填写类型，如surgery。", n))
				continue
			}
		default:
			ps.add(f+".event", care.CodeNotInList,
				fmt.Sprintf("Trigger %d: the event must be diagnosis, discharge or procedure.", n),
				fmt.Sprintf("第%d个触发条件：事件应为诊断（diagnosis）、出院（discharge）或手术/操作（procedure）。", n))
			continue
		}
		if tr.Procedure != "" && !validID(tr.Procedure, '_') {
			ps.add(f+".procedure", care.CodeBadChar,
				fmt.Sprintf("Trigger %d: the procedure kind must be 1-32 characters of a-z, 0-9 and _.", n),
				fmt.Sprintf("第%d个触发条件：手术/操作类型应为1至32个小写字母、数字或“_”。", n))
		}
	}
}

func (t *Template) checkSchedule(ps *problems) {
	s := &t.Schedule
	switch {
	case len(s.Offsets) > 0 && s.Repeat != nil:
		ps.add("schedule", CodeBadSchedule,
			"The schedule has both offsets and repeat; give one of them.",
			"随访时间表同时填写了offsets和repeat，只能选其一。")
		return
	case len(s.Offsets) == 0 && s.Repeat == nil:
		ps.add("schedule", CodeBadSchedule,
			"The schedule needs offsets (days after the event) or repeat (for example every month).",
			"随访时间表需要填写offsets（事件后的天数）或repeat（如每月一次）。")
		return
	case len(s.Offsets) > MaxOffsets:
		ps.add("schedule.offsets", care.CodeTooMany,
			fmt.Sprintf("The schedule has more than %d offsets.", MaxOffsets),
			fmt.Sprintf("随访时间表的offsets超过%d个。", MaxOffsets))
		return
	}
	for i, o := range s.Offsets {
		f := fmt.Sprintf("schedule.offsets[%d]", i)
		if o.Days < 0 || o.Days > MaxOffsetDays {
			ps.add(f+".days", CodeBadSchedule,
				fmt.Sprintf("Offset %d must be from 0 to %d days after the event.", i+1, MaxOffsetDays),
				fmt.Sprintf("第%d个随访时间应为事件后0至%d天。", i+1, MaxOffsetDays))
		} else if i > 0 && o.Days <= s.Offsets[i-1].Days {
			ps.add(f+".days", CodeBadSchedule,
				fmt.Sprintf("Offset %d must come after offset %d; list the days in ascending order, each once.", i+1, i),
				fmt.Sprintf("第%d个随访时间应晚于第%d个；请按从小到大排列，且不重复。", i+1, i))
		}
		if o.Method != "" && !validMethod(o.Method) {
			badMethod(ps, f+".method")
		}
	}
	r := s.Repeat
	if r == nil {
		return
	}
	switch r.Unit {
	case "day", "week", "month":
	default:
		ps.add("schedule.repeat.unit", care.CodeNotInList,
			"The repeat unit must be day, week or month.", "重复单位应为天（day）、周（week）或月（month）。")
	}
	if r.Every < 1 || r.Every > 12 {
		ps.add("schedule.repeat.every", CodeBadSchedule,
			"The repeat interval (every) must be from 1 to 12.", "重复间隔（every）应为1至12。")
	}
	if r.Count < 0 || r.Count > MaxRepeatCount {
		ps.add("schedule.repeat.count", CodeBadSchedule,
			fmt.Sprintf("The repeat count must be from 1 to %d, or left out for a plan with no set end.", MaxRepeatCount),
			fmt.Sprintf("重复次数应为1至%d；不设结束则省略。", MaxRepeatCount))
	}
	if len(r.Methods) > 12 {
		ps.add("schedule.repeat.methods", care.CodeTooMany,
			"The method cycle has more than 12 methods.", "方式循环超过12个。")
	}
	for i, m := range r.Methods {
		if !validMethod(m) {
			badMethod(ps, fmt.Sprintf("schedule.repeat.methods[%d]", i))
		}
	}
	if t.Source == nil {
		ps.add("source", care.CodeRequired,
			"A repeating (chronic disease) template must name its source, the norm its schedule and thresholds follow.",
			"重复随访（慢性病）模板必须注明依据来源，即其随访频次和阈值所依据的规范。")
	}
}

func (t *Template) checkLadder(ps *problems) {
	if t.Escalation == nil {
		t.Escalation = DefaultLadder()
		return
	}
	seen := map[string]bool{}
	for i, r := range t.Escalation {
		f := fmt.Sprintf("escalation[%d]", i)
		switch r {
		case RungFamily, RungVillageHealthWorker, RungHomeVisit, RungLost:
		default:
			ps.add(f, care.CodeNotInList,
				"An escalation step must be family, village_health_worker, home_visit or lost_to_follow_up.",
				"升级步骤应为家属（family）、村医/社区卫生人员（village_health_worker）、上门随访（home_visit）或失访（lost_to_follow_up）。")
			continue
		}
		if seen[r] {
			ps.add(f, care.CodeDuplicate,
				"An escalation step appears twice; list each once.", "升级步骤重复出现，每步只列一次。")
		}
		seen[r] = true
	}
	if n := len(t.Escalation); n == 0 || t.Escalation[n-1] != RungLost {
		ps.add("escalation", CodeBadLadder,
			"The escalation ladder must end with lost_to_follow_up, so a patient who cannot be reached is never dropped silently.",
			"升级流程必须以失访（lost_to_follow_up）结束，确保联系不上的患者不会被悄悄移出名单。")
	}
}

func (t *Template) checkQuestions(ps *problems) {
	if len(t.Questions) > MaxQuestions {
		ps.add("questions", care.CodeTooMany,
			fmt.Sprintf("A template asks at most %d questions.", MaxQuestions),
			fmt.Sprintf("一个模板最多%d个问题。", MaxQuestions))
		return
	}
	ids := map[string]bool{}
	for i := range t.Questions {
		q := &t.Questions[i]
		f := fmt.Sprintf("questions[%d]", i)
		n := i + 1
		if !validID(q.ID, '_') {
			ps.add(f+".id", care.CodeBadChar,
				fmt.Sprintf("Question %d: the id must be 1-32 characters of a-z, 0-9 and _, starting with a letter.", n),
				fmt.Sprintf("第%d个问题：编号应为1至32个小写字母、数字或“_”，并以字母开头。", n))
		} else if ids[q.ID] {
			ps.add(f+".id", care.CodeDuplicate,
				fmt.Sprintf("Question %d: the id %s is used twice.", n, q.ID),
				fmt.Sprintf("第%d个问题：编号%s重复。", n, q.ID))
		}
		ids[q.ID] = true
		checkText(ps, f+".text", q.Text, MaxTextLen, fmt.Sprintf("Question %d's text", n), fmt.Sprintf("第%d个问题的文字", n))
		q.check(ps, f, n)
	}
}

func (q *Question) check(ps *problems, f string, n int) {
	extra := func(field, en, zh string) {
		ps.add(f+"."+field, care.CodeUnknownField,
			fmt.Sprintf("Question %d is %s and takes no %s.", n, q.Type, en),
			fmt.Sprintf("第%d个问题的类型为%s，不应填写%s。", n, q.Type, zh))
	}
	numeric := q.Type == TypeNumber || q.Type == TypeScale
	switch q.Type {
	case TypeNumber:
		if !validUnit(q.Unit) {
			ps.add(f+".unit", care.CodeRequired,
				fmt.Sprintf("Question %d is a number: give its UCUM unit, such as mm[Hg] or mmol/L.", n),
				fmt.Sprintf("第%d个问题是数值：请填写UCUM单位，如mm[Hg]或mmol/L。", n))
		}
		if q.Min == nil || q.Max == nil || *q.Min >= *q.Max {
			ps.add(f, care.CodeRequired,
				fmt.Sprintf("Question %d is a number: give min and max, the range that can be measured, with min below max.", n),
				fmt.Sprintf("第%d个问题是数值：请填写min和max（可测量的范围），且min小于max。", n))
		}
	case TypeScale, TypeYesNo, TypeChoice, TypeText:
	default:
		ps.add(f+".type", care.CodeNotInList,
			fmt.Sprintf("Question %d: the type must be number, yes_no, scale, choice or text.", n),
			fmt.Sprintf("第%d个问题：类型应为number、yes_no、scale、choice或text。", n))
		return
	}
	if q.Type != TypeNumber {
		if q.Unit != "" {
			extra("unit", "unit", "单位")
		}
		if q.Min != nil || q.Max != nil {
			extra("min", "min or max", "min或max")
		}
	}
	choices := map[string]bool{}
	if q.Type == TypeChoice {
		if len(q.Choices) < 2 || len(q.Choices) > MaxChoices {
			ps.add(f+".choices", care.CodeRequired,
				fmt.Sprintf("Question %d is a choice: give 2 to %d choices.", n, MaxChoices),
				fmt.Sprintf("第%d个问题是选择题：请给出2至%d个选项。", n, MaxChoices))
		}
		for j, c := range q.Choices {
			cf := fmt.Sprintf("%s.choices[%d]", f, j)
			if !validID(c.ID, '_') || choices[c.ID] {
				ps.add(cf+".id", care.CodeBadChar,
					fmt.Sprintf("Question %d, choice %d: the id must be 1-32 characters of a-z, 0-9 and _, and not repeat.", n, j+1),
					fmt.Sprintf("第%d个问题第%d个选项：编号应为1至32个小写字母、数字或“_”，且不重复。", n, j+1))
			}
			choices[c.ID] = true
			checkText(ps, cf+".text", c.Text, MaxNameLen, fmt.Sprintf("Question %d, choice %d", n, j+1), fmt.Sprintf("第%d个问题第%d个选项", n, j+1))
		}
	} else {
		if len(q.Choices) > 0 {
			extra("choices", "choices", "选项")
		}
		if q.Multiple {
			extra("multiple", "multiple", "multiple")
		}
	}
	if len(q.Abnormal) > MaxRules {
		ps.add(f+".abnormal", care.CodeTooMany,
			fmt.Sprintf("Question %d has more than %d abnormal rules.", n, MaxRules),
			fmt.Sprintf("第%d个问题的异常规则超过%d条。", n, MaxRules))
		return
	}
	for j, r := range q.Abnormal {
		q.checkRule(ps, fmt.Sprintf("%s.abnormal[%d]", f, j), n, j+1, r, choices)
	}
	if w := q.Worse; w != nil {
		if !numeric {
			extra("worse", "worse", "worse（变差方向）")
		} else if (w.When != "higher" && w.When != "lower") || !(w.By > 0) || math.IsInf(w.By, 0) {
			ps.add(f+".worse", care.CodeNotInList,
				fmt.Sprintf("Question %d: worse needs when (higher or lower) and by, a change above 0.", n),
				fmt.Sprintf("第%d个问题：worse需要when（higher或lower）和by（大于0的变化量）。", n))
		}
	}
}

func (q *Question) checkRule(ps *problems, f string, n, j int, r Rule, choices map[string]bool) {
	bad := func(en, zh string) {
		ps.add(f, CodeBadRule,
			fmt.Sprintf("Question %d, abnormal rule %d: %s.", n, j, en),
			fmt.Sprintf("第%d个问题第%d条异常规则：%s。", n, j, zh))
	}
	if r.Level != LevelAbnormal && r.Level != LevelUrgent {
		bad("the level must be abnormal or urgent", "级别应为abnormal（异常）或urgent（紧急）")
	}
	if r.Note != nil {
		checkText(ps, f+".note", *r.Note, MaxTextLen, fmt.Sprintf("Question %d, rule %d's note", n, j), fmt.Sprintf("第%d个问题第%d条规则的说明", n, j))
	}
	bounds := 0
	var v float64
	for _, p := range []*float64{r.AtLeast, r.Above, r.AtMost, r.Below} {
		if p != nil {
			bounds++
			v = *p
		}
	}
	switch q.Type {
	case TypeNumber, TypeScale:
		if bounds != 1 || r.Is != nil || r.AnyOf != nil {
			bad("a number or scale rule takes exactly one of atLeast, above, atMost and below",
				"数值或评分规则只能填写atLeast、above、atMost、below中的一个")
			return
		}
		lo, hi := 0.0, 10.0
		if q.Type == TypeNumber {
			if q.Min == nil || q.Max == nil {
				return // reported with the question
			}
			lo, hi = *q.Min, *q.Max
		}
		if v < lo || v > hi {
			bad("the threshold lies outside the question's range, so it can never apply",
				"阈值超出该问题的取值范围，永远不会生效")
		}
	case TypeYesNo:
		if r.Is == nil || bounds != 0 || r.AnyOf != nil {
			bad("a yes/no rule takes only is (true or false)", "是/否规则只能填写is（true或false）")
		}
	case TypeChoice:
		if len(r.AnyOf) == 0 || bounds != 0 || r.Is != nil {
			bad("a choice rule takes only anyOf, a list of choice ids", "选择题规则只能填写anyOf（选项编号列表）")
			return
		}
		for _, c := range r.AnyOf {
			if !choices[c] {
				bad("anyOf names a choice the question does not have", "anyOf中有该问题没有的选项")
				return
			}
		}
	case TypeText:
		bad("a text question has no abnormal rules", "文字题没有异常规则")
	}
}

func checkText(ps *problems, field string, t Text, max int, en, zh string) {
	for _, s := range []struct{ field, v string }{{field + ".en", t.En}, {field + ".zh", t.Zh}} {
		if n := utf8.RuneCountInString(s.v); n == 0 || n > max || !printable(s.v) {
			ps.add(s.field, care.CodeRequired,
				fmt.Sprintf("%s needs English (en) and Chinese (zh), each 1-%d printable characters.", en, max),
				fmt.Sprintf("%s需要英文（en）和中文（zh），各1至%d个可打印字符。", zh, max))
		}
	}
}

func badMethod(ps *problems, field string) {
	ps.add(field, care.CodeNotInList,
		"The method must be phone, sms, video or home_visit.",
		"随访方式应为电话（phone）、短信（sms）、视频（video）或上门（home_visit）。")
}

func validMethod(m string) bool {
	switch m {
	case MethodPhone, MethodSMS, MethodVideo, MethodHomeVisit:
		return true
	}
	return false
}

// validID: 1-32 characters of a-z, 0-9 and sep, starting with a letter.
func validID(s string, sep byte) bool {
	if len(s) == 0 || len(s) > 32 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == sep) {
			return false
		}
	}
	return true
}

// validUnit accepts a UCUM code as written in a file: 1-20 printable
// ASCII characters without spaces. Whether UCUM knows the unit is not
// checked; the shipped templates use mm[Hg], mmol/L, /min and Cel.
func validUnit(s string) bool {
	if len(s) == 0 || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// clip shortens outside text for a message.
func clip(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if r := []rune(s); len(r) > 80 {
		return string(r[:80]) + "…"
	}
	return s
}

// category returns the canonical form of an ICD-10 category (three
// characters, no subcode).
func category(s string) (string, bool) {
	c, err := icd10.Normalize(s)
	if err != nil || len(c) != 3 {
		return "", false
	}
	return c, true
}
