package search

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Match is one search result.
type Match struct {
	ID    string // record id
	Score int    // higher is better; see the package documentation
	Why   string // what matched: one of the Why… constants
}

// What a match matched, from the strongest kind to the weakest.
const (
	WhyIDNumber       = "idNumber"       // the whole resident ID number
	WhyCard           = "card"           // the whole card number
	WhyPhone          = "phone"          // a whole phone number
	WhyName           = "name"           // the whole Chinese name
	WhyNamePrefix     = "namePrefix"     // the start of the name: the surname, or more
	WhyPinyin         = "pinyin"         // the whole name in full pinyin
	WhyPinyinPrefix   = "pinyinPrefix"   // the start of the full pinyin (zhangs)
	WhyInitials       = "initials"       // the initials of the whole name (zs)
	WhyInitialsPrefix = "initialsPrefix" // the initials of the start of the name
	WhyPinyinMixed    = "pinyinMixed"    // syllables and initials mixed (zhangsf, zsan)
	WhyPhoneLast4     = "phoneLast4"     // the last four digits of a phone
	WhyNamePart       = "namePart"       // two or more characters inside the name
)

type why uint8

const (
	whyNone why = iota
	whyNamePart
	whyPhoneLast4
	whyPinyinMixed
	whyInitialsPrefix
	whyInitials
	whyPinyinPrefix
	whyPinyin
	whyNamePrefix
	whyName
	whyPhone
	whyCard
	whyIDNumber
)

var whyNames = [...]string{
	whyNamePart:       WhyNamePart,
	whyPhoneLast4:     WhyPhoneLast4,
	whyPinyinMixed:    WhyPinyinMixed,
	whyInitialsPrefix: WhyInitialsPrefix,
	whyInitials:       WhyInitials,
	whyPinyinPrefix:   WhyPinyinPrefix,
	whyPinyin:         WhyPinyin,
	whyNamePrefix:     WhyNamePrefix,
	whyName:           WhyName,
	whyPhone:          WhyPhone,
	whyCard:           WhyCard,
	whyIDNumber:       WhyIDNumber,
}

// Scores: each kind has a base, 50 apart; a prefix or partial match loses
// one point per name character it leaves unmatched (at most 40), so that
// 张三 comes before 张三丰 within a kind but never crosses into the next.
const (
	scoreExact        = 1000 // ID number, card, whole phone
	scoreName         = 900
	scoreNamePrefix   = 800
	scorePinyin       = 700
	scorePinyinPrefix = 650
	scoreInitials     = 600
	scoreInitialsPfx  = 550
	scorePinyinMixed  = 500
	scorePhoneLast4   = 400
	scoreNamePart     = 300
	maxPenalty        = 40
)

// MaxQueryBytes is the longest query Search looks at; a longer one
// matches nothing, since nothing indexed is that long.
const MaxQueryBytes = 256

// defaultStepBudget bounds the work of one pinyin query (pieces and
// syllables tried), so that an adversarial query returns quickly with
// what it found so far. Real queries take a few hundred steps.
const defaultStepBudget = 20000

func penalty(extra int) int {
	return min(max(extra, 0), maxPenalty)
}

// Search returns the records matching q, best first (highest score, then
// ID), at most limit of them, or all when limit <= 0. The query may be a
// Chinese name or part of one, pinyin (full, prefix, initials or a mix),
// a phone number or its last four digits, an ID number or a card number;
// see the package documentation for how each is matched and ranked. A
// blank query, a single latin letter or digit, and anything longer than
// MaxQueryBytes match nothing.
func (x *Index) Search(q string, limit int) []Match {
	if len(q) > MaxQueryBytes {
		return nil
	}
	q = strings.TrimSpace(q)
	if r, n := utf8.DecodeRuneInString(q); n == len(q) && !unicode.Is(unicode.Han, r) {
		return nil // blank, or one letter or digit: would match too much or nothing useful
	}

	x.mu.RLock()
	defer x.mu.RUnlock()
	c := x.getCollector()
	defer x.putCollector(c)

	code := normCode(q)
	for _, s := range x.ids[code] {
		c.add(s, scoreExact, whyIDNumber)
	}
	for _, s := range x.cards[code] {
		c.add(s, scoreExact, whyCard)
	}
	if d, ok := phoneDigits(q); ok {
		for _, s := range x.phones[d] {
			c.add(s, scoreExact, whyPhone)
		}
		if len(d) == 4 {
			for _, s := range x.last4[d] {
				c.add(s, scorePhoneLast4, whyPhoneLast4)
			}
		}
	}
	if k, ok := hanKey(q); ok {
		x.searchName(c, k)
	} else if k, ok := pinyinKey(q); ok && len(k) >= 2 {
		x.searchPinyin(c, k)
	}
	return c.top(x, limit)
}

// searchName matches a Chinese query against names: exact and prefix
// through the sorted names, parts of two or more characters through the
// bigram of the query with the fewest records.
func (x *Index) searchName(c *collector, q string) {
	qr := utf8.RuneCountInString(q)
	i, _ := slices.BinarySearchFunc(x.names, q, func(s int32, q string) int {
		return strings.Compare(x.docs[s].name, q)
	})
	for ; i < len(x.names); i++ {
		s := x.names[i]
		rec := &x.docs[s]
		if !strings.HasPrefix(rec.name, q) {
			break
		}
		if rec.runes == qr {
			c.add(s, scoreName, whyName)
		} else {
			c.add(s, scoreNamePrefix-penalty(rec.runes-qr), whyNamePrefix)
		}
	}
	if qr < 2 {
		return
	}
	var best []int32
	found := false
	prev := rune(-1)
	for _, r := range q {
		if prev >= 0 {
			l := x.bigrams[uint64(prev)<<32|uint64(r)]
			if !found || len(l) < len(best) {
				best, found = l, true
			}
		}
		prev = r
	}
	for _, s := range best {
		rec := &x.docs[s]
		if strings.Contains(rec.name, q) {
			c.add(s, scoreNamePart-penalty(rec.runes-qr), whyNamePart)
		}
	}
}

// searchPinyin matches latin letters against the reading combinations.
// It walks the sorted entries as a trie: at depth d the query's next
// piece, one letter or more, must start the d-th syllable, and the pieces
// must use up the whole query. The entries whose d-th syllable starts
// with a piece are one contiguous run, found by binary search.
func (x *Index) searchPinyin(c *collector, q string) {
	w := pyWalk{x: x, c: c, q: q, budget: x.stepBudget}
	w.walk(0, 0, len(x.py), 0, true, true, true)
}

type pyWalk struct {
	x      *Index
	c      *collector
	q      string
	budget int
}

// walk matches q[i:] from depth d in the entries [lo, hi), which share
// their first d syllables. full reports that every piece so far was a
// whole syllable, fullBefore that every piece but the last was, single
// that every piece was one letter.
func (w *pyWalk) walk(d, lo, hi, i int, full, fullBefore, single bool) {
	x := w.x
	if i == len(w.q) {
		w.emit(d, lo, hi, full, fullBefore, single)
		return
	}
	// entries with exactly d syllables end here and cannot take more
	lo += sortSearch(hi-lo, func(j int) bool { return x.py[lo+j].n > uint16(d) })
	for k := 1; i+k <= len(w.q) && lo < hi; k++ {
		if w.budget--; w.budget < 0 {
			return
		}
		p := w.q[i : i+k]
		a := lo + sortSearch(hi-lo, func(j int) bool { return x.sylAt(lo+j, d) >= p })
		b := a + sortSearch(hi-a, func(j int) bool {
			s := x.sylAt(a+j, d)
			return !strings.HasPrefix(s, p)
		})
		if a == b {
			return // no syllable starts with p, so none with a longer piece
		}
		// one recursion per distinct syllable in [a, b)
		for g := a; g < b; {
			if w.budget--; w.budget < 0 {
				return
			}
			id := x.pool[x.py[g].off+uint32(d)]
			s := x.syl[id]
			e := g + sortSearch(b-g, func(j int) bool { return x.sylAt(g+j, d) > s })
			whole := len(s) == k
			w.walk(d+1, g, e, i+k, full && whole, full, single && k == 1)
			g = e
		}
	}
}

func (x *Index) sylAt(i, d int) string {
	e := x.py[i]
	return x.syl[x.pool[e.off+uint32(d)]]
}

// emit scores the entries [lo, hi), all of whose first d syllables the
// query matched.
func (w *pyWalk) emit(d, lo, hi int, full, fullBefore, single bool) {
	x := w.x
	for _, e := range x.py[lo:hi] {
		extra := int(e.n) - d
		score, kind := 0, whyNone
		switch {
		case full && extra == 0:
			score, kind = scorePinyin, whyPinyin
		case fullBefore:
			score, kind = scorePinyinPrefix-penalty(extra), whyPinyinPrefix
		case single && extra == 0:
			score, kind = scoreInitials, whyInitials
		case single:
			score, kind = scoreInitialsPfx-penalty(extra), whyInitialsPrefix
		default:
			score, kind = scorePinyinMixed-penalty(extra), whyPinyinMixed
		}
		w.c.add(e.slot, score, kind)
	}
}

// sortSearch is sort.Search without the import: the smallest j in [0, n)
// for which f is true, or n.
func sortSearch(n int, f func(int) bool) int {
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if !f(m) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// collector gathers the best score per slot for one search.
type collector struct {
	score   []int16 // by slot; 0 means not matched
	why     []why
	touched []int32
}

func (x *Index) getCollector() *collector {
	c, _ := x.scratch.Get().(*collector)
	if c == nil {
		c = new(collector)
	}
	if len(c.score) < len(x.docs) {
		n := len(x.docs) + len(x.docs)/8
		c.score = make([]int16, n)
		c.why = make([]why, n)
	}
	return c
}

func (x *Index) putCollector(c *collector) {
	for _, s := range c.touched {
		c.score[s] = 0
	}
	c.touched = c.touched[:0]
	x.scratch.Put(c)
}

func (c *collector) add(slot int32, score int, w why) {
	old := c.score[slot]
	if old == 0 {
		c.touched = append(c.touched, slot)
	}
	if int16(score) > old {
		c.score[slot] = int16(score)
		c.why[slot] = w
	}
}

// top returns the best limit matches (all when limit <= 0), ordered by
// score, then ID. It keeps a bounded heap, so a query matching tens of
// thousands of records does not sort them all.
func (c *collector) top(x *Index, limit int) []Match {
	if len(c.touched) == 0 {
		return nil
	}
	better := func(a, b int32) int { // < 0 when a ranks before b
		if c := cmp.Compare(c.score[b], c.score[a]); c != 0 {
			return c
		}
		return strings.Compare(x.docs[a].doc.ID, x.docs[b].doc.ID)
	}
	var keep []int32
	if limit <= 0 || len(c.touched) <= limit {
		keep = c.touched
	} else {
		// h is a heap with the worst kept slot at h[0]
		h := make([]int32, 0, limit)
		for _, s := range c.touched {
			if len(h) < limit {
				h = append(h, s)
				heapUp(h, len(h)-1, better)
			} else if better(s, h[0]) < 0 {
				h[0] = s
				heapDown(h, 0, better)
			}
		}
		keep = h
	}
	slices.SortFunc(keep, better)
	out := make([]Match, len(keep))
	for i, s := range keep {
		out[i] = Match{ID: x.docs[s].doc.ID, Score: int(c.score[s]), Why: whyNames[c.why[s]]}
	}
	return out
}

// heapUp and heapDown maintain a heap whose root is the slot that ranks
// last.
func heapUp(h []int32, i int, better func(a, b int32) int) {
	for i > 0 {
		p := (i - 1) / 2
		if better(h[p], h[i]) >= 0 {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func heapDown(h []int32, i int, better func(a, b int32) int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		w := l
		if r := l + 1; r < len(h) && better(h[r], h[l]) > 0 {
			w = r
		}
		if better(h[i], h[w]) >= 0 {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}
