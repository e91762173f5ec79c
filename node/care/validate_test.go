package care

import (
	"strings"
	"testing"
)

func TestValidPatient(t *testing.T) {
	p := validPatient(t)
	if err := p.Validate(today); err != nil {
		t.Fatalf("valid patient refused: %v", err)
	}
	if err := p.Normalize().Validate(today); err != nil {
		t.Fatalf("normalised valid patient refused: %v", err)
	}
	// The least a registration needs.
	min := PatientInput{Name: "李四", Sex: SexUnknown, BirthDate: "1900-01-01"}
	if err := min.Validate(today); err != nil {
		t.Fatalf("minimal patient refused: %v", err)
	}
}

// TestValidateRules has a case for every rule: the field and code of the
// problem and a phrase that must be in each language.
func TestValidateRules(t *testing.T) {
	femaleID := withCheck(t, "11010519491231002")  // 1949-12-31, female
	badDateID := withCheck(t, "11010519491331002") // month 13
	typoID := femaleID[:17] + map[bool]string{true: "1", false: "2"}[femaleID[17] != '1']
	tests := []struct {
		name   string
		edit   func(p *PatientInput)
		field  string
		code   string
		en, zh string // phrases each sentence must hold
	}{
		{"name missing", func(p *PatientInput) { p.Name = "" }, "name", CodeRequired, "name is missing", "请填写姓名"},
		{"name too long", func(p *PatientInput) { p.Name = strings.Repeat("张", 33) }, "name", CodeTooLong, "33 characters; at most 32", "33个字，最多32个字"},
		{"name with digit", func(p *PatientInput) { p.Name = "张3" }, "name", CodeBadChar, "digit “3”", "数字“3”"},
		{"name with symbol", func(p *PatientInput) { p.Name = "张@三" }, "name", CodeBadChar, "“@”, which a name cannot have", "只能包含汉字、拉丁字母和间隔号"},
		{"name starting with dot", func(p *PatientInput) { p.Name = "·买买提" }, "name", CodeBadChar, "middle dot", "间隔号"},
		{"name with double dot", func(p *PatientInput) { p.Name = "买买提··艾力" }, "name", CodeBadChar, "twice in a row", "连用"},
		{"name with two spaces", func(p *PatientInput) { p.Name = "John  Smith" }, "name", CodeBadChar, "one space between", "空格"},

		{"sex missing", func(p *PatientInput) { p.Sex = "" }, "sex", CodeRequired, "male, female, other or unknown", "请选择性别"},
		{"sex not in list", func(p *PatientInput) { p.Sex = "M" }, "sex", CodeNotInList, "not “M”", "不能是“M”"},

		{"birth date missing", func(p *PatientInput) { p.BirthDate = ""; p.IDNumber = "" }, "birthDate", CodeRequired, "YYYY-MM-DD", "请填写出生日期"},
		{"birth date format", func(p *PatientInput) { p.BirthDate = "20/06/1956"; p.IDNumber = "" }, "birthDate", CodeDateFormat, "YYYY-MM-DD", "年-月-日"},
		{"birth date 30 February", func(p *PatientInput) { p.BirthDate = "1956-02-30"; p.IDNumber = "" }, "birthDate", CodeNoSuchDate, "not a real calendar date", "不是有效的日期"},
		{"birth date 29 February common year", func(p *PatientInput) { p.BirthDate = "1957-02-29"; p.IDNumber = "" }, "birthDate", CodeNoSuchDate, "month and the day", "月份和日期"},
		{"birth date month 13", func(p *PatientInput) { p.BirthDate = "1956-13-01"; p.IDNumber = "" }, "birthDate", CodeNoSuchDate, "real calendar date", "有效的日期"},
		{"birth date tomorrow", func(p *PatientInput) { p.BirthDate = "2026-05-02"; p.IDNumber = "" }, "birthDate", CodeFutureDate, "after today (2026-05-01)", "晚于今天（2026-05-01）"},
		{"birth date before 1900", func(p *PatientInput) { p.BirthDate = "1899-12-31"; p.IDNumber = "" }, "birthDate", CodeTooEarly, "before 1900", "早于1900年"},

		{"ID too short", func(p *PatientInput) { p.IDNumber = p.IDNumber[:17] }, "idNumber", CodeIDLength, "17 characters; a resident ID number has 18", "应为18位（现为17位）"},
		{"ID old 15 digits", func(p *PatientInput) { p.IDNumber = "532528560620001" }, "idNumber", CodeIDLength, "old 15-digit number", "旧的15位号码"},
		{"ID letter inside", func(p *PatientInput) { p.IDNumber = p.IDNumber[:4] + "A" + p.IDNumber[5:] }, "idNumber", CodeIDChar, "Character 5", "第5位有误"},
		{"ID impossible date", func(p *PatientInput) { p.IDNumber = badDateID; p.BirthDate = "1949-12-31"; p.Sex = SexFemale }, "idNumber", CodeIDBirthDate, "characters 7–14", "出生日期无效"},
		{"ID typo", func(p *PatientInput) { p.IDNumber = typoID; p.BirthDate = "1949-12-31"; p.Sex = SexFemale }, "idNumber", CodeIDCheck, "typo", "校验位不符"},
		{"ID birth date differs", func(p *PatientInput) { p.BirthDate = "1956-06-21" }, "idNumber", CodeIDBirthDateMismatch, "differs from the birth date entered", "出生日期与填写的出生日期不一致"},
		{"ID sex differs", func(p *PatientInput) { p.Sex = SexFemale }, "idNumber", CodeIDSexMismatch, "differs from the sex entered", "性别与填写的性别不一致"},

		{"mobile 10 digits", func(p *PatientInput) { p.Phones = []string{"1380013800"} }, "phones[0]", CodePhoneLength, "The phone number has 10 digits; a mobile number has 11", "电话号码只有10位，手机号码应为11位"},
		{"mobile 12 digits", func(p *PatientInput) { p.Phones = []string{"138001380001"} }, "phones[0]", CodePhoneLength, "has 12 digits", "电话号码有12位"},
		{"second phone short", func(p *PatientInput) { p.Phones = []string{"13800138000", "1380013800"} }, "phones[1]", CodePhoneLength, "Phone 2 has 10 digits", "第2个电话号码只有10位"},
		{"mobile prefix 12", func(p *PatientInput) { p.Phones = []string{"12800138000"} }, "phones[0]", CodePhonePrefix, "starts with 12; a mobile number starts with 13 to 19", "以12开头"},
		{"landline short", func(p *PatientInput) { p.Phones = []string{"0871612345"} }, "phones[0]", CodePhoneLength, "area code 0871 it has 6 digits", "区号0871后面有6位"},
		{"landline long", func(p *PatientInput) { p.Phones = []string{"010123456789"} }, "phones[0]", CodePhoneLength, "area code 010 it has 9", "区号010后面有9位"},
		{"landline without area code", func(p *PatientInput) { p.Phones = []string{"6123456"} }, "phones[0]", CodePhoneAreaCode, "no area code", "缺少区号"},
		{"service number", func(p *PatientInput) { p.Phones = []string{"4008001234"} }, "phones[0]", CodeNotPhone, "neither a mobile", "既不是手机号码"},
		{"foreign number", func(p *PatientInput) { p.Phones = []string{"+85291234567"} }, "phones[0]", CodePhoneForeign, "not a mainland China number", "不是中国大陆号码"},
		{"international prefix", func(p *PatientInput) { p.Phones = []string{"0085291234567"} }, "phones[0]", CodePhoneForeign, "international prefix", "国际长途前缀"},
		{"letter in phone", func(p *PatientInput) { p.Phones = []string{"1380013800O"} }, "phones[0]", CodeBadChar, "“O”", "只能填写数字"},
		{"unnormalised +86", func(p *PatientInput) { p.Phones = []string{"+8613800138000"} }, "phones[0]", CodeBadChar, "without the country code", "去掉国家代码"},
		{"empty phone", func(p *PatientInput) { p.Phones = []string{""} }, "phones[0]", CodeRequired, "phone number is missing", "请填写电话号码"},
		{"six phones", func(p *PatientInput) {
			p.Phones = []string{"13800138001", "13800138002", "13800138003", "13800138004", "13800138005", "13800138006"}
		}, "phones", CodeTooMany, "6 phone numbers; at most 5", "有6个，最多保存5个"},
		{"duplicate phone", func(p *PatientInput) { p.Phones = []string{"13800138000", "087161234567", "13800138000"} }, "phones[2]", CodeDuplicate, "Phone 3 is the same as phone 1", "第3个电话号码与第1个重复"},

		{"address too long", func(p *PatientInput) { p.Address = strings.Repeat("村", 201) }, "address", CodeTooLong, "201 characters; at most 200", "地址有201个字，最多200个字"},
		{"address control char", func(p *PatientInput) { p.Address = "平远镇\x01" }, "address", CodeBadChar, "U+0001", "控制字符"},
		{"address line break", func(p *PatientInput) { p.Address = "平远镇\n1号" }, "address", CodeBadChar, "U+000A", "不可见字符"},
		{"occupation too long", func(p *PatientInput) { p.Occupation = strings.Repeat("农", 65) }, "occupation", CodeTooLong, "at most 64", "职业有65个字"},
		{"marital status", func(p *PatientInput) { p.MaritalStatus = "engaged" }, "maritalStatus", CodeNotInList, "single, married, divorced, widowed or unknown", "婚姻状况应为"},

		{"six contacts", func(p *PatientInput) { p.EmergencyContacts = make([]Contact, 6) }, "emergencyContacts", CodeTooMany, "6 emergency contacts; at most 5", "紧急联系人有6位"},
		{"contact without name", func(p *PatientInput) { p.EmergencyContacts[0].Name = "" }, "emergencyContacts[0].name", CodeRequired, "The emergency contact's name is missing", "请填写紧急联系人的姓名"},
		{"contact without phone", func(p *PatientInput) { p.EmergencyContacts[0].Phone = "" }, "emergencyContacts[0].phone", CodeRequired, "emergency contact's phone number is missing", "请填写紧急联系人的电话号码"},
		{"second contact bad phone", func(p *PatientInput) {
			p.EmergencyContacts = append(p.EmergencyContacts, Contact{Name: "李四", Phone: "139123"})
		}, "emergencyContacts[1].phone", CodePhoneLength, "Emergency contact 2's phone number has 6 digits", "第2位紧急联系人的电话号码只有6位"},
		{"contact name digit", func(p *PatientInput) { p.EmergencyContacts[0].Name = "小红2" }, "emergencyContacts[0].name", CodeBadChar, "emergency contact's name contains the digit", "紧急联系人的姓名中有数字"},
		{"contact relation long", func(p *PatientInput) { p.EmergencyContacts[0].Relation = strings.Repeat("亲", 21) }, "emergencyContacts[0].relation", CodeTooLong, "at most 20", "最多20个字"},

		{"card too short", func(p *PatientInput) { p.CardNumber = "A1234" }, "cardNumber", CodeCardFormat, "5 characters; a card number has 6 to 20", "有5位，应为6至20位"},
		{"card too long", func(p *PatientInput) { p.CardNumber = strings.Repeat("1", 21) }, "cardNumber", CodeCardFormat, "21 characters", "有21位"},
		{"card symbol", func(p *PatientInput) { p.CardNumber = "A#12345" }, "cardNumber", CodeCardFormat, "“#”", "只能包含字母和数字"},

		{"history too long", func(p *PatientInput) { p.History = strings.Repeat("病", 2001) }, "history", CodeTooLong, "medical history has 2001 characters; at most 2000", "既往史有2001个字"},
		{"family history too long", func(p *PatientInput) { p.FamilyHistory = strings.Repeat("a", 2001) }, "familyHistory", CodeTooLong, "family history", "家族史"},
		{"notes too long", func(p *PatientInput) { p.Notes = strings.Repeat("注", 2001) }, "notes", CodeTooLong, "notes", "备注有2001个字"},
		{"notes zero-width space", func(p *PatientInput) { p.Notes = "a\u200bb" }, "notes", CodeBadChar, "U+200B", "不可见字符"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := validPatient(t)
			tc.edit(&p)
			ps := problemsOf(t, p.Validate(today))
			checkSentences(t, ps)
			got, ok := find(ps, tc.field, tc.code)
			if !ok {
				t.Fatalf("no %s problem on %s; got %+v", tc.code, tc.field, ps)
			}
			if !strings.Contains(got.En, tc.en) {
				t.Errorf("En = %q, want it to contain %q", got.En, tc.en)
			}
			if !strings.Contains(got.Zh, tc.zh) {
				t.Errorf("Zh = %q, want it to contain %q", got.Zh, tc.zh)
			}
			if got.Message("zh-CN") != got.Zh || got.Message("en") != got.En || got.Message("") != got.En {
				t.Error("Message does not pick the language")
			}
		})
	}
}

// TestValidateAccepts lists values near the edges that must pass.
func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		edit func(p *PatientInput)
	}{
		{"minority name", func(p *PatientInput) { p.Name = "阿依古丽·买买提" }},
		{"Latin name", func(p *PatientInput) { p.Name = "John Smith" }},
		{"pinyin with ü", func(p *PatientInput) { p.Name = "Lü Wei" }},
		{"one character", func(p *PatientInput) { p.Name = "明" }},
		{"32 characters", func(p *PatientInput) { p.Name = strings.Repeat("张", 32) }},
		{"born today", func(p *PatientInput) { p.BirthDate = "2026-05-01"; p.IDNumber = "" }},
		{"born 1900-01-01", func(p *PatientInput) { p.BirthDate = "1900-01-01"; p.IDNumber = "" }},
		{"29 February leap year", func(p *PatientInput) { p.BirthDate = "1956-02-29"; p.IDNumber = "" }},
		{"sex other is not compared with the ID", func(p *PatientInput) { p.Sex = SexOther }},
		{"sex unknown is not compared with the ID", func(p *PatientInput) { p.Sex = SexUnknown }},
		{"no ID number", func(p *PatientInput) { p.IDNumber = "" }},
		{"Beijing landline", func(p *PatientInput) { p.Phones = []string{"01062345678"} }},
		{"Guangzhou landline", func(p *PatientInput) { p.Phones = []string{"02061234567"} }},
		{"county landline 7 digits", func(p *PatientInput) { p.Phones = []string{"08766123456"} }},
		{"mobile 19x", func(p *PatientInput) { p.Phones = []string{"19912345678"} }},
		{"five phones", func(p *PatientInput) {
			p.Phones = []string{"13800138001", "13800138002", "13800138003", "13800138004", "13800138005"}
		}},
		{"no phones", func(p *PatientInput) { p.Phones = nil }},
		{"200-character address", func(p *PatientInput) { p.Address = strings.Repeat("村", 200) }},
		{"2000-character history with lines", func(p *PatientInput) { p.History = strings.Repeat("高血压十年\n", 333) }},
		{"married", func(p *PatientInput) { p.MaritalStatus = MaritalMarried }},
		{"card 6", func(p *PatientInput) { p.CardNumber = "123456" }},
		{"card 20", func(p *PatientInput) { p.CardNumber = strings.Repeat("Z", 20) }},
		{"no card", func(p *PatientInput) { p.CardNumber = "" }},
		{"five contacts", func(p *PatientInput) {
			p.EmergencyContacts = nil
			for i := 0; i < 5; i++ {
				p.EmergencyContacts = append(p.EmergencyContacts, Contact{Name: "李四", Phone: "13800138000"})
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := validPatient(t)
			tc.edit(&p)
			if err := p.Validate(today); err != nil {
				t.Errorf("refused: %v", err)
			}
		})
	}
}

// TestValidateReportsEverything: problems in several fields all come back,
// and the joined messages read in each language.
func TestValidateReportsEverything(t *testing.T) {
	p := PatientInput{
		Name:      "张3",
		Sex:       "x",
		BirthDate: "2030-01-01",
		IDNumber:  "123",
		Phones:    []string{"1380013800"},
		Address:   strings.Repeat("路", 300),
	}
	err := p.Validate(today)
	ps := problemsOf(t, err)
	checkSentences(t, ps)
	for _, want := range []string{"name", "sex", "birthDate", "idNumber", "phones[0]", "address"} {
		found := false
		for _, pr := range ps {
			found = found || pr.Field == want
		}
		if !found {
			t.Errorf("no problem for %s in %+v", want, ps)
		}
	}
	ve := err.(*ValidationError)
	if err.Error() != ve.Message("en") {
		t.Error("Error() is not the English message")
	}
	for _, pr := range ps {
		if !strings.Contains(ve.Message("en"), pr.En) || !strings.Contains(ve.Message("zh"), pr.Zh) {
			t.Errorf("joined messages miss %+v", pr)
		}
	}
	if strings.ContainsAny(ve.Message("zh"), "abcdefghijklmnopqrstuvwxyz") && !strings.Contains(ve.Message("zh"), "male") {
		t.Errorf("Chinese message looks English: %s", ve.Message("zh"))
	}
}

// TestIDMismatchNotDoubled: when the birth date or sex is itself wrong,
// the ID number is not also blamed for disagreeing with it.
func TestIDMismatchNotDoubled(t *testing.T) {
	p := validPatient(t)
	p.BirthDate = "1956-02-30"
	p.Sex = "?"
	ps := problemsOf(t, p.Validate(today))
	for _, pr := range ps {
		if pr.Field == "idNumber" {
			t.Errorf("ID number blamed too: %+v", pr)
		}
	}
	// Both mismatches at once are two problems.
	p = validPatient(t)
	p.BirthDate = "1956-06-21"
	p.Sex = SexFemale
	ps = problemsOf(t, p.Validate(today))
	if _, ok := find(ps, "idNumber", CodeIDBirthDateMismatch); !ok {
		t.Error("no birth date mismatch")
	}
	if _, ok := find(ps, "idNumber", CodeIDSexMismatch); !ok {
		t.Error("no sex mismatch")
	}
}

// TestNoPersonalDataInMessages: no sentence quotes the ID number or a part
// of it, a phone, or the name.
func TestNoPersonalDataInMessages(t *testing.T) {
	id := withCheck(t, "53252819560620001")
	cases := []PatientInput{
		{Name: "张三丰", Sex: SexFemale, BirthDate: "1956-06-21", IDNumber: id, Phones: []string{"13912345678", "13912345678"}},
		{Name: "张三丰", Sex: SexMale, BirthDate: "1956-06-20", IDNumber: id[:17] + "0"},
		{Name: "张三丰", Sex: SexMale, BirthDate: "1956-06-20", IDNumber: "53252819561320001" + "5"},
		{Name: "张三丰", Sex: SexMale, BirthDate: "1956-06-20", IDNumber: id[:10] + "Q" + id[11:]},
		{Name: "张三丰", Sex: SexMale, BirthDate: "1956-06-20", IDNumber: id + "9"},
		{Name: "张三丰1", Sex: SexMale, BirthDate: "1956-06-20", Phones: []string{"1391234567", "139123456789", "12912345678", "0871612"}},
	}
	for i, p := range cases {
		ps := problemsOf(t, p.Validate(today))
		for _, pr := range ps {
			for _, secret := range []string{id, id[:17], "53252819", "19560620", "561320", "3912345", "张三丰"} {
				if strings.Contains(pr.En, secret) || strings.Contains(pr.Zh, secret) {
					t.Errorf("case %d: %s problem quotes %q: %s / %s", i, pr.Code, secret, pr.En, pr.Zh)
				}
			}
		}
	}
}
