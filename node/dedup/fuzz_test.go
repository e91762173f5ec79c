package dedup

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"

	"carenode/node/search"
)

// Small pools, so that random sets hit every rule and near miss often.
var (
	fuzzNames  = []string{"张三丰", "张三峰", "张山丰", "张三", "张伟", "章玮", "张 伟", "李乐", "李月", "曾伟", "增伟", "张西安", "张先", "Anna", "张三A", "", "阿依·买买提", "欧阳娜娜"}
	fuzzBirths = []string{"1950-01-01", "1950-01-02", "", " 1950-01-01"}
	fuzzIDs    = []string{"", "11010519491231002X", "11010519491231002x", "110105 19491231 002X", "110105194912310038"}
	fuzzPhones = []string{"13800000000", "+86 138-0000-0000", "13900000000", "", "1"}
)

// patientsFrom turns fuzz bytes into patients, four bytes each.
func patientsFrom(data []byte) []Patient {
	var ps []Patient
	for len(data) >= 4 && len(ps) < 40 {
		b0, b1, b2, b3 := int(data[0]), int(data[1]), int(data[2]), int(data[3])
		data = data[4:]
		var phones []string
		for k := range fuzzPhones {
			if b3&(1<<k) != 0 {
				phones = append(phones, fuzzPhones[k])
			}
		}
		ps = append(ps, Patient{
			ID:        string(rune('a' + b3>>5)), // eight IDs: later versions replace earlier
			Name:      fuzzNames[b0%len(fuzzNames)],
			BirthDate: fuzzBirths[b1%len(fuzzBirths)],
			IDNumber:  fuzzIDs[b2%len(fuzzIDs)],
			Phones:    phones,
		})
	}
	return ps
}

func FuzzFind(f *testing.F) {
	f.Add([]byte{0, 0, 1, 1, 1, 0, 2, 33, 4, 0, 0, 65, 5, 0, 0, 97})
	f.Add([]byte{2, 0, 0, 1, 2, 0, 0, 33, 9, 0, 0, 65, 10, 0, 0, 97, 11, 1, 3, 130})
	f.Add([]byte{11, 0, 0, 0, 12, 0, 0, 32, 13, 3, 1, 64, 14, 2, 2, 96})
	f.Fuzz(func(t *testing.T, data []byte) {
		ps := patientsFrom(data)
		pairs := Find(ps)

		// the last version of each record, as Find sees them
		last := make(map[string]Patient)
		for _, p := range ps {
			last[p.ID] = p
		}
		seen := make(map[[2]string]bool)
		for i, p := range pairs {
			if p.A >= p.B {
				t.Fatalf("pair %+v: A not < B", p)
			}
			if seen[[2]string{p.A, p.B}] {
				t.Fatalf("pair %+v listed twice", p)
			}
			seen[[2]string{p.A, p.B}] = true
			if i > 0 {
				q := pairs[i-1]
				if q.Score < p.Score || q.Score == p.Score && (q.A > p.A || q.A == p.A && q.B > p.B) {
					t.Fatalf("pairs out of order: %+v before %+v", q, p)
				}
			}
			a, b := last[p.A], last[p.B]
			if len(p.Reasons) == 0 {
				t.Fatalf("pair %+v has no reason", p)
			}
			score := 0
			for _, r := range p.Reasons {
				score += r.Weight()
				if !refRule(r, a, b) {
					t.Fatalf("pair %+v: reason %s does not hold for %+v and %+v", p, r, a, b)
				}
			}
			if score != p.Score {
				t.Fatalf("pair %+v: score should be %d", p, score)
			}
		}
		// and nothing is missed: every rule that holds for a pair is listed
		ids := make([]string, 0, len(last))
		for id := range last {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for i, x := range ids {
			for _, y := range ids[i+1:] {
				for _, r := range []Reason{SameIDNumber, SameNameBirthPhone, SamePinyinBirthNearName} {
					if refRule(r, last[x], last[y]) && !slices.ContainsFunc(pairs, func(p Pair) bool {
						return p.A == x && p.B == y && slices.Contains(p.Reasons, r)
					}) {
						t.Fatalf("%s holds for %+v and %+v but was not reported", r, last[x], last[y])
					}
				}
			}
		}
		// Candidates for the last record, checked against the others, are
		// exactly Find's pairs that involve it
		if len(ps) > 0 {
			p := ps[len(ps)-1]
			got := NewIndex(ps[:len(ps)-1]).Candidates(p)
			var want []Pair
			for _, q := range pairs {
				if q.A == p.ID || q.B == p.ID {
					want = append(want, q)
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Candidates(%+v) = %+v, want %+v", p, got, want)
			}
		}
	})
}

// refRule re-checks a rule the slow, obvious way.
func refRule(r Reason, a, b Patient) bool {
	id := func(s string) string {
		return strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(s))
	}
	name := func(s string) string { return strings.NewReplacer(" ", "", "·", "").Replace(s) }
	birth := strings.TrimSpace
	phone := func(s string) string {
		d := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, s)
		if len(d) == 13 && strings.HasPrefix(d, "86") {
			d = d[2:]
		}
		return d
	}
	switch r {
	case SameIDNumber:
		return id(a.IDNumber) != "" && id(a.IDNumber) == id(b.IDNumber)
	case SameNameBirthPhone:
		if name(a.Name) == "" || birth(a.BirthDate) == "" || name(a.Name) != name(b.Name) || birth(a.BirthDate) != birth(b.BirthDate) {
			return false
		}
		for _, x := range a.Phones {
			for _, y := range b.Phones {
				if phone(x) != "" && phone(x) == phone(y) {
					return true
				}
			}
		}
		return false
	case SamePinyinBirthNearName:
		if birth(a.BirthDate) == "" || birth(a.BirthDate) != birth(b.BirthDate) {
			return false
		}
		fa, _ := search.Pinyin(a.Name)
		fb, _ := search.Pinyin(b.Name)
		if !slices.ContainsFunc(fa, func(s string) bool { return slices.Contains(fb, s) }) {
			return false
		}
		ra, rb := []rune(name(a.Name)), []rune(name(b.Name))
		han := func(rs []rune) bool {
			return !slices.ContainsFunc(rs, func(c rune) bool { return !unicode.Is(unicode.Han, c) })
		}
		return levenshtein(ra, rb) <= 1 || len(ra) == len(rb) && han(ra) && han(rb)
	}
	return false
}

func levenshtein(a, b []rune) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
