package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"carenode/crdt"
	"carenode/internal/logbuf"
	"carenode/node/api"
	"carenode/node/store"
)

// testNode is a real store on a bbolt file under t.TempDir, served by
// api.New through an httptest server on loopback.
type testNode struct {
	node   crdt.NodeID
	path   string
	store  *store.Store
	srv    *httptest.Server
	client *http.Client
}

// nodeConfig is what options adjust before the node is built.
type nodeConfig struct {
	store store.Options
	api   api.Options
	// records, if set, wraps the opened store as the API's Records.
	records func(*store.Store) api.Records
	// handler, if set, wraps the API's handler.
	handler func(http.Handler) http.Handler
}

type option func(*nodeConfig)

// important marks "phone" as a field whose concurrent values are kept as a
// conflict, as the node's schema does for contact details.
func important(_, field string) bool { return field == "phone" }

// newTestNode opens a fresh store for node "nodeA" (options may change it),
// serves it and closes both at cleanup. Any error the store or the API logs
// fails the test: no request in these tests should make the node log one.
func newTestNode(t testing.TB, opts ...option) *testNode {
	t.Helper()
	logs := &logbuf.Buffer{}
	t.Cleanup(func() { // registered first, so it runs after the store is closed
		if s := logs.String(); s != "" {
			t.Errorf("the node logged errors:\n%s", s)
		}
	})
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelError}))
	path := filepath.Join(t.TempDir(), "carenode.db")
	cfg := nodeConfig{store: store.DefaultOptions(path, "nodeA"), api: api.Options{
		Info:   api.Info{Node: "nodeA", Name: "Test clinic", Role: "clinic", Version: "test"},
		Logger: logger,
	}}
	cfg.store.Create = true
	cfg.store.Important = important
	cfg.store.Logger = logger
	for _, o := range opts {
		o(&cfg)
	}
	so, ao := cfg.store, cfg.api
	ao.Info.Node = string(so.Node)
	s, err := store.Open(so)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	ao.Records = s
	if cfg.records != nil {
		ao.Records = cfg.records(s)
	}
	var h http.Handler = api.New(ao)
	if cfg.handler != nil {
		h = cfg.handler(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testNode{node: so.Node, path: path, store: s, srv: srv, client: srv.Client()}
}

func withNode(id crdt.NodeID) option {
	return func(c *nodeConfig) { c.store.Node = id }
}

func withMaxBody(n int64) option {
	return func(c *nodeConfig) { c.api.MaxBody = n }
}

func withMaxPage(n int) option {
	return func(c *nodeConfig) { c.api.MaxPage = n }
}

// withoutAPILog drops the API's logs, for tests that make it log an error
// on purpose.
func withoutAPILog() option {
	return func(c *nodeConfig) { c.api.Logger = slog.New(slog.DiscardHandler) }
}

// response is one HTTP answer, read whole.
type response struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
}

func (r *response) String() string {
	return r.method + " " + r.path + " -> " + http.StatusText(r.status) + ": " + string(r.body)
}

// do sends a request and fails the test if it cannot. body is nil (none),
// a string or []byte (sent as is) or anything else (sent as its JSON).
// Bodies go with Content-Type application/json unless header (name, value
// pairs) says otherwise; a Content-Type of "" sends none.
func (n *testNode) do(t testing.TB, method, path string, body any, header ...string) *response {
	t.Helper()
	r, err := n.send(method, path, body, header...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// send is do without a test: safe from any goroutine.
func (n *testNode) send(method, path string, body any, header ...string) (*response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("encode request body: %w", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, n.srv.URL+path, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	res, err := n.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return &response{method: method, path: path, status: res.StatusCode, header: res.Header, body: b}, nil
}

func wantStatus(t testing.TB, r *response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("want %d %s, got %s", status, http.StatusText(status), r)
	}
}

// decodeStrict decodes JSON refusing unknown fields, so a response that
// grows an undocumented field or renames one fails the test.
func decodeStrict(t testing.TB, r *response, v any) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("%s %s: Content-Type %q, want JSON", r.method, r.path, ct)
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", r, err)
	}
	if dec.More() {
		t.Fatalf("%s: more than one JSON value", r)
	}
}

// apiError is the documented error body.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Zh      string `json:"zh"`
	} `json:"error"`
}

var knownCodes = map[string]int{
	api.CodeBadRequest:    http.StatusBadRequest,
	api.CodeNotFound:      http.StatusNotFound,
	api.CodeConflict:      http.StatusConflict,
	api.CodeTooLarge:      http.StatusRequestEntityTooLarge,
	api.CodeMediaType:     http.StatusUnsupportedMediaType,
	api.CodeMethod:        http.StatusMethodNotAllowed,
	api.CodeInternal:      http.StatusInternalServerError,
	api.CodeUnavailable:   http.StatusServiceUnavailable,
	api.CodeInvalidChange: http.StatusBadRequest,
}

// checkErrorShape reports what is wrong with r as a documented error
// response: JSON {"error":{"code","message","zh"}} and nothing else, a known
// code that matches the status, a message and a Chinese summary.
func checkErrorShape(r *response) (apiError, string) {
	var e apiError
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		return e, "Content-Type " + ct
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return e, "not the error shape: " + err.Error()
	}
	if dec.More() {
		return e, "more than one JSON value"
	}
	status, ok := knownCodes[e.Error.Code]
	switch {
	case !ok:
		return e, "unknown code " + e.Error.Code
	case status != r.status:
		return e, "code " + e.Error.Code + " with status " + http.StatusText(r.status)
	case strings.TrimSpace(e.Error.Message) == "":
		return e, "empty message"
	case !strings.ContainsFunc(e.Error.Zh, func(c rune) bool { return unicode.Is(unicode.Han, c) }):
		return e, "zh " + e.Error.Zh + " has no Chinese"
	}
	return e, ""
}

// wantError checks r is an error with status and code, in the documented
// shape, and that its message contains every string in msg.
func wantError(t testing.TB, r *response, status int, code string, msg ...string) apiError {
	t.Helper()
	if r.status != status {
		t.Fatalf("want %d %s, got %s", status, http.StatusText(status), r)
	}
	e, bad := checkErrorShape(r)
	if bad != "" {
		t.Fatalf("%s: %s", r, bad)
	}
	if e.Error.Code != code {
		t.Fatalf("%s: code %q, want %q", r, e.Error.Code, code)
	}
	for _, m := range msg {
		if !strings.Contains(e.Error.Message, m) {
			t.Errorf("%s: message %q does not mention %q", r, e.Error.Message, m)
		}
	}
	return e
}

// record is a record as the API documents it.
type record struct {
	ID         string                     `json:"id"`
	Collection string                     `json:"collection"`
	Asked      string                     `json:"asked"`
	Fields     map[string]json.RawMessage `json:"fields"`
	Stamps     map[string]fieldStamps     `json:"stamps"`
	Conflicts  map[string][]stampedValue  `json:"conflicts"`
	Sets       map[string][]string        `json:"sets"`
	Facts      map[string][]fact          `json:"facts"`
	Deleted    bool                       `json:"deleted"`
	Tombstones []string                   `json:"tombstones"`
	Merged     []string                   `json:"merged"`
	Created    string                     `json:"created"`
	Updated    string                     `json:"updated"`
}

type fieldStamps struct {
	Stamp string   `json:"stamp"`
	Seen  []string `json:"seen"`
}

type stampedValue struct {
	Stamp string          `json:"stamp"`
	Value json.RawMessage `json:"value"`
}

type fact struct {
	ID    string          `json:"id"`
	Stamp string          `json:"stamp"`
	Value json.RawMessage `json:"value"`
}

func recordOf(t testing.TB, r *response) record {
	t.Helper()
	var rec record
	decodeStrict(t, r, &rec)
	return rec
}

// create posts body to coll and returns the new record.
func (n *testNode) create(t testing.TB, coll string, body any) record {
	t.Helper()
	r := n.do(t, "POST", "/api/v1/records/"+coll, body)
	wantStatus(t, r, http.StatusCreated)
	return recordOf(t, r)
}

func (n *testNode) get(t testing.TB, coll, id string) record {
	t.Helper()
	r := n.do(t, "GET", "/api/v1/records/"+coll+"/"+id, nil)
	wantStatus(t, r, http.StatusOK)
	return recordOf(t, r)
}

func (n *testNode) patch(t testing.TB, coll, id string, body any) record {
	t.Helper()
	r := n.do(t, "PATCH", "/api/v1/records/"+coll+"/"+id, body)
	wantStatus(t, r, http.StatusOK)
	return recordOf(t, r)
}

// statusBody is GET /api/v1/status.
type statusBody struct {
	Node    string `json:"node"`
	Name    string `json:"name"`
	Role    string `json:"role"`
	Version string `json:"version"`
	Store   struct {
		Node        string            `json:"node"`
		Origin      string            `json:"origin"`
		Schema      uint64            `json:"schema"`
		Records     map[string]uint64 `json:"records"`
		LogLen      uint64            `json:"logLength"`
		Vector      map[string]uint64 `json:"vector"`
		FileBytes   int64             `json:"fileBytes"`
		DiskBytes   int64             `json:"diskBytes"`
		LastStamp   string            `json:"lastStamp"`
		Collections []string          `json:"collections"`
		Waiting     int               `json:"waiting"`
	} `json:"store"`
}

func (n *testNode) status(t testing.TB) statusBody {
	t.Helper()
	r := n.do(t, "GET", "/api/v1/status", nil)
	wantStatus(t, r, http.StatusOK)
	var st statusBody
	decodeStrict(t, r, &st)
	return st
}

// compactJSON returns s without insignificant space.
func compactJSON(t testing.TB, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("compact %q: %v", s, err)
	}
	return b.String()
}
