package plans

import (
	"errors"

	"carenode/node/care"
)

// Sentinels; an *Error wraps one of them with a sentence in both languages.
var (
	// ErrNotFound: no plan, task, alert, template or patient has the id.
	ErrNotFound = errors.New("follow-up: not found")
	// ErrInvalid: a request broke a rule (a missing reason, a bad date, an
	// attempt with answers it may not have).
	ErrInvalid = errors.New("follow-up: invalid request")
	// ErrClosed: the plan has ended (or the task is done), so it takes no
	// more attempts or changes.
	ErrClosed = errors.New("follow-up: already closed")
	// ErrAcked: the alert is already acknowledged on this node.
	ErrAcked = errors.New("follow-up: alert already acknowledged")
)

// Error is a refusal the health worker can act on: Kind is one of the
// sentinels above, En and Zh say why in both languages.
type Error struct {
	Kind     error
	Code     string // a short machine code, as "reason_required"
	En, Zh   string
	Problems []Problem // field by field, when the request had several faults
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.En }

// Unwrap returns Kind.
func (e *Error) Unwrap() error { return e.Kind }

// Message returns the sentence in lang ("zh" or anything else for English).
func (e *Error) Message(lang string) string {
	if lang == "zh" {
		return e.Zh
	}
	return e.En
}

func newErr(kind error, code, en, zh string) *Error {
	return &Error{Kind: kind, Code: code, En: en, Zh: zh}
}

func notFound(what, whatZh string) *Error {
	return newErr(ErrNotFound, "not_found", "No "+what+" has this id.", "未找到该"+whatZh+"。")
}

// Problem is one fault of a request, as the patient record reports them.
type Problem = care.Problem
