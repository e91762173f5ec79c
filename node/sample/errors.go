package sample

import "errors"

// ErrIDLength means an ID number does not have 18 characters (or, for
// IDCheckChar, its argument does not have 17).
var ErrIDLength = errors.New("wrong length")

// ErrIDChar means an ID number has a character other than a digit, or
// other than a digit or 'X' in its last position.
var ErrIDChar = errors.New("invalid character")

// ErrIDBirthDate means positions 7-14 of an ID number are not a real
// calendar date in a plausible year.
var ErrIDBirthDate = errors.New("implausible birth date")

// ErrIDCheck means an ID number's last character does not match the other
// 17, which almost always means a typo.
var ErrIDCheck = errors.New("check character does not match; check the ID number for typos")
