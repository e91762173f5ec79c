package dedup

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func pat(id, name, birth, idNumber string, phones ...string) Patient {
	return Patient{ID: id, Name: name, BirthDate: birth, IDNumber: idNumber, Phones: phones}
}

const idn = "11010519491231002X"

func TestRules(t *testing.T) {
	tests := []struct {
		name string
		a, b Patient
		want []Reason // nil: not a pair
	}{
		// rules
		{"same ID number", pat("a", "张三", "1950-01-01", idn), pat("b", "李四", "1960-02-02", idn), []Reason{SameIDNumber}},
		{"ID number lower-case x, spaces", pat("a", "张三", "", idn), pat("b", "王五", "", "110105 19491231 002x"), []Reason{SameIDNumber}},
		{"ID number full-width", pat("a", "张三", "", idn), pat("b", "张三", "", "１１０１０５１９４９１２３１００２Ｘ"), []Reason{SameIDNumber}},
		{"name birth phone", pat("a", "张伟", "1950-01-01", "", "13800000000"), pat("b", "张伟", "1950-01-01", "", "13911111111", "138-0000-0000"),
			[]Reason{SameNameBirthPhone, SamePinyinBirthNearName}},
		{"name birth phone, latin name", pat("a", "Anna Li", "1950-01-01", "", "+86 13800000000"), pat("b", "AnnaLi", "1950-01-01", "", "13800000000"),
			[]Reason{SameNameBirthPhone}},
		{"name with middle dot", pat("a", "阿依古丽·买买提", "1980-03-03", "", "13800000000"), pat("b", "阿依古丽买买提", "1980-03-03", "", "13800000000"),
			[]Reason{SameNameBirthPhone, SamePinyinBirthNearName}},
		{"typo one character, homophone", pat("a", "张三丰", "1950-01-01", ""), pat("b", "张三峰", "1950-01-01", ""), []Reason{SamePinyinBirthNearName}},
		{"all characters homophones", pat("a", "张伟", "1950-01-01", ""), pat("b", "章玮", "1950-01-01", ""), []Reason{SamePinyinBirthNearName}},
		{"heteronym reading in common", pat("a", "李乐", "1950-01-01", ""), pat("b", "李月", "1950-01-01", ""), []Reason{SamePinyinBirthNearName}},
		{"surname reading 曾 zeng", pat("a", "曾伟", "1950-01-01", ""), pat("b", "增伟", "1950-01-01", ""), []Reason{SamePinyinBirthNearName}},
		{"extra latin letter", pat("a", "张三", "1950-01-01", ""), pat("b", "张三A", "1950-01-01", ""), []Reason{SamePinyinBirthNearName}},
		{"same name and birth, phones differ", pat("a", "张伟", "1950-01-01", "", "13800000000"), pat("b", "张伟", "1950-01-01", "", "13900000000"),
			[]Reason{SamePinyinBirthNearName}},
		{"every rule", pat("a", "张伟", "1950-01-01", idn, "13800000000"), pat("b", "张伟", "1950-01-01", idn, "13800000000"),
			[]Reason{SameIDNumber, SameNameBirthPhone, SamePinyinBirthNearName}},

		// non-rules
		{"same phone alone (household)", pat("a", "王建国", "1950-01-01", "", "13800000000"), pat("b", "李秀英", "1952-05-05", "", "13800000000"), nil},
		{"household, same surname", pat("a", "王建国", "1950-01-01", "", "13800000000"), pat("b", "王小明", "1980-05-05", "", "13800000000"), nil},
		{"same name alone", pat("a", "张伟", "1950-01-01", "", "13800000000"), pat("b", "张伟", "1971-07-07", "", "13900000000"), nil},
		{"same birth date alone", pat("a", "张伟", "1950-01-01", ""), pat("b", "刘洋", "1950-01-01", ""), nil},
		{"same name and phone, birth differs", pat("a", "张伟", "1950-01-01", "", "13800000000"), pat("b", "张伟", "1950-01-02", "", "13800000000"), nil},
		{"same pinyin, birth differs", pat("a", "张三丰", "1950-01-01", ""), pat("b", "张三峰", "1950-01-02", ""), nil},
		{"near name, not same pinyin", pat("a", "张三丰", "1950-01-01", ""), pat("b", "张山丰", "1950-01-01", ""), nil},
		{"same pinyin, different length", pat("a", "张西安", "1950-01-01", ""), pat("b", "张先", "1950-01-01", ""), nil},
		{"same pinyin, two latin letters differ", pat("a", "张三AB", "1950-01-01", ""), pat("b", "张三CD", "1950-01-01", ""), nil},
		{"no birth dates", pat("a", "张三丰", "", "", "13800000000"), pat("b", "张三丰", "", "", "13800000000"), nil},
		{"empty names", pat("a", "", "1950-01-01", "", "13800000000"), pat("b", "", "1950-01-01", "", "13800000000"), nil},
		{"empty ID numbers", pat("a", "甲", "", ""), pat("b", "乙", "", ""), nil},
		{"different ID numbers, nothing else", pat("a", "张三", "1950-01-01", idn), pat("b", "李四", "1950-01-01", "110105194912310038"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, ps := range [][]Patient{{tt.a, tt.b}, {tt.b, tt.a}} {
				got := Find(ps)
				if tt.want == nil {
					if len(got) != 0 {
						t.Fatalf("Find = %+v, want no pair", got)
					}
					continue
				}
				score := 0
				for _, r := range tt.want {
					score += r.Weight()
				}
				want := []Pair{{A: "a", B: "b", Reasons: tt.want, Score: score}}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("Find = %+v, want %+v", got, want)
				}
			}
		})
	}
}

func TestOrderAndDeterminism(t *testing.T) {
	ps := []Patient{
		pat("p9", "张三丰", "1950-01-01", ""),
		pat("p1", "张三峰", "1950-01-01", ""),
		pat("p5", "李四", "1960-01-01", idn),
		pat("p3", "李四", "1960-01-01", idn, "13800000000"),
		pat("p4", "李四", "1960-01-01", "", "13800000000"),
		pat("p2", "刘洋", "1970-01-01", "", "13800000000"), // household phone only
	}
	want := []Pair{
		{A: "p3", B: "p5", Reasons: []Reason{SameIDNumber, SamePinyinBirthNearName}, Score: 130},
		{A: "p3", B: "p4", Reasons: []Reason{SameNameBirthPhone, SamePinyinBirthNearName}, Score: 90},
		{A: "p1", B: "p9", Reasons: []Reason{SamePinyinBirthNearName}, Score: 30},
		{A: "p4", B: "p5", Reasons: []Reason{SamePinyinBirthNearName}, Score: 30},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		rng.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
		if got := Find(ps); !reflect.DeepEqual(got, want) {
			t.Fatalf("Find(%v) =\n%+v\nwant\n%+v", ps, got, want)
		}
	}
}

func TestLaterRecordWins(t *testing.T) {
	ps := []Patient{
		pat("a", "张三", "1950-01-01", idn),
		pat("b", "李四", "1960-01-01", idn),
		pat("b", "李四", "1960-01-01", "110105194912310038"), // b's ID number corrected
	}
	if got := Find(ps); len(got) != 0 {
		t.Fatalf("Find = %+v, want none: b's later version has another ID number", got)
	}
}

func TestCandidatesExistingIDNumber(t *testing.T) {
	x := NewIndex([]Patient{
		pat("p1", "王秀英", "1949-12-31", idn, "13800000000"),
		pat("p2", "王建国", "1948-03-03", "", "13800000000"), // her husband
		pat("p3", "张伟", "1970-01-01", ""),
	})
	// a clerk registers her again on another machine, typing the check
	// character in lower case
	got := x.Candidates(pat("new", "王秀英", "1949-12-31", strings.ToLower(idn), "13800000000"))
	want := []Pair{{A: "new", B: "p1", Reasons: []Reason{SameIDNumber, SameNameBirthPhone, SamePinyinBirthNearName}, Score: 190}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Candidates = %+v, want %+v", got, want)
	}
	if got := x.Candidates(pat("new", "王秀影", "1949-12-31", idn)); len(got) != 1 || got[0].B != "p1" || got[0].Reasons[0] != SameIDNumber {
		t.Fatalf("Candidates with homophone name = %+v", got)
	}

	// editing p1 itself does not pair it with its own earlier version
	if got := x.Candidates(pat("p1", "王秀英", "1949-12-31", idn, "13800000000")); len(got) != 0 {
		t.Fatalf("Candidates(p1 edited) = %+v, want none", got)
	}
	// a family member on the same phone is not a candidate
	if got := x.Candidates(pat("new", "王小明", "1990-01-01", "", "13800000000")); len(got) != 0 {
		t.Fatalf("Candidates(household member) = %+v, want none", got)
	}

	// Put replaces: after p1's ID number is corrected, the old one is free
	x.Put(pat("p1", "王秀英", "1949-12-31", "110105194912310038", "13900000000"))
	if got := x.Candidates(pat("new", "李四", "1960-01-01", idn)); len(got) != 0 {
		t.Fatalf("after Put, Candidates = %+v, want none", got)
	}
	if x.Len() != 3 {
		t.Fatalf("Len = %d, want 3", x.Len())
	}
}

func TestWithinOneEdit(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"", "", true}, {"张", "", true}, {"张三", "张三", true}, {"张三丰", "张三峰", true},
		{"张三", "张三丰", true}, {"三丰", "张三丰", true}, {"张丰", "张三丰", true},
		{"张三丰", "张山峰", false}, {"张三", "三张", false}, {"ab", "ba", false}, {"张三", "", false},
	}
	for _, tt := range tests {
		if got := withinOneEdit(tt.a, tt.b); got != tt.want {
			t.Errorf("withinOneEdit(%q, %q) = %v", tt.a, tt.b, got)
		}
		if got := withinOneEdit(tt.b, tt.a); got != tt.want {
			t.Errorf("withinOneEdit(%q, %q) = %v", tt.b, tt.a, got)
		}
	}
}
