package roster

import (
	"sort"
	"strings"
	"unicode"
)

// Field names: the JSON names of care.PatientInput a column fills.
const (
	FieldName          = "name"
	FieldSex           = "sex"
	FieldBirthDate     = "birthDate"
	FieldIDNumber      = "idNumber"
	FieldPhones        = "phones"
	FieldAddress       = "address"
	FieldOccupation    = "occupation"
	FieldMaritalStatus = "maritalStatus"
	FieldCardNumber    = "cardNumber"
	FieldHistory       = "history"
	FieldFamilyHistory = "familyHistory"
	FieldNotes         = "notes"
)

// requiredFields must each have a column: care.Validate refuses a patient
// without them, so a file lacking one would be refused row by row.
func requiredFields() []string { return []string{FieldName, FieldSex, FieldBirthDate} }

// headerAliases maps a folded header (see foldHeader) to its field. It is a
// function, not a package variable, so no caller can change it.
func headerAliases() map[string]string {
	m := map[string]string{}
	add := func(field string, names ...string) {
		for _, n := range names {
			m[foldHeader(n)] = field
		}
	}
	add(FieldName, "姓名", "名字", "患者姓名", "name", "patient name", "full name")
	add(FieldSex, "性别", "sex", "gender")
	add(FieldBirthDate, "出生日期", "生日", "出生年月日", "birthDate", "birth date", "date of birth", "dob", "birthday")
	add(FieldIDNumber, "身份证号", "身份证号码", "身份证", "证件号码", "证件号", "idNumber", "id number", "id no", "id card")
	add(FieldPhones, "电话", "手机", "手机号", "手机号码", "联系电话", "电话号码", "联系方式", "固定电话", "座机",
		"phone", "phones", "mobile", "tel", "telephone", "phone number")
	add(FieldAddress, "地址", "住址", "家庭住址", "现住址", "居住地址", "address")
	add(FieldOccupation, "职业", "occupation", "job")
	add(FieldMaritalStatus, "婚姻状况", "婚姻", "婚否", "maritalStatus", "marital status", "marital")
	add(FieldCardNumber, "卡号", "就诊卡号", "就诊卡", "cardNumber", "card number", "card no", "card")
	add(FieldHistory, "既往史", "既往病史", "history", "medical history", "past history")
	add(FieldFamilyHistory, "家族史", "familyHistory", "family history")
	add(FieldNotes, "备注", "notes", "note", "remarks", "remark", "comments")
	return m
}

// foldHeader makes a header comparable: lower case, full-width letters
// made ASCII, and spaces (including the ideographic space), underscores,
// hyphens, dots and the asterisk that templates put on required columns
// dropped. "Birth_Date *" and "birthdate" fold alike.
func foldHeader(h string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII
			r -= 0xFEE0
		}
		switch {
		case unicode.IsSpace(r), r == '_', r == '-', r == '.', r == '*', r == '\uFEFF':
			return -1
		}
		return unicode.ToLower(r)
	}, h)
}

// fieldOf returns the field a header fills, or "". A phone header may end
// in a number (电话1, phone 2), because rosters often have several.
func fieldOf(aliases map[string]string, h string) string {
	k := foldHeader(h)
	if f, ok := aliases[k]; ok {
		return f
	}
	if t := strings.TrimRight(k, "0123456789"); t != k && t != "" && aliases[t] == FieldPhones {
		return FieldPhones
	}
	return ""
}

// columnMap is the header resolved: which column fills which field.
type columnMap struct {
	width  int
	single map[string]int // field -> column, for every field but phones
	phones []int          // columns holding phones, in file order
}

// mapHeader resolves a header line, or returns a *HeaderError.
func mapHeader(header []string, line int, lang string) (columnMap, map[string]string, []string, error) {
	aliases := headerAliases()
	cm := columnMap{width: len(header), single: map[string]int{}}
	columns := map[string]string{}
	var ignored []string
	byField := map[string][]string{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))
		header[i] = h
		f := fieldOf(aliases, h)
		if f == "" {
			ignored = append(ignored, h)
			continue
		}
		columns[h] = f
		byField[f] = append(byField[f], h)
		if f == FieldPhones {
			cm.phones = append(cm.phones, i)
		} else {
			cm.single[f] = i
		}
	}
	he := &HeaderError{Line: line, Found: header, lang: lang}
	for _, f := range requiredFields() {
		if len(byField[f]) == 0 {
			he.Missing = append(he.Missing, f)
		}
	}
	for f, hs := range byField {
		if f != FieldPhones && len(hs) > 1 {
			if he.Duplicate == nil {
				he.Duplicate = map[string][]string{}
			}
			he.Duplicate[f] = hs
		}
	}
	if len(he.Missing) > 0 || len(he.Duplicate) > 0 {
		return columnMap{}, nil, nil, he
	}
	return cm, columns, ignored, nil
}

// fieldLabel names a field for a message.
func fieldLabel(f string, zh bool) string {
	zhNames := map[string]string{
		FieldName: "姓名", FieldSex: "性别", FieldBirthDate: "出生日期", FieldIDNumber: "身份证号",
		FieldPhones: "电话", FieldAddress: "地址", FieldOccupation: "职业", FieldMaritalStatus: "婚姻状况",
		FieldCardNumber: "就诊卡号", FieldHistory: "既往史", FieldFamilyHistory: "家族史", FieldNotes: "备注",
	}
	if zh {
		return zhNames[f] + "（" + f + "）"
	}
	return f + " (" + zhNames[f] + ")"
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// isZh reports whether lang asks for Chinese, as care does.
func isZh(lang string) bool {
	lang = strings.ToLower(strings.TrimSpace(lang))
	return lang == "zh" || strings.HasPrefix(lang, "zh-") || strings.HasPrefix(lang, "zh_")
}
