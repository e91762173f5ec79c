package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
)

// FuzzRecordBodies sends the input as the body of a POST and of a PATCH of
// one fixed record, and as the "after" of GET /api/v1/changes (escaped, and
// raw when it makes a URL). The node must never answer 500 or panic, every
// error must be the documented JSON shape, and what was stored before the
// fuzzing must read back unchanged.
//
// One store and server serve every input, so state builds up as a real
// node's does; fsync is off for speed.
func FuzzRecordBodies(f *testing.F) {
	for _, seed := range []struct{ body, after string }{
		{`{"fields":{"name":"张三","age":40,"ok":true,"tags":["a"],"o":{"x":null},"n":null}}`, ""},
		{`{"id":"seed1","fields":{"a":1.5e3},"sets":{"s":["x","中"]},"facts":{"v":[{"id":"f1","value":{"bp":120}}]}}`, "nodeA:1"},
		{`{"fields":{"phone":"1"},"seen":{"phone":["1.0@nodeA","2.3@nodeB"]}}`, "nodeA:1,nodeB:2"},
		{`{"add":{"tags":["x"]},"remove":{"tags":["y"]},"restore":true}`, "nodeA:0"},
		{`{"facts":{"calls":[{"id":"c1","value":"无人接听"}]}}`, " nodeA:3 , nodeZ:1 "},
		{`{"mergeInto":"seed1"}`, "nodeA"},
		{`{"mergeInto":"target"}`, "nodeA:1,nodeA:2"},
		{`{"fields":{},"colour":1}`, ":1"},
		{`{"fields":{"a":tru}}`, "nodeA:x"},
		{`{"id":5}`, "nodeA:-1"},
		{`{} {}`, "nodeA:1;nodeB:2"},
		{``, "%zz"},
		{`[]`, "nodeA:18446744073709551615"},
		{`null`, "节点:1"},
		{`{"fields":{"a":1},"seen":{"b":[""]}}`, "a:1&limit=0"},
		{`{"facts":{"v":[{"id":"a b"}]}}`, "nodeA:1&limit=3"},
		{`{"sets":{"s":[""]}}`, "#"},
		{"{\"fields\":{\"\xff\":\"\xfe\"}}", "\x00"},
	} {
		f.Add([]byte(seed.body), seed.after)
	}

	var panicked struct {
		sync.Mutex
		msg string
	}
	n := newTestNode(f, withMaxPage(20), func(c *nodeConfig) {
		c.store.NoSync = true
		c.handler = func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer func() {
					if p := recover(); p != nil {
						if p != http.ErrAbortHandler {
							panicked.Lock()
							panicked.msg = fmt.Sprintf("%s %s panicked: %v\n%s", r.Method, r.URL, p, debug.Stack())
							panicked.Unlock()
						}
						panic(p)
					}
				}()
				h.ServeHTTP(w, r)
			})
		}
	})
	n.create(f, "keep", `{"id":"k1","fields":{"name":"李娜","phone":"138","age":52,"vip":true,"addr":{"city":"成都"},"meds":["a","b"],"none":null},
		"sets":{"conditions":["高血压"]},"facts":{"vitals":[{"id":"bp1","value":{"sys":150}}]}}`)
	keep := n.do(f, "GET", "/api/v1/records/keep/k1", nil)
	wantStatus(f, keep, http.StatusOK)
	target := n.create(f, "fz", `{"id":"target","fields":{"name":"target"}}`)

	f.Fuzz(func(t *testing.T, body []byte, after string) {
		check := func(what string, r *response, err error) {
			t.Helper()
			panicked.Lock()
			msg := panicked.msg
			panicked.Unlock()
			if msg != "" {
				t.Fatal(msg)
			}
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			switch r.status {
			case http.StatusOK, http.StatusCreated:
				if !json.Valid(r.body) {
					t.Fatalf("%s: success with a body that is not JSON: %s", what, r)
				}
			case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge:
				if _, bad := checkErrorShape(r); bad != "" {
					t.Fatalf("%s: %s: %s", what, r, bad)
				}
			default:
				t.Fatalf("%s: unexpected status: %s", what, r)
			}
		}
		r, err := n.send("POST", "/api/v1/records/fz", body)
		check("POST", r, err)
		r, err = n.send("PATCH", "/api/v1/records/fz/target", body)
		check("PATCH", r, err)
		r, err = n.send("GET", "/api/v1/changes?limit=5&"+url.Values{"after": {after}}.Encode(), nil)
		check("GET changes, escaped", r, err)
		// Raw, when it is a request target net/http takes to the handler at
		// all (it refuses spaces and controls itself, in plain text).
		if !strings.ContainsFunc(after, func(c rune) bool { return c <= ' ' || c >= 0x7f || c == '#' }) {
			r, err = n.send("GET", "/api/v1/changes?after="+after, nil)
			check("GET changes, raw", r, err)
		}

		// Nothing stored before the fuzzing is lost or changed.
		r, err = n.send("GET", "/api/v1/records/keep/k1", nil)
		check("GET keep", r, err)
		if r.status != http.StatusOK || string(r.body) != string(keep.body) {
			t.Fatalf("the record stored before fuzzing changed:\nbefore %s\nafter  %s", keep.body, r.body)
		}
		r, err = n.send("GET", "/api/v1/records/fz/target", nil)
		check("GET target", r, err)
		if r.status != http.StatusOK {
			t.Fatalf("the patched record is gone: %s", r)
		}
		// It may have been merged into a newer record; the view still starts
		// at its creation, the oldest change in the collection.
		var got record
		if err := json.Unmarshal(r.body, &got); err != nil || got.Created != target.Created {
			t.Fatalf("the patched record lost its history: %s (%v)", r.body, err)
		}
	})
}
