package api_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"carenode/node/api"
	"carenode/node/store"
)

func TestHealthz(t *testing.T) {
	n := newTestNode(t)
	r := n.do(t, "GET", "/healthz", nil)
	wantStatus(t, r, http.StatusOK)
	var h struct {
		Status string `json:"status"`
		Node   string `json:"node"`
	}
	decodeStrict(t, r, &h)
	if h.Status != "ok" || h.Node != "nodeA" {
		t.Errorf("healthz %+v", h)
	}
}

func TestStatus(t *testing.T) {
	n := newTestNode(t)
	st := n.status(t)
	if st.Node != "nodeA" || st.Name != "Test clinic" || st.Role != "clinic" || st.Version != "test" {
		t.Errorf("info %+v", st)
	}
	if st.Store.Node != "nodeA" || st.Store.Schema != store.SchemaVersion || st.Store.LogLen != 0 || len(st.Store.Records) != 0 {
		t.Errorf("fresh store %+v", st.Store)
	}
	for i := range 3 {
		n.create(t, "patients", map[string]any{"fields": map[string]any{"i": i}})
	}
	n.create(t, "visits", `{}`)
	st = n.status(t)
	if st.Store.Records["patients"] != 3 || st.Store.Records["visits"] != 1 || st.Store.LogLen != 4 || st.Store.Vector["nodeA"] != 4 {
		t.Errorf("after 4 creates: %+v", st.Store)
	}
	if !slices.Equal(st.Store.Collections, []string{"patients", "visits"}) || st.Store.FileBytes <= 0 ||
		st.Store.DiskBytes < st.Store.FileBytes || st.Store.LastStamp == "" {
		t.Errorf("status %+v", st.Store)
	}
}

func TestBackup(t *testing.T) {
	n := newTestNode(t)
	fillNode(t, n, "p", 5)
	before := n.status(t)

	r := n.do(t, "GET", "/api/v1/backup", nil)
	wantStatus(t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := r.header.Get("Content-Disposition"); cd == "" {
		t.Error("no Content-Disposition")
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(path, r.body, 0o600); err != nil {
		t.Fatal(err)
	}
	opts := store.DefaultOptions(path, "nodeA")
	opts.ReadOnly = true
	b, err := store.Open(opts)
	if err != nil {
		t.Fatalf("open backup: %v", err)
	}
	defer b.Close()
	if err := b.Check(); err != nil {
		t.Errorf("backup check: %v", err)
	}
	st, err := b.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(st.Records) != fmt.Sprint(before.Store.Records) || st.LogLen != before.Store.LogLen ||
		st.Vector.String() != fmt.Sprintf("nodeA:%d", before.Store.Vector["nodeA"]) {
		t.Errorf("backup stats %+v, node's %+v", st, before.Store)
	}
	// The copy holds the records themselves.
	got, err := b.Get("patients", "p04")
	if err != nil || string(got.Fields["name"].Value) != `"患者 p04"` || !slices.Equal(got.Sets["tags"], []string{"seen", "t1"}) {
		t.Errorf("backup p04: %+v, %v", got, err)
	}
	if got, err := b.Get("patients", "p01"); err != nil || got.ID != "p00" || !slices.Equal(got.Merged, []string{"p01"}) {
		t.Errorf("backup p01: %+v, %v", got, err)
	}
}

// failingBackup is the real store with a Backup that breaks after limit
// bytes, as a full disk or a dropped client would.
type failingBackup struct {
	*store.Store
	limit int64
}

func (f failingBackup) Backup(w io.Writer) (int64, error) {
	return f.Store.Backup(&failAfter{w: w, left: f.limit})
}

type failAfter struct {
	w    io.Writer
	left int64
}

func (f *failAfter) Write(p []byte) (int, error) {
	if int64(len(p)) > f.left {
		var n int
		if f.left > 0 {
			n, _ = f.w.Write(p[:f.left])
			f.left = 0
		}
		return n, errors.New("disk on fire")
	}
	f.left -= int64(len(p))
	return f.w.Write(p)
}

// TestBackupFailure: a backup that fails before sending anything answers
// with a JSON error; one that fails midway breaks the transfer, so a client
// never keeps a short file as if it were whole.
func TestBackupFailure(t *testing.T) {
	for _, limit := range []int64{0, 100, 5000} {
		t.Run(fmt.Sprint("after", limit), func(t *testing.T) {
			n := newTestNode(t, withoutAPILog(), func(c *nodeConfig) {
				c.records = func(s *store.Store) api.Records { return failingBackup{Store: s, limit: limit} }
			})
			n.create(t, "patients", `{"id":"p1"}`)
			r, err := n.send("GET", "/api/v1/backup", nil)
			if limit == 0 {
				if err != nil {
					t.Fatal(err)
				}
				wantError(t, r, http.StatusInternalServerError, "internal")
				if cd := r.header.Get("Content-Disposition"); cd != "" {
					t.Errorf("error offered as a file download: %q", cd)
				}
				return
			}
			if err == nil {
				t.Fatalf("a backup that failed after %d bytes arrived whole: status %d, %d bytes", limit, r.status, len(r.body))
			}
		})
	}
}

// TestClosedStore: writes to a node whose store is closing get 503.
func TestClosedStore(t *testing.T) {
	n := newTestNode(t)
	n.create(t, "patients", `{"id":"p1"}`)
	if err := n.store.Close(); err != nil {
		t.Fatal(err)
	}
	wantError(t, n.do(t, "POST", "/api/v1/records/patients", `{}`), http.StatusServiceUnavailable, "unavailable")
	wantError(t, n.do(t, "PATCH", "/api/v1/records/patients/p1", `{"fields":{"a":1}}`), http.StatusServiceUnavailable, "unavailable")
	wantError(t, n.do(t, "DELETE", "/api/v1/records/patients/p1", nil), http.StatusServiceUnavailable, "unavailable")
	wantError(t, n.do(t, "POST", "/api/v1/changes", `{"changes":[]}`), http.StatusServiceUnavailable, "unavailable")
}

func TestInstrumentAndMetrics(t *testing.T) {
	var mu sync.Mutex
	routes := map[string]int{}
	instrument := func(route string, h http.Handler) http.Handler {
		mu.Lock()
		routes[route] = 0
		mu.Unlock()
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			routes[route]++
			mu.Unlock()
			h.ServeHTTP(w, r)
		})
	}
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "carenode_up 1") })
	n := newTestNode(t, func(c *nodeConfig) {
		c.api.Instrument = instrument
		c.api.Metrics = metrics
	})
	n.do(t, "GET", "/healthz", nil)
	n.create(t, "patients", `{"id":"p1"}`)
	n.get(t, "patients", "p1")
	n.do(t, "GET", "/api/v1/records/patients/p2", nil)

	mu.Lock()
	defer mu.Unlock()
	if len(routes) != 10 {
		t.Errorf("instrumented %d routes: %v", len(routes), routes)
	}
	for route, want := range map[string]int{
		"GET /healthz": 1, "POST /api/v1/records/{collection}": 1, "GET /api/v1/records/{collection}/{id}": 2, "GET /api/v1/changes": 0,
	} {
		if got, ok := routes[route]; !ok || got != want {
			t.Errorf("route %q served %d times (known %v), want %d", route, got, ok, want)
		}
	}
	r := n.do(t, "GET", "/metrics", nil)
	if r.status != http.StatusOK || string(r.body) != "carenode_up 1\n" {
		t.Errorf("metrics: %s", r)
	}
}

// TestConcurrentCreates: 32 clients × 25 POSTs at once all succeed with
// distinct ids, and the store counts every one.
func TestConcurrentCreates(t *testing.T) {
	const clients, each = 32, 25
	n := newTestNode(t)
	n.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	t.Cleanup(n.client.CloseIdleConnections)

	type result struct {
		id  string
		err string
	}
	results := make(chan result, clients*each)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range each {
				r, err := n.send("POST", "/api/v1/records/patients",
					fmt.Sprintf(`{"fields":{"client":%d,"i":%d,"name":"并发 %d-%d"}}`, c, i, c, i))
				switch {
				case err != nil:
					results <- result{err: err.Error()}
				case r.status != http.StatusCreated:
					results <- result{err: r.String()}
				default:
					var rec struct {
						ID string `json:"id"`
					}
					if err := json.Unmarshal(r.body, &rec); err != nil || rec.ID == "" {
						results <- result{err: fmt.Sprintf("%s: %v", r, err)}
					} else {
						results <- result{id: rec.ID}
					}
				}
			}
		})
	}
	wg.Wait()
	close(results)
	ids := map[string]bool{}
	for res := range results {
		if res.err != "" {
			t.Fatal(res.err)
		}
		if ids[res.id] {
			t.Fatalf("id %s given twice", res.id)
		}
		ids[res.id] = true
	}
	if len(ids) != clients*each {
		t.Fatalf("%d ids, want %d", len(ids), clients*each)
	}
	st := n.status(t)
	if st.Store.Records["patients"] != clients*each || st.Store.LogLen != clients*each {
		t.Errorf("status counts %d records, %d changes; want %d", st.Store.Records["patients"], st.Store.LogLen, clients*each)
	}
	if got := len(listAll(t, n, "patients")); got != clients*each {
		t.Errorf("list shows %d records", got)
	}
}
