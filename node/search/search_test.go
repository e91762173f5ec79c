package search

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"carenode/node/sample"
	"carenode/node/textnorm"

	"github.com/mozillazg/go-pinyin"
)

// tricky are hand-written records whose names trip up naive pinyin.
var tricky = []Doc{
	{ID: "t01", Name: "曾小单", Phones: []string{"13800001111"}, IDNumber: "11010119900307663X", Card: "C-0001"},
	{ID: "t02", Name: "单伟", Phones: []string{"139 0000 2222"}},
	{ID: "t03", Name: "区建国", Phones: []string{"+86 137-0000-3333"}},
	{ID: "t04", Name: "朴美玲"},
	{ID: "t05", Name: "解放", Phones: []string{"0851-83334444"}},
	{ID: "t06", Name: "欧阳娜娜"},
	{ID: "t07", Name: "张长乐"},
	{ID: "t08", Name: "乐平"},
	{ID: "t09", Name: "张三"},
	{ID: "t10", Name: "张释"},
	{ID: "t11", Name: "张三丰"},
	{ID: "t12", Name: "李张三"},
	{ID: "t13", Name: "吕芳"},
	{ID: "t14", Name: "仇海"},
	{ID: "t15", Name: "尉迟恭"},
	{ID: "t16", Name: "买买提·艾力"},
	{ID: "t17", Name: "查良镛", Card: "5555"},
	{ID: "t18", Name: "覃军", Phones: []string{"13911115555"}},
}

// samplePatients returns n sample patients as Docs, with ids p00000…
// and card numbers K00000….
func samplePatients(seed uint64, n int) []Doc {
	ps := sample.New(seed).Patients(n)
	docs := make([]Doc, n)
	for i, p := range ps {
		docs[i] = Doc{
			ID:       fmt.Sprintf("p%05d", i),
			Name:     p.Name,
			Phones:   []string{p.Phone},
			IDNumber: p.IDNumber,
			Card:     fmt.Sprintf("K%05d", i),
		}
	}
	return docs
}

func testIndex(t testing.TB) *Index {
	t.Helper()
	return Build(append(samplePatients(1, 2000), tricky...))
}

// find returns the match for id in ms.
func find(ms []Match, id string) (Match, bool) {
	for _, m := range ms {
		if m.ID == id {
			return m, true
		}
	}
	return Match{}, false
}

func TestSearchTricky(t *testing.T) {
	x := testIndex(t)
	tests := []struct {
		q, id, why string
	}{
		{"曾小单", "t01", WhyName},
		{"曾", "t01", WhyNamePrefix},
		{"小单", "t01", WhyNamePart},
		{"zengxiaodan", "t01", WhyPinyin},
		{"zengxiaoshan", "t01", WhyPinyin},
		{"Zeng Xiao Dan", "t01", WhyPinyin},
		{"ｚｅｎｇｘｉａｏｄａｎ", "t01", WhyPinyin}, // full-width input
		{"zengx", "t01", WhyPinyinPrefix},
		{"zxd", "t01", WhyInitials},
		{"zengxd", "t01", WhyPinyinMixed},
		{"zxdan", "t01", WhyPinyinMixed},
		{"11010119900307663x", "t01", WhyIDNumber},
		{"110101 19900307 663X", "t01", WhyIDNumber},
		{"c-0001", "t01", WhyCard},
		{"13800001111", "t01", WhyPhone},
		{"138-0000-1111", "t01", WhyPhone},
		{"1111", "t01", WhyPhoneLast4},
		{"shanwei", "t02", WhyPinyin},
		{"sw", "t02", WhyInitials},
		{"13900002222", "t02", WhyPhone},
		{"oujianguo", "t03", WhyPinyin},
		{"13700003333", "t03", WhyPhone},
		{"+8613700003333", "t03", WhyPhone},
		{"piaomeiling", "t04", WhyPinyin},
		{"xiefang", "t05", WhyPinyin},
		{"085183334444", "t05", WhyPhone},
		{"4444", "t05", WhyPhoneLast4},
		{"欧阳娜娜", "t06", WhyName},
		{"欧阳", "t06", WhyNamePrefix},
		{"娜娜", "t06", WhyNamePart},
		{"ouyangnana", "t06", WhyPinyin},
		{"ouyang", "t06", WhyPinyinPrefix},
		{"oynn", "t06", WhyInitials},
		{"oy", "t06", WhyInitialsPrefix},
		{"zhangchangle", "t07", WhyPinyin},
		{"zhangzhangyue", "t07", WhyPinyin},
		{"zhangchangyue", "t07", WhyPinyin},
		{"zcl", "t07", WhyInitials},
		{"zzy", "t07", WhyInitials},
		{"yueping", "t08", WhyPinyin},
		{"leping", "t08", WhyPinyin},
		{"zhangsan", "t09", WhyPinyin},
		{"zhang san", "t09", WhyPinyin},
		{"ZhangSan", "t09", WhyPinyin},
		{"zhangs", "t09", WhyPinyinPrefix},
		{"zhangs", "t10", WhyPinyinPrefix},
		{"zs", "t09", WhyInitials},
		{"zs", "t10", WhyInitials},
		{"zsf", "t11", WhyInitials},
		{"zhangsf", "t11", WhyPinyinMixed},
		{"lvfang", "t13", WhyPinyin},
		{"lufang", "t13", WhyPinyin},
		{"lüfang", "t13", WhyPinyin},
		{"qiuhai", "t14", WhyPinyin},
		{"yuchigong", "t15", WhyPinyin},
		{"ycg", "t15", WhyInitials},
		{"买买提艾力", "t16", WhyName},
		{"买买提·艾力", "t16", WhyName},
		{"艾力", "t16", WhyNamePart},
		{"zhaliangyong", "t17", WhyPinyin},
		{"5555", "t17", WhyCard},
		{"5555", "t18", WhyPhoneLast4},
		{"qinjun", "t18", WhyPinyin},
	}
	for _, tt := range tests {
		ms := x.Search(tt.q, 0)
		m, ok := find(ms, tt.id)
		if !ok {
			t.Errorf("Search(%q): %s not found", tt.q, tt.id)
			continue
		}
		if m.Why != tt.why {
			t.Errorf("Search(%q): %s matched as %s, want %s", tt.q, tt.id, m.Why, tt.why)
		}
	}
}

func TestSearchNotFound(t *testing.T) {
	x := testIndex(t)
	tests := []struct{ q, id string }{
		{"cengxiaodan", "t01"}, // 曾 as a surname is zeng
		{"cxd", "t01"},
		{"danwei", "t02"}, // 单 as a surname is shan
		{"qujianguo", "t03"},
		{"pumeiling", "t04"},
		{"jiefang", "t05"},
		{"chouhai", "t14"},
		{"weichigong", "t15"},
		{"chaliangyong", "t17"},
		{"单", "t01"}, // a single character matches the start of a name only
		{"三", "t09"}, // likewise
		{"sanzhang", "t09"},
		{"11010119900307663", "t01"}, // ID numbers match whole
		{"1380000111", "t01"},        // phones too
		{"111", "t01"},
		{"0001", "t01"}, // card numbers match whole
	}
	for _, tt := range tests {
		if m, ok := find(x.Search(tt.q, 0), tt.id); ok {
			t.Errorf("Search(%q) found %s as %s; it should not", tt.q, tt.id, m.Why)
		}
	}
}

// TestSearchSample looks up sample patients by each kind of query. The
// expected pinyin comes from go-pinyin itself (first readings), for
// patients whose surname is not in the override table.
func TestSearchSample(t *testing.T) {
	docs := samplePatients(7, 3000)
	x := Build(docs)
	rng := rand.New(rand.NewPCG(7, 7))
	for range 300 {
		d := docs[rng.IntN(len(docs))]
		name := []rune(d.Name)
		queries := []struct{ q, why string }{
			{d.Name, WhyName},
			{d.IDNumber, WhyIDNumber},
			{strings.ToLower(d.IDNumber), WhyIDNumber},
			{d.Card, WhyCard},
			{d.Phones[0], WhyPhone},
			{d.Phones[0][7:], ""}, // last four: phoneLast4, or better if the digits are another identifier
			{string(name[:1]), ""},
		}
		if len(name) >= 3 {
			queries = append(queries, struct{ q, why string }{string(name[1:]), ""})
		}
		if _, ok := surnameOf(d.Name); !ok {
			py := pinyin.LazyPinyin(d.Name, pinyin.NewArgs())
			var ini strings.Builder
			for _, s := range py {
				ini.WriteByte(s[0])
			}
			queries = append(queries,
				struct{ q, why string }{strings.Join(py, ""), WhyPinyin},
				struct{ q, why string }{strings.Join(py, " "), WhyPinyin},
				struct{ q, why string }{ini.String(), ""},
			)
		}
		for _, q := range queries {
			m, ok := find(x.Search(q.q, 0), d.ID)
			switch {
			case !ok:
				t.Errorf("Search(%q): %s (%s) not found", q.q, d.ID, d.Name)
			case q.why != "" && m.Why != q.why:
				t.Errorf("Search(%q): %s (%s) matched as %s, want %s", q.q, d.ID, d.Name, m.Why, q.why)
			}
		}
	}
}

func TestRanking(t *testing.T) {
	x := Build([]Doc{
		{ID: "a-part", Name: "李张三"},
		{ID: "b-prefix", Name: "张三丰"},
		{ID: "c-exact", Name: "张三"},
		{ID: "d-exact", Name: "张三"},
		{ID: "e-last4", Name: "王五", Phones: []string{"13912345678"}},
		{ID: "f-card", Name: "赵六", Card: "5678"},
		{ID: "g-id", Name: "孙七", IDNumber: "110101199003076637"},
		{ID: "h-phone", Name: "周八", Phones: []string{"110101199003076637"}},
		{ID: "i-longer", Name: "张三丰丰"},
	})
	tests := []struct {
		q    string
		want []string
	}{
		// exact name, ties by ID; then prefix, the shorter first; then part
		{"张三", []string{"c-exact", "d-exact", "b-prefix", "i-longer", "a-part"}},
		// an exact identifier beats the last four digits of a phone
		{"5678", []string{"f-card", "e-last4"}},
		// the same text as an ID number and a phone: both exact, by ID
		{"110101199003076637", []string{"g-id", "h-phone"}},
		// full pinyin, then prefix
		{"zhangsan", []string{"c-exact", "d-exact", "b-prefix", "i-longer"}},
		// initials, then initials of the start
		{"zs", []string{"c-exact", "d-exact", "b-prefix", "i-longer"}},
		{"zhangs", []string{"c-exact", "d-exact", "b-prefix", "i-longer"}},
	}
	for _, tt := range tests {
		var got []string
		for _, m := range x.Search(tt.q, 0) {
			got = append(got, m.ID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Search(%q) = %v, want %v", tt.q, got, tt.want)
		}
		// a limit keeps the best, in the same order
		for limit := 1; limit <= len(tt.want); limit++ {
			var got []string
			for _, m := range x.Search(tt.q, limit) {
				got = append(got, m.ID)
			}
			if !slices.Equal(got, tt.want[:limit]) {
				t.Errorf("Search(%q, %d) = %v, want %v", tt.q, limit, got, tt.want[:limit])
			}
		}
	}
	// the kinds rank in the documented order
	order := []int{scoreExact, scoreName, scoreNamePrefix, scorePinyin, scorePinyinPrefix,
		scoreInitials, scoreInitialsPfx, scorePinyinMixed, scorePhoneLast4, scoreNamePart}
	for i := 1; i < len(order); i++ {
		if order[i-1]-order[i] <= maxPenalty {
			t.Errorf("score bands %d and %d overlap with penalty %d", order[i-1], order[i], maxPenalty)
		}
	}
}

func TestPutReplacesAndDelete(t *testing.T) {
	x := New()
	x.Put(Doc{ID: "1", Name: "张三", Phones: []string{"13800001234"}, IDNumber: "11010119900307663X", Card: "K1"})
	x.Put(Doc{ID: "2", Name: "张三丰"})
	x.Put(Doc{Name: "no id"})
	if x.Len() != 2 {
		t.Fatalf("Len = %d, want 2", x.Len())
	}
	x.Put(Doc{ID: "1", Name: "李四", Phones: []string{"13900005678"}})
	if x.Len() != 2 {
		t.Fatalf("Len after replace = %d, want 2", x.Len())
	}
	for _, q := range []string{"张三", "zhangsan", "zs", "13800001234", "1234", "11010119900307663X", "K1"} {
		if _, ok := find(x.Search(q, 0), "1"); ok {
			t.Errorf("Search(%q) finds the replaced record by its old value", q)
		}
	}
	for _, q := range []string{"李四", "lisi", "ls", "13900005678", "5678"} {
		if _, ok := find(x.Search(q, 0), "1"); !ok {
			t.Errorf("Search(%q) does not find the replaced record by its new value", q)
		}
	}
	x.Delete("1")
	x.Delete("nope")
	if x.Len() != 1 {
		t.Fatalf("Len after delete = %d, want 1", x.Len())
	}
	for _, q := range []string{"李四", "lisi", "ls", "5678"} {
		if ms := x.Search(q, 0); len(ms) != 0 {
			t.Errorf("Search(%q) after delete = %v", q, ms)
		}
	}
	// the freed slot is reused and works
	x.Put(Doc{ID: "3", Name: "王五"})
	if ms := x.Search("ww", 0); len(ms) != 1 || ms[0].ID != "3" {
		t.Errorf("Search(ww) = %v", ms)
	}
	if ms := x.Search("zhangsanf", 0); len(ms) != 1 || ms[0].ID != "2" {
		t.Errorf("Search(zhangsanf) = %v", ms)
	}
}

// TestCompaction replaces records many times, so that the syllable pool
// is compacted, and checks that memory stays bounded and search right.
func TestCompaction(t *testing.T) {
	x := New()
	names := []string{"欧阳娜娜", "张长乐", "曾小单", "李"}
	for i := range 5000 {
		x.Put(Doc{ID: fmt.Sprint(i % 10), Name: names[i%len(names)]})
	}
	if len(x.pool) > 4096 {
		t.Errorf("pool has %d elements for 10 records", len(x.pool))
	}
	// record k was last put at i = 4990+k, with names[(4990+k)%4]
	for _, tt := range []struct {
		q   string
		ids []string
	}{
		{"oynn", []string{"2", "6"}},
		{"zengxiaoshan", []string{"0", "4", "8"}},
		{"zzy", []string{"3", "7"}},
		{"李", []string{"1", "5", "9"}},
	} {
		var got []string
		for _, m := range x.Search(tt.q, 0) {
			got = append(got, m.ID)
		}
		if !slices.Equal(got, tt.ids) {
			t.Errorf("Search(%q) = %v, want %v", tt.q, got, tt.ids)
		}
	}
}

func TestBuildLaterWins(t *testing.T) {
	x := Build([]Doc{{ID: "1", Name: "张三"}, {ID: "2", Name: "王五"}, {ID: "1", Name: "李四"}, {Name: "无名"}})
	if x.Len() != 2 {
		t.Errorf("Len = %d, want 2", x.Len())
	}
	if ms := x.Search("张三", 0); len(ms) != 0 {
		t.Errorf("Search(张三) = %v, want nothing", ms)
	}
	if ms := x.Search("李四", 0); len(ms) != 1 {
		t.Errorf("Search(李四) = %v", ms)
	}
}

// TestAgainstReference compares Search with a brute-force scan of every
// record, over sample data changed by Put and Delete, for many queries.
func TestAgainstReference(t *testing.T) {
	docs := append(samplePatients(3, 1500), tricky...)
	rng := rand.New(rand.NewPCG(3, 3))
	var queries []string
	n := 150
	if testing.Short() {
		n = 30
	}
	for range n {
		d := docs[rng.IntN(len(docs))]
		name := []rune(d.Name)
		full, initials := Pinyin(d.Name)
		f := full[rng.IntN(len(full))]
		queries = append(queries,
			string(name[:1+rng.IntN(len(name))]),
			string(name[rng.IntN(len(name)):]),
			f[:1+rng.IntN(len(f))],
			initials[0][:1+rng.IntN(len(initials[0]))],
			mixPinyin(rng, d.Name),
			d.IDNumber, d.Card,
		)
		if len(d.Phones) > 0 {
			p := d.Phones[0]
			queries = append(queries, p, p[max(len(p)-4, 0):])
		}
	}
	queries = append(queries, "a", "zh", "zz", "xian", "xi'an", "yy", "王", "张三", "1", "")

	check := func(x *Index, live map[string]Doc) {
		t.Helper()
		var docs []Doc
		for _, d := range live {
			docs = append(docs, d)
		}
		all := refDocs(docs)
		for _, q := range queries {
			got := x.Search(q, 0)
			want := referenceSearch(all, q)
			if !slices.Equal(got, want) {
				t.Fatalf("Search(%q):\n got %v\nwant %v", q, got, want)
			}
			if lim := x.Search(q, 5); !slices.Equal(lim, want[:min(5, len(want))]) {
				t.Fatalf("Search(%q, 5) = %v, want %v", q, lim, want[:min(5, len(want))])
			}
		}
	}

	live := make(map[string]Doc)
	for _, d := range docs {
		live[d.ID] = d
	}
	x := Build(docs)
	check(x, live)

	// the same through Put, then changes
	y := New()
	for _, i := range rng.Perm(len(docs)) {
		y.Put(docs[i])
	}
	check(y, live)
	for i := range 600 {
		d := docs[rng.IntN(len(docs))]
		switch i % 3 {
		case 0:
			y.Delete(d.ID)
			delete(live, d.ID)
		case 1: // give it another record's name and phone
			o := docs[rng.IntN(len(docs))]
			d.Name, d.Phones = o.Name, o.Phones
			y.Put(d)
			live[d.ID] = d
		case 2:
			y.Put(d)
			live[d.ID] = d
		}
	}
	if y.Len() != len(live) {
		t.Fatalf("Len = %d, want %d", y.Len(), len(live))
	}
	check(y, live)
}

// mixPinyin writes a name in pinyin with each syllable cut at random: the
// way a clerk types in a hurry.
func mixPinyin(rng *rand.Rand, name string) string {
	var b strings.Builder
	eachCombination(nameSyllables(textnorm.NameKey(name)), func(seq []string) {
		if b.Len() > 0 {
			return
		}
		for _, s := range seq {
			b.WriteString(s[:1+rng.IntN(len(s))])
		}
	})
	return b.String()
}

type refDoc struct {
	Doc
	combos [][]string // reading combinations of the name
	phones []string   // digits of Phones
}

func refDocs(docs []Doc) []refDoc {
	var out []refDoc
	for _, d := range docs {
		r := refDoc{Doc: d}
		for _, p := range d.Phones {
			r.phones = append(r.phones, docPhone(p))
		}
		eachCombination(nameSyllables(textnorm.NameKey(d.Name)), func(seq []string) {
			r.combos = append(r.combos, slices.Clone(seq))
		})
		out = append(out, r)
	}
	return out
}

// referenceSearch is Search written as plainly as possible: score every
// record against the query, sort.
func referenceSearch(docs []refDoc, q string) []Match {
	var out []Match
	q = strings.TrimSpace(q)
	if len(q) > MaxQueryBytes || utf8.RuneCountInString(q) <= 1 && !isHanString(q) {
		return nil
	}
	code := normCode(q)
	digits, isPhone := phoneDigits(q)
	han, isHan := hanKey(q)
	py, isPinyin := pinyinKey(q)
	for _, d := range docs {
		best, why := 0, ""
		try := func(s int, w string) {
			if s > best {
				best, why = s, w
			}
		}
		if code != "" && code == normCode(d.IDNumber) {
			try(scoreExact, WhyIDNumber)
		}
		if code != "" && code == normCode(d.Card) {
			try(scoreExact, WhyCard)
		}
		if isPhone {
			for _, p := range d.phones {
				if p == digits {
					try(scoreExact, WhyPhone)
				}
				if len(digits) == 4 && len(p) >= 4 && strings.HasSuffix(p, digits) {
					try(scorePhoneLast4, WhyPhoneLast4)
				}
			}
		}
		name := textnorm.NameKey(d.Name)
		nr := utf8.RuneCountInString(name)
		if isHan {
			k := han
			kr := utf8.RuneCountInString(k)
			switch {
			case name == k:
				try(scoreName, WhyName)
			case strings.HasPrefix(name, k):
				try(scoreNamePrefix-penalty(nr-kr), WhyNamePrefix)
			case kr >= 2 && strings.Contains(name, k):
				try(scoreNamePart-penalty(nr-kr), WhyNamePart)
			}
		} else if isPinyin && len(py) >= 2 && name != "" {
			for _, seq := range d.combos {
				s, w := referencePinyin(py, seq, 0, true, true, true)
				try(s, w)
			}
		}
		if best > 0 {
			out = append(out, Match{ID: d.ID, Score: best, Why: why})
		}
	}
	slices.SortFunc(out, func(a, b Match) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func isHanString(s string) bool {
	_, ok := hanKey(s)
	return ok
}

// referencePinyin tries every way of cutting q into pieces that begin
// the syllables of seq in order, and returns the best score.
func referencePinyin(q string, seq []string, d int, full, fullBefore, single bool) (int, string) {
	if q == "" {
		extra := len(seq) - d
		switch {
		case full && extra == 0:
			return scorePinyin, WhyPinyin
		case fullBefore:
			return scorePinyinPrefix - penalty(extra), WhyPinyinPrefix
		case single && extra == 0:
			return scoreInitials, WhyInitials
		case single:
			return scoreInitialsPfx - penalty(extra), WhyInitialsPrefix
		}
		return scorePinyinMixed - penalty(extra), WhyPinyinMixed
	}
	if d == len(seq) {
		return 0, ""
	}
	best, why := 0, ""
	s := seq[d]
	for k := 1; k <= len(q) && k <= len(s); k++ {
		if q[:k] != s[:k] {
			break
		}
		sc, w := referencePinyin(q[k:], seq, d+1, full && k == len(s), full, single && k == 1)
		if sc > best {
			best, why = sc, w
		}
	}
	return best, why
}

func TestGarbageQueries(t *testing.T) {
	x := testIndex(t)
	queries := []string{
		"", " ", "\t\n", "a", "Z", "1", "x", "😀", "😀😀😀", "张😀", "zhang😀",
		"'; DROP TABLE patients; --", "' OR 1=1 --", "%", "_", "*", "\x00", "\xff\xfe",
		"<script>alert(1)</script>", "../../etc/passwd", "🇨🇳", "ﷺ", "\u200b",
		strings.Repeat("a", MaxQueryBytes), strings.Repeat("a", MaxQueryBytes+1),
		strings.Repeat("zhang", 50), strings.Repeat("z", 200), strings.Repeat("张", 80),
		strings.Repeat("1", 200), strings.Repeat("xian", 60), strings.Repeat("a b ", 60),
		strings.Repeat("😀", 1000),
	}
	for _, q := range queries {
		ms := x.Search(q, 20)
		checkSorted(t, q, ms)
	}
	for _, q := range []string{"", " ", "a", "Z", "1", "😀", "'; DROP TABLE patients; --", strings.Repeat("a", MaxQueryBytes+1)} {
		if ms := x.Search(q, 0); len(ms) != 0 {
			t.Errorf("Search(%q) = %d matches, want none", q, len(ms))
		}
	}
}

// TestStepBudget makes the pinyin walk run out of budget and checks that
// it still returns sorted, valid results.
func TestStepBudget(t *testing.T) {
	var docs []Doc
	// names that are all the syllable "a": 阿 read a, 啊 read a, e, o …
	for i := range 200 {
		docs = append(docs, Doc{ID: fmt.Sprint(i), Name: strings.Repeat("阿", 1+i%24)})
	}
	x := Build(docs)
	q := strings.Repeat("a", 24)
	all := x.Search(q, 0)
	checkSorted(t, q, all)
	x.stepBudget = 5
	some := x.Search(q, 0)
	checkSorted(t, q, some)
	if len(some) >= len(all) {
		t.Errorf("with a budget of 5 steps: %d matches, without: %d; the budget did not bite", len(some), len(all))
	}
}

func checkSorted(t *testing.T, q string, ms []Match) {
	t.Helper()
	seen := make(map[string]bool)
	for i, m := range ms {
		if seen[m.ID] {
			t.Errorf("Search(%q): %s twice", q, m.ID)
		}
		seen[m.ID] = true
		if m.Score <= 0 || m.Why == "" {
			t.Errorf("Search(%q): bad match %+v", q, m)
		}
		if i > 0 {
			p := ms[i-1]
			if p.Score < m.Score || p.Score == m.Score && p.ID >= m.ID {
				t.Errorf("Search(%q): %+v before %+v", q, p, m)
			}
		}
	}
}

// TestConcurrent runs searches while records are put and deleted; run
// with -race.
func TestConcurrent(t *testing.T) {
	docs := samplePatients(5, 1000)
	x := Build(docs[:500])
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				d := docs[rng.IntN(len(docs))]
				for _, q := range []string{d.Name, d.Phones[0][7:], "zh", d.IDNumber} {
					checkSorted(t, q, x.Search(q, 10))
				}
				_ = x.Len()
			}
		}()
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range 2000 {
		d := docs[rng.IntN(len(docs))]
		if i%4 == 0 {
			x.Delete(d.ID)
		} else {
			x.Put(d)
		}
	}
	close(stop)
	wg.Wait()
}

func FuzzSearch(f *testing.F) {
	for _, q := range []string{"张三", "zhangs", "zs", "1234", "13800001111", "11010119900307663x",
		"欧阳", "oynn", "zengxd", "'; DROP TABLE patients; --", "😀", "a", "xi'an", "ＺＳ"} {
		f.Add(q, 20)
	}
	docs := append(samplePatients(11, 300), tricky...)
	x := Build(docs)
	ref := refDocs(docs)
	f.Fuzz(func(t *testing.T, q string, limit int) {
		limit %= 100
		ms := x.Search(q, limit)
		if limit > 0 && len(ms) > limit {
			t.Fatalf("Search(%q, %d) returned %d", q, limit, len(ms))
		}
		checkSorted(t, q, ms)
		want := referenceSearch(ref, q)
		if limit > 0 {
			want = want[:min(limit, len(want))]
		}
		if !slices.Equal(ms, want) {
			t.Fatalf("Search(%q, %d):\n got %v\nwant %v", q, limit, ms, want)
		}
	})
}
