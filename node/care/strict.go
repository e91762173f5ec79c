package care

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Noun names what a body is, for DecodeStrict's sentences: "article" and
// "文章", or "survey" and "问卷".
type Noun struct{ En, Zh string }

// DecodeStrict reads a JSON object of at most maxBytes into v, refusing
// unknown fields, wrong types and data after the object, and reports the
// first such problem as a *ValidationError in both languages. It is for
// bodies whose shape is one plain struct (a survey, an article); patient
// bodies use Decode, which reports every problem at once.
func DecodeStrict(body []byte, v any, maxBytes int, what Noun) error {
	an := "A"
	if strings.ContainsRune("aeiou", rune(what.En[0])) {
		an = "An"
	}
	if len(body) > maxBytes {
		return &ValidationError{Problems: []Problem{{Code: CodeTooLarge,
			En: fmt.Sprintf("The %s is larger than %d bytes.", what.En, maxBytes), Zh: fmt.Sprintf("%s内容超过 %d 字节。", what.Zh, maxBytes)}}}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = errors.New("data after the JSON object")
		}
	}
	if err == nil && bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
		err = errors.New("null, not an object") // decodes into v as "nothing", without an error
	}
	if err == nil {
		// encoding/json keeps the last of duplicate keys without a word.
		_, path, dup := DuplicateKey(body)
		if !dup {
			return nil
		}
		return &ValidationError{Problems: []Problem{{Field: path, Code: CodeDuplicate,
			En: fmt.Sprintf("The %s has %q twice; send it once.", what.En, path),
			Zh: fmt.Sprintf("%s中 %q 出现了两次，请只发送一次。", what.Zh, path)}}}
	}
	var typ *json.UnmarshalTypeError
	p := Problem{Code: CodeBadJSON, En: fmt.Sprintf("The %s is not a JSON object.", what.En), Zh: fmt.Sprintf("%s内容不是 JSON 对象。", what.Zh)}
	switch {
	case errors.As(err, &typ) && typ.Field != "":
		p = Problem{Field: typ.Field, Code: CodeWrongType,
			En: fmt.Sprintf("%s has the wrong type (%s).", typ.Field, typ.Value), Zh: fmt.Sprintf("%s 的类型不对（%s）。", typ.Field, typ.Value)}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		p = Problem{Field: f, Code: CodeUnknownField,
			En: fmt.Sprintf("%s %s has no field %q.", an, what.En, f), Zh: fmt.Sprintf("%s没有 %q 这一项。", what.Zh, f)}
	}
	return &ValidationError{Problems: []Problem{p}}
}
