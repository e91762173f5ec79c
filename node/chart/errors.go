package chart

import "errors"

// Errors callers tell apart. Validation problems come back as
// *care.ValidationError, with sentences for the clerk in both languages.
var (
	// ErrLocked: the node's data key is not in memory; no chart can be
	// read or written until a staff member signs in (or a kiosk key file
	// unlocks the node).
	ErrLocked = errors.New("node is locked: sign in to unlock patient data")
	// ErrNotFound: no patient has this id.
	ErrNotFound = errors.New("no such patient")
	// ErrNotAssigned: on a nurse laptop a nurse sees only the patients
	// assigned to them.
	ErrNotAssigned = errors.New("patient is not assigned to you")
	// ErrDuplicateIDNumber: a patient with this ID number is already
	// registered; DuplicateError names them.
	ErrDuplicateIDNumber = errors.New("a patient with this ID number is already registered")
	// ErrCardTaken: another patient holds this card number.
	ErrCardTaken = errors.New("this card number belongs to another patient")
	// ErrStale: the chart changed since the version the client sent.
	ErrStale = errors.New("the chart was changed by someone else since you opened it")
	// ErrNoSuchElement: no allergy, diagnosis or medication with this id.
	ErrNoSuchElement = errors.New("no such entry in the chart")
	// ErrNoConflict: the field named has no open conflict.
	ErrNoConflict = errors.New("the field has no conflict to resolve")
	// ErrSelfMerge: a record cannot be merged into itself.
	ErrSelfMerge = errors.New("a patient cannot be merged into the same patient")
	// ErrBadRequest: an argument outside the patient body is malformed
	// (an unknown field name, a bad staff name).
	ErrBadRequest = errors.New("bad request")
	// ErrNoPhone: the chart has no phone number to send a message to.
	ErrNoPhone = errors.New("the patient has no phone number")
)

// DuplicateError is returned by Register when the ID number is already
// registered: the clerk is shown the existing chart instead of making a
// second one. Register again with Force to register anyway.
type DuplicateError struct {
	Existing []Summary
}

func (e *DuplicateError) Error() string { return ErrDuplicateIDNumber.Error() }

// Unwrap makes errors.Is(err, ErrDuplicateIDNumber) hold.
func (e *DuplicateError) Unwrap() error { return ErrDuplicateIDNumber }
