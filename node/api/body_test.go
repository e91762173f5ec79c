package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestStrictBodies sends each broken body to every route that takes one and
// expects the documented refusal, with nothing stored.
func TestStrictBodies(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		header  []string
		status  int
		code    string
		mention []string
		// on limits the case to some routes: c create, p patch, x changes;
		// empty means all three.
		on string
	}{
		{name: "unknown field", body: `{"colour":"red"}`, status: 400, code: "bad_request",
			mention: []string{`unknown field "colour"`}},
		{name: "unknown nested field", body: `{"facts":{"v":[{"id":"a","value":1,"unit":"kg"}]}}`, status: 400, code: "bad_request",
			mention: []string{`"unit"`}, on: "cp"},
		{name: "misspelt field", body: `{"feilds":{"name":"x"}}`, status: 400, code: "bad_request",
			mention: []string{`"feilds"`}, on: "cp"},
		{name: "malformed", body: `{"fields":{"a":tru}}`, status: 400, code: "bad_request",
			mention: []string{"malformed JSON at byte 19"}},
		{name: "malformed at start", body: `xyz`, status: 400, code: "bad_request",
			mention: []string{"malformed JSON at byte 1"}},
		{name: "bad string escape", body: `{"fields":{"a":"\q"}}`, status: 400, code: "bad_request",
			mention: []string{"malformed JSON at byte 18"}},
		{name: "wrong type", body: `{"fields":"name"}`, status: 400, code: "bad_request",
			mention: []string{`"fields"`, "string"}, on: "cp"},
		{name: "wrong type of id", body: `{"id":5}`, status: 400, code: "bad_request",
			mention: []string{`"id"`, "number"}, on: "c"},
		{name: "wrong type of changes", body: `{"changes":{}}`, status: 400, code: "bad_request",
			mention: []string{`"changes"`, "object"}, on: "x"},
		{name: "array body", body: `[]`, status: 400, code: "bad_request", mention: []string{"JSON object", "array"}},
		{name: "string body", body: `"x"`, status: 400, code: "bad_request", mention: []string{"JSON object", "string"}},
		{name: "null body", body: `null`, status: 400, code: "bad_request", mention: []string{"JSON object", "null"}},
		{name: "null body in space", body: " null\n", status: 400, code: "bad_request", mention: []string{"JSON object", "null"}},
		{name: "duplicate nested key", body: `{"fields":{"name":"a","name":"b"}}`, status: 400, code: "bad_request",
			mention: []string{`duplicate key "name"`, "fields.name"}, on: "cp"},
		{name: "duplicate top-level key", body: `{"fields":{},"fields":{"name":"b"}}`, status: 400, code: "bad_request",
			mention: []string{`duplicate key "fields"`}, on: "cp"},
		{name: "duplicate key in a list", body: `{"facts":{"v":[{"id":"a","value":1,"id":"b"}]}}`, status: 400, code: "bad_request",
			mention: []string{`duplicate key "id"`, "facts.v[0].id"}, on: "cp"},
		{name: "duplicate key in changes", body: `{"changes":[],"changes":[]}`, status: 400, code: "bad_request",
			mention: []string{`duplicate key "changes"`}, on: "x"},
		{name: "trailing object", body: `{} {}`, status: 400, code: "bad_request", mention: []string{"after the JSON value"}},
		{name: "trailing garbage", body: `{}x`, status: 400, code: "bad_request", mention: []string{"after the JSON value"}},
		{name: "trailing brace", body: `{}}`, status: 400, code: "bad_request", mention: []string{"after the JSON value"}},
		{name: "empty", body: ``, status: 400, code: "bad_request", mention: []string{"empty"}},
		{name: "only space", body: " \n\t ", status: 400, code: "bad_request", mention: []string{"empty"}},
		{name: "truncated", body: `{"fields":{"a":`, status: 400, code: "bad_request", mention: []string{"middle"}},
		{name: "text/plain", body: `{}`, header: []string{"Content-Type", "text/plain"}, status: 415, code: "unsupported_media_type",
			mention: []string{"text/plain"}},
		{name: "form", body: `a=1`, header: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 415,
			code: "unsupported_media_type"},
		{name: "bad media type", body: `{}`, header: []string{"Content-Type", ";;;"}, status: 415, code: "unsupported_media_type"},
	}
	routes := []struct{ key, method, path string }{
		{"c", "POST", "/api/v1/records/patients"},
		{"p", "PATCH", "/api/v1/records/patients/p1"},
		{"x", "POST", "/api/v1/changes"},
	}
	n := newTestNode(t)
	before := n.create(t, "patients", `{"id":"p1","fields":{"name":"张三"}}`)
	for _, tt := range tests {
		for _, rt := range routes {
			if tt.on != "" && !strings.Contains(tt.on, rt.key) {
				continue
			}
			t.Run(tt.name+"/"+rt.method+rt.path, func(t *testing.T) {
				r := n.do(t, rt.method, rt.path, tt.body, tt.header...)
				wantError(t, r, tt.status, tt.code, tt.mention...)
			})
		}
	}
	if after := n.get(t, "patients", "p1"); !equalJSON(t, after, before) {
		t.Errorf("refused bodies changed p1: %+v", after)
	}
	if st := n.status(t); st.Store.LogLen != 1 || st.Store.Records["patients"] != 1 {
		t.Errorf("refused bodies stored something: %+v", st.Store)
	}
}

// TestAcceptedMediaTypes: JSON with parameters, +json types and a missing
// Content-Type are all read as JSON.
func TestAcceptedMediaTypes(t *testing.T) {
	n := newTestNode(t)
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON", "application/merge-patch+json", ""} {
		r := n.do(t, "POST", "/api/v1/records/patients", `{"fields":{"ct":"`+ct+`"}}`, "Content-Type", ct)
		wantStatus(t, r, http.StatusCreated)
	}
}

func TestBodyTooLarge(t *testing.T) {
	n := newTestNode(t, withMaxBody(64))
	small := `{"id":"p1","fields":{"name":"张三"}}`
	if len(small) > 64 {
		t.Fatal("test body too large for the limit")
	}
	n.create(t, "patients", small)
	const pre, post = `{"fields":{"note":"`, `"}}`
	big := pre + strings.Repeat("x", 200) + post
	tests := []struct{ name, method, path, body string }{
		{"create", "POST", "/api/v1/records/patients", big},
		{"patch", "PATCH", "/api/v1/records/patients/p1", big},
		{"changes", "POST", "/api/v1/changes", `{"changes":[` + strings.Repeat(" ", 100) + `]}`},
		{"valid value, long tail", "POST", "/api/v1/records/patients", `{"fields":{}}` + strings.Repeat(" ", 100)},
		{"one byte over", "POST", "/api/v1/records/patients", pre + strings.Repeat("x", 65-len(pre)-len(post)) + post},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.body) <= 64 {
				t.Fatalf("body of %d bytes is not over the limit", len(tt.body))
			}
			wantError(t, n.do(t, tt.method, tt.path, tt.body), http.StatusRequestEntityTooLarge, "too_large", "64 bytes")
		})
	}
	// Exactly at the limit is fine.
	atLimit := pre + strings.Repeat("x", 64-len(pre)-len(post)) + post
	if len(atLimit) != 64 {
		t.Fatalf("at-limit body is %d bytes", len(atLimit))
	}
	n.create(t, "patients", atLimit)
	if st := n.status(t); st.Store.Records["patients"] != 2 {
		t.Errorf("records %v, want the two that fit", st.Store.Records)
	}
}

func TestWrongMethod(t *testing.T) {
	n := newTestNode(t)
	tests := []struct {
		method, path string
		allow        []string
	}{
		{"PUT", "/api/v1/records/patients/p1", []string{"DELETE", "GET", "PATCH"}},
		{"POST", "/api/v1/records/patients/p1", []string{"DELETE", "GET", "PATCH"}},
		{"DELETE", "/api/v1/records/patients", []string{"GET", "POST"}},
		{"PATCH", "/api/v1/records/patients", []string{"GET", "POST"}},
		{"POST", "/healthz", []string{"GET"}},
		{"DELETE", "/api/v1/changes", []string{"GET", "POST"}},
		{"POST", "/api/v1/status", []string{"GET"}},
		{"PUT", "/api/v1/backup", []string{"GET"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			r := n.do(t, tt.method, tt.path, `{}`)
			e := wantError(t, r, http.StatusMethodNotAllowed, "method_not_allowed", tt.method, tt.path, "allowed")
			allow := r.header.Get("Allow")
			for _, m := range tt.allow {
				if !strings.Contains(allow, m) {
					t.Errorf("Allow %q lacks %s", allow, m)
				}
				if !strings.Contains(e.Error.Message, m) {
					t.Errorf("message %q does not list %s", e.Error.Message, m)
				}
			}
			if r.header.Get("X-Content-Type-Options") != "" {
				t.Errorf("left the mux's plain-text header: %v", r.header)
			}
		})
	}
}

func TestUnknownPath(t *testing.T) {
	n := newTestNode(t)
	for _, p := range []string{"/", "/api", "/api/v1", "/api/v2/records/patients", "/api/v1/records", "/api/v1/records/",
		"/api/v1/records/patients/p1/extra", "/api/v1/record/patients", "/metrics", "/healthz/x"} {
		t.Run(p, func(t *testing.T) {
			wantError(t, n.do(t, "GET", p, nil), http.StatusNotFound, "not_found", p)
		})
	}
}
