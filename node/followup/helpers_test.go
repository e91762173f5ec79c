package followup

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func date(t testing.TB, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func template(t testing.TB, id string) Template {
	t.Helper()
	for _, x := range DefaultTemplates() {
		if x.ID == id {
			return x
		}
	}
	t.Fatalf("no shipped template %s", id)
	return Template{}
}

// minimal is a valid template to vary in tests, as JSON.
const minimal = `{"id":"t","name":{"en":"T","zh":"甲"},"triggers":[{"event":"procedure","procedure":"surgery"}],
"schedule":{"offsets":[{"days":1}]},"method":"phone","sendSummary":false,"questions":[]}`

// vary returns minimal with the top-level fields of patch replaced.
func vary(t testing.TB, patch string) []byte {
	t.Helper()
	var m, p map[string]json.RawMessage
	if err := json.Unmarshal([]byte(minimal), &m); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(patch), &p); err != nil {
		t.Fatalf("patch %s: %v", patch, err)
	}
	for k, v := range p {
		if string(v) == "null" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkError checks err is an *Error of kind whose problems are complete,
// and returns it.
func checkError(t testing.TB, err error, kind error) *Error {
	t.Helper()
	var fe *Error
	if !errors.As(err, &fe) || !errors.Is(err, kind) || len(fe.Problems) == 0 {
		t.Fatalf("error %T %v is not an *Error of %v with problems", err, err, kind)
	}
	for _, p := range fe.Problems {
		if p.Code == "" || strings.TrimSpace(p.En) == "" || strings.TrimSpace(p.Zh) == "" {
			t.Fatalf("incomplete problem %+v", p)
		}
	}
	if fe.Message("zh") == "" || fe.Message("en") == "" {
		t.Fatal("empty message")
	}
	return fe
}
