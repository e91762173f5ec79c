// Package tablegen turns the hand-checked source files in node/icd10/source
// into the table text that package icd10 embeds (compressed) and reads.
//
// It lives apart from package icd10 so that gen.go, which writes the
// embedded file, and the test that proves the embedded file is current run
// exactly the same code. It reads only what it is given and writes nothing.
//
// The sources (see SOURCE.md beside package icd10):
//
//   - categories.tsv: every ICD-10-CM three-character category, CODE<TAB>title.
//   - codes.tsv: ICD-10-CM codes copied whole for selected categories, in the
//     CDC "codes" layout (code without dot, whitespace, title). A category
//     with at least one line here is complete: every code under it is listed.
//   - extra.tsv: entries written by the project, CODE<TAB>English<TAB>中文.
//   - zh.tsv: the project's Chinese titles, CODE<TAB>中文.
//
// The output has one comment line, then one line per entry sorted by code:
//
//	KEY<TAB>FLAGS<TAB>TitleEn<TAB>TitleZh
//
// KEY is the code without its dot. FLAGS holds "c" for a three-character
// category, "k" for a category whose subcodes are all listed, and "p" when
// the English title is the project's own wording rather than ICD-10-CM's.
package tablegen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Release names the ICD-10-CM release the CDC files come from; it is written
// into the table's first line.
const Release = "ICD-10-CM April 1, 2026 (CDC/NCHS, US public domain)"

// Stats counts what Build produced.
type Stats struct {
	Categories      int // three-character categories
	Complete        int // categories whose subcodes are all listed
	AddedCategories int // categories found only in codes.tsv or extra.tsv
	Subcodes        int // codes longer than three characters
	ProjectEntries  int // entries with a project-written English title
	ChineseTitles   int // entries with a Chinese title
}

type entry struct {
	key, en, zh    string
	category, own  bool
	complete, code bool
}

// Build reads the source files in dir and returns the table text.
func Build(dir string) ([]byte, Stats, error) {
	var st Stats
	entries := map[string]*entry{}

	cats, err := readTSV(filepath.Join(dir, "categories.tsv"), 2)
	if err != nil {
		return nil, st, err
	}
	for _, r := range cats {
		key := r.f[0]
		if len(key) != 3 || !validKey(key) {
			return nil, st, fmt.Errorf("categories.tsv:%d: %q is not a three-character category", r.line, key)
		}
		if entries[key] != nil {
			return nil, st, fmt.Errorf("categories.tsv:%d: %s listed twice", r.line, key)
		}
		entries[key] = &entry{key: key, en: r.f[1], category: true}
	}

	codes, err := readCodes(filepath.Join(dir, "codes.tsv"))
	if err != nil {
		return nil, st, err
	}
	listed := map[string]bool{}
	for _, r := range codes {
		key := r.f[0]
		if !validKey(key) {
			return nil, st, fmt.Errorf("codes.tsv:%d: %q is not an ICD-10 code", r.line, key)
		}
		if listed[key] {
			return nil, st, fmt.Errorf("codes.tsv:%d: %s listed twice", r.line, key)
		}
		listed[key] = true
		cat := entries[key[:3]]
		if cat == nil {
			if len(key) != 3 {
				return nil, st, fmt.Errorf("codes.tsv:%d: %s has no category %s in categories.tsv", r.line, key, key[:3])
			}
			// A billable three-character code the category list lacks
			// (J4B in the April 2026 files): it is its own category.
			cat = &entry{key: key, en: r.f[1], category: true}
			entries[key] = cat
			st.AddedCategories++
		}
		cat.complete = true
		if len(key) == 3 {
			continue // the category line already carries the title
		}
		entries[key] = &entry{key: key, en: r.f[1], code: true}
	}

	extra, err := readTSV(filepath.Join(dir, "extra.tsv"), 3)
	if err != nil {
		return nil, st, err
	}
	for _, r := range extra {
		key := r.f[0]
		if !validKey(key) {
			return nil, st, fmt.Errorf("extra.tsv:%d: %q is not an ICD-10 code", r.line, key)
		}
		if entries[key] != nil {
			return nil, st, fmt.Errorf("extra.tsv:%d: %s is already in the ICD-10-CM files; extra entries never replace them", r.line, key)
		}
		e := &entry{key: key, en: r.f[1], zh: r.f[2], own: true}
		if len(key) == 3 {
			e.category, e.complete = true, true
			st.AddedCategories++
		} else {
			cat := entries[key[:3]]
			switch {
			case cat == nil:
				return nil, st, fmt.Errorf("extra.tsv:%d: %s has no category; add the category line first", r.line, key)
			case !cat.complete:
				return nil, st, fmt.Errorf("extra.tsv:%d: %s is in %s, whose subcodes are not shipped, so it could not be checked", r.line, key, cat.key)
			case !cat.own && !isHeading(key, listed):
				return nil, st, fmt.Errorf("extra.tsv:%d: %s is neither a new code nor a heading above a listed ICD-10-CM code", r.line, key)
			}
			e.code = true
		}
		entries[key] = e
	}

	zh, err := readTSV(filepath.Join(dir, "zh.tsv"), 2)
	if err != nil {
		return nil, st, err
	}
	seenZh := map[string]bool{}
	for _, r := range zh {
		e := entries[r.f[0]]
		switch {
		case e == nil:
			return nil, st, fmt.Errorf("zh.tsv:%d: %s is not in the table", r.line, r.f[0])
		case seenZh[r.f[0]] || e.zh != "":
			return nil, st, fmt.Errorf("zh.tsv:%d: %s has a Chinese title already", r.line, r.f[0])
		}
		seenZh[r.f[0]] = true
		e.zh = r.f[1]
	}

	keys := make([]string, 0, len(entries))
	for k := range entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	fmt.Fprintf(&b, "# carenode icd10 table; source: %s; entries: %d\n", Release, len(keys))
	for _, k := range keys {
		e := entries[k]
		flags := ""
		if e.category {
			flags += "c"
			st.Categories++
			if e.complete {
				flags += "k"
				st.Complete++
			}
		} else {
			st.Subcodes++
		}
		if e.own {
			flags += "p"
			st.ProjectEntries++
		}
		if flags == "" {
			flags = "-"
		}
		if e.zh != "" {
			st.ChineseTitles++
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", e.key, flags, e.en, e.zh)
	}
	return b.Bytes(), st, nil
}

// isHeading reports whether key sits above a listed code: E113 above E11311.
// A trailing X is a placeholder, never a heading of its own.
func isHeading(key string, listed map[string]bool) bool {
	if strings.HasSuffix(key, "X") {
		return false
	}
	for k := range listed {
		if len(k) > len(key) && strings.HasPrefix(k, key) {
			return true
		}
	}
	return false
}

// validKey checks the dotless form: a letter, two letters-or-digits with at
// least one digit, then up to four letters or digits.
func validKey(k string) bool {
	if len(k) < 3 || len(k) > 7 || k[0] < 'A' || k[0] > 'Z' {
		return false
	}
	if !isDigit(k[1]) && !isDigit(k[2]) {
		return false
	}
	for i := 1; i < len(k); i++ {
		if !isDigit(k[i]) && (k[i] < 'A' || k[i] > 'Z') {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

type row struct {
	line int
	f    []string
}

// readTSV reads lines of exactly n tab-separated, non-empty fields, skipping
// blank lines and lines starting with '#'.
func readTSV(path string, n int) ([]row, error) {
	return readLines(path, func(s string) ([]string, bool) {
		f := strings.Split(s, "\t")
		if len(f) != n {
			return nil, false
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
			if f[i] == "" {
				return nil, false
			}
		}
		return f, true
	})
}

// readCodes reads the CDC codes layout: the code, a run of spaces or tabs,
// the title. The full CDC file can be dropped in unchanged.
func readCodes(path string) ([]row, error) {
	return readLines(path, func(s string) ([]string, bool) {
		i := strings.IndexAny(s, " \t")
		if i <= 0 {
			return nil, false
		}
		title := strings.TrimSpace(s[i:])
		if title == "" {
			return nil, false
		}
		return []string{s[:i], title}, true
	})
}

func readLines(path string, split func(string) ([]string, bool)) ([]row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read source: %w", err)
	}
	defer f.Close()
	var rows []row
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		s := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(s) == "" || strings.HasPrefix(s, "#") {
			continue
		}
		fields, ok := split(s)
		if !ok {
			return nil, fmt.Errorf("%s:%d: malformed line %q", filepath.Base(path), n, s)
		}
		rows = append(rows, row{line: n, f: fields})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	if len(rows) == 0 {
		return nil, errors.New(filepath.Base(path) + ": no entries")
	}
	return rows, nil
}
