package store

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"carenode/crdt"
)

// ListOnly shows exactly what List shows of the fields and sets it is
// asked for, merges and tombstones included, and nothing else.
func TestListOnlyMatchesList(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "N1")
	for i := range 30 {
		id := fmt.Sprintf("r%02d", i)
		edits := []Edit{set("name", fmt.Sprintf(`"n%d"`, i)), set("phone", `"1"`), set("notes", `"long text"`),
			{Kind: crdt.MutAdd, Field: "assignees", Elem: "nurse1"}, {Kind: crdt.MutAdd, Field: "tags", Elem: "x"},
			{Kind: crdt.MutFact, Field: "audit", FactID: "f1", Value: []byte(`1`)}}
		if _, err := s.Write(ctx, WriteRequest{Collection: "p", Record: id, Create: true, Edits: edits}); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range []WriteRequest{
		{Collection: "p", Record: "r03", Edits: []Edit{{Kind: crdt.MutMerge, Into: "r04"}}},
		{Collection: "p", Record: "r05", Edits: []Edit{{Kind: crdt.MutDelete}}},
		{Collection: "p", Record: "r06", Edits: []Edit{{Kind: crdt.MutSet, Field: "phone", Value: []byte(`"2"`)}}}, // concurrent: a conflict
	} {
		if _, err := s.Write(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	only := Only{Fields: []string{"name", "phone"}, Sets: []string{"assignees"}}
	for _, page := range []int{1, 7, 100} {
		var all, part []RecordView
		for after := ""; ; {
			got, err := s.List("p", after, page)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, got...)
			if len(got) < page {
				break
			}
			after = got[len(got)-1].Asked
		}
		for after := ""; ; {
			got, err := s.ListOnly("p", after, page, only)
			if err != nil {
				t.Fatal(err)
			}
			part = append(part, got...)
			if len(got) < page {
				break
			}
			after = got[len(got)-1].Asked
		}
		if len(all) != len(part) || len(all) != 29 {
			t.Fatalf("page %d: List %d records, ListOnly %d; want 29 each", page, len(all), len(part))
		}
		for i := range all {
			a, p := all[i], part[i]
			if a.ID != p.ID || a.Asked != p.Asked || !reflect.DeepEqual(a.Merged, p.Merged) || a.Deleted != p.Deleted {
				t.Fatalf("record %d: %+v vs %+v", i, a, p)
			}
			for _, f := range only.Fields {
				if !reflect.DeepEqual(a.Fields[f], p.Fields[f]) {
					t.Errorf("%s.%s: List %+v, ListOnly %+v", a.ID, f, a.Fields[f], p.Fields[f])
				}
			}
			if !reflect.DeepEqual(a.Sets["assignees"], p.Sets["assignees"]) {
				t.Errorf("%s assignees differ", a.ID)
			}
			if _, ok := p.Fields["notes"]; ok || p.Sets["tags"] != nil || p.Facts != nil {
				t.Errorf("%s: ListOnly returned what it was not asked for: %+v", p.ID, p.View)
			}
		}
	}
}
