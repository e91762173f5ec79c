package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"carenode/node/textnorm"

	"github.com/mozillazg/go-pinyin"
)

// MaxReadings caps how many reading combinations one name gets: a name
// made of heteronyms (单乐长 has 3×2×2) multiplies, and a pathological
// name must not blow up the index.
const MaxReadings = 16

// surnameReadings gives the readings of characters when they stand in the
// surname position, where they differ from, or are a subset of, the
// readings pinyin-data lists for the character in general. The source is
// common knowledge of Chinese surname readings. Where one surname really
// is read two ways (乐 Yuè and Lè), both are listed, most common first.
// Only the readings listed are indexed for the surname: 曾 is found by
// "zeng", not by "ceng".
var surnameReadings = map[string][]string{
	// Compound surnames, one reading each, syllables separated by a space.
	// A name starting with one of these is split after it when it has at
	// least one more character.
	"欧阳": {"ou yang"}, "司马": {"si ma"}, "诸葛": {"zhu ge"}, "上官": {"shang guan"},
	"尉迟": {"yu chi"}, "万俟": {"mo qi"}, "皇甫": {"huang fu"}, "令狐": {"ling hu"},
	"东方": {"dong fang"}, "夏侯": {"xia hou"}, "公孙": {"gong sun"}, "慕容": {"mu rong"},
	"宇文": {"yu wen"}, "司徒": {"si tu"}, "司空": {"si kong"}, "澹台": {"tan tai"},
	"长孙": {"zhang sun"}, "端木": {"duan mu"}, "独孤": {"du gu"}, "南宫": {"nan gong"},
	"西门": {"xi men"}, "呼延": {"hu yan"}, "轩辕": {"xuan yuan"}, "钟离": {"zhong li"},
	"宗政": {"zong zheng"}, "濮阳": {"pu yang"}, "淳于": {"chun yu"}, "闻人": {"wen ren"},
	"赫连": {"he lian"}, "拓跋": {"tuo ba"}, "申屠": {"shen tu"}, "太史": {"tai shi"},
	"百里": {"bai li"}, "第五": {"di wu"}, "公羊": {"gong yang"},
	// Single surnames read differently from the character's everyday
	// reading.
	"曾": {"zeng"}, "单": {"shan"}, "区": {"ou"}, "仇": {"qiu"}, "朴": {"piao"},
	"解": {"xie"}, "查": {"zha"}, "覃": {"qin", "tan"}, "盖": {"ge", "gai"},
	"缪": {"miao"}, "繁": {"po"}, "秘": {"bi"}, "员": {"yun"}, "乐": {"yue", "le"},
	"翟": {"zhai", "di"}, "种": {"chong"}, "召": {"shao"}, "句": {"gou"},
	"柏": {"bai"}, "薄": {"bo"}, "长": {"chang"}, "重": {"chong"}, "宿": {"su"},
	"车": {"che"}, "叶": {"ye"}, "沈": {"shen"}, "石": {"shi"}, "任": {"ren"},
	"华": {"hua"}, "纪": {"ji"}, "燕": {"yan"}, "折": {"she"}, "隗": {"wei", "kui"},
	"冼": {"xian"}, "阚": {"kan"}, "逄": {"pang"}, "佴": {"nai"}, "眭": {"sui"},
	"尉": {"wei"}, "贲": {"ben"}, "曲": {"qu"}, "藏": {"zang"}, "都": {"du"},
	"万": {"wan"},
}

// Pinyin returns the toneless pinyin of a Chinese name, one string per
// reading combination (full, such as "zengxiaoshan"), and the distinct
// initials of those combinations (such as "zxs"). The surname takes its
// reading from the surname table; every reading of every other character
// is combined, the most common first, up to MaxReadings combinations.
// Characters without a reading (latin letters, punctuation) are skipped.
// It is exported for duplicate detection, which compares names by sound.
func Pinyin(name string) (full []string, initials []string) {
	syl := nameSyllables(textnorm.NameKey(name))
	eachCombination(syl, func(seq []string) {
		full = append(full, strings.Join(seq, ""))
		var b strings.Builder
		for _, s := range seq {
			b.WriteByte(s[0])
		}
		if in := b.String(); !contains(initials, in) {
			initials = append(initials, in)
		}
	})
	return full, initials
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// nameSyllables returns the candidate readings of each character of a
// normalized name that has any.
func nameSyllables(name string) [][]string {
	var out [][]string
	rest := name
	if sur, ok := surnameOf(name); ok {
		rs := surnameReadings[sur]
		if strings.IndexByte(rs[0], ' ') >= 0 {
			for syl := range strings.FieldsSeq(rs[0]) {
				out = append(out, []string{syl})
			}
		} else {
			out = append(out, rs)
		}
		rest = name[len(sur):]
	}
	for _, r := range rest {
		if rs := readingsOf(r); len(rs) > 0 {
			out = append(out, rs)
		}
	}
	return out
}

// surnameOf returns the surname of name when the surname table has a
// reading for it: a compound surname when the name goes on after it, else
// the first character.
func surnameOf(name string) (string, bool) {
	if utf8.RuneCountInString(name) >= 3 {
		_, n1 := utf8.DecodeRuneInString(name)
		_, n2 := utf8.DecodeRuneInString(name[n1:])
		if _, ok := surnameReadings[name[:n1+n2]]; ok {
			return name[:n1+n2], true
		}
	}
	_, n := utf8.DecodeRuneInString(name)
	if _, ok := surnameReadings[name[:n]]; ok && n > 0 {
		return name[:n], true
	}
	return "", false
}

// readingsOf returns the toneless readings of r, most common first, as
// pinyin-data (through go-pinyin's dictionary) orders them, or nil when r
// has none. A reading with ü is also given with u (lü → lv, lu), since
// clerks type either.
func readingsOf(r rune) []string {
	s, ok := pinyin.PinyinDict[int(r)]
	if !ok {
		return nil
	}
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		t := stripTones(part)
		if t == "" {
			continue
		}
		if !contains(out, t) {
			out = append(out, t)
		}
		if strings.IndexByte(t, 'v') >= 0 {
			if u := strings.ReplaceAll(t, "v", "u"); !contains(out, u) {
				out = append(out, u)
			}
		}
	}
	return out
}

// stripTones turns a toned reading ("lǚ") into the ascii form go-pinyin's
// Normal style gives ("lv"). It also folds the few readings go-pinyin
// leaves alone (ê and combining marks) to plain letters, so that every
// reading is a-z only.
func stripTones(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			b = append(b, byte(r))
		case strings.ContainsRune("āáǎà", r):
			b = append(b, 'a')
		case strings.ContainsRune("ēéěèêềếễểệ", r):
			b = append(b, 'e')
		case strings.ContainsRune("īíǐì", r):
			b = append(b, 'i')
		case strings.ContainsRune("ōóǒò", r):
			b = append(b, 'o')
		case strings.ContainsRune("ūúǔù", r):
			b = append(b, 'u')
		case strings.ContainsRune("üǖǘǚǜ", r):
			b = append(b, 'v')
		case strings.ContainsRune("ńňǹ", r):
			b = append(b, 'n')
		case r == 'ḿ':
			b = append(b, 'm')
		case unicode.Is(unicode.Mn, r):
			// combining tone mark: drop
		}
	}
	return string(b)
}

// eachCombination calls fn with each combination of one reading per
// position, at most MaxReadings times, the most common readings first
// (the last position varies fastest). fn must not keep seq.
func eachCombination(syl [][]string, fn func(seq []string)) {
	if len(syl) == 0 {
		return
	}
	idx := make([]int, len(syl))
	seq := make([]string, len(syl))
	for n := 0; n < MaxReadings; n++ {
		for i, k := range idx {
			seq[i] = syl[i][k]
		}
		fn(seq)
		// advance the odometer
		i := len(idx) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(syl[i]) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return
		}
	}
}
