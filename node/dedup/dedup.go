package dedup

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"carenode/node/search"
	"carenode/node/textnorm"
)

// Patient is what duplicate detection looks at in a patient record.
type Patient struct {
	ID        string   // record identifier; pairs are reported by it
	Name      string   // as registered, e.g. 张三丰 or 阿依古丽·买买提
	BirthDate string   // YYYY-MM-DD; compared as written
	IDNumber  string   // resident ID number, may be empty
	Phones    []string // may be empty
}

// Reason is one rule that holds for a pair.
type Reason string

// The reasons, strongest first; see the package comment for the rules.
const (
	SameIDNumber            Reason = "sameIDNumber"
	SameNameBirthPhone      Reason = "sameNameBirthPhone"
	SamePinyinBirthNearName Reason = "samePinyinBirthNearName"
)

// Weight is what the reason adds to a pair's Score; 0 for an unknown
// reason.
func (r Reason) Weight() int {
	switch r {
	case SameIDNumber:
		return 100
	case SameNameBirthPhone:
		return 60
	case SamePinyinBirthNearName:
		return 30
	}
	return 0
}

// Pair is a likely duplicate: two record IDs with A < B, the reasons that
// hold (in the order of the constants above) and the sum of their
// weights.
type Pair struct {
	A, B    string
	Reasons []Reason
	Score   int
}

// Find returns every likely duplicate pair among patients, sorted by
// Score (highest first), then A, then B. Of records with the same ID the
// last is used.
func Find(patients []Patient) []Pair {
	x := NewIndex(patients)
	var out []Pair
	var cand []int32
	for i := range x.recs {
		a := &x.recs[i]
		cand = x.candidates(cand[:0], a)
		for _, j := range cand {
			if int(j) <= i {
				continue // each pair once, from its lower slot
			}
			if p, ok := pairOf(a, &x.recs[j]); ok {
				out = append(out, p)
			}
		}
	}
	sortPairs(out)
	return out
}

// Index holds patients for checking one record at a time against them,
// as registration does. Candidates may be called from several goroutines
// at once; Put must not run concurrently with anything else.
type Index struct {
	recs   []rec
	slotOf map[string]int32 // record ID → slot in recs

	// blocking keys, one map per rule
	byIDNumber, byNameBirth, byBirthReading map[string][]int32
}

// NewIndex returns an index of ps; of records with the same ID the last
// is kept.
func NewIndex(ps []Patient) *Index {
	x := &Index{
		recs:           make([]rec, 0, len(ps)),
		slotOf:         make(map[string]int32, len(ps)),
		byIDNumber:     make(map[string][]int32, len(ps)),
		byNameBirth:    make(map[string][]int32, len(ps)),
		byBirthReading: make(map[string][]int32, len(ps)),
	}
	for _, p := range ps {
		x.Put(p)
	}
	return x
}

// Len returns the number of records held.
func (x *Index) Len() int { return len(x.recs) }

// Put adds p, or replaces the record with p's ID.
func (x *Index) Put(p Patient) {
	r := newRec(p)
	slot, ok := x.slotOf[p.ID]
	if ok {
		x.eachKey(&x.recs[slot], func(m map[string][]int32, k string) {
			l := m[k]
			if i := slices.Index(l, slot); i >= 0 {
				l = slices.Delete(l, i, i+1)
			}
			if len(l) == 0 {
				delete(m, k)
			} else {
				m[k] = l
			}
		})
		x.recs[slot] = r
	} else {
		slot = int32(len(x.recs))
		x.recs = append(x.recs, r)
		x.slotOf[p.ID] = slot
	}
	x.eachKey(&x.recs[slot], func(m map[string][]int32, k string) {
		m[k] = append(m[k], slot)
	})
}

// Candidates returns the pairs p would form with the records held — what
// registering or editing p should warn about — sorted as Find sorts. A
// held record with p's own ID is p's earlier version and is skipped.
func (x *Index) Candidates(p Patient) []Pair {
	r := newRec(p)
	var out []Pair
	for _, j := range x.candidates(nil, &r) {
		o := &x.recs[j]
		if o.id == r.id {
			continue
		}
		if pr, ok := pairOf(&r, o); ok {
			out = append(out, pr)
		}
	}
	sortPairs(out)
	return out
}

// candidates appends to dst the slots sharing a blocking key with r,
// sorted and without repeats.
func (x *Index) candidates(dst []int32, r *rec) []int32 {
	x.eachKey(r, func(m map[string][]int32, k string) {
		dst = append(dst, m[k]...)
	})
	slices.Sort(dst)
	return slices.Compact(dst)
}

// eachKey calls fn with each blocking map and the key r has in it.
func (x *Index) eachKey(r *rec, fn func(m map[string][]int32, k string)) {
	if r.idNumber != "" {
		fn(x.byIDNumber, r.idNumber)
	}
	if r.birth == "" {
		return
	}
	if r.name != "" {
		fn(x.byNameBirth, r.name+"\x00"+r.birth)
	}
	for _, rd := range r.readings {
		fn(x.byBirthReading, r.birth+"\x00"+rd)
	}
}

// rec is a patient with its fields normalised for comparison.
type rec struct {
	id       string
	name     string   // separators dropped, width folded
	birth    string   // trimmed, width folded
	idNumber string   // width folded, no spaces or hyphens, upper case
	phones   []string // digits, country code dropped, sorted, distinct
	readings []string // search.Pinyin full readings, distinct
	allHan   bool     // every rune of name is a Chinese character
}

func newRec(p Patient) rec {
	r := rec{
		id:       p.ID,
		name:     textnorm.NameKey(p.Name),
		birth:    strings.TrimSpace(strings.Map(textnorm.FoldWidth, p.BirthDate)),
		idNumber: normIDNumber(p.IDNumber),
	}
	for _, ph := range p.Phones {
		if d := normPhone(ph); d != "" {
			r.phones = append(r.phones, d)
		}
	}
	slices.Sort(r.phones)
	r.phones = slices.Compact(r.phones)
	if r.name != "" {
		full, _ := search.Pinyin(r.name)
		slices.Sort(full)
		r.readings = slices.Compact(full)
		r.allHan = !strings.ContainsFunc(r.name, func(c rune) bool { return !unicode.Is(unicode.Han, c) })
	}
	return r
}

// pairOf checks every rule on a and b and returns their pair when any
// holds.
func pairOf(a, b *rec) (Pair, bool) {
	var reasons []Reason
	if sameIDNumber(a, b) {
		reasons = append(reasons, SameIDNumber)
	}
	if sameNameBirthPhone(a, b) {
		reasons = append(reasons, SameNameBirthPhone)
	}
	if samePinyinBirthNearName(a, b) {
		reasons = append(reasons, SamePinyinBirthNearName)
	}
	if len(reasons) == 0 || a.id == b.id {
		return Pair{}, false
	}
	p := Pair{A: a.id, B: b.id, Reasons: reasons}
	if p.B < p.A {
		p.A, p.B = p.B, p.A
	}
	for _, r := range reasons {
		p.Score += r.Weight()
	}
	return p, true
}

func sameIDNumber(a, b *rec) bool {
	return a.idNumber != "" && a.idNumber == b.idNumber
}

func sameNameBirthPhone(a, b *rec) bool {
	return a.name != "" && a.birth != "" && a.name == b.name && a.birth == b.birth &&
		sharesAny(a.phones, b.phones)
}

func samePinyinBirthNearName(a, b *rec) bool {
	if a.birth == "" || a.birth != b.birth || !sharesAny(a.readings, b.readings) {
		return false
	}
	homophone := a.allHan && b.allHan &&
		utf8.RuneCountInString(a.name) == utf8.RuneCountInString(b.name)
	return homophone || withinOneEdit(a.name, b.name)
}

// sharesAny reports whether two sorted lists have an element in common.
func sharesAny(a, b []string) bool {
	for len(a) > 0 && len(b) > 0 {
		switch c := cmp.Compare(a[0], b[0]); {
		case c == 0:
			return true
		case c < 0:
			a = a[1:]
		default:
			b = b[1:]
		}
	}
	return false
}

// withinOneEdit reports whether a and b differ by at most one inserted,
// deleted or replaced character (rune).
func withinOneEdit(a, b string) bool {
	// strip the common prefix and suffix; what is left must be at most
	// one rune on each side
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			break
		}
		a, b = a[na:], b[nb:]
	}
	for a != "" && b != "" {
		ra, na := utf8.DecodeLastRuneInString(a)
		rb, nb := utf8.DecodeLastRuneInString(b)
		if ra != rb {
			break
		}
		a, b = a[:len(a)-na], b[:len(b)-nb]
	}
	return utf8.RuneCountInString(a) <= 1 && utf8.RuneCountInString(b) <= 1
}

func sortPairs(ps []Pair) {
	slices.SortFunc(ps, func(p, q Pair) int {
		if c := cmp.Compare(q.Score, p.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(p.A, q.A); c != 0 {
			return c
		}
		return cmp.Compare(p.B, q.B)
	})
}
