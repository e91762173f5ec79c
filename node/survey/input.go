package survey

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"carenode/crdt"
	"carenode/node/care"
)

// Channels a survey is taken through.
const (
	ChannelKiosk = "kiosk"
	ChannelSMS   = "sms"
	ChannelPhone = "phone"
)

// Limits on a survey's text.
const (
	// MaxVisitLen keeps "<visit>.<dimension>" a valid record id.
	MaxVisitLen = crdt.MaxNameLen - len(".environment")
	// MaxCommentRunes is about a screen of text: a kiosk form's limit.
	MaxCommentRunes = 1000
	// MaxResponseRunes bounds a case's response.
	MaxResponseRunes = 2000
	// MaxBodyBytes caps a survey body.
	MaxBodyBytes = 16 << 10
)

// Problem codes of this package, beside care's.
const (
	CodeScoreRange = "score_range" // a score outside 1–5
)

// Input is a survey as submitted.
type Input struct {
	// Visit is the id of the visit surveyed (an appointment or check-in).
	Visit string `json:"visit"`
	// Patient is the chart id of the patient, when known (a kiosk survey
	// after a check-in knows it; an anonymous paper form read out does not).
	Patient string `json:"patient,omitempty"`
	// Department and Doctor are the visit's.
	Department string `json:"department"`
	Doctor     string `json:"doctor"`
	// Channel is kiosk, sms or phone.
	Channel string `json:"channel"`
	// Scores holds each dimension's score, 1 (very poor) to 5 (very good).
	Scores map[string]int `json:"scores"`
	// Comment is the patient's own words; sealed at rest.
	Comment string `json:"comment,omitempty"`
}

// Decode reads a survey body strictly: unknown fields, wrong types and
// trailing data are problems in both languages, never a silent default.
func Decode(body []byte) (Input, error) {
	var in Input
	if err := care.DecodeStrict(body, &in, MaxBodyBytes, care.Noun{En: "survey", Zh: "问卷"}); err != nil {
		return Input{}, err
	}
	return in, nil
}

// Validate lists everything wrong with in, so a form is fixed once. It
// also trims the text fields.
func (in *Input) Validate(r *Routing) error {
	var ps []care.Problem
	add := func(field, code, en, zh string) {
		ps = append(ps, care.Problem{Field: field, Code: code, En: en, Zh: zh})
	}
	in.Visit = strings.TrimSpace(in.Visit)
	in.Patient = strings.TrimSpace(in.Patient)
	in.Department = strings.TrimSpace(in.Department)
	in.Doctor = strings.TrimSpace(in.Doctor)
	in.Channel = strings.TrimSpace(in.Channel)
	in.Comment = strings.TrimSpace(in.Comment)
	ids := []struct {
		field, value, en, zh string
		max                  int
		optional             bool
	}{
		{"visit", in.Visit, "the visit", "就诊记录", MaxVisitLen, false},
		{"department", in.Department, "the department", "科室", crdt.MaxNameLen, false},
		{"doctor", in.Doctor, "the doctor", "医生", crdt.MaxNameLen, false},
		{"patient", in.Patient, "the patient", "患者", crdt.MaxNameLen, true},
	}
	for _, f := range ids {
		switch {
		case f.value == "" && f.optional:
		case f.value == "":
			add(f.field, care.CodeRequired, fmt.Sprintf("Say which %s was surveyed (%s).", strings.TrimPrefix(f.en, "the "), f.field),
				fmt.Sprintf("请填写%s。", f.zh))
		case len(f.value) > f.max:
			add(f.field, care.CodeTooLong, fmt.Sprintf("The id of %s is longer than %d characters.", f.en, f.max),
				fmt.Sprintf("%s编号超过 %d 个字符。", f.zh, f.max))
		case !crdt.ValidName(f.value):
			add(f.field, care.CodeBadChar, fmt.Sprintf("The id of %s may hold only letters, digits, '_', '-' and '.'.", f.en),
				fmt.Sprintf("%s编号只能包含字母、数字、“_”、“-”和“.”。", f.zh))
		}
	}
	switch in.Channel {
	case ChannelKiosk, ChannelSMS, ChannelPhone:
	case "":
		add("channel", care.CodeRequired, "Say how the survey was taken: kiosk, sms or phone.", "请填写调查方式：kiosk（自助机）、sms（短信）或 phone（电话）。")
	default:
		add("channel", care.CodeNotInList, "The channel must be kiosk, sms or phone.", "调查方式须为 kiosk（自助机）、sms（短信）或 phone（电话）。")
	}
	for _, dim := range Dimensions() {
		name := r.Dimensions[dim]
		field := "scores." + dim
		v, ok := in.Scores[dim]
		switch {
		case !ok:
			add(field, care.CodeRequired, fmt.Sprintf("Give a score from 1 to 5 for %s.", strings.ToLower(name.En)),
				fmt.Sprintf("请为“%s”打分（1–5 分）。", name.Zh))
		case v < 1 || v > 5:
			add(field, CodeScoreRange, fmt.Sprintf("The score for %s must be 1 to 5, not %d.", strings.ToLower(name.En), v),
				fmt.Sprintf("“%s”的分数须为 1–5 分，不能是 %d。", name.Zh, v))
		}
	}
	var unknown []string
	for dim := range in.Scores {
		if _, ok := r.Dimensions[dim]; !ok {
			unknown = append(unknown, dim)
		}
	}
	slices.Sort(unknown) // the same problems in the same order every time
	for _, dim := range unknown {
		add("scores."+dim, care.CodeUnknownField, fmt.Sprintf("A survey has no dimension %q; the dimensions are %s.", dim, strings.Join(Dimensions(), ", ")),
			fmt.Sprintf("问卷没有 %q 这一项；评分项为 %s。", dim, strings.Join(Dimensions(), "、")))
	}
	if n := utf8.RuneCountInString(in.Comment); n > MaxCommentRunes {
		add("comment", care.CodeTooLong, fmt.Sprintf("The comment is %d characters long; at most %d fit.", n, MaxCommentRunes),
			fmt.Sprintf("意见有 %d 个字，最多 %d 个字。", n, MaxCommentRunes))
	} else if !printable(in.Comment) {
		add("comment", care.CodeBadChar, "The comment holds control characters or broken text.", "意见中含有控制字符或乱码。")
	}
	if len(ps) == 0 {
		return nil
	}
	return &care.ValidationError{Problems: ps}
}

// printable reports whether s is valid UTF-8 without control characters
// other than line breaks and tabs.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if unicode.IsControl(c) && c != '\n' && c != '\r' && c != '\t' {
			return false
		}
	}
	return true
}
