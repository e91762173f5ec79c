package residentid

import "errors"

// ErrLength means an ID number does not have 18 characters (or, for
// CheckChar, its argument does not have 17).
var ErrLength = errors.New("wrong length")

// ErrChar means an ID number has a character other than a digit, or
// other than a digit or 'X' in its last position.
var ErrChar = errors.New("invalid character")

// ErrBirthDate means positions 7-14 of an ID number are not a real
// calendar date in a plausible year.
var ErrBirthDate = errors.New("implausible birth date")

// ErrCheck means an ID number's last character does not match the other
// 17, which almost always means a typo.
var ErrCheck = errors.New("check character does not match; check the ID number for typos")

// ErrBirthDateMismatch means the birth date in the ID number is not the
// birth date entered.
var ErrBirthDateMismatch = errors.New("birth date in the ID number differs from the birth date entered")

// ErrSexMismatch means the sex in the ID number (odd sequence male, even
// female) is not the sex entered.
var ErrSexMismatch = errors.New("sex in the ID number differs from the sex entered")
