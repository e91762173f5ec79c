package icd10

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"

	"carenode/node/icd10/internal/tablegen"
)

// table is shared by the read-only tests; each test that cares about
// loading builds its own.
var table = Default()

func TestLookupKnown(t *testing.T) {
	tests := []struct {
		in, code, en, zh string
	}{
		{"I10", "I10", "Essential (primary) hypertension", "特发性（原发性）高血压"},
		{"E11", "E11", "Type 2 diabetes mellitus", "2型糖尿病"},
		{"E11.9", "E11.9", "Type 2 diabetes mellitus without complications", "2型糖尿病不伴并发症"},
		{"E11.65", "E11.65", "Type 2 diabetes mellitus with hyperglycemia", "2型糖尿病伴高血糖"},
		{"E10.3291", "E10.3291", "Type 1 diabetes mellitus with mild nonproliferative diabetic retinopathy without macular edema, right eye", "1型糖尿病伴轻度非增殖性糖尿病视网膜病变，不伴黄斑水肿，右眼"},
		{"J44.9", "J44.9", "Chronic obstructive pulmonary disease, unspecified", "慢性阻塞性肺疾病，未特指"},
		{"J44.1", "J44.1", "Chronic obstructive pulmonary disease with (acute) exacerbation", "慢性阻塞性肺疾病伴（急性）加重"},
		{"A15", "A15", "Respiratory tuberculosis", "呼吸道结核"},
		{"A15.0", "A15.0", "Tuberculosis of lung", "肺结核"},
		{"A19.9", "A19.9", "Miliary tuberculosis, unspecified", "粟粒性结核，未特指"},
		{"I15.9", "I15.9", "Secondary hypertension, unspecified", "继发性高血压，未特指"},
		{"I25.10", "I25.10", "Atherosclerotic heart disease of native coronary artery without angina pectoris", "天然冠状动脉粥样硬化性心脏病，不伴心绞痛"},
		{"I63.9", "I63.9", "Cerebral infarction, unspecified", "脑梗死，未特指"},
		{"I69.354", "I69.354", "Hemiplegia and hemiparesis following cerebral infarction affecting left non-dominant side", "脑梗死后偏瘫和轻偏瘫，累及左侧非优势侧"},
		{"K29.50", "K29.50", "Unspecified chronic gastritis without bleeding", "未特指的慢性胃炎，不伴出血"},
		{"M54.50", "M54.50", "Low back pain, unspecified", "下背痛，未特指"},
		{"F20.0", "F20.0", "Paranoid schizophrenia", "偏执型精神分裂症"},
		{"F31.81", "F31.81", "Bipolar II disorder", "双相II型障碍"},
		{"N18.4", "N18.4", "Chronic kidney disease, stage 4 (severe)", "慢性肾脏病4期（重度）"},
		{"Z99.2", "Z99.2", "Dependence on renal dialysis", "依赖肾透析"},
		{"U07.1", "U07.1", "COVID-19", "新型冠状病毒感染（COVID-19）"},
		// A category with no Chinese title yet, and one whose subcodes are not shipped.
		{"Q90", "Q90", "Down syndrome", ""},
		{"C34", "C34", "Malignant neoplasm of bronchus and lung", "支气管和肺恶性肿瘤"},
		// Codes ICD-10-CM lacks, with the project's own titles.
		{"E14.9", "E14.9", "Diabetes mellitus, type not specified, without complications", "未特指的糖尿病不伴并发症"},
		{"A16.2", "A16.2", "Pulmonary tuberculosis without mention of bacteriological or histological confirmation", "肺结核，未提及细菌学或组织学证实"},
		{"I64", "I64", "Stroke, not specified as bleeding or infarction", "脑卒中，未特指为出血或梗死"},
		{"K29.5", "K29.5", "Chronic gastritis, unspecified", "慢性胃炎，未特指"},
		// A billable category missing from the source's category list.
		{"J4B", "J4B", "Pulmonary mycetoma", ""},
	}
	for _, tt := range tests {
		c, err := table.Lookup(tt.in)
		if err != nil {
			t.Errorf("Lookup(%q): %v", tt.in, err)
			continue
		}
		want := Code{Code: tt.code, TitleEn: tt.en, TitleZh: tt.zh, Listed: true}
		if c != want {
			t.Errorf("Lookup(%q) = %+v, want %+v", tt.in, c, want)
		}
	}
}

func TestLookupNormalises(t *testing.T) {
	tests := []struct{ in, want string }{
		{"I10", "I10"},
		{"i10", "I10"},
		{" I10\t", "I10"},
		{"E11.9", "E11.9"},
		{"e11.9", "E11.9"},
		{"E119", "E11.9"},
		{"e119", "E11.9"},
		{"E11.9 ", "E11.9"},
		{"\n E119 \r\n", "E11.9"},
		{"Ｅ１１．９", "E11.9"},             // full-width, as a Chinese IME types it
		{"ｅ１１９", "E11.9"},              // full-width lower case, no dot
		{"E11。9", "E11.9"},             // the IME's full stop
		{"\u3000E11.9\u3000", "E11.9"}, // ideographic spaces
		{"j449", "J44.9"},
		{"i69354", "I69.354"},
		{"e10a0", "E10.A0"},
		{"e1037x1", "E10.37X1"},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		c, err := table.Lookup(tt.in)
		if err != nil || c.Code != tt.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", tt.in, c.Code, err, tt.want)
		}
	}
}

func TestLookupMalformed(t *testing.T) {
	for _, in := range []string{
		"", " ", "E", "E1", "11", "119", "E1.19", "E.119", ".E119", "E11.", "E11..9",
		"E11.99999", "E1199999", "11.9", "EEE", "E11-9", "E11.-", "E 11.9", "E11 .9",
		"E11.9.", "E11,9", "糖尿病", "E11.9糖", "I1０a\x00", "E11/9", "é11", strings.Repeat("E", 100),
		"E11.9" + strings.Repeat(" ", 100),
	} {
		_, err := table.Lookup(in)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("Lookup(%q) = %v, want ErrMalformed", in, err)
		}
		if _, err := Normalize(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("Normalize(%q) = %v, want ErrMalformed", in, err)
		}
	}
}

func TestLookupUnknown(t *testing.T) {
	for _, in := range []string{
		"Z99.999", // Z99's subcodes are all shipped; this is not one
		"U99",     // no such category
		"E12",     // WHO's malnutrition-related diabetes: not in ICD-10-CM, not added
		"E11.99",
		"E11.37X", // X is a placeholder inside longer codes, not a code
		"I10.1",   // I10 has no subcodes
		"A15.3",   // ICD-10-CM folded WHO's A15.0-A15.3 into A15.0
		"A16.6",   // the project's A16 follows WHO, which has no A16.6
		"J44.0X",
		"I1O", // letter O for zero
		"AB1",
	} {
		c, err := table.Lookup(in)
		if !errors.Is(err, ErrUnknown) {
			t.Errorf("Lookup(%q) = %+v, %v; want ErrUnknown", in, c, err)
		}
	}
}

// TestLookupNotListed covers codes accepted on the strength of what is
// above them: headings in complete categories, and anything well formed in
// a category whose subcodes the table does not ship.
func TestLookupNotListed(t *testing.T) {
	tests := []struct{ in, code, en string }{
		{"I25.7", "I25.7", "Chronic ischemic heart disease"},                      // heading; I25 is complete
		{"E11.32", "E11.32", "Type 2 diabetes mellitus with eye complications"},   // heading; nearest entry is E11.3
		{"E11.321", "E11.321", "Type 2 diabetes mellitus with eye complications"}, // heading two levels down
		{"K57.30", "K57.30", "Diverticular disease of intestine"},                 // K57's subcodes are not shipped
		{"c34.90", "C34.90", "Malignant neoplasm of bronchus and lung"},
	}
	for _, tt := range tests {
		c, err := table.Lookup(tt.in)
		if err != nil {
			t.Errorf("Lookup(%q): %v", tt.in, err)
			continue
		}
		if c.Code != tt.code || c.TitleEn != tt.en || c.Listed {
			t.Errorf("Lookup(%q) = %+v, want code %s, title %q, not listed", tt.in, c, tt.code, tt.en)
		}
	}
}

func TestErrors(t *testing.T) {
	_, err := table.Lookup("E1.19")
	var e *Error
	if !errors.As(err, &e) || e.Input != "E1.19" || !errors.Is(err, ErrMalformed) {
		t.Fatalf("Lookup(E1.19) error = %#v", err)
	}
	if !strings.Contains(err.Error(), ErrMalformed.Error()) {
		t.Errorf("Error() = %q, want it to contain the sentinel's text", err)
	}
	tests := []struct {
		in, lang string
		want     []string
	}{
		{"E1.19", "zh-CN", []string{"“E1.19”不是ICD-10编码", "E11.9"}},
		{"E1.19", "en", []string{`"E1.19" is not an ICD-10 code`, "E11.9"}},
		{"", "zh", []string{"请输入ICD-10编码"}},
		{"", "", []string{"Enter an ICD-10 code"}},
		{"Z99.999", "zh-Hans", []string{"编码表中没有ICD-10编码“Z99.999”", "按疾病名称查找"}},
		{"Z99.999", "en-US", []string{`no ICD-10 code "Z99.999"`, "search by the name"}},
		{"U99", "ZH", []string{"“U99”"}},
	}
	for _, tt := range tests {
		_, err := table.Lookup(tt.in)
		got := Describe(err, tt.lang)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("Describe(Lookup(%q), %q) = %q, want it to contain %q", tt.in, tt.lang, got, w)
			}
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("Lookup(%q) error %T is not *Error", tt.in, err)
		}
		if strings.HasPrefix(strings.ToLower(tt.lang), "zh") && e.MessageZh() != got {
			t.Errorf("MessageZh() = %q, Describe = %q", e.MessageZh(), got)
		}
		if !strings.HasPrefix(strings.ToLower(tt.lang), "zh") && e.MessageEn() != got {
			t.Errorf("MessageEn() = %q, Describe = %q", e.MessageEn(), got)
		}
	}
	if Describe(nil, "zh") != "" {
		t.Error("Describe(nil) is not empty")
	}
	other := errors.New("disk full")
	if Describe(other, "zh") != "disk full" {
		t.Error("Describe changed an error from elsewhere")
	}
	if got := Describe(ErrUnknown, "zh"); !strings.Contains(got, "编码表中没有") {
		t.Errorf("Describe(ErrUnknown, zh) = %q", got)
	}
	// A pasted essay is shortened, not echoed whole.
	long := "E11.9 " + strings.Repeat("糖", 200)
	_, err = table.Lookup(long)
	if got := Describe(err, "en"); len(got) > 300 {
		t.Errorf("Describe of a long input is %d bytes", len(got))
	}
}

func TestInRange(t *testing.T) {
	tests := []struct {
		code, from, to string
		want           bool
	}{
		{"I09", "I10", "I15", false},
		{"I09.9", "I10", "I15", false},
		{"I10", "I10", "I15", true},
		{"i10", "I10", "I15", true},
		{"I12.0", "I10", "I15", true},
		{"I15", "I10", "I15", true},
		{"I15.9", "I10", "I15", true},
		{"I16", "I10", "I15", false},
		{"I16.0", "I10", "I15", false},
		{"I1A.0", "I10", "I15", false}, // I1A sorts after I16
		{"I1A.0", "I10", "I1A", true},
		{"E09.9", "E10", "E14", false},
		{"E10", "E10", "E14", true},
		{"E11.65", "E10", "E14", true},
		{"E119", "E10", "E14", true},
		{"E14.9", "E10", "E14", true},
		{"E15", "E10", "E14", false},
		{"J44.9", "J44", "J44", true},
		{"J45", "J44", "J44", false},
		{"F31.81", "F20", "F31", true},
		{"F32", "F20", "F31", false},
		{"N18.30", "N18", "N18", true},
		{"I10", "I10.9", "I15.0", true}, // bounds' subcodes are ignored
		{"I10", "I15", "I10", false},    // reversed range is empty
		{"E1.19", "E10", "E14", false},
		{"E11.9", "E1", "E14", false},
		{"E11.9", "E10", "", false},
		{"", "E10", "E14", false},
	}
	for _, tt := range tests {
		if got := InRange(tt.code, tt.from, tt.to); got != tt.want {
			t.Errorf("InRange(%q, %q, %q) = %v, want %v", tt.code, tt.from, tt.to, got, tt.want)
		}
	}
}

func codes(cs []Code) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Code
	}
	return out
}

func TestSearch(t *testing.T) {
	// By code prefix, in code order, the prefix itself first.
	got := codes(table.Search("E11.6", 100))
	want := []string{"E11.6", "E11.610", "E11.618", "E11.620", "E11.621", "E11.622", "E11.628",
		"E11.630", "E11.638", "E11.641", "E11.649", "E11.65", "E11.69"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Search(E11.6) = %v, want %v", got, want)
	}
	if g := codes(table.Search("e116", 100)); strings.Join(g, " ") != strings.Join(want, " ") {
		t.Errorf("Search(e116) = %v, want %v", g, want)
	}
	if g := codes(table.Search("J44.", 10)); strings.Join(g, " ") != "J44 J44.0 J44.1 J44.8 J44.81 J44.89 J44.9" {
		t.Errorf("Search(J44.) = %v", g)
	}
	for _, c := range table.Search("I1", 50) {
		if !strings.HasPrefix(c.Code, "I1") {
			t.Errorf("Search(I1) returned %s", c.Code)
		}
	}
	if got := codes(table.Search("Ｉ１", 3)); strings.Join(got, " ") != "I10 I11 I11.0" {
		t.Errorf("Search(full-width I1) = %v", got)
	}

	// By words, Chinese or English; broader codes first.
	tests := []struct {
		q     string
		first []string
		all   []string // every result's titles contain each of these
	}{
		{"高血压", []string{"I10", "I11", "I12", "I13", "I15", "I16", "I1A"}, []string{"高血压"}},
		{"心力衰竭", []string{"I50"}, []string{"心力衰竭"}}, // exact title first
		{"heart failure", []string{"I50"}, []string{"heart", "failure"}},
		{"HEART  Failure", []string{"I50"}, []string{"heart", "failure"}},
		{"2型糖尿病 肾", []string{"E11.2"}, []string{"2型糖尿病", "肾"}},
		{"tuberculosis", []string{"A15", "A16", "A17", "A18", "A19"}, []string{"tuberculosis"}},
		{"精神分裂症", []string{"F20"}, []string{"精神分裂"}},
	}
	for _, tt := range tests {
		res := table.Search(tt.q, 30)
		got := codes(res)
		if len(got) < len(tt.first) || strings.Join(got[:len(tt.first)], " ") != strings.Join(tt.first, " ") {
			t.Errorf("Search(%q) = %v, want it to start %v", tt.q, got, tt.first)
		}
		for _, c := range res {
			title := strings.ToLower(c.TitleEn) + " " + c.TitleZh
			for _, w := range tt.all {
				if !strings.Contains(title, w) {
					t.Errorf("Search(%q) returned %s %q %q without %q", tt.q, c.Code, c.TitleEn, c.TitleZh, w)
				}
			}
		}
	}

	if n := len(table.Search("hypertension", 5)); n != 5 {
		t.Errorf("Search with limit 5 returned %d", n)
	}
	for _, q := range []string{"", "   ", "xyzzy plugh", "没有这种病名"} {
		if got := table.Search(q, 10); len(got) != 0 {
			t.Errorf("Search(%q) = %v, want nothing", q, codes(got))
		}
	}
	if got := table.Search("I10", 0); got != nil {
		t.Errorf("Search with limit 0 = %v", codes(got))
	}
}

// TestEveryEntry walks the whole table: each entry looks itself up, in both
// forms, and comes back listed and unchanged.
func TestEveryEntry(t *testing.T) {
	tb := Default()
	if err := tb.Load(); err != nil {
		t.Fatal(err)
	}
	for _, e := range tb.entries {
		for _, in := range []string{e.code, e.key, strings.ToLower(e.code)} {
			c, err := tb.Lookup(in)
			if err != nil || c != e.toCode(true) {
				t.Fatalf("Lookup(%q) = %+v, %v; want %+v", in, c, err, e.toCode(true))
			}
		}
		if strings.ContainsAny(e.en+e.zh, "\t\n\r") || e.en != strings.TrimSpace(e.en) {
			t.Errorf("%s: title has stray whitespace", e.code)
		}
	}
}

func TestStats(t *testing.T) {
	st, err := Default().Stats()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.Source, "ICD-10-CM") || st.Categories < 1900 || st.Complete < 200 ||
		st.Subcodes < 2000 || st.Chinese < 300 || st.Project == 0 {
		t.Errorf("Stats = %+v", st)
	}
}

// TestEmbeddedTableIsCurrent fails when a file in source/ changed but
// codes.tsv.zst was not rebuilt.
func TestEmbeddedTableIsCurrent(t *testing.T) {
	want, _, err := tablegen.Build("source")
	if err != nil {
		t.Fatal(err)
	}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	got, err := dec.DecodeAll(embedded, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("codes.tsv.zst does not match source/; run: go generate ./node/icd10")
	}
}

func TestConcurrentFirstUse(t *testing.T) {
	tb := Default()
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := tb.Lookup("I10"); err != nil {
				t.Error(err)
			}
			tb.Search("高血压", 5)
		}()
	}
	wg.Wait()
}

func TestDamagedTable(t *testing.T) {
	var zero Table
	if _, err := zero.Lookup("I10"); !errors.Is(err, ErrTable) {
		t.Errorf("zero Table Lookup = %v, want ErrTable", err)
	}
	for _, src := range [][]byte{nil, []byte("not zstd"), damaged(t, "no header\n"), damaged(t, "# h\nI10\tc\n"),
		damaged(t, "# h\nI11\tc\tB\t\nI10\tc\tA\t\n"), damaged(t, "# h\nI10.1\t-\tA\t\n")} {
		tb := &Table{src: src}
		_, err := tb.Lookup("I10")
		if !errors.Is(err, ErrTable) {
			t.Errorf("Lookup on damaged table %q = %v, want ErrTable", src, err)
		}
		if tb.Search("I10", 5) != nil {
			t.Error("Search on a damaged table returned results")
		}
		if !strings.Contains(Describe(err, "zh"), "管理员") {
			t.Errorf("Describe(%v, zh) = %q", err, Describe(err, "zh"))
		}
	}
}

func damaged(t *testing.T, text string) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll([]byte(text), nil)
}

func TestTitle(t *testing.T) {
	c, _ := table.Lookup("I10")
	if c.Title("zh-CN") != "特发性（原发性）高血压" || c.Title("en") != "Essential (primary) hypertension" || c.Title("") != c.TitleEn {
		t.Errorf("Title: %q %q", c.Title("zh-CN"), c.Title("en"))
	}
	c, _ = table.Lookup("Q90")
	if c.Title("zh") != "Down syndrome" {
		t.Errorf("Title(zh) without a Chinese title = %q, want the English", c.Title("zh"))
	}
}
