package care

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Input is one of the request bodies this package decodes.
type Input interface {
	PatientInput | AllergyInput | DiagnosisInput | MedicationInput
}

// Decode reads a JSON request body into *into and reports everything
// wrong with its shape as a *ValidationError: a body over MaxBodyBytes,
// text that is not JSON or not an object, a field the API does not have
// (with the right name when only its case differs), the same field twice,
// and each field holding the wrong kind of value — every such problem,
// not only the first.
//
// Only the fields present in the body are written, and each is replaced
// whole (a "phones" list replaces the list). So for PATCH, Decode the body
// over the stored record, then Normalize and Validate the result: the ID
// number is cross-checked with the stored birth date even when only one of
// them changes. A field sent as null is set to its zero value.
//
// Decode does not apply the rules of Validate; it never panics, whatever
// the bytes. into must not be nil.
func Decode[T Input](data []byte, into *T) error {
	var ps problems
	decodeObject(&ps, data, reflect.ValueOf(into).Elem())
	// decodeObject reports a field named twice; this finds a key twice
	// inside a field's value (one emergency contact's "phone").
	if len(ps.list) == 0 {
		if _, path, dup := DuplicateKey(data); dup {
			ps.add(path, CodeDuplicate,
				fmt.Sprintf("The field %q appears twice in the request; send it once.", path),
				fmt.Sprintf("请求中字段%q出现了两次，请只发送一次。", path))
		}
	}
	return ps.err(nil)
}

// decodeObject decodes a JSON object into the struct v field by field,
// so that one bad field does not hide the next.
func decodeObject(ps *problems, data []byte, v reflect.Value) {
	if len(data) > MaxBodyBytes {
		ps.add("", CodeTooLarge,
			fmt.Sprintf("The request is too large: %d bytes, and at most %d are accepted. Texts such as the history and notes hold at most %d characters each.", len(data), MaxBodyBytes, MaxTextLen),
			fmt.Sprintf("提交的内容过大：%d字节，最多%d字节。病史、备注等每项最多%d个字。", len(data), MaxBodyBytes, MaxTextLen))
		return
	}
	fields := jsonFields(v.Type())
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		badJSON(ps, err, tok)
		return
	}
	seen := map[string]bool{}
	for dec.More() {
		if len(ps.list) >= maxDecodeProblems {
			ps.add("", CodeBadJSON,
				"The request has more problems than these; fix these first.",
				"请求中还有更多问题，请先改正以上问题。")
			return
		}
		tok, err := dec.Token()
		key, isKey := tok.(string)
		if err != nil || !isKey {
			badJSON(ps, midObject(err), nil)
			return
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			badJSON(ps, midObject(err), nil)
			return
		}
		idx, ok := fields[key]
		if !ok {
			unknownField(ps, clipField(key), fields)
			continue
		}
		if seen[key] {
			ps.add(key, CodeDuplicate,
				fmt.Sprintf("The field %q appears twice in the request; send it once.", key),
				fmt.Sprintf("请求中字段%q出现了两次，请只发送一次。", key))
			continue
		}
		seen[key] = true
		f := v.Field(idx)
		nv := reflect.New(f.Type())
		fd := json.NewDecoder(bytes.NewReader(raw))
		fd.DisallowUnknownFields()
		if err := fd.Decode(nv.Interface()); err != nil {
			fieldError(ps, key, f.Type(), err)
			continue
		}
		f.Set(nv.Elem())
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		badJSON(ps, midObject(err), nil)
		return
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		ps.add("", CodeBadJSON,
			"The request has more data after the JSON object; send exactly one object.",
			"请求中的JSON对象后面还有多余内容，请只发送一个对象。")
	}
}

// midObject turns the end of input inside an object into the error it is.
func midObject(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// maxDecodeProblems bounds the problems Decode lists: a body of ten
// thousand unknown fields gets a readable answer, not ten thousand lines.
const maxDecodeProblems = 20

// clipField keeps a client's field name short enough to show.
func clipField(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return s
}

// jsonFields maps the JSON names of a struct's fields to their indexes.
func jsonFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}

func badJSON(ps *problems, err error, tok json.Token) {
	var syn *json.SyntaxError
	switch {
	case err == nil: // tok is a value other than an object; nil for null
		ps.add("", CodeBadJSON,
			"The request must be a JSON object, such as {\"name\": \"张三\", …}.",
			"请求内容应为JSON对象，例如 {\"name\": \"张三\", …}。")
	case errors.Is(err, io.EOF):
		ps.add("", CodeBadJSON, "The request is empty; send a JSON object.", "请求内容为空，请发送JSON对象。")
	case errors.Is(err, io.ErrUnexpectedEOF):
		ps.add("", CodeBadJSON,
			"The request is not valid JSON: it ends in the middle of the object (cut short?).",
			"请求内容不是有效的JSON：对象没有结束（内容不完整）。")
	case errors.As(err, &syn):
		ps.add("", CodeBadJSON,
			fmt.Sprintf("The request is not valid JSON (at byte %d).", syn.Offset),
			fmt.Sprintf("请求内容不是有效的JSON（第%d字节处）。", syn.Offset))
	default:
		ps.add("", CodeBadJSON,
			"The request is not valid JSON; it ends early or is malformed.",
			"请求内容不是有效的JSON，内容不完整或格式有误。")
	}
}

func unknownField(ps *problems, key string, fields map[string]int) {
	shown := clip(key)
	for name := range fields {
		if strings.EqualFold(name, key) {
			ps.add(key, CodeUnknownField,
				fmt.Sprintf("There is no field %s; did you mean %q? Field names are case-sensitive.", shown, name),
				fmt.Sprintf("没有字段%s，是否应为%q？字段名区分大小写。", shown, name))
			return
		}
	}
	ps.add(key, CodeUnknownField,
		fmt.Sprintf("There is no field %s; it was not saved. Check the field's name.", shown),
		fmt.Sprintf("没有字段%s，未保存，请检查字段名。", shown))
}

// fieldError explains a value that could not be decoded into a field of
// type t.
func fieldError(ps *problems, key string, t reflect.Type, err error) {
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typ):
		path := key
		if typ.Field != "" {
			path = key + "." + typ.Field
		}
		wantEn, wantZh := kindWords(typ.Type)
		gotEn, gotZh := jsonWords(typ.Value)
		if typ.Field == "" {
			wantEn, wantZh = kindWords(t)
		}
		ps.add(path, CodeWrongType,
			fmt.Sprintf("The field %q must be %s, not %s.", path, wantEn, gotEn),
			fmt.Sprintf("字段%q应为%s，而不是%s。", path, wantZh, gotZh))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		path := key + "." + name
		ps.add(path, CodeUnknownField,
			fmt.Sprintf("There is no field %s in %q; check the field's name.", clip(name), key),
			fmt.Sprintf("%q中没有字段%s，请检查字段名。", key, clip(name)))
	default:
		wantEn, wantZh := kindWords(t)
		ps.add(key, CodeWrongType,
			fmt.Sprintf("The field %q must be %s.", key, wantEn),
			fmt.Sprintf("字段%q应为%s。", key, wantZh))
	}
}

// kindWords describes what a Go type accepts, in JSON terms.
func kindWords(t reflect.Type) (en, zh string) {
	switch t.Kind() {
	case reflect.String:
		return `text in quotes ("…")`, `加引号的文字（"…"）`
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return `a list of texts, such as ["13800138000"]`, `文字列表，例如 ["13800138000"]`
		}
		return `a list of objects, such as [{"name": "李四", "phone": "13800138000"}]`, `对象列表，例如 [{"name": "李四", "phone": "13800138000"}]`
	case reflect.Struct:
		return "an object {…}", "对象 {…}"
	}
	return "another kind of value", "其他类型的值"
}

// jsonWords names a kind of JSON value as UnmarshalTypeError.Value gives it.
func jsonWords(v string) (en, zh string) {
	switch {
	case v == "string":
		return "text", "文字"
	case v == "number" || strings.HasPrefix(v, "number "):
		return "a number", "数字"
	case v == "bool":
		return "true or false", "true/false"
	case v == "array":
		return "a list", "列表"
	case v == "object":
		return "an object", "对象"
	}
	return "that value", "该值"
}
