package care

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"carenode/node/icd10"
	"carenode/node/textnorm"
)

// Normalize returns p as it should be stored, tidied the way a clerk would
// tidy it by hand: surrounding spaces trimmed; runs of spaces and line
// breaks in one-line fields made one space; full-width digits and letters
// (typed with a Chinese input method in full-width mode) made ASCII in the
// name, phones, ID number, card number and birth date; a lower-case x at
// the end of an ID number made X; phones reduced to bare digits (spaces,
// dashes, brackets and a +86 / 0086 prefix removed); the dots of minority
// names (阿依古丽·买买提) made the one middle dot U+00B7; sex, marital
// status written in Chinese (男, 已婚) made the API's words; empty phones
// and empty contacts dropped. It never changes what a value means, so
// Validate still refuses what is wrong. Normalize(Normalize(p)) ==
// Normalize(p).
func (p PatientInput) Normalize() PatientInput {
	q := p
	q.Name = normName(p.Name)
	q.Sex = normEnum(p.Sex, sexEnum())
	q.BirthDate = normDate(p.BirthDate)
	q.IDNumber = normIDNumber(p.IDNumber)
	q.Phones = nil
	for _, ph := range p.Phones {
		if ph = normPhone(ph); ph != "" {
			q.Phones = append(q.Phones, ph)
		}
	}
	q.Address = cleanLine(p.Address)
	q.Occupation = cleanLine(p.Occupation)
	q.MaritalStatus = normEnum(p.MaritalStatus, maritalEnum())
	q.EmergencyContacts = nil
	for _, c := range p.EmergencyContacts {
		c = Contact{Name: normName(c.Name), Relation: cleanLine(c.Relation), Phone: normPhone(c.Phone)}
		if c != (Contact{}) {
			q.EmergencyContacts = append(q.EmergencyContacts, c)
		}
	}
	q.CardNumber = normCardNumber(p.CardNumber)
	q.History = cleanText(p.History)
	q.FamilyHistory = cleanText(p.FamilyHistory)
	q.Notes = cleanText(p.Notes)
	return q
}

// Normalize trims a and writes its severity as the API's word; an empty
// severity becomes SeverityUnknown, because an allergy whose severity
// nobody knows must still be recorded.
func (a AllergyInput) Normalize() AllergyInput {
	a.Substance = cleanLine(a.Substance)
	a.Reaction = cleanText(a.Reaction)
	a.Severity = normEnum(a.Severity, severityEnum())
	if a.Severity == "" {
		a.Severity = SeverityUnknown
	}
	return a
}

// Normalize writes the code in canonical form when it has the shape of
// one ("e119" and "Ｅ１１．９" become E11.9) and trims the note. The table
// is consulted only by Validate.
func (d DiagnosisInput) Normalize() DiagnosisInput {
	d.Code = strings.TrimSpace(strings.ToValidUTF8(d.Code, "\uFFFD"))
	if c, err := icd10.Normalize(d.Code); err == nil {
		d.Code = c
	}
	d.Note = cleanText(d.Note)
	return d
}

// Normalize trims m's fields.
func (m MedicationInput) Normalize() MedicationInput {
	m.Name = cleanLine(m.Name)
	m.Dose = cleanLine(m.Dose)
	m.Frequency = cleanLine(m.Frequency)
	return m
}

// invisible reports characters that show nothing but make two equal-looking
// names different: zero-width spaces and joiners, the byte-order mark.
func invisible(r rune) bool {
	switch r {
	case 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF:
		return true
	}
	return false
}

// cleanLine is a one-line field: every run of white space (line breaks
// included) becomes one space, control and invisible characters go, and
// the ends are trimmed.
func cleanLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r) || invisible(r):
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// cleanText is a multi-line field: line breaks become \n, control and
// invisible characters other than \n and \t go, and the ends are trimmed.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\r':
			return '\n'
		case r == '\n' || r == '\t':
			return r
		case unicode.IsControl(r) || invisible(r):
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// middleDot is the separator of transliterated names (GB/T 15834's 间隔号).
const middleDot = '·'

// isDotVariant reports the characters people and input methods use for
// the middle dot of a name.
func isDotVariant(r rune) bool {
	switch r {
	case middleDot, '\u2022', '\u30FB', '\u2027', '\uFF65', '\u2219', '\u22C5', '\u0387':
		return true
	}
	return false
}

// normName tidies a personal name: full width folded, the dot variants
// made U+00B7 (an ASCII or full-width full stop too when it sits between
// Chinese characters, as in 买买提.艾力), spaces around a dot and between two
// Chinese characters removed (张 三 is 张三), other runs of spaces made one
// (John  Smith is John Smith).
func normName(s string) string {
	s = cleanLine(strings.Map(textnorm.FoldWidth, strings.ToValidUTF8(s, "\uFFFD")))
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case isDotVariant(r):
			rs[i] = middleDot
		case r == '.' && hanAround(rs, i):
			rs[i] = middleDot
		}
	}
	out := make([]rune, 0, len(rs))
	for i, r := range rs {
		if r == ' ' {
			prev, next := lastRune(out), nextNonSpace(rs, i)
			if prev == middleDot || next == middleDot || (unicode.Is(unicode.Han, prev) && unicode.Is(unicode.Han, next)) {
				continue
			}
		}
		out = append(out, r)
	}
	return string(out)
}

// hanAround reports whether the nearest non-space characters on both sides
// of rs[i] are Chinese.
func hanAround(rs []rune, i int) bool {
	var prev, next rune
	for j := i - 1; j >= 0; j-- {
		if rs[j] != ' ' {
			prev = rs[j]
			break
		}
	}
	next = nextNonSpace(rs, i)
	return unicode.Is(unicode.Han, prev) && unicode.Is(unicode.Han, next)
}

func nextNonSpace(rs []rune, i int) rune {
	for j := i + 1; j < len(rs); j++ {
		if rs[j] != ' ' {
			return rs[j]
		}
	}
	return 0
}

func lastRune(rs []rune) rune {
	if len(rs) == 0 {
		return 0
	}
	return rs[len(rs)-1]
}

// normEnum trims and lower-cases an enumerated value and maps the Chinese
// words of e to the API's.
func normEnum(s string, e enum) string {
	s = strings.ToLower(cleanLine(strings.Map(textnorm.FoldWidth, s)))
	if v, ok := e.aliases[s]; ok {
		return v
	}
	return s
}

// normCode folds width and drops spaces and dashes: how ID and card
// numbers are copied from a card ("4401 0619 …", "A-100234").
func normCode(s string) string {
	return strings.Map(func(r rune) rune {
		r = textnorm.FoldWidth(r)
		if r == '-' || unicode.IsSpace(r) || unicode.IsControl(r) || invisible(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// normIDNumber is normCode with a lower-case check character x made X.
func normIDNumber(s string) string {
	s = normCode(s)
	if strings.HasSuffix(s, "x") {
		s = s[:len(s)-1] + "X"
	}
	return s
}

// normCardNumber is normCode in upper case: card numbers are unique per
// network, and a1b2 and A1B2 must not be two cards.
func normCardNumber(s string) string {
	return strings.ToUpper(normCode(s))
}

// normPhone reduces a phone number to its digits when it is made of
// digits and the separators people write (spaces, - ( ) . /), removing a
// mainland country code: +86, 0086, or 86 in front of a mobile number. A
// landline after a country code gets its trunk 0 back (+86 10 1234 5678
// is 01012345678), and a 0 put in front of a mobile number is dropped.
// Anything else is returned width-folded and trimmed but otherwise as
// typed, for Validate to explain; so is a foreign number, kept with its +.
func normPhone(s string) string {
	// Each step only removes a prefix, so this reaches a fixed point
	// quickly; looping makes Normalize idempotent even for 00860086….
	for i := 0; i < 8; i++ {
		n := normPhoneOnce(s)
		if n == s {
			break
		}
		s = n
	}
	return s
}

func normPhoneOnce(s string) string {
	s = cleanLine(strings.Map(textnorm.FoldWidth, s))
	var b strings.Builder
	plus := false
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' || r == '/':
		case r == '+' && i == 0:
			plus = true
		default:
			return s
		}
	}
	d := b.String()
	intl := false
	switch {
	case plus && strings.HasPrefix(d, "86"):
		d, intl = d[2:], true
	case plus:
		return "+" + d
	case strings.HasPrefix(d, "0086"):
		d, intl = d[4:], true
	case len(d) == 13 && strings.HasPrefix(d, "86") && isMobileShape(d[2:]):
		d = d[2:]
	}
	switch {
	case intl && d != "" && d[0] != '0' && !isMobileShape(d):
		d = "0" + d // a landline's area code written without its trunk 0
	case len(d) == 12 && d[0] == '0' && isMobileShape(d[1:]):
		d = d[1:] // 0 dialled before a mobile number; no area code starts 013-019
	}
	return d
}

// isMobileShape reports 11 digits starting 13-19.
func isMobileShape(d string) bool {
	return len(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9' && allDigits(d)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// normDate writes a date given as 1956-6-20, 1956/06/20, 1956.6.20 or
// 1956年6月20日 (digits full-width or not) as 1956-06-20. Anything else is
// returned trimmed, for Validate to explain.
func normDate(s string) string {
	s = cleanLine(strings.Map(textnorm.FoldWidth, s))
	var parts []string
	var seps []rune
	start := -1
	for i, r := range s {
		if r >= '0' && r <= '9' {
			if start < 0 {
				start = i
			}
			continue
		}
		if start < 0 {
			return s
		}
		parts = append(parts, s[start:i])
		seps = append(seps, r)
		start = -1
	}
	if start >= 0 {
		parts = append(parts, s[start:])
	}
	if len(parts) != 3 || len(parts[0]) != 4 || len(parts[1]) > 2 || len(parts[2]) > 2 {
		return s
	}
	switch {
	case len(seps) == 2 && seps[0] == seps[1] && (seps[0] == '-' || seps[0] == '/' || seps[0] == '.'):
	case len(seps) == 3 && seps[0] == '年' && seps[1] == '月' && seps[2] == '日':
	default:
		return s
	}
	pad := func(p string) string {
		if len(p) == 1 {
			return "0" + p
		}
		return p
	}
	return parts[0] + "-" + pad(parts[1]) + "-" + pad(parts[2])
}

// runeLen counts characters, which is what a clerk counts.
func runeLen(s string) int { return utf8.RuneCountInString(s) }
