package care

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"carenode/node/residentid"
)

// label names a field in a sentence: en starts a sentence ("The address"),
// zh is the Chinese name (地址).
type label struct{ en, zh string }

// Validate reports everything wrong with p as a *ValidationError, or nil.
// It checks p as given: call Normalize first, and store what Validate
// passed. today is the clinic's date (in the clinic's time zone); only its
// calendar date is used, and no clock is read.
//
// The rules, and why:
//   - name: required, 1–32 characters, Chinese characters, Latin letters,
//     single spaces between Latin words and the middle dot · only.
//   - sex: male, female, other or unknown ("unknown" exists for when it is
//     not known; an empty field is a form not filled in).
//   - birthDate: required (age drives follow-up plans, tags and duplicate
//     detection; enter an estimate when the patient does not know), a real
//     YYYY-MM-DD date, not after today, not before 1900.
//   - idNumber: optional; when given a valid GB 11643 number whose birth
//     date and sex agree with those entered.
//   - phones: at most 5, no repeats, each a mainland mobile (11 digits,
//     13–19…) or a landline with its area code (010/02x + 8 digits, or
//     0xxx + 7–8 digits).
//   - emergencyContacts: at most 5, each with a name and a phone.
//   - cardNumber: optional; 6–20 letters and digits.
//   - length caps on every text (see the Max… constants).
func (p PatientInput) Validate(today time.Time) error {
	var ps problems
	checkName(&ps, "name", p.Name, label{"The name", "姓名"})

	sexOK := checkEnum(&ps, "sex", p.Sex, sexEnum(), true,
		label{"The sex", "性别"}, "male, female, other or unknown", "男（male）、女（female）、其他（other）或未知（unknown）")

	birthOK := checkBirthDate(&ps, p.BirthDate, today)

	if p.IDNumber != "" {
		birth, sex := "", ""
		if birthOK {
			birth = p.BirthDate
		}
		if sexOK {
			sex = p.Sex
		}
		checkIDNumber(&ps, p.IDNumber, birth, sex)
	}

	checkPhones(&ps, p.Phones)
	checkLine(&ps, "address", p.Address, MaxAddressLen, label{"The address", "地址"})
	checkLine(&ps, "occupation", p.Occupation, MaxShortLen, label{"The occupation", "职业"})
	if p.MaritalStatus != "" {
		checkEnum(&ps, "maritalStatus", p.MaritalStatus, maritalEnum(), false,
			label{"The marital status", "婚姻状况"}, "single, married, divorced, widowed or unknown",
			"未婚（single）、已婚（married）、离异（divorced）、丧偶（widowed）或未知（unknown）")
	}
	checkContacts(&ps, p.EmergencyContacts)
	if p.CardNumber != "" {
		checkCardNumber(&ps, p.CardNumber)
	}
	checkText(&ps, "history", p.History, MaxTextLen, label{"The medical history", "既往史"})
	checkText(&ps, "familyHistory", p.FamilyHistory, MaxTextLen, label{"The family history", "家族史"})
	checkText(&ps, "notes", p.Notes, MaxTextLen, label{"The notes field", "备注"})
	return ps.err(nil)
}

func required(ps *problems, field string, l label) {
	ps.add(field, CodeRequired, l.en+" is missing; please fill it in.", "请填写"+l.zh+"。")
}

func tooLong(ps *problems, field string, l label, n, max int) {
	ps.add(field, CodeTooLong,
		fmt.Sprintf("%s has %d characters; at most %d fit. Please shorten it.", l.en, n, max),
		fmt.Sprintf("%s有%d个字，最多%d个字，请删减。", l.zh, n, max))
}

// showChar quotes one character for a message: printable ones as
// themselves, others by code point, so a message never carries a control
// character into a log line.
func showChar(r rune) string {
	if r == utf8.RuneError {
		return "an unreadable character (invalid UTF-8)"
	}
	if unicode.IsPrint(r) && !unicode.IsSpace(r) {
		return "“" + string(r) + "”"
	}
	return fmt.Sprintf("U+%04X", r)
}

func showCharZh(r rune) string {
	if r == utf8.RuneError {
		return "无法识别的字符"
	}
	return showChar(r)
}

// clip quotes a short value that is not personal (an enumeration value a
// client sent), cut to a readable length.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if r := []rune(s); len(r) > 20 {
		s = string(r[:20]) + "…"
	}
	return "“" + s + "”"
}

// checkName applies the rules for a person's name.
func checkName(ps *problems, field, s string, l label) {
	if s == "" {
		required(ps, field, l)
		return
	}
	if n := runeLen(s); n > MaxNameLen {
		tooLong(ps, field, l, n, MaxNameLen)
	}
	if !utf8.ValidString(s) {
		ps.add(field, CodeBadChar, l.en+" contains bytes that are not text (invalid UTF-8).", l.zh+"中有无法识别的字符。")
		return
	}
	var digit, bad rune = -1, -1
	dotsOK := true
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case unicode.Is(unicode.Han, r), unicode.Is(unicode.Latin, r) && unicode.IsLetter(r):
		case r == middleDot:
			if i == 0 || i == len(rs)-1 || rs[i-1] == middleDot || rs[i-1] == ' ' || rs[i+1] == ' ' {
				dotsOK = false
			}
		case r == ' ':
			if i == 0 || i == len(rs)-1 || rs[i-1] == ' ' {
				bad = pick(bad, r)
			}
		case unicode.IsDigit(r):
			digit = pick(digit, r)
		default:
			bad = pick(bad, r)
		}
	}
	if digit >= 0 {
		ps.add(field, CodeBadChar,
			fmt.Sprintf("%s contains the digit %s; a name has no digits.", l.en, showChar(digit)),
			fmt.Sprintf("%s中有数字%s，姓名不能包含数字。", l.zh, showChar(digit)))
	}
	if bad == ' ' {
		ps.add(field, CodeBadChar,
			l.en+" has a space at its start or end, or two in a row; use one space between the words of a name.",
			l.zh+"的开头、结尾有空格或有连续空格，请删除多余的空格。")
	} else if bad >= 0 {
		ps.add(field, CodeBadChar,
			fmt.Sprintf("%s contains %s, which a name cannot have; use Chinese characters, Latin letters and the middle dot · only.", l.en, showChar(bad)),
			fmt.Sprintf("%s中有%s，姓名只能包含汉字、拉丁字母和间隔号“·”。", l.zh, showCharZh(bad)))
	}
	if !dotsOK {
		ps.add(field, CodeBadChar,
			fmt.Sprintf("In %s, the middle dot · goes between two parts of the name, as in 阿依古丽·买买提: not at the start or end, not twice in a row, not next to a space.", lowerFirst(l.en)),
			l.zh+"中的间隔号“·”只能用在名字的两部分之间（如 阿依古丽·买买提），不能在开头或结尾，也不能连用。")
	}
}

func pick(have, r rune) rune {
	if have >= 0 {
		return have
	}
	return r
}

// lowerFirst turns "The name" into "the name" for use inside a sentence.
// Labels never start with a proper noun.
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// checkEnum reports a value that is not one of e's. It returns whether
// the value is usable.
func checkEnum(ps *problems, field, s string, e enum, req bool, l label, listEn, listZh string) bool {
	switch {
	case s == "" && req:
		ps.add(field, CodeRequired,
			fmt.Sprintf("%s is missing; choose %s.", l.en, listEn),
			fmt.Sprintf("请选择%s：%s。", l.zh, listZh))
		return false
	case e.has(s):
		return true
	}
	ps.add(field, CodeNotInList,
		fmt.Sprintf("%s must be %s, not %s.", l.en, listEn, clip(s)),
		fmt.Sprintf("%s应为%s，不能是%s。", l.zh, listZh, clip(s)))
	return false
}

// parseDate reads YYYY-MM-DD exactly. ok is false when the text does not
// have that shape; real is false when it has the shape but no such day
// exists.
func parseDate(s string) (y, m, d int, ok, real bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' || !allDigits(s[:4]) || !allDigits(s[5:7]) || !allDigits(s[8:]) {
		return 0, 0, 0, false, false
	}
	y, m, d = atoi(s[:4]), atoi(s[5:7]), atoi(s[8:])
	if m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return y, m, d, true, false
	}
	return y, m, d, true, true
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// dateString writes t's calendar date, in t's own location, as YYYY-MM-DD.
func dateString(t time.Time) string {
	y, m, d := t.Date()
	return fmt.Sprintf("%04d-%02d-%02d", y, int(m), d)
}

// checkBirthDate reports whether the birth date is usable for the ID
// number cross-check.
func checkBirthDate(ps *problems, s string, today time.Time) bool {
	const field = "birthDate"
	if s == "" {
		ps.add(field, CodeRequired,
			"The birth date is missing; enter it as YYYY-MM-DD, for example 1956-06-20 (an estimate if the patient does not know).",
			"请填写出生日期，格式为 年-月-日，例如 1956-06-20（患者不清楚时填写估计日期）。")
		return false
	}
	y, _, _, ok, real := parseDate(s)
	switch {
	case !ok:
		ps.add(field, CodeDateFormat,
			"Write the birth date as YYYY-MM-DD, for example 1956-06-20.",
			"出生日期格式应为 年-月-日，例如 1956-06-20。")
		return false
	case !real:
		ps.add(field, CodeNoSuchDate,
			"The birth date is not a real calendar date; check the month and the day.",
			"出生日期不是有效的日期，请核对月份和日期。")
		return false
	case y < MinBirthYear:
		ps.add(field, CodeTooEarly,
			fmt.Sprintf("The birth date is before %d; check the year.", MinBirthYear),
			fmt.Sprintf("出生日期早于%d年，请核对年份。", MinBirthYear))
		return false
	case s > dateString(today):
		t := dateString(today)
		ps.add(field, CodeFutureDate,
			fmt.Sprintf("The birth date is after today (%s); check the year.", t),
			fmt.Sprintf("出生日期晚于今天（%s），请核对年份。", t))
		return false
	}
	return true
}

// checkIDNumber validates a resident ID number and cross-checks it with
// the birth date and sex entered ("" when those are themselves invalid,
// so one mistake is not reported twice). No message quotes the number or
// any part of it.
func checkIDNumber(ps *problems, id, birth, sex string) {
	const field = "idNumber"
	err := residentid.Validate(id)
	if err == nil {
		_, err = residentid.CrossCheck(id, birth, sex)
		if errors.Is(err, residentid.ErrBirthDateMismatch) {
			ps.add(field, CodeIDBirthDateMismatch,
				"The birth date in the ID number (characters 7–14) differs from the birth date entered; check both against the ID card.",
				residentid.MessageZh(residentid.ErrBirthDateMismatch)+"，请对照身份证核对。")
		}
		if errors.Is(err, residentid.ErrSexMismatch) {
			ps.add(field, CodeIDSexMismatch,
				"The sex in the ID number (17th character: odd for male, even for female) differs from the sex entered; check both.",
				residentid.MessageZh(residentid.ErrSexMismatch)+"（第17位奇数为男，偶数为女），请核对。")
		}
		return
	}
	zh := residentid.MessageZh(err)
	switch {
	case errors.Is(err, residentid.ErrLength):
		n := runeLen(id)
		en := fmt.Sprintf("The ID number has %d characters; a resident ID number has 18.", n)
		zh = fmt.Sprintf("%s（现为%d位）。", zh, n)
		if n == 15 && allDigits(id) {
			en += " This looks like an old 15-digit number; enter the 18-digit number on the patient's current card."
			zh = "身份证号码应为18位（现为15位，像是旧的15位号码），请填写患者现用身份证上的18位号码。"
		}
		ps.add(field, CodeIDLength, en, zh)
	case errors.Is(err, residentid.ErrChar):
		pos := badIDChar(id)
		ps.add(field, CodeIDChar,
			fmt.Sprintf("Character %d of the ID number is not allowed; an ID number is 17 digits and then a digit or X.", pos),
			fmt.Sprintf("%s（第%d位有误）。", zh, pos))
	case errors.Is(err, residentid.ErrBirthDate):
		ps.add(field, CodeIDBirthDate,
			"The birth date inside the ID number (characters 7–14) is not a real date; check the ID number for a typo.",
			zh+"（第7至14位），请核对是否输错。")
	case errors.Is(err, residentid.ErrCheck):
		ps.add(field, CodeIDCheck,
			"The ID number's last character does not match the others, which almost always means a typo; check every character against the ID card.",
			zh+"。")
	default:
		// residentid has no other errors; keep a sentence rather than
		// nothing if it ever grows one.
		ps.add(field, CodeIDCheck, "The ID number is not valid; check it against the ID card.", "身份证号码无效，请对照身份证核对。")
	}
}

// badIDChar returns the 1-based position of the first character that an
// 18-character ID number cannot have there.
func badIDChar(id string) int {
	pos := 0
	for _, r := range id {
		pos++
		if r >= '0' && r <= '9' || pos == residentid.Length && r == 'X' {
			continue
		}
		return pos
	}
	return pos
}

func checkPhones(ps *problems, phones []string) {
	if n := len(phones); n > MaxPhones {
		ps.add("phones", CodeTooMany,
			fmt.Sprintf("There are %d phone numbers; at most %d can be kept. Remove the ones no longer in use.", n, MaxPhones),
			fmt.Sprintf("电话号码有%d个，最多保存%d个，请删除不再使用的号码。", n, MaxPhones))
		return
	}
	first := map[string]int{}
	for i, ph := range phones {
		field := fmt.Sprintf("phones[%d]", i)
		l := label{"The phone number", "电话号码"}
		if len(phones) > 1 {
			l = label{fmt.Sprintf("Phone %d", i+1), fmt.Sprintf("第%d个电话号码", i+1)}
		}
		checkPhone(ps, field, ph, l)
		if j, dup := first[ph]; dup && ph != "" {
			ps.add(field, CodeDuplicate,
				fmt.Sprintf("Phone %d is the same as phone %d; remove one of them.", i+1, j+1),
				fmt.Sprintf("第%d个电话号码与第%d个重复，请删除其中一个。", i+1, j+1))
		} else if !dup {
			first[ph] = i
		}
	}
}

// checkPhone applies the phone rules to a normalised number. Messages
// name the phone by its position, never by its digits.
func checkPhone(ps *problems, field, s string, l label) {
	switch {
	case s == "":
		required(ps, field, l)
		return
	case strings.HasPrefix(s, "+86"):
		ps.add(field, CodeBadChar,
			l.en+" starts with +86; write it without the country code, for example 13800138000.",
			l.zh+"以+86开头，请去掉国家代码，例如 13800138000。")
		return
	case s[0] == '+' && len(s) > 1 && allDigits(s[1:]):
		ps.add(field, CodePhoneForeign,
			l.en+" is not a mainland China number (it starts with +); only mainland mobile and landline numbers can be kept.",
			l.zh+"不是中国大陆号码（以+开头），只能填写大陆的手机或固定电话号码。")
		return
	case strings.HasPrefix(s, "00") && allDigits(s):
		ps.add(field, CodePhoneForeign,
			l.en+" starts with 00, an international prefix; only mainland mobile and landline numbers can be kept.",
			l.zh+"以00（国际长途前缀）开头，只能填写大陆的手机或固定电话号码。")
		return
	case !allDigits(s):
		var bad rune
		for _, r := range s {
			if r < '0' || r > '9' {
				bad = r
				break
			}
		}
		ps.add(field, CodeBadChar,
			fmt.Sprintf("%s contains %s; write a phone number with digits only, for example 13800138000 or 0871-61234567.", l.en, showChar(bad)),
			fmt.Sprintf("%s中有%s，电话号码只能填写数字，例如 13800138000 或 0871-61234567。", l.zh, showCharZh(bad)))
		return
	}
	n := len(s)
	switch s[0] {
	case '1':
		if n != 11 {
			fewer := "只有"
			if n > 11 {
				fewer = "有"
			}
			ps.add(field, CodePhoneLength,
				fmt.Sprintf("%s has %d digits; a mobile number has 11.", l.en, n),
				fmt.Sprintf("%s%s%d位，手机号码应为11位。", l.zh, fewer, n))
			return
		}
		if s[1] < '3' {
			ps.add(field, CodePhonePrefix,
				fmt.Sprintf("%s starts with %s; a mobile number starts with 13 to 19. Check the first digits.", l.en, s[:2]),
				fmt.Sprintf("%s以%s开头，手机号码应以13至19开头，请核对前几位。", l.zh, s[:2]))
		}
	case '0':
		area := 4
		if n >= 2 && (s[1] == '1' || s[1] == '2') {
			area = 3
		}
		if sub := n - area; sub < 7 || sub > 8 {
			code := s[:min(area, n)]
			ps.add(field, CodePhoneLength,
				fmt.Sprintf("%s looks like a landline, but after the area code %s it has %d digits instead of 7 or 8.", l.en, code, max(sub, 0)),
				fmt.Sprintf("%s像是固定电话，但区号%s后面有%d位，应为7位或8位。", l.zh, code, max(sub, 0)))
		}
	default:
		if n == 7 || n == 8 {
			ps.add(field, CodePhoneAreaCode,
				l.en+" has no area code; write a landline with its area code, for example 0871-61234567.",
				l.zh+"缺少区号，固定电话请加区号，例如 0871-61234567。")
			return
		}
		ps.add(field, CodeNotPhone,
			fmt.Sprintf("%s is neither a mobile number (11 digits starting 13 to 19) nor a landline with its area code (starting 0).", l.en),
			fmt.Sprintf("%s既不是手机号码（以13至19开头的11位数字），也不是带区号的固定电话（以0开头）。", l.zh))
	}
}

func checkContacts(ps *problems, cs []Contact) {
	if n := len(cs); n > MaxContacts {
		ps.add("emergencyContacts", CodeTooMany,
			fmt.Sprintf("There are %d emergency contacts; at most %d can be kept.", n, MaxContacts),
			fmt.Sprintf("紧急联系人有%d位，最多保存%d位。", n, MaxContacts))
		return
	}
	for i, c := range cs {
		f := fmt.Sprintf("emergencyContacts[%d].", i)
		en, zh := "The emergency contact's", "紧急联系人的"
		if len(cs) > 1 {
			en, zh = fmt.Sprintf("Emergency contact %d's", i+1), fmt.Sprintf("第%d位紧急联系人的", i+1)
		}
		checkName(ps, f+"name", c.Name, label{en + " name", zh + "姓名"})
		checkLine(ps, f+"relation", c.Relation, MaxRelationLen, label{en + " relation", zh + "关系"})
		checkPhone(ps, f+"phone", c.Phone, label{en + " phone number", zh + "电话号码"})
	}
}

func checkCardNumber(ps *problems, s string) {
	const field = "cardNumber"
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			ps.add(field, CodeCardFormat,
				fmt.Sprintf("The card number contains %s; a card number has only letters and digits.", showChar(r)),
				fmt.Sprintf("就诊卡号中有%s，卡号只能包含字母和数字。", showCharZh(r)))
			return
		}
	}
	if n := len(s); n < MinCardLen || n > MaxCardLen {
		ps.add(field, CodeCardFormat,
			fmt.Sprintf("The card number has %d characters; a card number has %d to %d letters and digits.", n, MinCardLen, MaxCardLen),
			fmt.Sprintf("就诊卡号有%d位，应为%d至%d位字母或数字。", n, MinCardLen, MaxCardLen))
	}
}

// checkLine checks a one-line text: its length, and no control characters
// (Normalize turns line breaks into spaces).
func checkLine(ps *problems, field, s string, max int, l label) {
	checkTextChars(ps, field, s, max, l, false)
}

// checkText checks a multi-line text.
func checkText(ps *problems, field, s string, max int, l label) {
	checkTextChars(ps, field, s, max, l, true)
}

func checkTextChars(ps *problems, field, s string, max int, l label, multiline bool) {
	if n := runeLen(s); n > max {
		tooLong(ps, field, l, n, max)
	}
	if !utf8.ValidString(s) {
		ps.add(field, CodeBadChar, l.en+" contains bytes that are not text (invalid UTF-8).", l.zh+"中有无法识别的字符。")
		return
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || invisible(r) || !multiline && unicode.IsSpace(r) && r != ' ' {
			ps.add(field, CodeBadChar,
				fmt.Sprintf("%s contains an invisible or control character (%s); retype it.", l.en, showChar(r)),
				fmt.Sprintf("%s中有不可见字符或控制字符（%s），请重新输入。", l.zh, showChar(r)))
			return
		}
	}
}
