package care

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestDuplicateKey(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		found    bool
		key      string
		path     string
	}{
		{"none", `{"fields":{"name":"a","age":1},"sets":{"name":["a"]}}`, false, "", ""},
		{"top level", `{"id":"a","id":"b"}`, true, "id", "id"},
		{"nested", `{"fields":{"name":"a","name":"b"}}`, true, "name", "fields.name"},
		{"in an array", `{"facts":{"v":[{"id":"1"},{"id":"2","id":"3"}]}}`, true, "id", "facts.v[1].id"},
		{"after nested values", `{"a":{"x":[1,{"y":2}]},"b":[[],{}],"a":3}`, true, "a", "a"},
		{"same key in sibling objects", `[{"a":1},{"a":2}]`, false, "", ""},
		{"same key at two depths", `{"a":{"a":{"a":1}}}`, false, "", ""},
		{"top-level array", `[{"k":1,"k":2}]`, true, "k", "[0].k"},
		{"escaped spelling", `{"n":1,"\u006e":2}`, true, "n", "n"},
		{"case differs", `{"n":1,"N":2}`, false, "", ""},
		{"empty key", `{"":1,"":2}`, true, "", ""},
		{"huge number", `{"a":1e999,"a":2}`, true, "a", "a"},
		{"not JSON", `{"a":1,"a"`, false, "", ""},
		{"null", `null`, false, "", ""},
		{"long key clipped", `{"` + strings.Repeat("k", 50) + `":1,"` + strings.Repeat("k", 50) + `":2}`, true,
			strings.Repeat("k", 40) + "…", strings.Repeat("k", 40) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, path, found := DuplicateKey([]byte(tc.in))
			if found != tc.found || key != tc.key || path != tc.path {
				t.Errorf("DuplicateKey(%s) = %q, %q, %v; want %q, %q, %v", tc.in, key, path, found, tc.key, tc.path, tc.found)
			}
		})
	}
}

// FuzzDuplicateKey: the scanner never panics, and on valid JSON it agrees
// with a plain recursive reference built from json.RawMessage.
func FuzzDuplicateKey(f *testing.F) {
	for _, s := range []string{
		`{"fields":{"name":"a","name":"b"}}`, `{"a":[{"b":1},{"b":2,"b":3}]}`, `[[],{},[{}]]`,
		`{"a":{"a":1}}`, `{"\u0061":1,"a":2}`, `{"a":1e999}`, `{"a":`, `null`, `"x"`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		key, path, found := DuplicateKey(data)
		if !json.Valid(data) {
			return
		}
		if want := refDuplicate(data); found != want {
			t.Fatalf("DuplicateKey(%q) found=%v, reference says %v", data, found, want)
		}
		if found && !strings.HasSuffix(path, key) {
			t.Fatalf("path %q does not end in key %q", path, key)
		}
	})
}

// refDuplicate reports whether any object in the valid JSON text raw has
// the same key twice.
func refDuplicate(raw []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return false
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			k, _ := dec.Token()
			var v json.RawMessage
			if dec.Decode(&v) != nil {
				return false
			}
			if seen[k.(string)] || refDuplicate(v) {
				return true
			}
			seen[k.(string)] = true
		}
	case json.Delim('['):
		for dec.More() {
			var v json.RawMessage
			if dec.Decode(&v) != nil {
				return false
			}
			if refDuplicate(v) {
				return true
			}
		}
	}
	return false
}
