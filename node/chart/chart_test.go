package chart_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"carenode/crdt"
	"carenode/node/care"
	"carenode/node/chart"
	"carenode/node/dedup"
	"carenode/node/sample"
	"carenode/node/search"
	"carenode/node/store"
)

// clinic is a small register of patients the search tests look for.
type clinic struct {
	*node
	zsf, zs, ls, zxx, wxm chart.RegisterResult
	zsfID                 string // 张三丰's ID number
}

func newClinic(t *testing.T) *clinic {
	t.Helper()
	c := &clinic{node: newNode(t, "clinic1", newSealer(t), chart.Config{})}
	c.zsfID = idNumber(t, "110101", "19500315", "001")
	c.zsf = register(t, c.svc, care.PatientInput{Name: "张三丰", Sex: "male", BirthDate: "1950-03-15",
		IDNumber: c.zsfID, Phones: []string{"138 1234 5678"}, Address: "湖北省十堰市武当山特区紫霄宫1号", CardNumber: "88000012"})
	c.zs = register(t, c.svc, care.PatientInput{Name: "张三", Sex: "male", BirthDate: "1985-07-01",
		IDNumber: idNumber(t, "110101", "19850701", "013"), Phones: []string{"13900001111"}})
	c.ls = register(t, c.svc, care.PatientInput{Name: "李四", Sex: "female", BirthDate: "1990-01-20",
		IDNumber: idNumber(t, "440524", "19900120", "002"), Phones: []string{"13700002222", "0871-61235678"},
		CardNumber: "zhangsan"}) // a card number that is also someone's pinyin: ranking test
	c.zxx = register(t, c.svc, care.PatientInput{Name: "曾小贤", Sex: "male", BirthDate: "1980-05-05", Phones: []string{"15800003333"}})
	c.wxm = register(t, c.svc, care.PatientInput{Name: "王小明", Sex: "male", BirthDate: "2001-11-11", Phones: []string{"18600004444"}})
	return c
}

func TestRegisterGet(t *testing.T) {
	c := newClinic(t)
	ctx := context.Background()
	p, err := c.svc.Get(ctx, doctor, c.zsf.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := care.PatientInput{Name: "张三丰", Sex: "male", BirthDate: "1950-03-15", IDNumber: c.zsfID,
		Phones: []string{"13812345678"}, Address: "湖北省十堰市武当山特区紫霄宫1号", CardNumber: "88000012"}
	got, _ := json.Marshal(p.PatientInput)
	wantJSON, _ := json.Marshal(want)
	if string(got) != string(wantJSON) {
		t.Errorf("Get = %s\nwant  %s", got, wantJSON)
	}
	if p.ID != c.zsf.ID || p.Version == "" || p.Version != c.zsf.Version {
		t.Errorf("id %s version %q, registered as %s version %q", p.ID, p.Version, c.zsf.ID, c.zsf.Version)
	}
	if len(p.Conflicts) != 0 || len(p.Merged) != 0 {
		t.Errorf("new chart has conflicts %v merged %v", p.Conflicts, p.Merged)
	}
	if c.svc.Count() != 5 {
		t.Errorf("Count = %d, want 5", c.svc.Count())
	}
	for _, id := range []string{"no-such-patient", "", "../x", strings.Repeat("a", 200)} {
		if _, err := c.svc.Get(ctx, doctor, id); !errors.Is(err, chart.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestSearch(t *testing.T) {
	c := newClinic(t)
	tests := []struct {
		name, q string
		want    []string // ids, best first; the result must start with them
		why     string   // what the first result matched
		only    bool     // the result is exactly want
	}{
		{"full Chinese name", "张三丰", []string{c.zsf.ID}, search.WhyName, true},
		{"exact name before longer name", "张三", []string{c.zs.ID, c.zsf.ID}, search.WhyName, true},
		{"surname", "张", []string{c.zs.ID, c.zsf.ID}, search.WhyNamePrefix, true},
		{"inside the name", "三丰", []string{c.zsf.ID}, search.WhyNamePart, true},
		{"given name", "小明", []string{c.wxm.ID}, search.WhyNamePart, true},
		{"full pinyin", "zhangsanfeng", []string{c.zsf.ID}, search.WhyPinyin, true},
		{"full pinyin with spaces and capitals", "Zhang San Feng", []string{c.zsf.ID}, search.WhyPinyin, true},
		{"pinyin of 张三", "zhangsan", []string{c.ls.ID, c.zs.ID, c.zsf.ID}, search.WhyCard, true},
		{"initials", "zs", []string{c.zs.ID, c.zsf.ID}, search.WhyInitials, true},
		{"initials of three", "zsf", []string{c.zsf.ID}, search.WhyInitials, true},
		{"surname reading zeng", "zengxiaoxian", []string{c.zxx.ID}, search.WhyPinyin, true},
		{"initials zxx", "zxx", []string{c.zxx.ID}, search.WhyInitials, true},
		{"mobile", "13812345678", []string{c.zsf.ID}, search.WhyPhone, true},
		{"mobile as typed", "138-1234-5678", []string{c.zsf.ID}, search.WhyPhone, true},
		{"second phone, a landline", "087161235678", []string{c.ls.ID}, search.WhyPhone, true},
		{"last four digits", "5678", []string{c.zsf.ID, c.ls.ID}, search.WhyPhoneLast4, true},
		{"ID number", c.zsfID, []string{c.zsf.ID}, search.WhyIDNumber, true},
		{"card number", "88000012", []string{c.zsf.ID}, search.WhyCard, true},
		{"nobody", "欧阳", nil, "", true},
		{"one letter matches nothing", "z", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.svc.Search(desk, tt.q, 0)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range res {
				ids = append(ids, r.ID)
			}
			if tt.only && !slices.Equal(ids, tt.want) || !tt.only && (len(ids) < len(tt.want) || !slices.Equal(ids[:len(tt.want)], tt.want)) {
				t.Fatalf("Search(%q) = %v, want %v", tt.q, ids, tt.want)
			}
			if len(res) > 0 && res[0].Why != tt.why {
				t.Errorf("Search(%q)[0].Why = %q, want %q", tt.q, res[0].Why, tt.why)
			}
		})
	}
}

// TestSearchSummary checks what a search result shows: enough to tell
// patients apart at the desk, and never the whole ID number.
func TestSearchSummary(t *testing.T) {
	c := newClinic(t)
	res, err := c.svc.Search(desk, c.zsfID, 1)
	if err != nil || len(res) != 1 {
		t.Fatalf("search = %v, %v", res, err)
	}
	s := res[0]
	if s.Name != "张三丰" || s.Sex != "male" || s.BirthDate != "1950-03-15" || !slices.Equal(s.Phones, []string{"13812345678"}) ||
		s.CardNumber != "88000012" || s.IDNumberTail != c.zsfID[14:] {
		t.Errorf("summary = %+v", s)
	}
	b, _ := json.Marshal(res)
	if strings.Contains(string(b), c.zsfID) {
		t.Errorf("search result shows the whole ID number: %s", b)
	}
	if res, _ := c.svc.Search(desk, "zs", 1); len(res) != 1 {
		t.Errorf("limit 1 gave %d results", len(res))
	}
}

func TestRegisterValidation(t *testing.T) {
	n := newNode(t, "clinic1", newSealer(t), chart.Config{})
	good := care.PatientInput{Name: "赵六", Sex: "female", BirthDate: "1972-04-30",
		IDNumber: idNumber(t, "320106", "19720430", "024"), Phones: []string{"13600005555"}}
	register(t, n.svc, good) // the base is valid
	badCheck := good.IDNumber[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", good.IDNumber[17])+1)%11])
	tests := []struct {
		name string
		edit func(p *care.PatientInput)
		code string
	}{
		{"ID check character", func(p *care.PatientInput) { p.IDNumber = badCheck }, care.CodeIDCheck},
		{"ID length", func(p *care.PatientInput) { p.IDNumber = p.IDNumber[:16] }, care.CodeIDLength},
		{"ID and birth date disagree", func(p *care.PatientInput) { p.BirthDate = "1972-04-29" }, care.CodeIDBirthDateMismatch},
		{"ID and sex disagree", func(p *care.PatientInput) { p.Sex = "male" }, care.CodeIDSexMismatch},
		{"phone too short", func(p *care.PatientInput) { p.Phones = []string{"1360000555"} }, care.CodePhoneLength},
		{"not a phone", func(p *care.PatientInput) { p.Phones = []string{"555"} }, care.CodeNotPhone},
		{"landline without area code", func(p *care.PatientInput) { p.Phones = []string{"61234567"} }, care.CodePhoneAreaCode},
		{"no name", func(p *care.PatientInput) { p.Name = "" }, care.CodeRequired},
		{"birth date not on the calendar", func(p *care.PatientInput) { p.BirthDate = "1972-02-30"; p.IDNumber = "" }, care.CodeNoSuchDate},
		{"birth date in the future", func(p *care.PatientInput) { p.BirthDate = "2030-01-01"; p.IDNumber = "" }, care.CodeFutureDate},
		{"bad card number", func(p *care.PatientInput) { p.CardNumber = "12" }, care.CodeCardFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := good
			tt.edit(&in)
			before := n.svc.Count()
			// force: the ID number is registered already, and only the
			// problem under test may refuse the input.
			_, err := n.svc.Register(context.Background(), desk, in, true)
			if codes := validationCodes(t, err); !slices.Contains(codes, tt.code) {
				t.Errorf("codes = %v, want %s", codes, tt.code)
			}
			if n.svc.Count() != before {
				t.Errorf("a refused registration made a chart")
			}
		})
	}
}

func TestDiagnosisValidation(t *testing.T) {
	n := newNode(t, "clinic1", newSealer(t), chart.Config{})
	p := register(t, n.svc, care.PatientInput{Name: "赵六", Sex: "female", BirthDate: "1972-04-30"})
	ctx := context.Background()
	for _, tt := range []struct{ code, want string }{
		{"U99", care.CodeICD10Unknown},
		{"U99.1", care.CodeICD10Unknown},
		{"I10.99999", care.CodeICD10Malformed},
		{"123", care.CodeICD10Malformed},
		{"高血压", care.CodeICD10Malformed},
		{"", care.CodeRequired},
	} {
		_, _, err := n.svc.AddDiagnosis(ctx, doctor, p.ID, care.DiagnosisInput{Code: tt.code})
		if codes := validationCodes(t, err); !slices.Contains(codes, tt.want) {
			t.Errorf("AddDiagnosis(%q): codes %v, want %s", tt.code, codes, tt.want)
		}
	}
	for _, bad := range []care.AllergyInput{{}, {Substance: "青霉素", Severity: "deadly"}} {
		if _, err := n.svc.AddAllergy(ctx, doctor, p.ID, bad); err == nil {
			t.Errorf("AddAllergy(%+v) accepted", bad)
		} else {
			validationCodes(t, err)
		}
	}
	if _, err := n.svc.AddMedication(ctx, doctor, p.ID, care.MedicationInput{}); err == nil {
		t.Errorf("AddMedication without a name accepted")
	}
	got, err := n.svc.Get(ctx, doctor, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Diagnoses)+len(got.Allergies)+len(got.Medications) != 0 {
		t.Errorf("refused entries reached the chart: %s", describe(got))
	}
}

func TestRegisterDuplicates(t *testing.T) {
	n := newNode(t, "clinic1", newSealer(t), chart.Config{})
	ctx := context.Background()
	id := idNumber(t, "530102", "19660812", "031")
	first := register(t, n.svc, care.PatientInput{Name: "杨丽", Sex: "male", BirthDate: "1966-08-12", IDNumber: id, Phones: []string{"13988887777"}})

	t.Run("same ID number is refused", func(t *testing.T) {
		_, err := n.svc.Register(ctx, desk, care.PatientInput{Name: "杨立", Sex: "male", BirthDate: "1966-08-12",
			IDNumber: strings.ToLower(id)}, false)
		var de *chart.DuplicateError
		if !errors.As(err, &de) || !errors.Is(err, chart.ErrDuplicateIDNumber) {
			t.Fatalf("err = %v, want *DuplicateError", err)
		}
		if len(de.Existing) != 1 || de.Existing[0].ID != first.ID || de.Existing[0].Name != "杨丽" {
			t.Errorf("Existing = %+v, want the chart of %s", de.Existing, first.ID)
		}
		if n.svc.Count() != 1 {
			t.Errorf("Count = %d after a refused registration", n.svc.Count())
		}
	})
	t.Run("force registers anyway", func(t *testing.T) {
		r, err := n.svc.Register(ctx, desk, care.PatientInput{Name: "杨立", Sex: "male", BirthDate: "1966-08-12", IDNumber: id}, true)
		if err != nil {
			t.Fatal(err)
		}
		if r.ID == first.ID || n.svc.Count() != 2 {
			t.Fatalf("forced registration: id %s, count %d", r.ID, n.svc.Count())
		}
		if len(r.PossibleDuplicates) != 1 || r.PossibleDuplicates[0].ID != first.ID ||
			!slices.Contains(r.PossibleDuplicates[0].Reasons, dedup.SameIDNumber) {
			t.Errorf("PossibleDuplicates = %+v", r.PossibleDuplicates)
		}
		ids := searchIDs(t, n.svc, desk, id)
		slices.Sort(ids)
		want := []string{first.ID, r.ID}
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Errorf("search by ID number = %v, want both %v", ids, want)
		}
	})
	t.Run("same name, birth date and phone", func(t *testing.T) {
		r, err := n.svc.Register(ctx, desk, care.PatientInput{Name: "杨丽", Sex: "male", BirthDate: "1966-08-12",
			Phones: []string{"139 8888 7777"}}, false)
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, d := range r.PossibleDuplicates {
			if d.ID == first.ID && slices.Contains(d.Reasons, dedup.SameNameBirthPhone) {
				found = true
			}
		}
		if !found {
			t.Errorf("PossibleDuplicates = %+v, want %s for same name, birth date and phone", r.PossibleDuplicates, first.ID)
		}
		dups, err := n.svc.Duplicates(admin)
		if err != nil {
			t.Fatal(err)
		}
		var pair bool
		for _, d := range dups {
			if (d.A.ID == first.ID && d.B.ID == r.ID) || (d.A.ID == r.ID && d.B.ID == first.ID) {
				pair = true
			}
		}
		if !pair {
			t.Errorf("Duplicates = %+v, want the pair %s %s", dups, first.ID, r.ID)
		}
	})
	t.Run("unrelated patient has no candidates", func(t *testing.T) {
		r := register(t, n.svc, care.PatientInput{Name: "马超", Sex: "male", BirthDate: "1999-01-01"})
		if len(r.PossibleDuplicates) != 0 {
			t.Errorf("PossibleDuplicates = %+v", r.PossibleDuplicates)
		}
	})
}

func TestCardNumbers(t *testing.T) {
	n := newNode(t, "clinic1", newSealer(t), chart.Config{})
	ctx := context.Background()
	a := register(t, n.svc, care.PatientInput{Name: "孙七", Sex: "male", BirthDate: "1970-01-01", CardNumber: "c123456"})
	if a.CardNumber != "C123456" {
		t.Errorf("card stored as %q, want upper case", a.CardNumber)
	}
	_, err := n.svc.Register(ctx, desk, care.PatientInput{Name: "周八", Sex: "male", BirthDate: "1971-01-01", CardNumber: "C123456"}, false)
	if codes := validationCodes(t, err); !slices.Contains(codes, "card_taken") {
		t.Errorf("second holder of a card: codes %v", codes)
	}
	b := register(t, n.svc, care.PatientInput{Name: "周八", Sex: "male", BirthDate: "1971-01-01"})
	if _, err := n.svc.Update(ctx, desk, b.ID, []byte(`{"cardNumber":"C123456"}`), ""); err == nil {
		t.Errorf("Update gave a taken card to another patient")
	}
	p, err := n.svc.IssueCard(ctx, desk, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.CardNumber) != 16 || !luhnValid(p.CardNumber) {
		t.Errorf("issued card %q: want 16 digits with a Luhn check digit", p.CardNumber)
	}
	if ids := searchIDs(t, n.svc, desk, p.CardNumber); !slices.Equal(ids, []string{b.ID}) {
		t.Errorf("search by issued card = %v", ids)
	}
	old := p.CardNumber
	p, err = n.svc.IssueCard(ctx, desk, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.CardNumber == old {
		t.Errorf("reissue kept the card number")
	}
	if ids := searchIDs(t, n.svc, desk, old); len(ids) != 0 {
		t.Errorf("search by the replaced card = %v, want nothing", ids)
	}
	if ids := searchIDs(t, n.svc, desk, p.CardNumber); !slices.Equal(ids, []string{b.ID}) {
		t.Errorf("search by reissued card = %v", ids)
	}
}

func luhnValid(s string) bool {
	sum := 0
	for i := range len(s) {
		d := int(s[len(s)-1-i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// patientChanges returns the patient changes st made after vector before.
func patientChanges(t *testing.T, st *store.Store, before crdt.Vector) []crdt.Change {
	t.Helper()
	page, err := st.ChangesAfter(before, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []crdt.Change
	for _, c := range page.Changes {
		if c.Collection == chart.Collection {
			out = append(out, c)
		}
	}
	return out
}

func TestUpdate(t *testing.T) {
	n := newNode(t, "clinic1", newSealer(t), chart.Config{})
	ctx := context.Background()
	r := register(t, n.svc, care.PatientInput{Name: "刘备", Sex: "male", BirthDate: "1961-06-01",
		Phones: []string{"13512340000"}, Address: "四川省成都市武侯区"})

	before := n.st.Vector()
	p, err := n.svc.Update(ctx, desk, r.ID, []byte(`{"address":"四川省成都市青羊区","occupation":"农民"}`), r.Version)
	if err != nil {
		t.Fatal(err)
	}
	if p.Address != "四川省成都市青羊区" || p.Occupation != "农民" || p.Name != "刘备" || p.Phones[0] != "13512340000" {
		t.Errorf("after update: %+v", p.PatientInput)
	}
	if p.Version == r.Version {
		t.Errorf("version did not move")
	}
	changes := patientChanges(t, n.st, before)
	if len(changes) != 1 {
		t.Fatalf("%d patient changes, want 1", len(changes))
	}
	var fields []string
	for _, m := range changes[0].Muts {
		fields = append(fields, m.Field)
	}
	slices.Sort(fields)
	if !slices.Equal(fields, []string{"address", "occupation"}) {
		t.Errorf("update wrote %v, want only the changed address and occupation", fields)
	}

	t.Run("stale version", func(t *testing.T) {
		_, err := n.svc.Update(ctx, desk, r.ID, []byte(`{"occupation":"教师"}`), r.Version)
		if !errors.Is(err, chart.ErrStale) {
			t.Fatalf("err = %v, want ErrStale", err)
		}
		got, _ := n.svc.Get(ctx, desk, r.ID)
		if got.Occupation != "农民" {
			t.Errorf("a stale update changed the chart: %q", got.Occupation)
		}
	})
	t.Run("quoted current version", func(t *testing.T) {
		q, err := n.svc.Update(ctx, desk, r.ID, []byte(`{"phones":["13512340000","13512349999"]}`), `"`+p.Version+`"`)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(q.Phones, []string{"13512340000", "13512349999"}) {
			t.Errorf("phones = %v", q.Phones)
		}
		if ids := searchIDs(t, n.svc, desk, "9999"); !slices.Equal(ids, []string{r.ID}) {
			t.Errorf("the index missed the new phone: %v", ids)
		}
	})
	t.Run("nothing changed writes nothing", func(t *testing.T) {
		before := n.st.Vector()
		if _, err := n.svc.Update(ctx, desk, r.ID, []byte(`{"name":" 刘备 "}`), ""); err != nil {
			t.Fatal(err)
		}
		if c := patientChanges(t, n.st, before); len(c) != 0 {
			t.Errorf("an update without changes wrote %d changes", len(c))
		}
	})
	t.Run("name change reindexes", func(t *testing.T) {
		if _, err := n.svc.Update(ctx, desk, r.ID, []byte(`{"name":"刘玄德"}`), ""); err != nil {
			t.Fatal(err)
		}
		if ids := searchIDs(t, n.svc, desk, "liuxuande"); !slices.Equal(ids, []string{r.ID}) {
			t.Errorf("search new name = %v", ids)
		}
		if ids := searchIDs(t, n.svc, desk, "刘备"); len(ids) != 0 {
			t.Errorf("search old name = %v, want nothing", ids)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		for _, body := range []string{`{"phones":["12"]}`, `{"birthDate":"1961-13-01"}`, `{"nmae":"x"}`, `{"name":5}`, `not json`} {
			before := n.st.Vector()
			_, err := n.svc.Update(ctx, desk, r.ID, []byte(body), "")
			validationCodes(t, err)
			if c := patientChanges(t, n.st, before); len(c) != 0 {
				t.Errorf("refused update %s wrote %d changes", body, len(c))
			}
		}
	})
	if _, err := n.svc.Update(ctx, desk, "nobody", []byte(`{}`), ""); !errors.Is(err, chart.ErrNotFound) {
		t.Errorf("update of a missing patient: %v", err)
	}
}

func TestElementsAndTags(t *testing.T) {
	n := newNode(t, "clinic1", newSealer(t), chart.Config{})
	ctx := context.Background()
	old := register(t, n.svc, care.PatientInput{Name: "关羽", Sex: "male", BirthDate: "1950-02-01"})   // 76 on testToday
	young := register(t, n.svc, care.PatientInput{Name: "关平", Sex: "male", BirthDate: "1961-03-03"}) // 64, a day short of 65
	if got := tagNames(old.Patient); !slices.Equal(got, []string{"elderly"}) {
		t.Errorf("tags of a 76-year-old = %v, want elderly", got)
	}
	if got := tagNames(young.Patient); len(got) != 0 {
		t.Errorf("tags of a 64-year-old = %v, want none", got)
	}

	p, err := n.svc.AddAllergy(ctx, doctor, old.ID, care.AllergyInput{Substance: "青霉素", Reaction: "皮疹", Severity: "重度"})
	if err != nil {
		t.Fatal(err)
	}
	p, err = n.svc.AddAllergy(ctx, doctor, old.ID, care.AllergyInput{Substance: "花生"})
	if err != nil {
		t.Fatal(err)
	}
	if got := allergyNames(p); !slices.Equal(got, []string{"花生", "青霉素"}) {
		t.Fatalf("allergies = %v", got)
	}
	for _, a := range p.Allergies {
		switch a.Substance {
		case "青霉素":
			if a.Reaction != "皮疹" || a.Severity != care.SeveritySevere {
				t.Errorf("allergy = %+v", a)
			}
		case "花生":
			if a.Severity != care.SeverityUnknown {
				t.Errorf("allergy without severity = %+v, want unknown", a)
			}
		}
	}

	p, warnings, err := n.svc.AddDiagnosis(ctx, doctor, old.ID, care.DiagnosisInput{Code: "i10", Note: "控制良好"})
	if err != nil || len(warnings) != 0 {
		t.Fatalf("add I10: %v %v", err, warnings)
	}
	if len(p.Diagnoses) != 1 {
		t.Fatalf("diagnoses = %+v", p.Diagnoses)
	}
	d := p.Diagnoses[0]
	if d.Code != "I10" || d.Note != "控制良好" || !strings.Contains(d.Title, "hypertension") || !strings.Contains(d.TitleZh, "高血压") {
		t.Errorf("diagnosis = %+v, want I10 with its titles", d)
	}
	if got := tagNames(p); !slices.Equal(got, []string{"elderly", "hypertension"}) {
		t.Errorf("tags after I10 = %v", got)
	}
	for _, tg := range p.Tags {
		if tg.Tag == "hypertension" && (tg.TagZh != "高血压" || !tg.Auto) {
			t.Errorf("tag = %+v", tg)
		}
	}
	p, _, err = n.svc.AddDiagnosis(ctx, doctor, old.ID, care.DiagnosisInput{Code: "E11.9"})
	if err != nil {
		t.Fatal(err)
	}
	if got := tagNames(p); !slices.Equal(got, []string{"diabetes", "elderly", "hypertension"}) {
		t.Errorf("tags after E11.9 = %v", got)
	}
	// A young patient gets disease tags, not the age tag.
	q, _, err := n.svc.AddDiagnosis(ctx, doctor, young.ID, care.DiagnosisInput{Code: "E11"})
	if err != nil {
		t.Fatal(err)
	}
	if got := tagNames(q); !slices.Equal(got, []string{"diabetes"}) {
		t.Errorf("tags of young diabetic = %v", got)
	}

	p, err = n.svc.AddMedication(ctx, doctor, old.ID, care.MedicationInput{Name: "氨氯地平", Dose: "5 mg", Frequency: "qd"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Medications) != 1 || p.Medications[0].Name != "氨氯地平" || p.Medications[0].Dose != "5 mg" || p.Medications[0].Frequency != "qd" {
		t.Errorf("medications = %+v", p.Medications)
	}

	// Removing entries.
	var hyp, peanut string
	for _, d := range p.Diagnoses {
		if d.Code == "I10" {
			hyp = d.ID
		}
	}
	for _, a := range p.Allergies {
		if a.Substance == "花生" {
			peanut = a.ID
		}
	}
	if p, err = n.svc.RemoveElement(ctx, doctor, old.ID, "diagnoses", hyp); err != nil {
		t.Fatal(err)
	}
	if got := tagNames(p); !slices.Equal(got, []string{"diabetes", "elderly"}) {
		t.Errorf("tags after removing I10 = %v", got)
	}
	if p, err = n.svc.RemoveElement(ctx, doctor, old.ID, "allergies", peanut); err != nil {
		t.Fatal(err)
	}
	if got := allergyNames(p); !slices.Equal(got, []string{"青霉素"}) {
		t.Errorf("allergies after removal = %v", got)
	}
	if p, err = n.svc.RemoveElement(ctx, doctor, old.ID, "medications", p.Medications[0].ID); err != nil {
		t.Fatal(err)
	}
	if len(p.Medications) != 0 {
		t.Errorf("medications after removal = %+v", p.Medications)
	}
	if _, err := n.svc.RemoveElement(ctx, doctor, old.ID, "allergies", peanut); !errors.Is(err, chart.ErrNoSuchElement) {
		t.Errorf("removing twice: %v, want ErrNoSuchElement", err)
	}
	if _, err := n.svc.RemoveElement(ctx, doctor, old.ID, "assignees", "x"); !errors.Is(err, chart.ErrBadRequest) {
		t.Errorf("removing from assignees: %v, want ErrBadRequest", err)
	}
	// What Get shows after all that, read fresh from the store.
	got, err := n.svc.Get(ctx, doctor, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(allergyNames(got), []string{"青霉素"}) || !slices.Equal(diagnosisCodes(got), []string{"E11.9"}) || len(got.Medications) != 0 {
		t.Errorf("Get = %s", describe(got))
	}
}

// TestElementSeverityConflict edits an allergy's severity (an important
// field) on two nodes at once: both keep the conflict until one resolves it.
func TestElementSeverityConflict(t *testing.T) {
	sealer := newSealer(t)
	n1 := newNode(t, "node1", sealer, chart.Config{})
	n2 := newNode(t, "node2", sealer, chart.Config{})
	ctx := context.Background()
	r := register(t, n1.svc, care.PatientInput{Name: "黄忠", Sex: "male", BirthDate: "1948-01-01"})
	p, err := n1.svc.AddAllergy(ctx, doctor, r.ID, care.AllergyInput{Substance: "阿司匹林", Severity: "mild"})
	if err != nil {
		t.Fatal(err)
	}
	syncBoth(t, n1, n2)
	field := "allergy." + p.Allergies[0].ID + ".severity"
	if !chart.Important(field) {
		t.Fatalf("Important(%q) = false", field)
	}
	if chart.Important("allergy." + p.Allergies[0].ID + ".reaction") {
		t.Errorf("an allergy's reaction is important")
	}
	// Resolve takes the value to keep; without a conflict there is none.
	if _, err := n1.svc.Resolve(ctx, doctor, r.ID, field, json.RawMessage(`"severe"`)); !errors.Is(err, chart.ErrNoConflict) {
		t.Errorf("resolve without a conflict: %v", err)
	}
	// Two nodes cannot edit an element field through the API other than by
	// resolving; write the concurrent edits as a sync would deliver them.
	write := func(n *node, sev string) {
		v, err := n.st.Get(chart.Collection, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.st.Write(ctx, store.WriteRequest{Collection: chart.Collection, Record: r.ID, MustExist: true,
			Edits: []store.Edit{{Kind: crdt.MutSet, Field: field, Value: []byte(`"` + sev + `"`), Seen: v.Fields[field].Seen}}}); err != nil {
			t.Fatal(err)
		}
	}
	write(n1, "moderate")
	write(n2, "severe")
	syncBoth(t, n1, n2)
	for _, n := range []*node{n1, n2} {
		got, err := n.svc.Get(ctx, doctor, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Conflicts) != 1 || got.Conflicts[0].Field != field || len(got.Conflicts[0].Values) != 2 {
			t.Fatalf("conflicts = %+v", got.Conflicts)
		}
	}
	if _, err := n2.svc.Resolve(ctx, doctor, r.ID, field, json.RawMessage(`"重度"`)); err != nil {
		t.Fatal(err)
	}
	syncBoth(t, n1, n2)
	for _, n := range []*node{n1, n2} {
		got, _ := n.svc.Get(ctx, doctor, r.ID)
		if len(got.Conflicts) != 0 || got.Allergies[0].Severity != care.SeveritySevere {
			t.Errorf("after resolve: conflicts %+v, allergy %+v", got.Conflicts, got.Allergies)
		}
	}
}

// TestConcurrentUse runs registrations, updates and searches at once, for
// the race detector.
func TestConcurrentUse(t *testing.T) {
	n := newNode(t, "clinic1", newSealer(t), chart.Config{})
	ctx := context.Background()
	names := []string{"陈一", "陈二", "陈三", "陈四", "陈五", "陈六", "陈七", "陈八"}
	var wg sync.WaitGroup
	errs := make(chan error, 3*len(names))
	for i, name := range names {
		wg.Go(func() {
			r, err := n.svc.Register(ctx, desk, care.PatientInput{Name: name, Sex: "male", BirthDate: "1980-01-0" + string(rune('1'+i))}, false)
			if err != nil {
				errs <- err
				return
			}
			if _, err := n.svc.AddAllergy(ctx, doctor, r.ID, care.AllergyInput{Substance: "花粉"}); err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			if _, err := n.svc.Search(desk, "chen", 0); err != nil {
				errs <- err
			}
			if _, err := n.svc.Duplicates(admin); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if ids := searchIDs(t, n.svc, desk, "陈"); len(ids) != len(names) {
		t.Errorf("search 陈 found %d, want %d", len(ids), len(names))
	}
}

// TestSearchSamplePatients registers realistic patients (node/sample) and
// finds each by its identifiers, name and pinyin.
func TestSearchSamplePatients(t *testing.T) {
	n := newNode(t, "clinic1", newSealer(t), chart.Config{})
	patients := sample.New(11).Patients(80)
	ids := make([]string, len(patients))
	for i, p := range patients {
		r, err := n.svc.Register(context.Background(), desk, care.PatientInput{Name: p.Name, Sex: p.Sex, BirthDate: p.BirthDate,
			IDNumber: p.IDNumber, Phones: []string{p.Phone}, Address: p.Address}, true)
		if err != nil {
			t.Fatalf("register sample patient %d: %v", i, err)
		}
		ids[i] = r.ID
	}
	for i, p := range patients {
		full, initials := search.Pinyin(p.Name)
		for _, q := range []struct{ q, why string }{
			{p.IDNumber, search.WhyIDNumber},
			{p.Phone, search.WhyPhone},
			{p.Name, search.WhyName},
			{full[0], search.WhyPinyin},
			{initials[0], ""},
			{p.Phone[7:], ""},
		} {
			res, err := n.svc.Search(desk, q.q, 0)
			if err != nil {
				t.Fatal(err)
			}
			at := slices.IndexFunc(res, func(s chart.Summary) bool { return s.ID == ids[i] })
			if at < 0 {
				t.Errorf("search %q did not find %s (%s)", q.q, p.Name, ids[i])
				continue
			}
			if q.why != "" && (res[at].Why != q.why || res[0].Why != q.why) {
				t.Errorf("search %q: %s matched %q at %d, first %q; want %q first", q.q, p.Name, res[at].Why, at, res[0].Why, q.why)
			}
		}
	}
}
