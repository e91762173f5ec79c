package followup

import (
	"errors"
	"strings"

	"carenode/node/care"
)

// ErrTemplate means a template cannot be used. LoadTemplate returns it
// inside an *Error that lists every problem.
var ErrTemplate = errors.New("invalid follow-up template")

// ErrAnswers means the answers of an attempt do not fit the template's
// questions. Evaluate returns it inside an *Error that lists every
// problem.
var ErrAnswers = errors.New("invalid follow-up answers")

// ErrOutcome means an attempt outcome is not one of the Outcome…
// constants.
var ErrOutcome = errors.New("unknown attempt outcome")

// Problem codes, beside care's (care.CodeRequired, care.CodeBadJSON …),
// which this package uses for the same faults.
const (
	CodeUnknownQuestion = "unknown_question" // an answer to a question the template does not ask
	CodeOutOfRange      = "out_of_range"     // a number outside what can be measured: a typo
	CodeNotWhole        = "not_whole"        // a scale answer with a fraction
	CodeBadRule         = "bad_rule"         // an abnormal rule that cannot apply to its question
	CodeBadSchedule     = "bad_schedule"     // a schedule that gives no dates, or unclear ones
	CodeBadLadder       = "bad_ladder"       // an escalation ladder that could close a task silently
)

// Error lists everything wrong with a template or a set of answers, each
// problem with its JSON path and one sentence in English and one in
// Simplified Chinese, as care.ValidationError does for the patient
// record. It wraps ErrTemplate or ErrAnswers.
type Error struct {
	Kind     error          `json:"-"` // ErrTemplate or ErrAnswers
	Problems []care.Problem `json:"problems"`
}

// Error joins the English sentences after the kind.
func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Message("en") }

// Unwrap returns Kind, so errors.Is(err, ErrAnswers) works.
func (e *Error) Unwrap() error { return e.Kind }

// Message joins the problems' sentences in lang: Chinese when lang is
// "zh" or starts with "zh-" (as care.Lang returns it), English otherwise.
func (e *Error) Message(lang string) string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 && !isZh(lang) {
			b.WriteByte(' ')
		}
		b.WriteString(p.Message(lang))
	}
	return b.String()
}

func isZh(lang string) bool {
	lang = strings.ToLower(strings.TrimSpace(lang))
	return lang == "zh" || strings.HasPrefix(lang, "zh-") || strings.HasPrefix(lang, "zh_")
}

// problems collects care.Problems in the order found.
type problems struct {
	kind error
	list []care.Problem
}

func (ps *problems) add(field, code, en, zh string) {
	ps.list = append(ps.list, care.Problem{Field: field, Code: code, En: en, Zh: zh})
}

// err returns an *Error, or a nil error when nothing was found.
func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	return &Error{Kind: ps.kind, Problems: ps.list}
}
