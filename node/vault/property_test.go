package vault

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"pgregory.net/rapid"
)

// jsonValue generates any JSON value: null, booleans, numbers, strings of
// any Unicode, and arrays and objects nested up to depth.
func jsonValue(depth int) *rapid.Generator[any] {
	leaf := rapid.OneOf(
		rapid.Just[any](nil),
		rapid.Map(rapid.Bool(), func(b bool) any { return b }),
		rapid.Map(rapid.Float64(), func(f float64) any { return f }),
		rapid.Map(rapid.Int64(), func(i int64) any { return i }),
		rapid.Map(rapid.String(), func(s string) any { return s }),
		// Number text of every shape, so every leading digit turns up.
		rapid.Map(rapid.StringMatching(`-?(0|[1-9][0-9]{0,5})(\.[0-9]{1,3})?([eE][+-]?[0-9]{1,3})?`),
			func(s string) any { return json.Number(s) }),
	)
	if depth == 0 {
		return leaf
	}
	inner := jsonValue(depth - 1)
	return rapid.OneOf(
		leaf,
		rapid.Map(rapid.SliceOfN(inner, 0, 4), func(s []any) any { return s }),
		rapid.Map(rapid.MapOfN(rapid.String(), inner, 0, 4), func(m map[string]any) any { return m }),
	)
}

// jsonText generates valid JSON text: a marshalled value, compact or
// indented, with any JSON whitespace around it.
func jsonText() *rapid.Generator[[]byte] {
	ws := rapid.StringOf(rapid.SampledFrom([]rune{' ', '\t', '\n', '\r'}))
	return rapid.Custom(func(t *rapid.T) []byte {
		v := jsonValue(3).Draw(t, "value")
		var b []byte
		var err error
		if rapid.Bool().Draw(t, "indent") {
			b, err = json.MarshalIndent(v, "", "  ")
		} else {
			b, err = json.Marshal(v)
		}
		if err != nil {
			t.Fatalf("marshal %#v: %v", v, err)
		}
		return []byte(ws.Draw(t, "before") + string(b) + ws.Draw(t, "after"))
	})
}

// TestIsSealedNeverJSON: no valid JSON text looks sealed. rapid prints its
// seed on failure and shrinks the counterexample.
func TestIsSealedNeverJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := jsonText().Draw(t, "json")
		// Check the bare value too: surrounding whitespace would hide a
		// bad first byte.
		for _, text := range [][]byte{b, bytes.TrimSpace(b)} {
			if !json.Valid(text) {
				t.Fatalf("generator made invalid JSON %q", text)
			}
			if IsSealed(text) {
				t.Fatalf("IsSealed(%q) = true", text)
			}
		}
	})
}

// TestIsSealedArbitraryBytes: whatever the bytes, valid JSON and IsSealed
// never agree.
func TestIsSealedArbitraryBytes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := rapid.SliceOf(rapid.Byte()).Draw(t, "bytes")
		if json.Valid(b) && IsSealed(b) {
			t.Fatalf("%q is valid JSON and IsSealed", b)
		}
	})
}

// TestSealedNeverJSON is the reverse: every sealed value IsSealed, is not
// valid JSON, is not valid UTF-8, and opens to its plaintext.
func TestSealedNeverJSON(t *testing.T) {
	s := newSealer(t, newKey(t, 1))
	rapid.Check(t, func(t *rapid.T) {
		plain := rapid.OneOf(jsonText(), rapid.SliceOf(rapid.Byte())).Draw(t, "plaintext")
		aad := FieldAAD(rapid.String().Draw(t, "collection"), rapid.String().Draw(t, "record"), rapid.String().Draw(t, "field"))
		sealed, err := s.Seal(plain, aad)
		if err != nil {
			t.Fatal(err)
		}
		if !IsSealed(sealed) {
			t.Fatalf("IsSealed(Seal(%q)) = false", plain)
		}
		if json.Valid(sealed) {
			t.Fatalf("Seal(%q) is valid JSON", plain)
		}
		if utf8.Valid(sealed) {
			t.Fatalf("Seal(%q) is valid UTF-8", plain)
		}
		var v any
		if err := json.Unmarshal(sealed, &v); err == nil {
			t.Fatalf("json.Unmarshal accepted Seal(%q)", plain)
		}
		got, err := s.Open(sealed, aad)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Open(Seal(%q)) = %q, %v", plain, got, err)
		}
	})
}

// TestIsSealedEveryJSONStart: IsSealed looks only at the first byte, so
// check it against every byte that can start JSON text, found by trying
// every byte with completions that make it valid.
func TestIsSealedEveryJSONStart(t *testing.T) {
	completions := []string{"", "0", "}", "]", `"`, "rue", "alse", "ull", " 0", "1"}
	starts := 0
	for c := range 256 {
		for _, rest := range completions {
			text := append([]byte{byte(c)}, rest...)
			if !json.Valid(text) {
				continue
			}
			starts++
			if IsSealed(text) {
				t.Errorf("IsSealed(%q) = true", text)
			}
			break
		}
	}
	// 4 whitespace bytes, { [ " -, ten digits, t f n.
	if starts != 21 {
		t.Errorf("found %d bytes that start JSON text, want 21", starts)
	}
}
