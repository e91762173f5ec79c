package education_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"carenode/node/care"
	"carenode/node/chart"
	"carenode/node/education"
)

func hasHan(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) })
}

func TestShippedLibrary(t *testing.T) {
	lib, err := education.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range lib {
		ids = append(ids, a.ID)
		for _, tx := range []education.Text{a.Title, a.Summary, a.Body, a.SMS} {
			if !hasHan(tx.Zh) || hasHan(tx.En) || tx.En == "" {
				t.Errorf("%s: text %q / %q is not Chinese and English", a.ID, tx.Zh, tx.En)
			}
		}
		if a.Source == "" || !a.Shipped {
			t.Errorf("%s: source %q shipped %v", a.ID, a.Source, a.Shipped)
		}
	}
	want := []string{"childhood-vaccination", "diabetes-foot-care", "hypertension-diet", "smoking-cessation", "wound-care"}
	if !slices.Equal(ids, want) {
		t.Errorf("shipped %v, want %v", ids, want)
	}
	rules, err := education.ShippedRules()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		code string
		want []string
	}{
		{"I10", []string{"hypertension-diet"}},
		{"I15.9", []string{"hypertension-diet"}},
		{"I16", nil},
		{"E11.9", []string{"diabetes-foot-care"}},
		{"Z48.0", []string{"wound-care"}},
		{"F17.2", []string{"smoking-cessation"}},
		{"J45", nil},
		{"garbage", nil},
	} {
		if got := education.RulesFor(rules, tc.code); !slices.Equal(got, tc.want) {
			t.Errorf("rules for %s: %v, want %v", tc.code, got, tc.want)
		}
	}
}

func TestMatches(t *testing.T) {
	lib, err := education.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]education.Article{}
	for _, a := range lib {
		byID[a.ID] = a
	}
	womens := education.Article{ID: "x", Sex: care.SexFemale, AgeMin: intp(35), AgeMax: intp(64)}
	for _, tc := range []struct {
		name    string
		article education.Article
		p       education.Profile
		want    bool
	}{
		{"hypertension adult", byID["hypertension-diet"], education.Profile{Codes: []string{"I10"}, Age: 60, Sex: "male"}, true},
		{"hypertensive subcode", byID["hypertension-diet"], education.Profile{Codes: []string{"E11.9", "I11.9"}, Age: 60}, true},
		{"hypertension child", byID["hypertension-diet"], education.Profile{Codes: []string{"I10"}, Age: 12}, false},
		{"hypertension unknown age", byID["hypertension-diet"], education.Profile{Codes: []string{"I10"}, Age: -1}, false},
		{"no hypertension", byID["hypertension-diet"], education.Profile{Codes: []string{"J45"}, Age: 60}, false},
		{"diabetes any age", byID["diabetes-foot-care"], education.Profile{Codes: []string{"E10.1"}, Age: 9}, true},
		{"diabetes unknown age", byID["diabetes-foot-care"], education.Profile{Codes: []string{"E14"}, Age: -1}, true},
		{"vaccination infant", byID["childhood-vaccination"], education.Profile{Age: 0}, true},
		{"vaccination six", byID["childhood-vaccination"], education.Profile{Age: 6}, true},
		{"vaccination seven", byID["childhood-vaccination"], education.Profile{Age: 7}, false},
		{"smoking COPD", byID["smoking-cessation"], education.Profile{Codes: []string{"J44.1"}, Age: 70}, true},
		{"smoking angina", byID["smoking-cessation"], education.Profile{Codes: []string{"I20.9"}, Age: 70}, true},
		{"smoking child", byID["smoking-cessation"], education.Profile{Codes: []string{"F17"}, Age: 11}, false},
		{"for women, woman", womens, education.Profile{Age: 40, Sex: care.SexFemale}, true},
		{"for women, man", womens, education.Profile{Age: 40, Sex: care.SexMale}, false},
		{"for women, unknown sex", womens, education.Profile{Age: 40, Sex: care.SexUnknown}, false},
		{"for women, too old", womens, education.Profile{Age: 65, Sex: care.SexFemale}, false},
	} {
		if got := education.Matches(tc.article, tc.p); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestProfileOf(t *testing.T) {
	today := time.Date(2026, time.March, 2, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		birth string
		age   int
	}{
		{"1956-03-02", 70}, {"1956-03-03", 69}, {"2026-03-02", 0}, {"2020-02-29", 6}, {"", -1}, {"2027-01-01", -1}, {"1956-13-01", -1},
	} {
		p := chart.Patient{PatientInput: care.PatientInput{BirthDate: tc.birth, Sex: care.SexFemale},
			Diagnoses: []chart.Diagnosis{{Code: "I10"}, {Code: "E11.9"}}}
		got := education.ProfileOf(p, today)
		if got.Age != tc.age || got.Sex != care.SexFemale || !slices.Equal(got.Codes, []string{"I10", "E11.9"}) {
			t.Errorf("born %q: %+v, want age %d", tc.birth, got, tc.age)
		}
	}
}

func TestValidateArticle(t *testing.T) {
	good := readArticle(t, "testdata/asthma-inhaler.json")
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(good.Conditions, []string{"J45-J46"}) {
		t.Errorf("conditions normalised to %v", good.Conditions)
	}
	for _, tc := range []struct {
		name   string
		change func(*education.Article)
		want   []string
	}{
		{"bad id", func(a *education.Article) { a.ID = "Asthma Inhaler" }, []string{"id:bad_char"}},
		{"no english title", func(a *education.Article) { a.Title.En = " " }, []string{"title.en:required"}},
		{"long sms", func(a *education.Article) { a.SMS.Zh = strings.Repeat("长", 141) }, []string{"sms.zh:too_long"}},
		{"no source", func(a *education.Article) { a.Source = "" }, []string{"source:required"}},
		{"bad range", func(a *education.Article) { a.Conditions = []string{"J46-J45", "hello"} },
			[]string{"conditions[0]:icd10_malformed", "conditions[1]:icd10_malformed"}},
		{"ages", func(a *education.Article) { a.AgeMin, a.AgeMax = intp(50), intp(10) }, []string{"ageMax:age_range"}},
		{"negative age", func(a *education.Article) { a.AgeMin = intp(-1) }, []string{"ageMin:age_range"}},
		{"sex", func(a *education.Article) { a.Sex = "女" }, []string{"sex:not_in_list"}},
	} {
		a := readArticle(t, "testdata/asthma-inhaler.json")
		tc.change(&a)
		var ve *care.ValidationError
		if err := a.Validate(); !errors.As(err, &ve) {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var got []string
		for _, p := range ve.Problems {
			if !hasHan(p.Zh) || p.En == "" {
				t.Errorf("%s: problem %+v not in both languages", tc.name, p)
			}
			got = append(got, p.Field+":"+p.Code)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: problems %v, want %v", tc.name, got, tc.want)
		}
	}
}

func FuzzDecodeArticle(f *testing.F) {
	for _, p := range []string{"testdata/asthma-inhaler.json", "articles/hypertension-diet.json", "articles/childhood-vaccination.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"id":"x","ageMin":1.5}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := education.DecodeArticle(body)
		if err == nil {
			err = a.Validate()
		}
		if err == nil {
			// What passes matches without panicking and has both languages.
			education.Matches(a, education.Profile{Codes: []string{"I10"}, Age: 40})
			if a.Title.Zh == "" || a.Title.En == "" || a.Source == "" {
				t.Fatalf("accepted %+v", a)
			}
			return
		}
		var ve *care.ValidationError
		if !errors.As(err, &ve) || len(ve.Problems) == 0 {
			t.Fatalf("error %v is not a validation error", err)
		}
	})
}

func TestDiagnosedPushesOnce(t *testing.T) {
	n := newNode(t, "clinic1", newSealer(t))
	ctx := context.Background()
	adult := n.register(t, "王建国", care.SexMale, "1960-05-01", "I10")
	child := n.register(t, "王小明", care.SexMale, "2023-05-01", "I10")

	ds, err := n.svc.Diagnosed(ctx, doctor, adult, "I10")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Article != "hypertension-diet" || ds[0].Trigger != "diagnosis I10" || ds[0].By != "dr-wang" {
		t.Fatalf("deliveries %+v", ds)
	}
	key := "education/" + adult + "/hypertension-diet"
	m := n.queue.msgs[key]
	if m.Kind != "education" || m.Patient != adult || !hasHan(m.Text["zh"]) || m.Text["en"] == "" {
		t.Errorf("queued %+v", m)
	}
	// Again (a second hypertension code, or a retry): nothing more.
	if ds, err := n.svc.Diagnosed(ctx, doctor, adult, "I11.9"); err != nil || len(ds) != 0 {
		t.Errorf("second push: %+v, %v", ds, err)
	}
	if d, err := n.svc.Send(ctx, doctor, adult, "hypertension-diet"); !errors.Is(err, education.ErrAlreadySent) || d.Trigger != "diagnosis I10" {
		t.Errorf("send by hand after the push: %+v, %v", d, err)
	}
	// The child is too young for the diet article: no push.
	if ds, err := n.svc.Diagnosed(ctx, doctor, child, "I10"); err != nil || len(ds) != 0 {
		t.Errorf("child: %+v, %v", ds, err)
	}
	// A code no rule names sends nothing and reads no chart.
	if ds, err := n.svc.Diagnosed(ctx, doctor, "no-such-patient", "J45"); err != nil || len(ds) != 0 {
		t.Errorf("J45: %+v, %v", ds, err)
	}
	if _, err := n.svc.Diagnosed(ctx, doctor, "no-such-patient", "I10"); !errors.Is(err, chart.ErrNotFound) {
		t.Errorf("unknown patient: %v", err)
	}
	if got := n.queue.Keys(); !slices.Equal(got, []string{key}) {
		t.Errorf("queued %v", got)
	}

	pe, err := n.svc.ForPatient(ctx, doctor, adult)
	if err != nil {
		t.Fatal(err)
	}
	if len(pe.Matched) != 1 || pe.Matched[0].ID != "hypertension-diet" || !pe.Matched[0].Sent || len(pe.Sent) != 1 {
		t.Errorf("adult's education: %+v", pe)
	}
	pe, err = n.svc.ForPatient(ctx, doctor, child)
	if err != nil {
		t.Fatal(err)
	}
	if len(pe.Matched) != 1 || pe.Matched[0].ID != "childhood-vaccination" || pe.Matched[0].Sent || len(pe.Sent) != 0 {
		t.Errorf("child's education: %+v", pe)
	}
	// By hand: the vaccination article to the child's family.
	if _, err := n.svc.Send(ctx, doctor, child, "childhood-vaccination"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.svc.Send(ctx, doctor, child, "no-such-article"); !errors.Is(err, education.ErrNoArticle) {
		t.Errorf("unknown article: %v", err)
	}
}

// TestDeliveriesMergeAcrossNodes: two nodes apart send the same article to
// the same patient: one delivery record on both after sync, under one
// outbox key.
func TestDeliveriesMergeAcrossNodes(t *testing.T) {
	ctx := context.Background()
	sealer := newSealer(t)
	a, b := newNode(t, "desk", sealer), newNode(t, "laptop", sealer)
	id := a.register(t, "李秀英", care.SexFemale, "1950-01-01", "E11.9")
	exchange(t, a.st, b.st)
	if err := b.charts.Refresh([]string{id}); err != nil {
		t.Fatal(err)
	}
	da, err := a.svc.Diagnosed(ctx, doctor, id, "E11.9")
	if err != nil || len(da) != 1 {
		t.Fatalf("desk: %+v %v", da, err)
	}
	db, err := b.svc.Send(ctx, doctor, id, "diabetes-foot-care")
	if err != nil {
		t.Fatalf("laptop: %v", err)
	}
	if da[0].Key != db.Key {
		t.Errorf("outbox keys differ: %s, %s", da[0].Key, db.Key)
	}
	exchange(t, a.st, b.st)
	exchange(t, b.st, a.st)
	for _, n := range []*node{a, b} {
		pe, err := n.svc.ForPatient(ctx, doctor, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(pe.Sent) != 1 || pe.Sent[0].Article != "diabetes-foot-care" {
			t.Errorf("sent %+v", pe.Sent)
		}
		if _, err := n.svc.Send(ctx, doctor, id, "diabetes-foot-care"); !errors.Is(err, education.ErrAlreadySent) {
			t.Errorf("send after sync: %v", err)
		}
	}
}

func TestAddArticleSyncs(t *testing.T) {
	ctx := context.Background()
	sealer := newSealer(t)
	a, b := newNode(t, "hub", sealer), newNode(t, "clinic", sealer)
	art := readArticle(t, "testdata/asthma-inhaler.json")
	added, err := a.svc.AddArticle(ctx, admin.Name, art)
	if err != nil {
		t.Fatal(err)
	}
	if added.AddedBy != "admin" || added.Shipped {
		t.Errorf("added %+v", added)
	}
	if _, err := a.svc.AddArticle(ctx, admin.Name, art); !errors.Is(err, education.ErrArticleExists) {
		t.Errorf("added twice: %v", err)
	}
	shipped := readArticle(t, "articles/wound-care.json")
	if _, err := a.svc.AddArticle(ctx, admin.Name, shipped); !errors.Is(err, education.ErrArticleExists) {
		t.Errorf("took a shipped id: %v", err)
	}
	exchange(t, a.st, b.st)
	lib, err := b.svc.Library(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(lib) != 6 || lib[0].ID != "asthma-inhaler" || lib[0].Conditions[0] != "J45-J46" {
		t.Fatalf("library on the other node: %d articles, first %+v", len(lib), lib[0])
	}
	// It matches and sends like a shipped one.
	id := b.register(t, "赵敏", care.SexFemale, "1990-07-07", "J45.9")
	pe, err := b.svc.ForPatient(ctx, doctor, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(pe.Matched) != 1 || pe.Matched[0].ID != "asthma-inhaler" {
		t.Errorf("matched %+v", pe.Matched)
	}
	if _, err := b.svc.Send(ctx, doctor, id, "asthma-inhaler"); err != nil {
		t.Fatal(err)
	}
}
