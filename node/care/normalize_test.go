package care

import (
	"reflect"
	"testing"
)

func TestNormalizeFields(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) string
		in   string
		want string
	}{
		{"name trimmed", normName, "  张三 \t", "张三"},
		{"name ideographic space", normName, "\u3000张三\u3000", "张三"},
		{"name space between Chinese", normName, "张 三", "张三"},
		{"name spaces between Chinese", normName, "欧阳  娜 娜", "欧阳娜娜"},
		{"Latin name spaces collapsed", normName, "John   Smith", "John Smith"},
		{"Latin and Chinese keep a space", normName, "Li 明", "Li 明"},
		{"full-width Latin", normName, "Ｊｏｈｎ　Ｓｍｉｔｈ", "John Smith"},
		{"middle dot kept", normName, "阿依古丽·买买提", "阿依古丽·买买提"},
		{"bullet made middle dot", normName, "阿依古丽•买买提", "阿依古丽·买买提"},
		{"katakana dot made middle dot", normName, "阿依古丽・买买提", "阿依古丽·买买提"},
		{"full stop between Chinese", normName, "买买提.艾力", "买买提·艾力"},
		{"full-width full stop between Chinese", normName, "买买提．艾力", "买买提·艾力"},
		{"spaces around dot", normName, "买买提 · 艾力", "买买提·艾力"},
		{"full stop in Latin kept", normName, "J. Smith", "J. Smith"},
		{"zero-width space dropped", normName, "张\u200b三", "张三"},
		{"line break in name", normName, "张\n三", "张三"},

		{"ID lower-case x", normIDNumber, "11010519491231002x", "11010519491231002X"},
		{"ID full width", normIDNumber, "１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"},
		{"ID full-width x", normIDNumber, "11010519491231002ｘ", "11010519491231002X"},
		{"ID spaces and dashes", normIDNumber, " 110105 1949-1231 002X ", "11010519491231002X"},
		{"ID x only at the end", normIDNumber, "x1010519491231002", "x1010519491231002"},

		{"card upper case", normCardNumber, " a-00012345 ", "A00012345"},
		{"card full width", normCardNumber, "ＡＢ１２３４５６", "AB123456"},

		{"mobile with spaces", normPhone, "138 0013 8000", "13800138000"},
		{"mobile with dashes", normPhone, "138-0013-8000", "13800138000"},
		{"mobile +86", normPhone, "+86 138 0013 8000", "13800138000"},
		{"mobile +86 dash", normPhone, "+86-13800138000", "13800138000"},
		{"mobile 0086", normPhone, "0086 13800138000", "13800138000"},
		{"mobile 86", normPhone, "8613800138000", "13800138000"},
		{"mobile full width", normPhone, "１３８００１３８０００", "13800138000"},
		{"mobile with 0 dialled", normPhone, "013800138000", "13800138000"},
		{"landline brackets", normPhone, "(0871) 6123-4567", "087161234567"},
		{"landline +86 Beijing", normPhone, "+86 10 6234 5678", "01062345678"},
		{"landline +86 Kunming", normPhone, "+86 871 61234567", "087161234567"},
		{"landline +86 (0)", normPhone, "+86 (0)871 61234567", "087161234567"},
		{"foreign kept", normPhone, "+852 9123 4567", "+85291234567"},
		{"letters kept for Validate", normPhone, " 138-0013-800O ", "138-0013-800O"},
		{"extension kept for Validate", normPhone, "0871-61234567转8", "0871-61234567转8"},
		{"0086 twice", normPhone, "0086008613800138000", "13800138000"},
		{"empty", normPhone, "  ", ""},

		{"date kept", normDate, "1956-06-20", "1956-06-20"},
		{"date slashes", normDate, "1956/6/20", "1956-06-20"},
		{"date dots", normDate, "1956.06.2", "1956-06-02"},
		{"date Chinese", normDate, "1956年6月20日", "1956-06-20"},
		{"date full width", normDate, "１９５６－０６－２０", "1956-06-20"},
		{"date mixed separators kept", normDate, "1956-06/20", "1956-06/20"},
		{"date day first kept", normDate, "20/06/1956", "20/06/1956"},
		{"date compact kept", normDate, "19560620", "19560620"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.fn(tc.in)
			if got != tc.want {
				t.Errorf("(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if again := tc.fn(got); again != got {
				t.Errorf("not idempotent: %q -> %q", got, again)
			}
		})
	}
}

func TestNormalizePatient(t *testing.T) {
	in := PatientInput{
		Name:          " 阿依古丽 • 买买提 ",
		Sex:           " 女 ",
		BirthDate:     "1949/12/31",
		IDNumber:      "１１０１０５１９４９１２３１００２ｘ",
		Phones:        []string{"", " +86 139-1234-5678 ", "  "},
		Address:       "  云南省\n砚山县   平远镇  ",
		Occupation:    " 农民 ",
		MaritalStatus: "已婚",
		EmergencyContacts: []Contact{
			{},
			{Name: " 买买提 ", Relation: " 丈夫 ", Phone: "138 0013 8000"},
			{Name: " ", Phone: " "},
		},
		CardNumber:    "c-0001234",
		History:       "\r\n高血压10年\r\n糖尿病\x00 5年  \n",
		FamilyHistory: "  ",
		Notes:         "\t注意\u200b听力\t",
	}
	want := PatientInput{
		Name:          "阿依古丽·买买提",
		Sex:           SexFemale,
		BirthDate:     "1949-12-31",
		IDNumber:      "11010519491231002X",
		Phones:        []string{"13912345678"},
		Address:       "云南省 砚山县 平远镇",
		Occupation:    "农民",
		MaritalStatus: MaritalMarried,
		EmergencyContacts: []Contact{
			{Name: "买买提", Relation: "丈夫", Phone: "13800138000"},
		},
		CardNumber: "C0001234",
		History:    "高血压10年\n糖尿病 5年",
		Notes:      "注意听力",
	}
	got := in.Normalize()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Normalize =\n%#v\nwant\n%#v", got, want)
	}
	if err := got.Validate(today); err != nil {
		t.Errorf("normalised record refused: %v", err)
	}
	if again := got.Normalize(); !reflect.DeepEqual(again, got) {
		t.Errorf("not idempotent:\n%#v\n%#v", got, again)
	}
	// The input is not modified through shared slices.
	if in.Phones[1] != " +86 139-1234-5678 " || in.EmergencyContacts[1].Name != " 买买提 " {
		t.Error("Normalize changed its receiver's slices")
	}
}

func TestNormalizeEnums(t *testing.T) {
	for in, want := range map[string]string{
		"男": SexMale, "MALE": SexMale, " Female ": SexFemale, "女性": SexFemale, "未知": SexUnknown,
		"其他": SexOther, "f": SexFemale, "ｍａｌｅ": SexMale, "x": "x",
	} {
		if got := normEnum(in, sexEnum()); got != want {
			t.Errorf("sex %q -> %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"丧偶": MaritalWidowed, "离婚": MaritalDivorced, "Single": MaritalSingle, "": ""} {
		if got := normEnum(in, maritalEnum()); got != want {
			t.Errorf("marital %q -> %q, want %q", in, got, want)
		}
	}
	a := AllergyInput{Substance: " 青霉素 ", Reaction: " 皮疹 ", Severity: ""}.Normalize()
	if a != (AllergyInput{Substance: "青霉素", Reaction: "皮疹", Severity: SeverityUnknown}) {
		t.Errorf("allergy %+v", a)
	}
	if a := (AllergyInput{Substance: "x", Severity: "重度"}).Normalize(); a.Severity != SeveritySevere {
		t.Errorf("severity 重度 -> %q", a.Severity)
	}
	if d := (DiagnosisInput{Code: " ｅ１１．９ ", Note: " n "}).Normalize(); d != (DiagnosisInput{Code: "E11.9", Note: "n"}) {
		t.Errorf("diagnosis %+v", d)
	}
	if d := (DiagnosisInput{Code: " 糖尿病 "}).Normalize(); d.Code != "糖尿病" {
		t.Errorf("malformed code not kept for Validate: %+v", d)
	}
	if m := (MedicationInput{Name: " 硝苯地平  缓释片 ", Dose: " 10 mg ", Frequency: "每日 两次"}).Normalize(); m != (MedicationInput{Name: "硝苯地平 缓释片", Dose: "10 mg", Frequency: "每日 两次"}) {
		t.Errorf("medication %+v", m)
	}
}
