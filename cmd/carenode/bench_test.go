package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchSync runs `carenode bench sync` end to end on a small dataset,
// carenode only (PouchDB needs node and npm, which make test does not
// install): the binary generates the data, starts its two nodes as
// processes of itself, and prints the report.
func TestBenchSync(t *testing.T) {
	work := filepath.Join(t.TempDir(), "work")
	r := mustRun(t, "bench", "sync", "--work", work, "--patients", "40", "--observations", "200", "--tasks", "300",
		"--runs", "1", "--links", "loopback", "--no-pouchdb")
	for _, want := range []string{"carenode initial loopback run 1", "converged true", "| day | loopback | carenode | 1 |",
		"| idle-kept | loopback | carenode | 1 |", "initial sync of the full dataset on loopback"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "converged false") {
		t.Errorf("a sync did not converge:\n%s", r.stdout)
	}
}

func TestBenchSyncRefuses(t *testing.T) {
	notWork := t.TempDir()
	os.WriteFile(filepath.Join(notWork, "keep.txt"), []byte("x"), 0o600)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--links", "3g"}, exitUsage, "unknown link"},
		{[]string{"--runs", "0"}, exitUsage, "--runs"},
		{[]string{"--tasks", "10"}, exitUsage, "task updates"},
		{[]string{"--no-pouchdb", "--work", notWork}, exitError, "not a bench work directory"},
		{[]string{"--pouchdb", t.TempDir()}, exitError, "PouchDB is not installed"},
	} {
		r := run(t, append([]string{"bench", "sync", "--work", filepath.Join(t.TempDir(), "w")}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("bench sync %v: exit %d, stderr %q; want exit %d and %q", tc.args, r.code, r.stderr, tc.code, tc.msg)
		}
	}
	if _, err := os.Stat(filepath.Join(notWork, "keep.txt")); err != nil {
		t.Errorf("refused work directory lost its file: %v", err)
	}
}
