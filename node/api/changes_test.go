package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"carenode/crdt"
)

// changesPage is GET /api/v1/changes. Changes stay raw so they are sent on
// exactly as they came.
type changesPage struct {
	Changes []json.RawMessage `json:"changes"`
	Next    string            `json:"next"`
	More    bool              `json:"more"`
}

type applyResult struct {
	Applied    int    `json:"applied"`
	Duplicates int    `json:"duplicates"`
	Vector     string `json:"vector"`
	Skew       []any  `json:"skew"`
}

func (n *testNode) changes(t testing.TB, after string, limit int) changesPage {
	t.Helper()
	q := url.Values{"after": {after}}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	r := n.do(t, "GET", "/api/v1/changes?"+q.Encode(), nil)
	wantStatus(t, r, http.StatusOK)
	var p changesPage
	decodeStrict(t, r, &p)
	if p.Changes == nil {
		t.Fatalf("%s: changes is not a list", r)
	}
	return p
}

// allChanges pages through n's change feed from after with limit, checking
// the paging rules on the way.
func (n *testNode) allChanges(t testing.TB, after string, limit int) (changes []json.RawMessage, next string) {
	t.Helper()
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatal("change feed does not end")
		}
		p := n.changes(t, after, limit)
		if limit > 0 && len(p.Changes) > limit {
			t.Fatalf("page of %d changes with limit %d", len(p.Changes), limit)
		}
		if p.More && len(p.Changes) == 0 {
			t.Fatalf("empty page says more")
		}
		changes = append(changes, p.Changes...)
		after = p.Next
		if !p.More {
			return changes, after
		}
	}
}

func (n *testNode) apply(t testing.TB, changes []json.RawMessage) applyResult {
	t.Helper()
	if changes == nil {
		changes = []json.RawMessage{}
	}
	r := n.do(t, "POST", "/api/v1/changes", map[string]any{"changes": changes})
	wantStatus(t, r, http.StatusOK)
	var res applyResult
	decodeStrict(t, r, &res)
	return res
}

type changeID struct {
	Origin string `json:"origin"`
	Seq    uint64 `json:"seq"`
}

func idOf(t testing.TB, raw json.RawMessage) changeID {
	t.Helper()
	var c changeID
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// fillNode makes records on n: creates, field edits, set edits, facts, a
// delete and a merge, so the feed carries every kind of mutation.
func fillNode(t testing.TB, n *testNode, prefix string, count int) {
	t.Helper()
	for i := range count {
		id := fmt.Sprintf("%s%02d", prefix, i)
		n.create(t, "patients", map[string]any{"id": id,
			"fields": map[string]any{"name": "患者 " + id, "phone": fmt.Sprint(1000 + i), "age": 30 + i},
			"sets":   map[string]any{"tags": []string{"t" + fmt.Sprint(i%3)}},
			"facts":  map[string]any{"vitals": []any{map[string]any{"id": "bp", "value": map[string]int{"sys": 110 + i}}}},
		})
		n.patch(t, "patients", id, map[string]any{"fields": map[string]any{"age": 31 + i}, "add": map[string]any{"tags": []string{"seen"}}})
	}
	n.create(t, "visits", map[string]any{"id": prefix + "v", "fields": map[string]any{"patient": prefix + "00"}})
	n.do(t, "DELETE", "/api/v1/records/visits/"+prefix+"v", nil)
	n.patch(t, "patients", prefix+"01", map[string]any{"mergeInto": prefix + "00"})
	n.patch(t, "patients", prefix+"02", map[string]any{"remove": map[string]any{"tags": []string{"seen"}}})
}

// TestChangesPaging: with two origins in the log, every limit walks the
// feed to the end with each change exactly once, by origin then sequence.
func TestChangesPaging(t *testing.T) {
	a := newTestNode(t)
	c := newTestNode(t, withNode("nodeC"))
	fillNode(t, a, "a", 6)
	fillNode(t, c, "c", 4)
	fromC, _ := c.allChanges(t, "", 0)
	if res := a.apply(t, fromC); res.Applied != len(fromC) {
		t.Fatalf("a applied %d of c's %d changes", res.Applied, len(fromC))
	}
	st := a.status(t)
	total := int(st.Store.LogLen)
	wantVector := fmt.Sprintf("nodeA:%d,nodeC:%d", st.Store.Vector["nodeA"], st.Store.Vector["nodeC"])
	if total < 20 || st.Store.Vector["nodeC"] != uint64(len(fromC)) {
		t.Fatalf("setup: log %d, vector %v", total, st.Store.Vector)
	}

	for _, limit := range []int{1, 3, 7, total - 1, total, total + 1, 0} {
		t.Run(fmt.Sprint("limit", limit), func(t *testing.T) {
			all, next := a.allChanges(t, "", limit)
			if len(all) != total {
				t.Errorf("walked %d changes, the log has %d", len(all), total)
			}
			var ids []changeID
			seen := map[changeID]bool{}
			for _, raw := range all {
				id := idOf(t, raw)
				if seen[id] {
					t.Errorf("change %v sent twice", id)
				}
				seen[id] = true
				ids = append(ids, id)
			}
			sorted := slices.IsSortedFunc(ids, func(x, y changeID) int {
				if c := strings.Compare(x.Origin, y.Origin); c != 0 {
					return c
				}
				return int(x.Seq) - int(y.Seq)
			})
			if !sorted {
				t.Errorf("changes not in origin, sequence order: %v", ids)
			}
			if next != wantVector {
				t.Errorf("final next %q, want %q", next, wantVector)
			}
			// Asking with the final vector gives nothing more.
			if p := a.changes(t, next, limit); len(p.Changes) != 0 || p.More || p.Next != next {
				t.Errorf("after the end: %d changes, more %v, next %q", len(p.Changes), p.More, p.Next)
			}
		})
	}

	// A peer that holds part of the feed gets only the rest.
	p := a.changes(t, "nodeA:5,nodeC:2", 0)
	if want := total - 5 - 2; len(p.Changes) != want {
		t.Errorf("after nodeA:5,nodeC:2: %d changes, want %d", len(p.Changes), want)
	}
	if first := idOf(t, p.Changes[0]); first != (changeID{"nodeA", 6}) {
		t.Errorf("first change after nodeA:5 is %v", first)
	}
	// Origins this node never heard of change nothing; zero entries say nothing.
	if p := a.changes(t, " nodeZ:9 , nodeA:0 ", 0); len(p.Changes) != total {
		t.Errorf("after unknown origin: %d changes, want %d", len(p.Changes), total)
	}
}

func TestChangesMaxPage(t *testing.T) {
	n := newTestNode(t, withMaxPage(3))
	fillNode(t, n, "a", 3)
	p := n.changes(t, "", 0)
	if len(p.Changes) != 3 || !p.More || p.Next != "nodeA:3" {
		t.Errorf("default page: %d changes, more %v, next %q", len(p.Changes), p.More, p.Next)
	}
	p = n.changes(t, "", 100)
	if len(p.Changes) != 3 {
		t.Errorf("limit above MaxPage gave %d changes", len(p.Changes))
	}
}

func TestChangesEmptyStore(t *testing.T) {
	n := newTestNode(t)
	r := n.do(t, "GET", "/api/v1/changes", nil)
	wantStatus(t, r, http.StatusOK)
	if got := strings.TrimSpace(string(r.body)); got != `{"changes":[],"next":"","more":false}` {
		t.Errorf("empty feed: %s", got)
	}
}

func TestChangesBadQuery(t *testing.T) {
	n := newTestNode(t)
	for _, q := range []string{
		"after=nodeA", "after=nodeA:x", "after=nodeA:-1", "after=nodeA:1,nodeA:2", "after=bad%20name:1",
		"after=:1", "after=nodeA:1,", "after=nodeA:1;nodeB:2", "after=nodeA:99999999999999999999999",
		"after=%E8%8A%82%E7%82%B9:1", "limit=0", "limit=x", "after=nodeA:1&limit=-5",
		"after=nodeA%zz:1", "after=nodeA:1&limit=%",
	} {
		t.Run(q, func(t *testing.T) {
			want := "after"
			switch {
			case strings.Contains(q, ";") || strings.Contains(q, "%z") || strings.HasSuffix(q, "%"):
				want = "query string"
			case strings.HasPrefix(q, "limit") || strings.Contains(q, "&limit"):
				want = "limit"
			}
			wantError(t, n.do(t, "GET", "/api/v1/changes?"+q, nil), http.StatusBadRequest, "bad_request", want)
		})
	}
}

// TestApplyChangesSync feeds node A's change feed into node B page by page,
// as a sync would, and expects B to show exactly A's records.
func TestApplyChangesSync(t *testing.T) {
	a := newTestNode(t)
	b := newTestNode(t, withNode("nodeB"))
	fillNode(t, a, "p", 8)
	// Concurrent edits on A's important field, so the conflict travels too.
	c0 := a.get(t, "patients", "p03").Stamps["phone"].Stamp
	for _, v := range []string{"x", "y"} {
		a.patch(t, "patients", "p03", map[string]any{"fields": map[string]any{"phone": v}, "seen": map[string]any{"phone": []string{c0}}})
	}
	b.create(t, "patients", `{"id":"b-own","fields":{"name":"B's own"}}`)

	after, total := "", 0
	for {
		p := a.changes(t, after, 5)
		res := b.apply(t, p.Changes)
		if res.Applied != len(p.Changes) || res.Duplicates != 0 {
			t.Fatalf("applied %d, duplicates %d of %d", res.Applied, res.Duplicates, len(p.Changes))
		}
		total += len(p.Changes)
		after = p.Next
		if !p.More {
			break
		}
	}
	stA, stB := a.status(t), b.status(t)
	if stB.Store.Vector["nodeA"] != stA.Store.Vector["nodeA"] || int(stA.Store.LogLen) != total {
		t.Errorf("B's vector %v, A's %v; sent %d of A's %d", stB.Store.Vector, stA.Store.Vector, total, stA.Store.LogLen)
	}
	if stB.Store.LogLen != stA.Store.LogLen+1 {
		t.Errorf("B's log %d, want A's %d plus its own", stB.Store.LogLen, stA.Store.LogLen)
	}

	for _, coll := range []string{"patients", "visits"} {
		listA := listAll(t, a, coll)
		listB := listAll(t, b, coll)
		delete(listB, "b-own")
		if len(listA) == 0 || len(listA) != len(listB) {
			t.Errorf("%s: A lists %d, B %d", coll, len(listA), len(listB))
		}
		for id, recA := range listA {
			if recB := listB[id]; recB != recA {
				t.Errorf("%s/%s differs:\nA %s\nB %s", coll, id, recA, recB)
			}
		}
	}
	// The merge and the conflict came along.
	if r := b.get(t, "patients", "p01"); r.ID != "p00" || r.Asked != "p01" {
		t.Errorf("merge on B: %+v", r)
	}
	if r := b.get(t, "patients", "p03"); len(r.Conflicts["phone"]) != 2 {
		t.Errorf("conflict on B: %+v", r.Conflicts)
	}

	// Sending everything again stores nothing new.
	all, _ := a.allChanges(t, "", 0)
	res := b.apply(t, all)
	if res.Applied != 0 || res.Duplicates != len(all) {
		t.Errorf("second send: applied %d, duplicates %d of %d", res.Applied, res.Duplicates, len(all))
	}
	if st := b.status(t); st.Store.LogLen != stB.Store.LogLen {
		t.Errorf("second send grew B's log from %d to %d", stB.Store.LogLen, st.Store.LogLen)
	}
	if !strings.Contains(res.Vector, fmt.Sprintf("nodeA:%d", stA.Store.Vector["nodeA"])) || !strings.Contains(res.Vector, "nodeB:1") {
		t.Errorf("vector after apply %q", res.Vector)
	}
	// An empty batch is fine.
	if res := b.apply(t, nil); res.Applied != 0 || res.Duplicates != 0 {
		t.Errorf("empty batch: %+v", res)
	}
}

// listAll returns every record of coll, as JSON by id.
func listAll(t testing.TB, n *testNode, coll string) map[string]string {
	t.Helper()
	r := n.do(t, "GET", "/api/v1/records/"+coll+"?limit=1000", nil)
	wantStatus(t, r, http.StatusOK)
	var out struct {
		Records []json.RawMessage `json:"records"`
	}
	decodeStrict(t, r, &out)
	m := map[string]string{}
	for _, raw := range out.Records {
		var rec struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			t.Fatal(err)
		}
		m[rec.ID] = string(raw)
	}
	return m
}

// TestApplyRefusesForgedChanges: a batch with one invalid change is refused
// whole with invalid_change, and the node stores nothing of it.
func TestApplyRefusesForgedChanges(t *testing.T) {
	valid := func() crdt.Change {
		return crdt.Change{Origin: "nodeX", Seq: 1, Stamp: crdt.Stamp{Wall: 1_700_000_000_000, Node: "nodeX"},
			Collection: "patients", Record: "r1",
			Muts: []crdt.Mutation{{Kind: crdt.MutSet, Field: "name", Value: []byte(`"forged?"`)}}}
	}
	tests := []struct {
		name    string
		forge   func(*crdt.Change)
		mention string
	}{
		{"stamp from another node", func(c *crdt.Change) { c.Stamp.Node = "nodeY" }, "not made by the origin"},
		{"sequence 0", func(c *crdt.Change) { c.Seq = 0 }, "start at 1"},
		{"bad collection", func(c *crdt.Change) { c.Collection = "bad name" }, "collection"},
		{"empty collection", func(c *crdt.Change) { c.Collection = "" }, "collection"},
		{"bad record id", func(c *crdt.Change) { c.Record = "a/b" }, "record id"},
		{"empty origin", func(c *crdt.Change) { c.Origin = "" }, "origin"},
		{"bad origin", func(c *crdt.Change) { c.Origin = "node X" }, "origin"},
		{"no mutations", func(c *crdt.Change) { c.Muts = nil }, "no mutations"},
		{"unknown kind", func(c *crdt.Change) { c.Muts[0].Kind = 99 }, "unknown mutation kind"},
		{"bad field", func(c *crdt.Change) { c.Muts[0].Field = "a b" }, "field"},
		{"field set twice", func(c *crdt.Change) { c.Muts = append(c.Muts, c.Muts[0]) }, "twice"},
		{"merge into itself", func(c *crdt.Change) { c.Muts = []crdt.Mutation{{Kind: crdt.MutMerge, Into: "r1"}} }, "itself"},
		{"delete with a value", func(c *crdt.Change) { c.Muts[0].Kind = crdt.MutDelete }, "does not use"},
	}
	// The unforged change is accepted, so each refusal below is the forgery's.
	t.Run("control", func(t *testing.T) {
		n := newTestNode(t)
		c := valid()
		if res := n.apply(t, []json.RawMessage{mustJSON(t, c)}); res.Applied != 1 {
			t.Fatalf("valid change not applied: %+v", res)
		}
		if got := string(n.get(t, "patients", "r1").Fields["name"]); got != `"forged?"` {
			t.Errorf("name %s", got)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newTestNode(t)
			good := valid()
			good.Record = "r0"
			bad := valid()
			bad.Seq = 2
			tt.forge(&bad)
			r := n.do(t, "POST", "/api/v1/changes", map[string]any{"changes": []crdt.Change{good, bad}})
			wantError(t, r, http.StatusBadRequest, "invalid_change", tt.mention)
			st := n.status(t)
			if st.Store.LogLen != 0 || len(st.Store.Records) != 0 || len(st.Store.Vector) != 0 {
				t.Errorf("a refused batch stored something: %+v", st.Store)
			}
			wantError(t, n.do(t, "GET", "/api/v1/records/patients/r0", nil), http.StatusNotFound, "not_found")
		})
	}
}

func TestApplyRefusesMalformedChanges(t *testing.T) {
	n := newTestNode(t)
	base := `{"origin":"nodeX","seq":1,"stamp":"1.0@nodeX","collection":"p","record":"r","muts":[{"kind":1,"field":"f","value":%s}]}`
	for _, tt := range []struct{ name, change, mention string }{
		{"value not base64", fmt.Sprintf(base, `"%%%"`), "base64"},
		{"value not a string", fmt.Sprintf(base, `{}`), "value"},
		{"unknown field", strings.Replace(fmt.Sprintf(base, `"eA=="`), `"seq"`, `"sequence"`, 1), `"sequence"`},
		{"bad stamp text", strings.Replace(fmt.Sprintf(base, `"eA=="`), `1.0@nodeX`, `01.0@nodeX`, 1), "01.0@nodeX"},
		{"kind out of range", strings.Replace(fmt.Sprintf(base, `"eA=="`), `"kind":1`, `"kind":300`, 1), "kind"},
		{"negative seq", strings.Replace(fmt.Sprintf(base, `"eA=="`), `"seq":1`, `"seq":-1`, 1), "seq"},
		// Stamps a node cannot make have no text form: refused as they are read.
		{"negative wall", strings.Replace(fmt.Sprintf(base, `"eA=="`), `1.0@nodeX`, `-1.0@nodeX`, 1), "wall"},
		{"stamp without node", strings.Replace(fmt.Sprintf(base, `"eA=="`), `1.0@nodeX`, `1.0@`, 1), "stamp"},
		{"bad seen stamp", strings.Replace(fmt.Sprintf(base, `"eA=="`), `"field"`, `"seen":["-5.0@nodeX"],"field"`, 1), "-5.0@nodeX"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := n.do(t, "POST", "/api/v1/changes", `{"changes":[`+tt.change+`]}`)
			if r.status != http.StatusBadRequest {
				t.Fatalf("want 400, got %s", r)
			}
			e, bad := checkErrorShape(r)
			if bad != "" {
				t.Fatalf("%s: %s", r, bad)
			}
			if !strings.Contains(e.Error.Message, tt.mention) {
				t.Errorf("message %q does not mention %q", e.Error.Message, tt.mention)
			}
		})
	}
	// The well-formed version of the same change goes in.
	if res := n.apply(t, []json.RawMessage{json.RawMessage(fmt.Sprintf(base, `"eA=="`))}); res.Applied != 1 {
		t.Errorf("control change: %+v", res)
	}
	if st := n.status(t); st.Store.LogLen != 1 {
		t.Errorf("log %d, want only the control change", st.Store.LogLen)
	}
}

// TestRemoteValueNotJSON: a peer may write bytes that are not JSON; the
// record still reads, with the value as a base64 string.
func TestRemoteValueNotJSON(t *testing.T) {
	n := newTestNode(t)
	c := crdt.Change{Origin: "nodeX", Seq: 1, Stamp: crdt.Stamp{Wall: 5, Node: "nodeX"}, Collection: "p", Record: "r",
		Muts: []crdt.Mutation{{Kind: crdt.MutSet, Field: "blob", Value: []byte{0xff, 0x00, 'x'}},
			{Kind: crdt.MutSet, Field: "ok", Value: []byte(`{"a":1}`)}}}
	n.apply(t, []json.RawMessage{mustJSON(t, c)})
	rec := n.get(t, "p", "r")
	if got := string(rec.Fields["blob"]); got != `"/wB4"` {
		t.Errorf("blob %s, want base64 string", got)
	}
	if got := string(rec.Fields["ok"]); got != `{"a":1}` {
		t.Errorf("ok %s", got)
	}
}
