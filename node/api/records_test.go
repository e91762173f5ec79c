package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestCreateGivenID(t *testing.T) {
	n := newTestNode(t)
	r := n.do(t, "POST", "/api/v1/records/patients", `{"id":"p-001","fields":{"name":"王芳"}}`)
	wantStatus(t, r, http.StatusCreated)
	if loc := r.header.Get("Location"); loc != "/api/v1/records/patients/p-001" {
		t.Errorf("Location %q", loc)
	}
	rec := recordOf(t, r)
	if rec.ID != "p-001" || rec.Collection != "patients" || rec.Asked != "" || rec.Deleted {
		t.Errorf("created record %+v", rec)
	}
	if got := string(rec.Fields["name"]); got != `"王芳"` {
		t.Errorf("name %s", got)
	}
	st := rec.Stamps["name"]
	if st.Stamp == "" || !slices.Equal(st.Seen, []string{st.Stamp}) {
		t.Errorf("stamps %+v", st)
	}
	if rec.Created != st.Stamp || rec.Updated != st.Stamp || !strings.HasSuffix(rec.Created, "@nodeA") {
		t.Errorf("created %q updated %q, want the field's stamp %q by nodeA", rec.Created, rec.Updated, st.Stamp)
	}
	if got := n.get(t, "patients", "p-001"); !equalJSON(t, got, rec) {
		t.Errorf("GET gives %+v, POST gave %+v", got, rec)
	}
}

func TestCreateGeneratedIDs(t *testing.T) {
	n := newTestNode(t)
	idForm := regexp.MustCompile(`^[0-9a-v]{21}$`)
	prev := ""
	seen := map[string]bool{}
	for i := range 50 {
		r := n.do(t, "POST", "/api/v1/records/patients", map[string]any{"fields": map[string]any{"n": i}})
		wantStatus(t, r, http.StatusCreated)
		rec := recordOf(t, r)
		if !idForm.MatchString(rec.ID) {
			t.Fatalf("generated id %q is not 21 base32hex characters", rec.ID)
		}
		// Ids sort by creation time: the 48-bit millisecond prefix (the
		// first 9 characters carry 45 of its bits) never goes backwards.
		if rec.ID[:9] < prev {
			t.Fatalf("id %s sorts before the earlier %s", rec.ID, prev)
		}
		prev = rec.ID[:9]
		if seen[rec.ID] {
			t.Fatalf("id %s generated twice", rec.ID)
		}
		seen[rec.ID] = true
		if loc := r.header.Get("Location"); loc != "/api/v1/records/patients/"+rec.ID {
			t.Fatalf("Location %q for %s", loc, rec.ID)
		}
		if got := string(n.get(t, "patients", rec.ID).Fields["n"]); got != fmt.Sprint(i) {
			t.Fatalf("record %s field n = %s, want %d", rec.ID, got, i)
		}
	}
	if got := n.status(t).Store.Records["patients"]; got != 50 {
		t.Errorf("status counts %d patients, want 50", got)
	}
}

func TestCreateDuplicateID(t *testing.T) {
	n := newTestNode(t)
	n.create(t, "patients", `{"id":"p1","fields":{"name":"first"}}`)
	r := n.do(t, "POST", "/api/v1/records/patients", `{"id":"p1","fields":{"name":"second"}}`)
	wantError(t, r, http.StatusConflict, "conflict", "p1")
	if got := string(n.get(t, "patients", "p1").Fields["name"]); got != `"first"` {
		t.Errorf("after the refused create, name is %s", got)
	}
	// The same id in another collection is another record.
	n.create(t, "visits", `{"id":"p1","fields":{}}`)
}

func TestCreateEmptyRecord(t *testing.T) {
	n := newTestNode(t)
	rec := n.create(t, "patients", `{}`)
	if len(rec.Fields) != 0 || rec.Created == "" {
		t.Errorf("empty record %+v", rec)
	}
	if string(mustJSON(t, rec.Fields)) != "{}" {
		t.Errorf("fields of an empty record should be {}")
	}
}

// TestFieldValuesRoundTrip sends every JSON type, spaced out, and expects
// each value back byte for byte in compact form, from the POST answer and
// from a GET that reads the bbolt file.
func TestFieldValuesRoundTrip(t *testing.T) {
	n := newTestNode(t)
	fields := map[string]string{
		"name":     `"张伟"`,
		"note":     `"高血压, follow up in 2 weeks; <b>&amp;</b> \"quoted\" \u00e9\n\ttab"`,
		"emoji":    `"👩‍⚕️ 🏥"`,
		"empty":    `""`,
		"int":      `42`,
		"negative": `-12.5e3`,
		"big":      `123456789012345678901234567890`,
		"precise":  `0.10000000000000000555`,
		"huge":     `1E400`,
		"zero":     `-0`,
		"true":     `true`,
		"false":    `false`,
		"null":     `null`,
		"object":   `{ "bp" : { "sys" : 120, "dia" : 80 }, "z": [ ], "a": { } }`,
		"array":    `[ 1, "二", false, null, { "k" : [ 3 ] } ]`,
		"nested":   `[[[[[[[["deep"]]]]]]]]`,
	}
	var body strings.Builder
	body.WriteString("{\n  \"fields\": {\n")
	i := 0
	for name, v := range fields {
		if i > 0 {
			body.WriteString(",\n")
		}
		fmt.Fprintf(&body, "    %q :   %s", name, v)
		i++
	}
	body.WriteString("\n  }\n}\n")

	created := n.create(t, "patients", body.String())
	stored := n.get(t, "patients", created.ID)
	for _, rec := range []record{created, stored} {
		if len(rec.Fields) != len(fields) {
			t.Errorf("got %d fields, want %d", len(rec.Fields), len(fields))
		}
		for name, v := range fields {
			if got, want := string(rec.Fields[name]), compactJSON(t, v); got != want {
				t.Errorf("field %s: got %s, want %s", name, got, want)
			}
		}
	}
	// The raw response body keeps the Chinese text and markup unescaped.
	r := n.do(t, "GET", "/api/v1/records/patients/"+created.ID, nil)
	for _, want := range []string{`"张伟"`, `<b>&amp;</b>`} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("response body does not contain %s: %s", want, r.body)
		}
	}
}

func TestCreateSetsAndFacts(t *testing.T) {
	n := newTestNode(t)
	rec := n.create(t, "patients", `{"id":"p1",
		"fields":{"name":"李娜"},
		"sets":{"conditions":["高血压","diabetes"],"flags":["vip"]},
		"facts":{"vitals":[{"id":"bp1","value":{"sys":120,"dia":80}},{"id":"wt1","value":61.5}]}}`)
	for _, got := range []record{rec, n.get(t, "patients", "p1")} {
		if !slices.Equal(got.Sets["conditions"], []string{"diabetes", "高血压"}) || !slices.Equal(got.Sets["flags"], []string{"vip"}) {
			t.Errorf("sets %v", got.Sets)
		}
		vitals := got.Facts["vitals"]
		if len(vitals) != 2 {
			t.Fatalf("facts %+v", got.Facts)
		}
		byID := map[string]fact{}
		for _, f := range vitals {
			byID[f.ID] = f
			if f.Stamp != got.Created {
				t.Errorf("fact %s stamp %s, want the creating change's %s", f.ID, f.Stamp, got.Created)
			}
		}
		if string(byID["bp1"].Value) != `{"sys":120,"dia":80}` || string(byID["wt1"].Value) != `61.5` {
			t.Errorf("fact values %+v", byID)
		}
	}
}

func TestCreateRefusesBadNames(t *testing.T) {
	long := strings.Repeat("x", 65)
	tests := []struct {
		name, path, body, mention string
	}{
		{"id with space", "/api/v1/records/patients", `{"id":"a b"}`, `"a b"`},
		{"id with slash", "/api/v1/records/patients", `{"id":"a/b"}`, `"a/b"`},
		{"id too long", "/api/v1/records/patients", `{"id":"` + long + `"}`, long},
		{"id in Chinese", "/api/v1/records/patients", `{"id":"病人"}`, `"病人"`},
		{"collection", "/api/v1/records/bad%20coll", `{}`, `"bad coll"`},
		{"collection too long", "/api/v1/records/" + long, `{}`, long},
		{"field name", "/api/v1/records/patients", `{"fields":{"bad name":1}}`, `"bad name"`},
		{"empty field name", "/api/v1/records/patients", `{"fields":{"":1}}`, `""`},
		{"set name", "/api/v1/records/patients", `{"sets":{"a b":["x"]}}`, `"a b"`},
		{"empty set element", "/api/v1/records/patients", `{"sets":{"tags":[""]}}`, `empty element`},
		{"fact id", "/api/v1/records/patients", `{"facts":{"vitals":[{"id":"a b","value":1}]}}`, `"a b"`},
		{"fact without id", "/api/v1/records/patients", `{"facts":{"vitals":[{"value":1}]}}`, `id ""`},
		{"fact without value", "/api/v1/records/patients", `{"facts":{"vitals":[{"id":"v1"}]}}`, `missing value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newTestNode(t)
			wantError(t, n.do(t, "POST", tt.path, tt.body), http.StatusBadRequest, "bad_request", tt.mention)
			if st := n.status(t); st.Store.LogLen != 0 || len(st.Store.Records) != 0 {
				t.Errorf("a refused create stored something: %+v", st.Store)
			}
		})
	}
}

func TestGet(t *testing.T) {
	n := newTestNode(t)
	n.create(t, "patients", `{"id":"p1","fields":{"name":"x"}}`)
	tests := []struct {
		name, path string
		status     int
	}{
		{"exists", "/api/v1/records/patients/p1", http.StatusOK},
		{"unknown id", "/api/v1/records/patients/p2", http.StatusNotFound},
		{"unknown collection", "/api/v1/records/visits/p1", http.StatusNotFound},
		{"id with space", "/api/v1/records/patients/p%201", http.StatusNotFound},
		{"id with star", "/api/v1/records/patients/p*", http.StatusNotFound},
		{"id in Chinese", "/api/v1/records/patients/%E7%97%85", http.StatusNotFound},
		{"id too long", "/api/v1/records/patients/" + strings.Repeat("p", 65), http.StatusNotFound},
		{"collection with quote", "/api/v1/records/pat%22ients/p1", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := n.do(t, "GET", tt.path, nil)
			if tt.status == http.StatusOK {
				wantStatus(t, r, http.StatusOK)
				if rec := recordOf(t, r); rec.ID != "p1" {
					t.Errorf("got %+v", rec)
				}
				return
			}
			e := wantError(t, r, tt.status, "not_found")
			if e.Error.Zh != "未找到" {
				t.Errorf("zh %q", e.Error.Zh)
			}
		})
	}
}

// TestListPaging walks a collection page by page with limit and after and
// expects every record once, in id order.
func TestListPaging(t *testing.T) {
	n := newTestNode(t)
	var want []string
	for i := range 23 {
		rec := n.create(t, "patients", map[string]any{"fields": map[string]any{"i": i}})
		want = append(want, rec.ID)
	}
	n.create(t, "visits", `{"id":"v1"}`) // another collection stays out
	slices.Sort(want)

	for _, limit := range []int{1, 5, 22, 23, 100} {
		t.Run(fmt.Sprint("limit", limit), func(t *testing.T) {
			var got []string
			after := ""
			for page := 0; ; page++ {
				if page > 30 {
					t.Fatal("paging does not end")
				}
				r := n.do(t, "GET", fmt.Sprintf("/api/v1/records/patients?limit=%d&after=%s", limit, after), nil)
				wantStatus(t, r, http.StatusOK)
				var out struct {
					Records []record `json:"records"`
					Next    string   `json:"next"`
				}
				decodeStrict(t, r, &out)
				if len(out.Records) > limit {
					t.Fatalf("page of %d records with limit %d", len(out.Records), limit)
				}
				for _, rec := range out.Records {
					got = append(got, rec.ID)
					if rec.Collection != "patients" || len(rec.Fields) != 1 {
						t.Errorf("listed %+v", rec)
					}
				}
				if out.Next == "" {
					break
				}
				if out.Next != out.Records[len(out.Records)-1].ID {
					t.Fatalf("next %q is not the page's last id", out.Next)
				}
				after = out.Next
			}
			if !slices.Equal(got, want) {
				t.Errorf("walked %d ids %v\nwant %d %v", len(got), got, len(want), want)
			}
		})
	}
}

func TestListMaxPage(t *testing.T) {
	n := newTestNode(t, withMaxPage(4))
	for i := range 6 {
		n.create(t, "patients", map[string]any{"id": fmt.Sprint("p", i)})
	}
	var out struct {
		Records []record `json:"records"`
		Next    string   `json:"next"`
	}
	r := n.do(t, "GET", "/api/v1/records/patients?limit=1000", nil)
	wantStatus(t, r, http.StatusOK)
	decodeStrict(t, r, &out)
	if len(out.Records) != 4 || out.Next != "p3" {
		t.Errorf("limit above MaxPage: %d records, next %q; want 4 and p3", len(out.Records), out.Next)
	}
}

func TestListEmptyAndBadLimit(t *testing.T) {
	n := newTestNode(t)
	r := n.do(t, "GET", "/api/v1/records/nothing", nil)
	wantStatus(t, r, http.StatusOK)
	if got := strings.TrimSpace(string(r.body)); got != `{"records":[]}` {
		t.Errorf("empty collection lists as %s", got)
	}
	for _, limit := range []string{"0", "-1", "abc", "1.5", "1e3", "%20", "99999999999999999999999"} {
		t.Run(limit, func(t *testing.T) {
			wantError(t, n.do(t, "GET", "/api/v1/records/patients?limit="+limit, nil), http.StatusBadRequest, "bad_request", "limit")
		})
	}
	// A query Go cannot parse is refused, not read as "no limit, from the start".
	for _, q := range []string{"limit=5;after=x", "after=%zz", "limit=%"} {
		t.Run(q, func(t *testing.T) {
			wantError(t, n.do(t, "GET", "/api/v1/records/patients?"+q, nil), http.StatusBadRequest, "bad_request", "query string")
		})
	}
}

func TestListSkipsMergedRecords(t *testing.T) {
	n := newTestNode(t)
	for _, id := range []string{"a", "b", "c"} {
		n.create(t, "patients", map[string]any{"id": id})
	}
	n.patch(t, "patients", "b", `{"mergeInto":"a"}`)
	r := n.do(t, "GET", "/api/v1/records/patients", nil)
	wantStatus(t, r, http.StatusOK)
	var out struct {
		Records []record `json:"records"`
	}
	decodeStrict(t, r, &out)
	var ids []string
	for _, rec := range out.Records {
		ids = append(ids, rec.ID)
	}
	if !slices.Equal(ids, []string{"a", "c"}) {
		t.Errorf("list shows %v, want [a c]: b shows through a", ids)
	}
	if !slices.Equal(out.Records[0].Merged, []string{"b"}) {
		t.Errorf("a lists merged %v", out.Records[0].Merged)
	}
}

func TestPatchSetFields(t *testing.T) {
	n := newTestNode(t)
	created := n.create(t, "patients", `{"id":"p1","fields":{"name":"张三","phone":"111","age":40}}`)
	// No "seen": the write replaces what the node holds, so even an
	// important field gets no conflict.
	rec := n.patch(t, "patients", "p1", `{"fields":{"phone":"222","city":"成都"}}`)
	if string(rec.Fields["phone"]) != `"222"` || string(rec.Fields["city"]) != `"成都"` {
		t.Errorf("fields %s", mustJSON(t, rec.Fields))
	}
	if string(rec.Fields["name"]) != `"张三"` || string(rec.Fields["age"]) != `40` {
		t.Errorf("unpatched fields changed: %s", mustJSON(t, rec.Fields))
	}
	if rec.Conflicts != nil {
		t.Errorf("conflicts %+v", rec.Conflicts)
	}
	ph := rec.Stamps["phone"]
	if len(ph.Seen) != 1 || ph.Seen[0] != ph.Stamp || ph.Stamp == created.Stamps["phone"].Stamp {
		t.Errorf("phone stamps %+v (created %+v)", ph, created.Stamps["phone"])
	}
	if rec.Created != created.Created || rec.Updated != ph.Stamp {
		t.Errorf("created %s updated %s; want %s and %s", rec.Created, rec.Updated, created.Created, ph.Stamp)
	}
	// Setting a field to null keeps the field with a null value.
	rec = n.patch(t, "patients", "p1", `{"fields":{"city":null}}`)
	if v, ok := rec.Fields["city"]; !ok || string(v) != "null" {
		t.Errorf("city after null: %s %v", v, ok)
	}
}

// TestPatchConcurrentEdits simulates two people editing the same screen:
// both PATCHes name the stamp they saw. On an important field the two
// values show as a conflict until a write names both stamps.
func TestPatchConcurrentEdits(t *testing.T) {
	n := newTestNode(t)
	created := n.create(t, "patients", `{"id":"p1","fields":{"phone":"111","name":"old"}}`)
	phone0, name0 := created.Stamps["phone"].Stamp, created.Stamps["name"].Stamp

	first := n.patch(t, "patients", "p1", map[string]any{
		"fields": map[string]any{"phone": "222", "name": "A"},
		"seen":   map[string]any{"phone": []string{phone0}, "name": []string{name0}},
	})
	if first.Conflicts != nil {
		t.Fatalf("first edit conflicts: %+v", first.Conflicts)
	}
	second := n.patch(t, "patients", "p1", map[string]any{
		"fields": map[string]any{"phone": "333", "name": "B"},
		"seen":   map[string]any{"phone": []string{phone0}, "name": []string{name0}},
	})
	s1, s2 := first.Stamps["phone"].Stamp, second.Stamps["phone"].Stamp
	want := []stampedValue{{Stamp: s2, Value: json.RawMessage(`"333"`)}, {Stamp: s1, Value: json.RawMessage(`"222"`)}}
	for _, rec := range []record{second, n.get(t, "patients", "p1")} {
		if got := rec.Conflicts["phone"]; !equalJSON(t, got, want) {
			t.Errorf("phone conflicts %s, want %s", mustJSON(t, got), mustJSON(t, want))
		}
		if string(rec.Fields["phone"]) != `"333"` {
			t.Errorf("phone shows %s, want the newest value", rec.Fields["phone"])
		}
		if !slices.Equal(rec.Stamps["phone"].Seen, []string{s1, s2}) {
			t.Errorf("phone seen %v, want [%s %s]", rec.Stamps["phone"].Seen, s1, s2)
		}
		// "name" is not important: both values are current, no conflict shown.
		if _, ok := rec.Conflicts["name"]; ok || len(rec.Stamps["name"].Seen) != 2 || string(rec.Fields["name"]) != `"B"` {
			t.Errorf("name: conflicts %v, stamps %+v, value %s", rec.Conflicts, rec.Stamps["name"], rec.Fields["name"])
		}
	}

	// A write that names both stamps resolves the conflict.
	resolved := n.patch(t, "patients", "p1", map[string]any{
		"fields": map[string]any{"phone": "444"},
		"seen":   map[string]any{"phone": []string{s1, s2}},
	})
	if resolved.Conflicts != nil || string(resolved.Fields["phone"]) != `"444"` || len(resolved.Stamps["phone"].Seen) != 1 {
		t.Errorf("after resolving: conflicts %+v, phone %s, stamps %+v", resolved.Conflicts, resolved.Fields["phone"], resolved.Stamps["phone"])
	}
}

// TestPatchSeenNothing: "seen" with an empty list says the writer saw no
// value, so the new one stands beside the current one.
func TestPatchSeenNothing(t *testing.T) {
	n := newTestNode(t)
	c := n.create(t, "patients", `{"id":"p1","fields":{"phone":"1"}}`)
	rec := n.patch(t, "patients", "p1", `{"fields":{"phone":"2"},"seen":{"phone":[]}}`)
	want := []stampedValue{{rec.Stamps["phone"].Stamp, json.RawMessage(`"2"`)}, {c.Stamps["phone"].Stamp, json.RawMessage(`"1"`)}}
	if !equalJSON(t, rec.Conflicts["phone"], want) {
		t.Errorf("conflicts %s, want %s", mustJSON(t, rec.Conflicts["phone"]), mustJSON(t, want))
	}
}

func TestPatchNamingOneStampLeavesConflict(t *testing.T) {
	n := newTestNode(t)
	c := n.create(t, "patients", `{"id":"p1","fields":{"phone":"1"}}`)
	seen0 := map[string]any{"phone": []string{c.Stamps["phone"].Stamp}}
	a := n.patch(t, "patients", "p1", map[string]any{"fields": map[string]any{"phone": "2"}, "seen": seen0})
	n.patch(t, "patients", "p1", map[string]any{"fields": map[string]any{"phone": "3"}, "seen": seen0})
	// Naming only one of the two leaves the other standing beside the new one.
	rec := n.patch(t, "patients", "p1", map[string]any{"fields": map[string]any{"phone": "4"},
		"seen": map[string]any{"phone": []string{a.Stamps["phone"].Stamp}}})
	var vals []string
	for _, cv := range rec.Conflicts["phone"] {
		vals = append(vals, string(cv.Value))
	}
	if !slices.Equal(vals, []string{`"4"`, `"3"`}) {
		t.Errorf("conflict values %v, want [\"4\" \"3\"]", vals)
	}
	// With "seen" left out the node names what it holds: resolved.
	rec = n.patch(t, "patients", "p1", `{"fields":{"phone":"5"}}`)
	if rec.Conflicts != nil || string(rec.Fields["phone"]) != `"5"` {
		t.Errorf("after a write without seen: %+v", rec)
	}
}

func TestPatchRefusesBadRequests(t *testing.T) {
	tests := []struct {
		name, body string
		status     int
		code       string
		mention    string
	}{
		{"empty patch", `{}`, 400, "bad_request", "nothing to change"},
		{"null body", `null`, 400, "bad_request", "must be a JSON object"},
		{"empty maps", `{"fields":{},"add":{},"remove":{},"facts":{}}`, 400, "bad_request", "nothing to change"},
		{"seen without field", `{"fields":{"name":"x"},"seen":{"phone":["1.0@nodeA"]}}`, 400, "bad_request", `"phone"`},
		{"seen only", `{"seen":{"phone":["1.0@nodeA"]}}`, 400, "bad_request", `"phone"`},
		{"seen bad stamp", `{"fields":{"phone":"x"},"seen":{"phone":["yesterday"]}}`, 400, "bad_request", "yesterday"},
		{"seen empty stamp", `{"fields":{"phone":"x"},"seen":{"phone":[""]}}`, 400, "bad_request", ""},
		{"seen number", `{"fields":{"phone":"x"},"seen":{"phone":[5]}}`, 400, "bad_request", "seen"},
		{"bad field name", `{"fields":{"a/b":1}}`, 400, "bad_request", `"a/b"`},
		{"bad set name", `{"add":{"a b":["x"]}}`, 400, "bad_request", `"a b"`},
		{"empty remove element", `{"remove":{"tags":[""]}}`, 400, "bad_request", "empty element"},
		{"merge into itself", `{"mergeInto":"p1"}`, 400, "bad_request", "itself"},
		{"merge into bad id", `{"mergeInto":"a b"}`, 400, "bad_request", "a b"},
		{"merge into missing", `{"mergeInto":"ghost"}`, 404, "not_found", "ghost"},
		{"restore false only", `{"restore":false}`, 400, "bad_request", "nothing to change"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newTestNode(t)
			before := n.create(t, "patients", `{"id":"p1","fields":{"name":"张三","phone":"1"}}`)
			wantError(t, n.do(t, "PATCH", "/api/v1/records/patients/p1", tt.body), tt.status, tt.code, tt.mention)
			if after := n.get(t, "patients", "p1"); !equalJSON(t, after, before) {
				t.Errorf("a refused PATCH changed the record:\nbefore %+v\nafter  %+v", before, after)
			}
			if st := n.status(t); st.Store.LogLen != 1 {
				t.Errorf("log holds %d changes, want only the create", st.Store.LogLen)
			}
		})
	}
}

func TestPatchMissingRecord(t *testing.T) {
	n := newTestNode(t)
	wantError(t, n.do(t, "PATCH", "/api/v1/records/patients/ghost", `{"fields":{"a":1}}`), http.StatusNotFound, "not_found", "ghost")
	wantError(t, n.do(t, "PATCH", "/api/v1/records/nothing/ghost", `{"restore":true}`), http.StatusNotFound, "not_found")
	if st := n.status(t); st.Store.LogLen != 0 || len(st.Store.Records) != 0 {
		t.Errorf("a PATCH of a missing record stored something: %+v", st.Store)
	}
}

func TestPatchSets(t *testing.T) {
	n := newTestNode(t)
	n.create(t, "patients", `{"id":"p1","sets":{"tags":["a","b"]}}`)
	rec := n.patch(t, "patients", "p1", `{"add":{"tags":["c","中文"],"allergies":["penicillin"]}}`)
	if !slices.Equal(rec.Sets["tags"], []string{"a", "b", "c", "中文"}) || !slices.Equal(rec.Sets["allergies"], []string{"penicillin"}) {
		t.Fatalf("after add: %v", rec.Sets)
	}
	rec = n.patch(t, "patients", "p1", `{"remove":{"tags":["a","中文","never-there"]}}`)
	if !slices.Equal(rec.Sets["tags"], []string{"b", "c"}) {
		t.Fatalf("after remove: %v", rec.Sets)
	}
	// Adding an element back after its removal brings it back.
	rec = n.patch(t, "patients", "p1", `{"add":{"tags":["a"]}}`)
	if !slices.Equal(rec.Sets["tags"], []string{"a", "b", "c"}) {
		t.Fatalf("after re-add: %v", rec.Sets)
	}
	// Removing every member drops the set from the view.
	rec = n.patch(t, "patients", "p1", `{"remove":{"tags":["a","b","c"],"allergies":["penicillin"]}}`)
	if rec.Sets != nil {
		t.Errorf("after removing all: %v", rec.Sets)
	}
	if got := n.get(t, "patients", "p1"); got.Sets != nil {
		t.Errorf("stored sets after removing all: %v", got.Sets)
	}
}

func TestPatchFacts(t *testing.T) {
	n := newTestNode(t)
	n.create(t, "patients", `{"id":"p1","facts":{"vitals":[{"id":"bp1","value":{"sys":120}}]}}`)
	rec := n.patch(t, "patients", "p1", `{"facts":{"vitals":[{"id":"bp2","value":{"sys":135}}],"calls":[{"id":"c1","value":"无人接听"}]}}`)
	var ids []string
	for _, f := range rec.Facts["vitals"] {
		ids = append(ids, f.ID+"="+string(f.Value))
	}
	if !slices.Equal(ids, []string{`bp1={"sys":120}`, `bp2={"sys":135}`}) {
		t.Errorf("vitals %v, want bp1 then bp2 in stamp order", ids)
	}
	if c := rec.Facts["calls"]; len(c) != 1 || string(c[0].Value) != `"无人接听"` {
		t.Errorf("calls %+v", c)
	}
}

func TestDeleteAndRestore(t *testing.T) {
	n := newTestNode(t)
	n.create(t, "patients", `{"id":"p1","fields":{"name":"x"},"sets":{"tags":["t"]}}`)
	r := n.do(t, "DELETE", "/api/v1/records/patients/p1", nil)
	wantStatus(t, r, http.StatusOK)
	del := recordOf(t, r)
	if !del.Deleted || len(del.Tombstones) != 1 || del.Tombstones[0] != del.Updated {
		t.Fatalf("after DELETE: deleted %v tombstones %v updated %s", del.Deleted, del.Tombstones, del.Updated)
	}
	// A tombstone keeps the record readable with its data.
	got := n.get(t, "patients", "p1")
	if !got.Deleted || string(got.Fields["name"]) != `"x"` || !slices.Equal(got.Sets["tags"], []string{"t"}) {
		t.Errorf("deleted record reads as %+v", got)
	}
	if st := n.status(t); st.Store.Records["patients"] != 1 {
		t.Errorf("a tombstone still counts as a record: %v", st.Store.Records)
	}

	rec := n.patch(t, "patients", "p1", `{"restore":true}`)
	if rec.Deleted || rec.Tombstones != nil || string(rec.Fields["name"]) != `"x"` {
		t.Errorf("after restore: %+v", rec)
	}
	if got := n.get(t, "patients", "p1"); got.Deleted {
		t.Errorf("restore did not stick: %+v", got)
	}
	// Restoring a live record changes nothing but is not an error.
	if rec := n.patch(t, "patients", "p1", `{"restore":true}`); rec.Deleted {
		t.Errorf("restore of a live record: %+v", rec)
	}
}

func TestDeleteMissing(t *testing.T) {
	n := newTestNode(t)
	wantError(t, n.do(t, "DELETE", "/api/v1/records/patients/ghost", nil), http.StatusNotFound, "not_found", "ghost")
	if st := n.status(t); st.Store.LogLen != 0 {
		t.Errorf("a DELETE of a missing record logged %d changes", st.Store.LogLen)
	}
}

// TestBadIDOnWrite: an id or collection that can never exist is refused
// before the store, with nothing stored.
func TestBadIDOnWrite(t *testing.T) {
	n := newTestNode(t)
	for _, tt := range []struct{ method, path, body string }{
		{"PATCH", "/api/v1/records/patients/a%20b", `{"fields":{"x":1}}`},
		{"PATCH", "/api/v1/records/pat%2Aients/p1", `{"fields":{"x":1}}`},
		{"DELETE", "/api/v1/records/patients/a%20b", ""},
		{"DELETE", "/api/v1/records/patients/" + strings.Repeat("p", 65), ""},
	} {
		var body any
		if tt.body != "" {
			body = tt.body
		}
		r := n.do(t, tt.method, tt.path, body)
		if r.status != http.StatusBadRequest && r.status != http.StatusNotFound {
			t.Errorf("%s: want 400 or 404", r)
		}
		if _, bad := checkErrorShape(r); bad != "" {
			t.Errorf("%s: %s", r, bad)
		}
	}
	if st := n.status(t); st.Store.LogLen != 0 {
		t.Errorf("bad ids stored %d changes", st.Store.LogLen)
	}
}

func TestMergeInto(t *testing.T) {
	n := newTestNode(t)
	n.create(t, "patients", `{"id":"A","fields":{"name":"王芳","phone":"1"},"sets":{"tags":["a"]}}`)
	n.create(t, "patients", `{"id":"B","fields":{"name":"王 芳","id_card":"510"},"sets":{"tags":["b"]},"facts":{"vitals":[{"id":"v1","value":1}]}}`)

	merged := n.patch(t, "patients", "B", `{"mergeInto":"A"}`)
	if merged.ID != "A" || merged.Asked != "B" || !slices.Equal(merged.Merged, []string{"B"}) {
		t.Errorf("PATCH answer: id %q asked %q merged %v", merged.ID, merged.Asked, merged.Merged)
	}
	viaB := n.get(t, "patients", "B")
	if viaB.ID != "A" || viaB.Asked != "B" || !slices.Equal(viaB.Merged, []string{"B"}) {
		t.Errorf("GET B: id %q asked %q merged %v", viaB.ID, viaB.Asked, viaB.Merged)
	}
	viaA := n.get(t, "patients", "A")
	if viaA.ID != "A" || viaA.Asked != "" || !slices.Equal(viaA.Merged, []string{"B"}) {
		t.Errorf("GET A: id %q asked %q merged %v", viaA.ID, viaA.Asked, viaA.Merged)
	}
	for _, rec := range []record{viaA, viaB} {
		if !slices.Equal(rec.Sets["tags"], []string{"a", "b"}) {
			t.Errorf("sets not united: %v", rec.Sets)
		}
		if string(rec.Fields["id_card"]) != `"510"` || string(rec.Fields["phone"]) != `"1"` {
			t.Errorf("fields of both records should show: %s", mustJSON(t, rec.Fields))
		}
		if len(rec.Facts["vitals"]) != 1 {
			t.Errorf("B's facts should show through A: %+v", rec.Facts)
		}
	}

	// A write to the duplicate lands on the survivor.
	rec := n.patch(t, "patients", "B", `{"fields":{"note":"via B"}}`)
	if rec.ID != "A" || string(n.get(t, "patients", "A").Fields["note"]) != `"via B"` {
		t.Errorf("write through B: %+v", rec)
	}
	// They are one record now: merging either way again is refused.
	wantError(t, n.do(t, "PATCH", "/api/v1/records/patients/A", `{"mergeInto":"B"}`), http.StatusBadRequest, "bad_request", "already one record")
	wantError(t, n.do(t, "PATCH", "/api/v1/records/patients/B", `{"mergeInto":"A"}`), http.StatusBadRequest, "bad_request", "already one record")
	// A merged id cannot be created again.
	wantError(t, n.do(t, "POST", "/api/v1/records/patients", `{"id":"B"}`), http.StatusConflict, "conflict")
}

// equalJSON compares a and b by their JSON.
func equalJSON(t testing.TB, a, b any) bool {
	t.Helper()
	return string(mustJSON(t, a)) == string(mustJSON(t, b))
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
