package scope_test

import (
	"maps"
	"os"
	"path/filepath"
	"testing"

	"carenode/sync/scope"
)

// TestFileGrants: what is granted survives a new FileGrants on the same
// file; granting the same records again leaves the file untouched (idle
// sessions do that all day); a damaged file reads as nothing granted.
func TestFileGrants(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sync-grants.json")
	g := &scope.FileGrants{Path: path}
	if got, err := g.Granted("sync/K/kiosk"); err != nil || len(got) != 0 {
		t.Fatalf("granted before any grant: %v %v", got, err)
	}
	ids := map[string]bool{"p1": true, "p2": true, "appointments/a1": true}
	if err := g.SetGranted("sync/K/kiosk", ids); err != nil {
		t.Fatal(err)
	}
	if err := g.SetGranted("sync/N/nurse:li", map[string]bool{"p3": true}); err != nil {
		t.Fatal(err)
	}
	again := &scope.FileGrants{Path: path}
	if got, err := again.Granted("sync/K/kiosk"); err != nil || !maps.Equal(got, ids) {
		t.Fatalf("granted after reopening: %v %v, want %v", got, err, ids)
	}

	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := again.SetGranted("sync/K/kiosk", maps.Clone(ids)); err != nil {
		t.Fatal(err)
	}
	if after, err := os.Stat(path); err != nil || !os.SameFile(before, after) {
		t.Errorf("granting the same records again rewrote the file (%v)", err)
	}
	ids["p4"] = true
	if err := again.SetGranted("sync/K/kiosk", ids); err != nil {
		t.Fatal(err)
	}
	if after, err := os.Stat(path); err != nil || os.SameFile(before, after) {
		t.Errorf("a new grant did not replace the file (%v)", err)
	}
	if got, _ := g.Granted("sync/K/kiosk"); !got["p4"] {
		t.Errorf("p4 not remembered: %v", got)
	}
	if got, _ := g.Granted("sync/N/nurse:li"); !got["p3"] || len(got) != 1 {
		t.Errorf("the other key after rewriting: %v", got)
	}

	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := g.Granted("sync/K/kiosk"); err != nil || len(got) != 0 {
		t.Errorf("damaged file: %v %v, want nothing granted (records are sent whole again)", got, err)
	}
}
