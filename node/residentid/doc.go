// Package residentid checks mainland China resident identity card numbers
// (居民身份证号码, GB 11643-1999): 18 characters, a six-digit area code, the
// birth date, a three-digit sequence whose parity gives the sex (odd male,
// even female), and an ISO 7064 MOD 11-2 check character.
//
// Staff type these numbers at the front desk from a card held up by a
// patient; the check character catches nearly every typo. CrossCheck
// compares the birth date and sex written in the number with the ones
// entered, so a mismatch is shown to the clerk instead of being stored.
//
// Errors wrap the sentinels in errors.go and never quote the number itself:
// it is personal data and errors end up in logs. MessageZh gives the
// Simplified Chinese text for each.
package residentid
