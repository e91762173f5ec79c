package roster

import (
	"errors"
	"fmt"
	"strings"
)

// ErrOptions means Options cannot be used (no Today, a negative MaxRows).
var ErrOptions = errors.New("roster: invalid options")

// ErrEncoding means the file is in an encoding Parse does not read (UTF-16,
// which Excel writes for "Unicode Text"); the clerk should save it as
// "CSV UTF-8" or plain "CSV".
var ErrEncoding = errors.New("roster: unsupported encoding")

// ErrNoHeader means the file holds no header line: it is empty, or its
// first line is not valid CSV.
var ErrNoHeader = errors.New("roster: no header line")

// ErrHeader means the header cannot be used: a required column is missing
// or a column is named twice. The error is a *HeaderError.
var ErrHeader = errors.New("roster: unusable header")

// ErrTooManyRows means the file has more data rows than Options.MaxRows.
var ErrTooManyRows = errors.New("roster: too many rows")

// HeaderError says what is wrong with the header line, naming the headers
// that were found so the clerk can see which one to rename. Column names
// are not personal data, so they may be quoted.
type HeaderError struct {
	Line      int                 // line of the header in the file, 1-based
	Missing   []string            // required fields with no column: "name", "sex", "birthDate"
	Duplicate map[string][]string // field -> the headers that all map to it
	Found     []string            // every header, as written
	lang      string
}

// Error returns the message in the language Parse was given.
func (e *HeaderError) Error() string { return e.Message(e.lang) }

// Unwrap makes errors.Is(err, ErrHeader) true.
func (e *HeaderError) Unwrap() error { return ErrHeader }

// Message returns the message in lang: Chinese for "zh…", English otherwise.
func (e *HeaderError) Message(lang string) string {
	zh := isZh(lang)
	var parts []string
	if len(e.Missing) > 0 {
		names := make([]string, len(e.Missing))
		for i, f := range e.Missing {
			names[i] = fieldLabel(f, zh)
		}
		if zh {
			parts = append(parts, "缺少必填列："+strings.Join(names, "、")+"。")
		} else {
			parts = append(parts, "Required column missing: "+strings.Join(names, ", ")+".")
		}
	}
	for _, f := range sortedKeys(e.Duplicate) {
		hs := quoteAll(e.Duplicate[f])
		if zh {
			parts = append(parts, fmt.Sprintf("%s 都表示%s，请只保留一列。", strings.Join(hs, "、"), fieldLabel(f, true)))
		} else {
			parts = append(parts, fmt.Sprintf("%s all mean %s; keep only one of them.", strings.Join(hs, ", "), fieldLabel(f, false)))
		}
	}
	found := strings.Join(quoteAll(e.Found), ", ")
	if zh {
		parts = append(parts, fmt.Sprintf("第%d行的列名为：%s。必填列为 姓名、性别、出生日期（也可写 name、sex、birthDate）。", e.Line, found))
		return strings.Join(parts, "")
	}
	parts = append(parts, fmt.Sprintf("The header on line %d has: %s. Required columns are name, sex and birthDate (or 姓名, 性别, 出生日期).", e.Line, found))
	return strings.Join(parts, " ")
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
