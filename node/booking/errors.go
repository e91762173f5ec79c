package booking

import (
	"errors"
	"fmt"
)

// ErrNotFound: no appointment, department, doctor, schedule or slot has
// the id asked for.
var ErrNotFound = errors.New("not found")

// ErrInvalid: the input breaks a rule (a malformed time, an unknown
// channel, a slot that the schedules do not make).
var ErrInvalid = errors.New("invalid input")

// ErrFull: the slot has no free place on this node. The desk may book it
// anyway by asking to over-book.
var ErrFull = errors.New("slot full")

// ErrState: the appointment is in a state that does not allow the action
// (checking in a cancelled appointment, moving one already attended).
var ErrState = errors.New("not allowed in this state")

// Error is a refusal a person can act on: the same sentence in English and
// Simplified Chinese, and the sentinel it is an instance of.
type Error struct {
	Kind error
	En   string
	Zh   string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Kind, e.En) }

// Unwrap returns the sentinel, for errors.Is.
func (e *Error) Unwrap() error { return e.Kind }

// Message returns the sentence in lang ("zh" or "en").
func (e *Error) Message(lang string) string {
	if lang == "zh" {
		return e.Zh
	}
	return e.En
}

func refuse(kind error, en, zh string) error { return &Error{Kind: kind, En: en, Zh: zh} }

func invalid(en, zh string) error { return refuse(ErrInvalid, en, zh) }
