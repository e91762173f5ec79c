package search

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"carenode/node/textnorm"
)

// Doc is what the index knows of one patient record: only the fields a
// clerk searches by. The index keeps the strings it is given and never
// writes them anywhere.
type Doc struct {
	ID       string   // record id
	Name     string   // Chinese name, surname first, e.g. 曾小单
	Phones   []string // mobiles or landlines, any punctuation
	IDNumber string   // 18-character resident ID number
	Card     string   // patient card number
}

// Index is an in-memory patient search index. The zero value is not
// usable; call New or Build.
//
// Concurrency: any number of goroutines may call Search and Len at once;
// Put and Delete take an exclusive lock, so they wait for searches in
// progress and block new ones for as long as they take (a few hundred
// microseconds at 100,000 patients, mostly moving the sorted slices).
type Index struct {
	mu sync.RWMutex

	docs  []docRec         // by slot; a free slot has an empty ID
	free  []int32          // free slots, reused by Put
	slots map[string]int32 // record id → slot

	ids    map[string][]int32 // normalized ID number → slots
	cards  map[string][]int32 // normalized card number → slots
	phones map[string][]int32 // phone digits → slots
	last4  map[string][]int32 // last four phone digits → slots

	names   []int32            // slots with a name, sorted by (name, slot)
	bigrams map[uint64][]int32 // two adjacent name characters → slots

	// Pinyin: one entry per reading combination of each name, sorted by
	// its syllable sequence. Entries sharing the first d syllables are
	// contiguous, so the slice is a trie over syllables laid out flat.
	py      []pyEntry
	pool    []uint16 // syllable ids of every entry, entry i at pool[off:off+n]
	garbage int      // pool elements no entry points to any more
	syl     []string // syllable by id
	sylID   map[string]uint16

	scratch    sync.Pool // *collector
	stepBudget int       // work allowed per pinyin query; tests lower it
}

type docRec struct {
	doc   Doc
	name  string // normalized name
	runes int    // characters in name
}

// pyEntry is one reading combination of one name.
type pyEntry struct {
	off  uint32 // in pool
	n    uint16 // syllables
	slot int32
}

// New returns an empty index.
func New() *Index {
	return &Index{
		slots:   make(map[string]int32),
		ids:     make(map[string][]int32),
		cards:   make(map[string][]int32),
		phones:  make(map[string][]int32),
		last4:   make(map[string][]int32),
		bigrams: make(map[uint64][]int32),
		sylID:   make(map[string]uint16),

		stepBudget: defaultStepBudget,
	}
}

// Len returns the number of records in the index.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.slots)
}

// Put adds d, or replaces the record with the same ID. A Doc without an
// ID is ignored.
func (x *Index) Put(d Doc) {
	if d.ID == "" {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	slot, ok := x.slots[d.ID]
	if ok {
		x.unindex(slot)
	} else if n := len(x.free); n > 0 {
		slot = x.free[n-1]
		x.free = x.free[:n-1]
	} else {
		slot = int32(len(x.docs))
		x.docs = append(x.docs, docRec{})
	}
	x.slots[d.ID] = slot
	x.docs[slot] = newRec(d)
	x.indexKeys(slot)

	rec := &x.docs[slot]
	if rec.name != "" {
		i, _ := slices.BinarySearchFunc(x.names, slot, x.cmpNameSlot)
		x.names = slices.Insert(x.names, i, slot)
	}
	x.eachSeq(rec.name, func(seq []uint16) {
		i, _ := slices.BinarySearchFunc(x.py, seq, func(e pyEntry, seq []uint16) int {
			return x.cmpEntrySeq(e, seq, slot)
		})
		e := pyEntry{off: uint32(len(x.pool)), n: uint16(len(seq)), slot: slot}
		x.pool = append(x.pool, seq...)
		x.py = slices.Insert(x.py, i, e)
	})
}

// Delete removes the record with the given ID, if present.
func (x *Index) Delete(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	slot, ok := x.slots[id]
	if !ok {
		return
	}
	x.unindex(slot)
	delete(x.slots, id)
	x.docs[slot] = docRec{}
	x.free = append(x.free, slot)
}

// Build returns an index of docs. It is equivalent to Put of each in
// turn (a later Doc replaces an earlier one with the same ID) but sorts
// once instead of inserting one by one.
func Build(docs []Doc) *Index {
	x := New()
	last := make(map[string]int, len(docs))
	for i, d := range docs {
		if d.ID != "" {
			last[d.ID] = i
		}
	}
	x.docs = make([]docRec, 0, len(last))
	x.slots = make(map[string]int32, len(last))
	x.ids = make(map[string][]int32, len(last))
	x.cards = make(map[string][]int32, len(last))
	x.phones = make(map[string][]int32, len(last))
	x.names = make([]int32, 0, len(last))
	x.py = make([]pyEntry, 0, len(last)*3/2)
	x.pool = make([]uint16, 0, len(last)*4)
	for i, d := range docs {
		if d.ID == "" || last[d.ID] != i {
			continue
		}
		slot := int32(len(x.docs))
		x.docs = append(x.docs, newRec(d))
		x.slots[d.ID] = slot
		x.indexKeys(slot)
		rec := &x.docs[slot]
		if rec.name != "" {
			x.names = append(x.names, slot)
		}
		x.eachSeq(rec.name, func(seq []uint16) {
			x.py = append(x.py, pyEntry{off: uint32(len(x.pool)), n: uint16(len(seq)), slot: slot})
			x.pool = append(x.pool, seq...)
		})
	}
	slices.SortFunc(x.names, x.cmpNameSlot)
	slices.SortFunc(x.py, x.cmpEntries)
	return x
}

func newRec(d Doc) docRec {
	name := textnorm.NameKey(d.Name)
	return docRec{doc: d, name: name, runes: utf8.RuneCountInString(name)}
}

// indexKeys adds slot to the hash maps: identifiers and name bigrams.
func (x *Index) indexKeys(slot int32) {
	x.eachKey(slot, func(m map[string][]int32, k string) {
		m[k] = append(m[k], slot)
	}, func(b uint64) {
		x.bigrams[b] = append(x.bigrams[b], slot)
	})
}

// unindex removes everything the index holds for slot except the slot
// itself.
func (x *Index) unindex(slot int32) {
	x.eachKey(slot, func(m map[string][]int32, k string) {
		if l := removeSlot(m[k], slot); len(l) > 0 {
			m[k] = l
		} else {
			delete(m, k)
		}
	}, func(b uint64) {
		if l := removeSlot(x.bigrams[b], slot); len(l) > 0 {
			x.bigrams[b] = l
		} else {
			delete(x.bigrams, b)
		}
	})
	rec := &x.docs[slot]
	if rec.name != "" {
		if i, ok := slices.BinarySearchFunc(x.names, slot, x.cmpNameSlot); ok {
			x.names = slices.Delete(x.names, i, i+1)
		}
	}
	x.eachSeq(rec.name, func(seq []uint16) {
		i, ok := slices.BinarySearchFunc(x.py, seq, func(e pyEntry, seq []uint16) int {
			return x.cmpEntrySeq(e, seq, slot)
		})
		if ok {
			x.garbage += int(x.py[i].n)
			x.py = slices.Delete(x.py, i, i+1)
		}
	})
	if x.garbage > 1024 && x.garbage > len(x.pool)/2 {
		x.compactPool()
	}
}

// compactPool copies the live syllable sequences into a fresh pool, so
// that replacing records again and again does not grow memory without
// bound.
func (x *Index) compactPool() {
	pool := make([]uint16, 0, len(x.pool)-x.garbage)
	for i := range x.py {
		e := &x.py[i]
		off := uint32(len(pool))
		pool = append(pool, x.pool[e.off:e.off+uint32(e.n)]...)
		e.off = off
	}
	x.pool = pool
	x.garbage = 0
}

func removeSlot(l []int32, slot int32) []int32 {
	for i, s := range l {
		if s == slot {
			l[i] = l[len(l)-1]
			return l[:len(l)-1]
		}
	}
	return l
}

// eachKey calls key for every (map, key) pair and bigram for every name
// bigram that slot's record is indexed under, each once.
func (x *Index) eachKey(slot int32, key func(map[string][]int32, string), bigram func(uint64)) {
	rec := &x.docs[slot]
	if k := normCode(rec.doc.IDNumber); k != "" {
		key(x.ids, k)
	}
	if k := normCode(rec.doc.Card); k != "" {
		key(x.cards, k)
	}
	var seen [4]string // phones and last4 keys done, to index each once
	var done []string = seen[:0]
	for _, p := range rec.doc.Phones {
		d := docPhone(p)
		if d == "" || contains(done, d) {
			continue
		}
		done = append(done, d)
		key(x.phones, d)
	}
	var l4 []string
	for _, d := range done {
		if len(d) < 4 {
			continue
		}
		if k := d[len(d)-4:]; !contains(l4, k) {
			l4 = append(l4, k)
			key(x.last4, k)
		}
	}
	var bseen []uint64
	var prev rune = -1
	for _, r := range rec.name {
		if prev >= 0 {
			b := uint64(prev)<<32 | uint64(r)
			if !slices.Contains(bseen, b) {
				bseen = append(bseen, b)
				bigram(b)
			}
		}
		prev = r
	}
}

// docPhone returns the digits of a stored phone number, dropping any
// other character, with the country code removed as in a query.
func docPhone(p string) string {
	if d, ok := phoneDigits(p); ok {
		return d
	}
	d, _ := phoneDigits(strings.Map(func(r rune) rune {
		if r = textnorm.FoldWidth(r); r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, p))
	return d
}

// eachSeq calls fn with the syllable ids of each reading combination of
// a normalized name, interning new syllables. fn must not keep seq.
func (x *Index) eachSeq(name string, fn func(seq []uint16)) {
	if name == "" {
		return
	}
	var buf [8]uint16
	eachCombination(nameSyllables(name), func(s []string) {
		seq := buf[:0]
		for _, v := range s {
			seq = append(seq, x.intern(v))
		}
		fn(seq)
	})
}

func (x *Index) intern(s string) uint16 {
	if id, ok := x.sylID[s]; ok {
		return id
	}
	id := uint16(len(x.syl))
	x.syl = append(x.syl, s)
	x.sylID[s] = id
	return id
}

func (x *Index) cmpNameSlot(a, b int32) int {
	if c := strings.Compare(x.docs[a].name, x.docs[b].name); c != 0 {
		return c
	}
	return cmp.Compare(a, b)
}

// cmpEntries orders entries by syllable sequence (a sequence before its
// extensions), then slot.
func (x *Index) cmpEntries(a, b pyEntry) int {
	return x.cmpEntrySeq(a, x.pool[b.off:b.off+uint32(b.n)], b.slot)
}

func (x *Index) cmpEntrySeq(e pyEntry, seq []uint16, slot int32) int {
	es := x.pool[e.off : e.off+uint32(e.n)]
	for i := 0; i < len(es) && i < len(seq); i++ {
		if es[i] != seq[i] {
			return strings.Compare(x.syl[es[i]], x.syl[seq[i]])
		}
	}
	if c := cmp.Compare(len(es), len(seq)); c != 0 {
		return c
	}
	return cmp.Compare(e.slot, slot)
}
