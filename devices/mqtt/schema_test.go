package mqtt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The JSON Schema is checked with a validator of the keywords it uses,
// written here: no JSON Schema library is among the module's
// dependencies, and one is not worth adding for a test. A keyword the
// validator does not know fails the test, so the schema cannot grow a rule
// that is silently not checked.

// TestSchemaAgainstSamples: every testdata/payloads/valid-* sample meets
// reading.schema.json and decodes without error; every invalid-* sample
// breaks the schema. Whatever meets the schema, Decode accepts.
func TestSchemaAgainstSamples(t *testing.T) {
	schema := loadSchema(t)
	files, err := filepath.Glob("testdata/payloads/*.json")
	if err != nil || len(files) < 10 {
		t.Fatalf("samples: %v, %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var doc any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			verr := validate(schema, doc, "$")
			_, derr := Decode(raw, "dev-1")
			switch {
			case strings.HasPrefix(filepath.Base(f), "valid-"):
				if verr != nil {
					t.Errorf("schema: %v", verr)
				}
				if derr != nil {
					t.Errorf("Decode: %v", derr)
				}
			case verr == nil:
				t.Errorf("an invalid sample meets the schema")
			}
		})
	}
}

// TestSchemaValidatorCatches makes sure the validator itself can fail: the
// samples' verdicts mean nothing if it passes everything.
func TestSchemaValidatorCatches(t *testing.T) {
	schema := loadSchema(t)
	for _, doc := range []string{`{}`, `{"id":"","readings":[]}`, `{"id":"a","readings":{}}`,
		`{"id":"a","readings":[{"type":"spo2","value":"97"}]}`, `{"id":"a","readings":[{"loinc":"abc","value":"1","unit":"%"}]}`,
		`{"id":"a","time":"2026-13-01T00:00:00Z","readings":[]}`} {
		var v any
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatal(err)
		}
		if validate(schema, v, "$") == nil {
			t.Errorf("%s passes", doc)
		}
	}
}

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("reading.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("reading.schema.json: %v", err)
	}
	return s
}

func validate(s map[string]any, v any, at string) error {
	for k, rule := range s {
		var err error
		switch k {
		case "$schema", "$id", "title", "description", "properties", "additionalProperties":
			// properties and additionalProperties are checked with "type".
		case "type":
			err = checkType(s, rule.(string), v, at)
		case "required":
			if o, ok := v.(map[string]any); ok {
				for _, name := range rule.([]any) {
					if _, ok := o[name.(string)]; !ok {
						err = fmt.Errorf("%s: %q required", at, name)
					}
				}
			}
		case "items":
			if a, ok := v.([]any); ok {
				for i, e := range a {
					if err = validate(rule.(map[string]any), e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
						break
					}
				}
			}
		case "anyOf":
			err = fmt.Errorf("%s: matches none of anyOf", at)
			for _, alt := range rule.([]any) {
				if validate(alt.(map[string]any), v, at) == nil {
					err = nil
				}
			}
		case "enum":
			if !slices.Contains(rule.([]any), v) {
				err = fmt.Errorf("%s: %v not in enum", at, v)
			}
		case "pattern":
			if str, ok := v.(string); ok && !regexp.MustCompile(rule.(string)).MatchString(str) {
				err = fmt.Errorf("%s: %q does not match %s", at, str, rule)
			}
		case "minLength", "maxLength":
			if str, ok := v.(string); ok {
				n, lim := utf8.RuneCountInString(str), int(rule.(float64))
				if k == "minLength" && n < lim || k == "maxLength" && n > lim {
					err = fmt.Errorf("%s: length %d against %s %d", at, n, k, lim)
				}
			}
		case "format":
			if str, ok := v.(string); ok && rule == "date-time" {
				if _, perr := time.Parse(time.RFC3339Nano, str); perr != nil {
					err = fmt.Errorf("%s: %q is not an RFC 3339 date-time", at, str)
				}
			} else if rule != "date-time" {
				err = fmt.Errorf("format %v not known to this validator", rule)
			}
		default:
			err = fmt.Errorf("schema keyword %q not known to this validator", k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func checkType(s map[string]any, typ string, v any, at string) error {
	switch typ {
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s: want a string, have %T", at, v)
		}
	case "array":
		if _, ok := v.([]any); !ok {
			return fmt.Errorf("%s: want an array, have %T", at, v)
		}
	case "object":
		o, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, have %T", at, v)
		}
		props, _ := s["properties"].(map[string]any)
		for name, pv := range o {
			ps, ok := props[name]
			if !ok {
				if s["additionalProperties"] == false {
					return fmt.Errorf("%s: property %q not allowed", at, name)
				}
				continue
			}
			if err := validate(ps.(map[string]any), pv, at+"."+name); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("type %q not known to this validator", typ)
	}
	return nil
}
