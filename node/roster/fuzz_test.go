package roster

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"unicode/utf8"
)

func utf8Valid(b []byte) bool { return utf8.Valid(b) }

// FuzzParse: no input panics; every accepted row is normalised and valid;
// no two accepted rows share an ID or card number; and when Parse returns
// no error every data record is accepted, rejected or blank, exactly once.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.csv")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("姓名,性别,出生日期,电话,电话\n\"a\nb\",男,1980-1-1,\"x\"y,\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := Parse(bytes.NewReader(b), Options{Today: today, MaxRows: 1000}, nil)
		if err != nil {
			if errors.Is(err, ErrTooManyRows) || errors.Is(err, ErrHeader) || errors.Is(err, ErrNoHeader) || errors.Is(err, ErrEncoding) {
				return
			}
			t.Fatalf("unexpected error: %v", err)
		}
		ids, cards := map[string]bool{}, map[string]bool{}
		for _, r := range res.Rows {
			p := r.Patient
			if err := p.Validate(today); err != nil {
				t.Fatalf("line %d accepted but invalid: %v", r.Line, err)
			}
			if n := p.Normalize(); !reflect.DeepEqual(n, p) {
				t.Fatalf("line %d accepted but not normalised", r.Line)
			}
			if p.IDNumber != "" {
				if ids[p.IDNumber] {
					t.Fatalf("line %d: ID number accepted twice", r.Line)
				}
				ids[p.IDNumber] = true
			}
			if p.CardNumber != "" {
				if cards[p.CardNumber] {
					t.Fatalf("line %d: card number accepted twice", r.Line)
				}
				cards[p.CardNumber] = true
			}
		}
		for _, r := range res.Rejected {
			if len(r.Problems) == 0 || r.Line < 2 {
				t.Fatalf("rejected line %d with %d problems", r.Line, len(r.Problems))
			}
		}
		if got, want := len(res.Rows)+len(res.Rejected)+res.Blank, countRecords(t, b); got != want {
			t.Fatalf("accepted %d + rejected %d + blank %d != %d records", len(res.Rows), len(res.Rejected), res.Blank, want)
		}
	})
}
