package chart_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"carenode/node/care"
	"carenode/node/chart"
)

// stolen are patients whose personal data a thief must not find in the
// bbolt file of a node or in its backup.
var stolen = []struct {
	in      care.PatientInput
	pinyin  string // full pinyin of the name
	allergy string
	med     string
}{
	{care.PatientInput{Name: "张三丰", Sex: "male", BirthDate: "1950-03-15", Phones: []string{"13812345678"},
		Address: "湖北省十堰市武当山特区紫霄宫", CardNumber: "ZSF7788123", History: "高血压病史十年",
		EmergencyContacts: []care.Contact{{Name: "张翠山", Relation: "儿子", Phone: "13698765432"}}},
		"zhangsanfeng", "青霉素", "氨氯地平"},
	{care.PatientInput{Name: "欧阳娜娜", Sex: "female", BirthDate: "1977-03-15", Phones: []string{"15800001111", "0871-65432198"},
		Address: "江苏省南京市鼓楼区中山路", Notes: "胰岛素依赖"},
		"ouyangnana", "磺胺类药物", "二甲双胍缓释片"},
	{care.PatientInput{Name: "阿依古丽·买买提", Sex: "female", BirthDate: "1988-12-01", Phones: []string{"13999887766"},
		Address: "新疆维吾尔自治区喀什市"},
		"ayiguli", "花生", "布地奈德"},
}

// TestStolenFile registers patients with known names, phones, ID numbers,
// card numbers and addresses, stops the node, and searches the raw bbolt
// file and a backup as a thief would: every personal value in UTF-8 and
// GB18030, the pinyin of the names, the phones and ID numbers as ASCII.
// Nothing may be found. The birth date, which is not sealed, must be
// found: otherwise the search itself is broken and the test proves nothing.
func TestStolenFile(t *testing.T) {
	dir := t.TempDir()
	n := newNode(t, "laptop1", newSealer(t), chart.Config{})
	ctx := context.Background()
	ids := []string{
		idNumber(t, "420381", "19500315", "011"),
		idNumber(t, "320106", "19770315", "042"),
		idNumber(t, "653101", "19881201", "088"),
	}
	var needles []string // personal values, as typed
	var pinyin []string
	for i, s := range stolen {
		in := s.in
		in.IDNumber = ids[i]
		r := register(t, n.svc, in)
		if _, err := n.svc.AddAllergy(ctx, doctor, r.ID, care.AllergyInput{Substance: s.allergy, Reaction: "全身皮疹伴瘙痒"}); err != nil {
			t.Fatal(err)
		}
		if _, err := n.svc.AddMedication(ctx, doctor, r.ID, care.MedicationInput{Name: s.med, Dose: "五毫克"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := n.svc.AddDiagnosis(ctx, doctor, r.ID, care.DiagnosisInput{Code: "I10", Note: "晨起头晕明显"}); err != nil {
			t.Fatal(err)
		}
		// Edit the name and phone so the change log holds more than one
		// sealed version of each, and read the chart so audits exist.
		if _, err := n.svc.Update(ctx, desk, r.ID, []byte(`{"occupation":"退休教师"}`), ""); err != nil {
			t.Fatal(err)
		}
		if _, err := n.svc.Get(ctx, doctor, r.ID); err != nil {
			t.Fatal(err)
		}
		needles = append(needles, in.Name, in.Address, ids[i], in.History, in.Notes, s.allergy, s.med, "退休教师", "全身皮疹伴瘙痒", "五毫克", "晨起头晕明显")
		needles = append(needles, in.Phones...)
		if in.CardNumber != "" {
			needles = append(needles, in.CardNumber)
		}
		for _, c := range in.EmergencyContacts {
			needles = append(needles, c.Name, c.Phone)
		}
		pinyin = append(pinyin, s.pinyin)
	}
	// A thief who knows the patients exist finds them with the node
	// unlocked: the test data is searchable, so its absence below means
	// something.
	for _, q := range append(pinyin, ids...) {
		if got := searchIDs(t, n.svc, desk, q); len(got) != 1 {
			t.Fatalf("search %q = %v while unlocked", q, got)
		}
	}
	backup, err := os.Create(filepath.Join(dir, "backup.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.st.Backup(backup); err != nil {
		t.Fatal(err)
	}
	if err := backup.Close(); err != nil {
		t.Fatal(err)
	}
	n.svc.Lock()
	path := n.st.Path()
	if err := n.st.Close(); err != nil {
		t.Fatal(err)
	}

	gb := simplifiedchinese.GB18030.NewEncoder()
	for _, file := range []string{path, backup.Name()} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		find := func(needle []byte) bool {
			return len(needle) > 0 && bytes.Contains(raw, needle)
		}
		for _, s := range needles {
			if s == "" {
				continue
			}
			if find([]byte(s)) {
				t.Errorf("%s: %q found in UTF-8", filepath.Base(file), s)
			}
			g, err := gb.Bytes([]byte(s))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(g, []byte(s)) && find(g) {
				t.Errorf("%s: %q found in GB18030", filepath.Base(file), s)
			}
		}
		for _, p := range pinyin {
			if find([]byte(p)) || find(bytes.ToUpper([]byte(p))) {
				t.Errorf("%s: pinyin %q found", filepath.Base(file), p)
			}
		}
		// The birth date is not personal enough to seal (see layout.go): a
		// search that cannot find it cannot be trusted to find the rest.
		for _, s := range stolen {
			if !find([]byte(s.in.BirthDate)) {
				t.Errorf("%s: the unsealed birth date %s was not found: the search is broken", filepath.Base(file), s.in.BirthDate)
			}
		}
		// So is the staff name in the audit trail, Chinese or not.
		if !find([]byte(doctor.Name)) {
			t.Errorf("%s: staff name %q not found: the search is broken", filepath.Base(file), doctor.Name)
		}
	}
	// The GB18030 needles are what older Chinese software writes.
	if g, _ := gb.Bytes([]byte("张三丰")); !bytes.Equal(g, []byte{0xD5, 0xC5, 0xC8, 0xFD, 0xB7, 0xE1}) {
		t.Errorf("GB18030 of 张三丰 = % X", g)
	}
}
