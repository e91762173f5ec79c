package residentid

import (
	"fmt"
	"unicode/utf8"
)

const (
	// Length is the number of characters in a resident ID number.
	Length = 18

	// minBirthYear and maxBirthYear bound what Validate calls a
	// plausible birth year. The 18-digit number dates from 1999, so its
	// oldest holders were born late in the 19th century. The function has
	// no clock, so a date later this century passes; callers that know
	// today's date should compare.
	minBirthYear = 1850
	maxBirthYear = 2099
)

// checkChars maps the weighted sum mod 11 to the check character.
const checkChars = "10X98765432"

// CheckChar returns the check character ('0'-'9' or 'X') that GB
// 11643-1999 (ISO 7064 MOD 11-2) puts after the first 17 digits of a
// resident ID number. The error wraps ErrLength or ErrChar.
func CheckChar(first17 string) (byte, error) {
	if n := utf8.RuneCountInString(first17); n != Length-1 {
		return 0, fmt.Errorf("ID number prefix: %w: has %d characters, want %d", ErrLength, n, Length-1)
	}
	pos := 0
	for _, r := range first17 {
		pos++
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("ID number prefix: %w %q at position %d (want a digit)", ErrChar, r, pos)
		}
	}
	return checkChar(first17), nil
}

// checkChar computes the check character of 17 ASCII digits. Position i
// (from 0) has weight 2^(17-i) mod 11.
func checkChar[T string | []byte](first17 T) byte {
	sum := 0
	for i := 0; i < Length-1; i++ {
		sum += int(first17[i]-'0') * ((1 << (Length - 1 - i)) % 11)
	}
	return checkChars[sum%11]
}

// Validate reports whether id is a well-formed 18-character resident
// ID number: 17 digits and a check character ('0'-'9' or upper-case 'X'),
// a real birth date between 1850 and 2099 in positions 7-14, and a check
// character that matches. It does not check that the area code in
// positions 1-6 exists. The error wraps ErrLength, ErrChar,
// ErrBirthDate or ErrCheck and, because an ID number is personal data,
// describes the problem by position without quoting the number.
func Validate(id string) error {
	if n := utf8.RuneCountInString(id); n != Length {
		hint := ""
		if n == 15 && allDigits(id) {
			hint = " (a 15-digit first-generation number; it must be converted to 18 digits)"
		}
		return fmt.Errorf("ID number: %w: has %d characters, want %d%s", ErrLength, n, Length, hint)
	}
	pos := 0
	for _, r := range id {
		pos++
		switch {
		case '0' <= r && r <= '9':
			continue
		case pos == Length && r == 'X':
			continue
		case pos == Length && r == 'x':
			return fmt.Errorf("ID number: %w %q at position %d (the check character is an upper-case X)", ErrChar, r, pos)
		case pos == Length:
			return fmt.Errorf("ID number: %w %q at position %d (want a digit or X)", ErrChar, r, pos)
		default:
			return fmt.Errorf("ID number: %w %q at position %d (want a digit)", ErrChar, r, pos)
		}
	}
	// Every character is now ASCII, so bytes and characters coincide.
	y, m, d := atoi(id[6:10]), atoi(id[10:12]), atoi(id[12:14])
	if y < minBirthYear || y > maxBirthYear {
		return fmt.Errorf("ID number: %w: year %d in positions 7-10 is outside %d-%d", ErrBirthDate, y, minBirthYear, maxBirthYear)
	}
	if m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return fmt.Errorf("ID number: %w: %s in positions 7-14 is not a real date", ErrBirthDate, id[6:14])
	}
	if want := checkChar(id[:Length-1]); id[Length-1] != want {
		return fmt.Errorf("ID number: %w", ErrCheck)
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// atoi parses a short run of ASCII digits already known to be digits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// daysIn returns the number of days in month m (1-12) of year y in the
// proleptic Gregorian calendar.
func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
