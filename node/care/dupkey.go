package care

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// DuplicateKey reports the first key that appears twice in one object of
// the JSON text data, anywhere in it, with the path to it such as
// "fields.name" or "facts.vitals[0].id" (each key clipped for display).
// encoding/json keeps the last of duplicate keys without a word, so a body
// saying two things about one field would be stored with whichever came
// last; request decoders call this to refuse such a body instead.
//
// It reports nothing for text that is not JSON: the caller's own decoder
// explains that better. It never panics, whatever the bytes.
func DuplicateKey(data []byte) (key, path string, found bool) {
	if !json.Valid(data) { // the scan below would see a key before a later syntax error
		return "", "", false
	}
	var stack []keyFrame
	done := func() { // a value ended: the parent moves on
		if len(stack) == 0 {
			return
		}
		if top := &stack[len(stack)-1]; top.keys != nil {
			top.wantKey = true
		} else {
			top.index++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // a number too large for float64 is still JSON
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", "", false
		}
		if n := len(stack); n > 0 && stack[n-1].keys != nil && stack[n-1].wantKey {
			top := &stack[n-1]
			k, isKey := tok.(string)
			if !isKey { // the closing brace
				stack = stack[:n-1]
				done()
				continue
			}
			if top.keys[k] {
				return clipField(k), keyPath(stack, k), true
			}
			top.keys[k] = true
			top.key = k
			top.wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, keyFrame{keys: map[string]bool{}, wantKey: true})
		case json.Delim('['):
			stack = append(stack, keyFrame{})
		case json.Delim(']'), json.Delim('}'):
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			done()
		default:
			done()
		}
	}
}

// keyFrame is one open object or array while DuplicateKey scans.
type keyFrame struct {
	keys    map[string]bool // nil for an array
	key     string          // the member being read (objects)
	index   int             // the element being read (arrays)
	wantKey bool
}

// keyPath names key in the innermost object of stack.
func keyPath(stack []keyFrame, key string) string {
	var b strings.Builder
	for _, f := range stack[:len(stack)-1] {
		if f.keys == nil {
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(clipField(f.key))
	}
	if b.Len() > 0 {
		b.WriteByte('.')
	}
	b.WriteString(clipField(key))
	return b.String()
}
