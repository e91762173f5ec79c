package search

import (
	"slices"
	"strings"
	"testing"

	"github.com/mozillazg/go-pinyin"
)

func TestPinyin(t *testing.T) {
	tests := []struct {
		name     string
		full     []string // must all be present
		notFull  []string // must all be absent
		initials []string // must all be present
	}{
		{"张三", []string{"zhangsan"}, nil, []string{"zs"}},
		{"曾小单", []string{"zengxiaodan", "zengxiaoshan", "zengxiaochan"}, []string{"cengxiaodan"}, []string{"zxd", "zxs", "zxc"}},
		{"单伟", []string{"shanwei"}, []string{"danwei", "chanwei"}, []string{"sw"}},
		{"区建国", []string{"oujianguo"}, []string{"qujianguo"}, []string{"ojg"}},
		{"仇海", []string{"qiuhai"}, []string{"chouhai"}, []string{"qh"}},
		{"朴美玲", []string{"piaomeiling"}, []string{"pumeiling"}, []string{"pml"}},
		{"解放", []string{"xiefang"}, []string{"jiefang"}, []string{"xf"}},
		{"查良镛", []string{"zhaliangyong"}, []string{"chaliangyong"}, []string{"zly"}},
		{"覃军", []string{"qinjun"}, []string{"yanjun"}, []string{"qj"}},
		{"盖丽丽", []string{"gelili"}, nil, []string{"gll"}},
		{"欧阳娜娜", []string{"ouyangnana"}, nil, []string{"oynn"}},
		{"尉迟恭", []string{"yuchigong"}, []string{"weichigong"}, []string{"ycg"}},
		{"万俟卨", []string{"moqixie"}, []string{"wansixie"}, []string{"mqx"}},
		{"张长乐", []string{"zhangchangle", "zhangchangyue", "zhangzhangle", "zhangzhangyue"}, nil, []string{"zcl", "zcy", "zzl", "zzy"}},
		{"乐平", []string{"yueping", "leping"}, nil, []string{"yp", "lp"}},
		{"吕芳", []string{"lvfang", "lufang"}, nil, []string{"lf"}},
		{"买买提·艾力", []string{"maimaitiaili"}, nil, []string{"mmtal"}},
		{"曾曾", []string{"zengceng", "zengzeng"}, nil, nil}, // override on the surname only
	}
	for _, tt := range tests {
		full, initials := Pinyin(tt.name)
		for _, f := range tt.full {
			if !slices.Contains(full, f) {
				t.Errorf("Pinyin(%s) full = %v, want %s among them", tt.name, full, f)
			}
		}
		for _, f := range tt.notFull {
			if slices.Contains(full, f) {
				t.Errorf("Pinyin(%s) full = %v, must not contain %s", tt.name, full, f)
			}
		}
		for _, in := range tt.initials {
			if !slices.Contains(initials, in) {
				t.Errorf("Pinyin(%s) initials = %v, want %s among them", tt.name, initials, in)
			}
		}
	}
}

func TestPinyinOrderAndCap(t *testing.T) {
	full, _ := Pinyin("王长乐")
	if full[0] != "wangzhangle" { // the dictionary's first reading of each
		t.Errorf("first combination = %s, want wangzhangle", full[0])
	}
	// eight heteronyms: 2^8 = 256 combinations, capped
	full, initials := Pinyin("长乐长乐长乐长乐")
	if len(full) != MaxReadings {
		t.Errorf("len(full) = %d, want %d", len(full), MaxReadings)
	}
	if len(initials) > MaxReadings {
		t.Errorf("len(initials) = %d, want <= %d", len(initials), MaxReadings)
	}
	if full, initials := Pinyin(""); full != nil || initials != nil {
		t.Errorf("Pinyin(\"\") = %v, %v", full, initials)
	}
	if full, _ := Pinyin("Tom 😀"); full != nil {
		t.Errorf("Pinyin of no Chinese = %v", full)
	}
}

// TestReadingsMatchGoPinyin checks that reading the dictionary directly
// gives what go-pinyin's Normal style with Heteronym gives, for every
// character it knows.
func TestReadingsMatchGoPinyin(t *testing.T) {
	args := pinyin.NewArgs()
	args.Heteronym = true
	args.Style = pinyin.Normal
	n := 0
	for code := range pinyin.PinyinDict {
		r := rune(code)
		want := pinyin.SinglePinyin(r, args)
		if slices.ContainsFunc(want, func(s string) bool {
			return strings.ContainsFunc(s, func(r rune) bool { return r < 'a' || r > 'z' })
		}) {
			continue // ê and combining marks, which go-pinyin leaves alone
		}
		got := slices.DeleteFunc(readingsOf(r), func(s string) bool {
			// drop the u spellings added for ü
			return strings.Contains(s, "u") && slices.Contains(want, strings.ReplaceAll(s, "u", "v")) && !slices.Contains(want, s)
		})
		if !slices.Equal(got, want) {
			t.Errorf("readingsOf(%c) = %v, go-pinyin gives %v", r, got, want)
			if n++; n > 10 {
				t.FailNow()
			}
		}
	}
}

func TestReadingsAreLowerLatin(t *testing.T) {
	for code := range pinyin.PinyinDict {
		for _, s := range readingsOf(rune(code)) {
			if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r < 'a' || r > 'z' }) {
				t.Fatalf("readingsOf(%c) has %q", rune(code), s)
			}
		}
	}
}

func TestSurnameTable(t *testing.T) {
	for sur, rs := range surnameReadings {
		if len(rs) == 0 {
			t.Errorf("%s: no readings", sur)
		}
		n := len([]rune(sur))
		for _, r := range rs {
			if got := len(strings.Fields(r)); got != n {
				t.Errorf("%s: reading %q has %d syllables, want %d", sur, r, got, n)
			}
			if n == 2 && len(rs) != 1 {
				t.Errorf("%s: a compound surname takes one reading", sur)
			}
			if strings.ContainsFunc(r, func(c rune) bool { return c != ' ' && (c < 'a' || c > 'z') }) {
				t.Errorf("%s: reading %q is not toneless pinyin", sur, r)
			}
		}
	}
}
