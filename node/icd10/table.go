package icd10

import (
	"bytes"
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/klauspost/compress/zstd"
)

//go:generate go run gen.go

// embedded is the table gen.go builds from source/. It is the package's only
// package-level state and is never written.
//
//go:embed codes.tsv.zst
var embedded []byte

// Table answers lookups and searches over the code table. Build one with
// Default and keep it: the table is decompressed and indexed on first use,
// once, and is read-only afterwards, so a Table is safe for concurrent use.
// The zero Table holds no table; every Lookup on it fails with ErrTable.
type Table struct {
	src  []byte
	once sync.Once
	err  error

	entries []entry
	index   map[string]int
	stats   Stats
}

type entry struct {
	key      string // dotless, "E119"
	code     string // canonical, "E11.9"
	en, zh   string
	enLower  string
	category bool
	complete bool // category whose subcodes are all in the table
	own      bool // TitleEn is the project's wording
}

// Stats describes the loaded table.
type Stats struct {
	Source     string // the release the ICD-10-CM titles come from
	Categories int    // three-character categories
	Complete   int    // categories whose subcodes are all in the table
	Subcodes   int    // entries longer than three characters
	Chinese    int    // entries with a Chinese title
	Project    int    // entries whose English title is the project's own
}

// Default returns a Table over the code table built into the binary.
func Default() *Table { return &Table{src: embedded} }

// Load reads the table now rather than on first use, so a node can fail at
// start-up instead of on a clerk's first diagnosis. Calling it again is
// cheap and returns the same result.
func (t *Table) Load() error {
	t.once.Do(func() { t.err = t.load() })
	return t.err
}

func (t *Table) load() error {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrTable, err)
	}
	defer dec.Close()
	text, err := dec.DecodeAll(t.src, nil)
	if err != nil {
		return fmt.Errorf("%w: decompress: %w", ErrTable, err)
	}
	lines := bytes.Split(bytes.TrimSuffix(text, []byte("\n")), []byte("\n"))
	if len(lines) < 2 || !bytes.HasPrefix(lines[0], []byte("#")) {
		return fmt.Errorf("%w: no header line", ErrTable)
	}
	if _, src, ok := strings.Cut(string(lines[0]), "source: "); ok {
		t.stats.Source, _, _ = strings.Cut(src, ";")
	}
	t.entries = make([]entry, 0, len(lines)-1)
	t.index = make(map[string]int, len(lines)-1)
	for n, line := range lines[1:] {
		f := strings.Split(string(line), "\t")
		if len(f) != 4 {
			return fmt.Errorf("%w: line %d has %d fields", ErrTable, n+2, len(f))
		}
		key, canon, ok := parse(f[0])
		if !ok || key != f[0] || f[2] == "" {
			return fmt.Errorf("%w: line %d: bad entry %q", ErrTable, n+2, f[0])
		}
		if len(t.entries) > 0 && t.entries[len(t.entries)-1].key >= key {
			return fmt.Errorf("%w: line %d: %s out of order", ErrTable, n+2, key)
		}
		e := entry{
			key: key, code: canon, en: f[2], zh: f[3], enLower: strings.ToLower(f[2]),
			category: strings.Contains(f[1], "c"),
			complete: strings.Contains(f[1], "k"),
			own:      strings.Contains(f[1], "p"),
		}
		if e.category != (len(key) == 3) {
			return fmt.Errorf("%w: line %d: %s category flag wrong", ErrTable, n+2, key)
		}
		if !e.category {
			if _, ok := t.index[key[:3]]; !ok {
				return fmt.Errorf("%w: line %d: %s has no category", ErrTable, n+2, key)
			}
			t.stats.Subcodes++
		} else {
			t.stats.Categories++
			if e.complete {
				t.stats.Complete++
			}
		}
		if e.zh != "" {
			t.stats.Chinese++
		}
		if e.own {
			t.stats.Project++
		}
		t.index[key] = len(t.entries)
		t.entries = append(t.entries, e)
	}
	return nil
}

// Stats returns counts and the source release of the table, loading it if
// needed.
func (t *Table) Stats() (Stats, error) {
	if err := t.Load(); err != nil {
		return Stats{}, err
	}
	return t.stats, nil
}

// Lookup checks code against the table and returns it in canonical form
// with its titles. It forgives case, a missing dot, surrounding spaces and
// full-width characters ("e119 " is E11.9). The error is an *Error wrapping
// ErrMalformed or ErrUnknown; Describe turns it into a sentence for a clerk.
//
// A code the table does not list itself is still accepted, with Listed
// false, when it is a heading above listed codes (I25.7) or lies in a
// category whose subcodes the table does not ship (K57.30). In a category
// whose subcodes are all shipped, anything else is ErrUnknown.
func (t *Table) Lookup(code string) (Code, error) {
	key, canon, ok := parse(code)
	if !ok {
		return Code{}, &Error{Input: code, Err: ErrMalformed}
	}
	if err := t.Load(); err != nil {
		return Code{}, err
	}
	if i, ok := t.index[key]; ok {
		return t.entries[i].toCode(true), nil
	}
	ci, ok := t.index[key[:3]]
	if !ok {
		return Code{}, &Error{Input: code, Err: ErrUnknown}
	}
	if t.entries[ci].complete && !t.heading(key) {
		return Code{}, &Error{Input: code, Err: ErrUnknown}
	}
	anc := t.entries[ci]
	for n := len(key) - 1; n > 3; n-- {
		if i, ok := t.index[key[:n]]; ok {
			anc = t.entries[i]
			break
		}
	}
	c := anc.toCode(false)
	c.Code = canon
	return c, nil
}

// heading reports whether key lies strictly above a listed code. A trailing
// X is a placeholder inside longer codes, not a heading.
func (t *Table) heading(key string) bool {
	if strings.HasSuffix(key, "X") {
		return false
	}
	i := sort.Search(len(t.entries), func(i int) bool { return t.entries[i].key > key })
	return i < len(t.entries) && strings.HasPrefix(t.entries[i].key, key)
}

func (e entry) toCode(listed bool) Code {
	return Code{Code: e.code, TitleEn: e.en, TitleZh: e.zh, Listed: listed}
}

// Search finds codes for a picker. A query shaped like the start of a code
// ("E11", "e11.6", "I1") returns the codes that begin with it, in code
// order. Any other query is words: every word must appear in the English or
// the Chinese title ("heart failure", "糖尿病", "2型糖尿病 肾"). Word results
// put an exact title first, then broader codes before narrower ones, each
// level in code order, so "高血压" lists I10–I1A before their subcodes. At
// most limit codes are returned; limit <= 0 returns none.
func (t *Table) Search(query string, limit int) []Code {
	query = strings.TrimFunc(query, unicode.IsSpace)
	if limit <= 0 || query == "" || len(query) > 200 || t.Load() != nil {
		return nil
	}
	if prefix, ok := codePrefix(query); ok {
		var out []Code
		i := sort.Search(len(t.entries), func(i int) bool { return t.entries[i].key >= prefix })
		for ; i < len(t.entries) && len(out) < limit; i++ {
			e := t.entries[i]
			if !strings.HasPrefix(e.key, prefix) {
				break
			}
			out = append(out, e.toCode(true))
		}
		return out
	}
	words := strings.FieldsFunc(strings.ToLower(query), unicode.IsSpace)
	whole := strings.Join(words, " ")
	var exact, rest []int
	for i := range t.entries {
		e := &t.entries[i]
		switch {
		case !matchAll(e, words):
		case e.enLower == whole || e.zh == whole:
			exact = append(exact, i)
		default:
			rest = append(rest, i)
		}
	}
	// Entries are in code order; a stable sort by length keeps that order
	// within each level.
	sort.SliceStable(rest, func(a, b int) bool { return len(t.entries[rest[a]].key) < len(t.entries[rest[b]].key) })
	out := make([]Code, 0, min(limit, len(exact)+len(rest)))
	for _, i := range append(exact, rest...) {
		if len(out) == limit {
			break
		}
		out = append(out, t.entries[i].toCode(true))
	}
	return out
}

func matchAll(e *entry, words []string) bool {
	for _, w := range words {
		if !strings.Contains(e.enLower, w) && !strings.Contains(e.zh, w) {
			return false
		}
	}
	return true
}

// codePrefix recognises a query that is the start of a code and returns it
// dotless: a letter alone, or a letter, a digit and up to five more code
// characters with the dot, if any, after the third.
func codePrefix(q string) (string, bool) {
	if len(q) > 8 {
		return "", false
	}
	if key, _, ok := parse(strings.TrimSuffix(q, ".")); ok {
		return key, true // a trailing dot is half-typed, as in "E11."
	}
	q = strings.ToUpper(strings.Map(foldWidth, q))
	switch {
	case len(q) == 1 && q[0] >= 'A' && q[0] <= 'Z':
		return q, true
	case len(q) == 2 && q[0] >= 'A' && q[0] <= 'Z' && isDigit(q[1]):
		return q, true
	}
	return "", false
}
