package education

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

//go:embed articles/*.json
var shippedFS embed.FS

//go:embed rules.json
var shippedRules []byte

// Events a rule reacts to.
const (
	OnDiagnosis = "diagnosis"
)

// Rule pushes an article when an event matches it.
type Rule struct {
	// On is the event: "diagnosis" (a diagnosis added to a chart).
	On string `json:"on"`
	// Codes are ICD-10 categories or ranges the diagnosis must fall in.
	Codes []string `json:"codes"`
	// Article is the id of the article to send.
	Article string `json:"article"`
}

// Shipped returns the articles built into the binary, sorted by id.
func Shipped() ([]Article, error) { return loadArticles(shippedFS, "articles") }

func loadArticles(fsys fs.FS, dir string) ([]Article, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLibrary, err)
	}
	var out []Article
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrLibrary, name, err)
		}
		a, err := DecodeArticle(b)
		if err == nil {
			err = a.Validate()
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrLibrary, name, err)
		}
		if want := strings.TrimSuffix(path.Base(name), ".json"); a.ID != want {
			return nil, fmt.Errorf("%w: %s holds article %q", ErrLibrary, name, a.ID)
		}
		a.Shipped = true
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Article) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// ParseRules reads push rules and checks them against the articles they
// name.
func ParseRules(b []byte, lib []Article) ([]Rule, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var rules []Rule
	if err := dec.Decode(&rules); err != nil {
		return nil, fmt.Errorf("%w: rules: %w", ErrLibrary, err)
	}
	for i, r := range rules {
		if r.On != OnDiagnosis {
			return nil, fmt.Errorf("%w: rule %d: event %q; the events are %q", ErrLibrary, i, r.On, OnDiagnosis)
		}
		if len(r.Codes) == 0 {
			return nil, fmt.Errorf("%w: rule %d names no codes", ErrLibrary, i)
		}
		for j, c := range r.Codes {
			from, to, ok := parseRange(c)
			if !ok {
				return nil, fmt.Errorf("%w: rule %d: %q is not an ICD-10 category or range", ErrLibrary, i, c)
			}
			rules[i].Codes[j] = from + "-" + to
		}
		if !slices.ContainsFunc(lib, func(a Article) bool { return a.ID == r.Article }) {
			return nil, fmt.Errorf("%w: rule %d sends article %q, which is not in the library", ErrLibrary, i, r.Article)
		}
	}
	return rules, nil
}

// ShippedRules returns the push rules built into the binary.
func ShippedRules() ([]Rule, error) {
	lib, err := Shipped()
	if err != nil {
		return nil, err
	}
	return ParseRules(shippedRules, lib)
}

// RulesFor returns the article ids the rules send for a new diagnosis
// code, in rule order, each once.
func RulesFor(rules []Rule, code string) []string {
	var out []string
	for _, r := range rules {
		if r.On == OnDiagnosis && inConditions(code, r.Codes) && !slices.Contains(out, r.Article) {
			out = append(out, r.Article)
		}
	}
	return out
}
