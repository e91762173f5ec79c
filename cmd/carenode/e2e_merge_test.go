package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// copyChanges copies every change from one node to another through the
// store API (GET and POST /api/v1/changes) and returns how many the
// receiver applied.
func copyChanges(t *testing.T, from, to *session) int {
	t.Helper()
	applied, after := 0, ""
	for {
		var page struct {
			Changes []json.RawMessage `json:"changes"`
			Next    string            `json:"next"`
			More    bool              `json:"more"`
		}
		from.must(t, http.MethodGet, "/api/v1/changes?limit=200&after="+url.QueryEscape(after), nil, http.StatusOK, &page)
		if len(page.Changes) > 0 {
			var res struct{ Applied int }
			to.must(t, http.MethodPost, "/api/v1/changes", map[string]any{"changes": page.Changes}, http.StatusOK, &res)
			applied += res.Applied
		}
		if !page.More {
			return applied
		}
		after = page.Next
	}
}

// TestConcurrentMergeTwoNodes: two real nodes of one network (the second
// restored from a backup of the first, so it holds the same data key under
// a new origin) exchange charts; node 1 merges A into B while node 2 merges
// B into A and adds an allergy to B; after exchanging again both show the
// same single survivor with every allergy of both charts.
func TestConcurrentMergeTwoNodes(t *testing.T) {
	dir1 := initNodeAdmin(t, "desk1")
	bak := filepath.Join(t.TempDir(), "desk1.cnbak")
	mustRun(t, "backup", "--dir", dir1, "--out", bak)
	dir2 := filepath.Join(t.TempDir(), "desk2")
	r := mustRun(t, "restore", "--from", bak, "--dir", dir2)
	if !strings.Contains(r.stdout, "new changes are numbered under") {
		t.Fatalf("restore:\n%s", r.stdout)
	}
	srv1, srv2 := startServe(t, dir1), startServe(t, dir2)
	n1, n2 := srv1.login(t, "admin", adminPassword), srv2.login(t, "admin", adminPassword)

	a := n1.register(t, patientIn{Name: "欧阳修", Sex: "male", BirthDate: "1957-08-01", Phones: []string{"13611112222"}, Address: "江西省吉安市永丰县"})
	b := n1.register(t, patientIn{Name: "欧阳修", Sex: "male", BirthDate: "1957-08-01", Phones: []string{"13733334444"}})
	n1.must(t, http.MethodPost, "/api/v1/patients/"+a.ID+"/allergies", map[string]string{"substance": "青霉素"}, http.StatusCreated, nil)
	n1.must(t, http.MethodPost, "/api/v1/patients/"+b.ID+"/allergies", map[string]string{"substance": "磺胺"}, http.StatusCreated, nil)
	n1.must(t, http.MethodPost, "/api/v1/patients/"+b.ID+"/diagnoses", map[string]string{"code": "E11"}, http.StatusCreated, nil)

	if n := copyChanges(t, n1, n2); n == 0 {
		t.Fatal("node 2 applied nothing from node 1")
	}
	copyChanges(t, n2, n1)
	if ids := n2.search(t, "ouyangxiu"); len(ids) != 2 {
		t.Fatalf("node 2 finds %v before the merges, want both charts", ids)
	}
	var dups struct {
		Duplicates []json.RawMessage `json:"duplicates"`
	}
	n2.must(t, http.MethodGet, "/api/v1/duplicates", nil, http.StatusOK, &dups)
	if len(dups.Duplicates) == 0 {
		t.Errorf("node 2 lists no duplicates for two charts of 欧阳修 born the same day")
	}

	// Concurrently, before any exchange.
	n1.must(t, http.MethodPost, "/api/v1/patients/"+a.ID+"/merge", map[string]string{"into": b.ID}, http.StatusOK, nil)
	n2.must(t, http.MethodPost, "/api/v1/patients/"+b.ID+"/allergies", map[string]string{"substance": "阿司匹林", "severity": "severe"}, http.StatusCreated, nil)
	n2.must(t, http.MethodPost, "/api/v1/patients/"+b.ID+"/merge", map[string]string{"into": a.ID}, http.StatusOK, nil)
	copyChanges(t, n1, n2)
	copyChanges(t, n2, n1)
	copyChanges(t, n1, n2)

	var survivors []string
	for i, n := range []*session{n1, n2} {
		var pa, pb chartOut
		n.must(t, http.MethodGet, "/api/v1/patients/"+a.ID, nil, http.StatusOK, &pa)
		n.must(t, http.MethodGet, "/api/v1/patients/"+b.ID, nil, http.StatusOK, &pb)
		if pa.ID != pb.ID {
			t.Fatalf("node %d: A shows %s, B shows %s: two survivors", i+1, pa.ID, pb.ID)
		}
		if got, want := pa.allergyNames(), []string{"磺胺", "阿司匹林", "青霉素"}; !slices.Equal(got, want) {
			t.Errorf("node %d: allergies %v, want %v", i+1, got, want)
		}
		if len(pa.Diagnoses) != 1 || pa.Diagnoses[0].Code != "E11" {
			t.Errorf("node %d: diagnoses %+v", i+1, pa.Diagnoses)
		}
		if !slices.Contains(pa.Phones, "13611112222") && !slices.Contains(pa.Phones, "13733334444") {
			t.Errorf("node %d: phones %v", i+1, pa.Phones)
		}
		for _, q := range []string{"ouyangxiu", "欧阳修", "oyx"} {
			if ids := n.search(t, q); !slices.Equal(ids, []string{pa.ID}) {
				t.Errorf("node %d: search %q = %v, want only the survivor %s", i+1, q, ids, pa.ID)
			}
		}
		survivors = append(survivors, pa.ID)
	}
	if survivors[0] != survivors[1] {
		t.Errorf("node 1 keeps %s, node 2 keeps %s", survivors[0], survivors[1])
	}
	for _, s := range []*server{srv1, srv2} {
		s.cmd.Process.Signal(syscall.SIGTERM)
		if code := s.wait(t); code != 0 {
			t.Errorf("serve exit %d\n%s", code, s.stderr)
		}
	}
}
