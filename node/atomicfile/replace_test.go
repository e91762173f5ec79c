package atomicfile

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestReplace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "peers.json")
	for _, data := range []string{"first", "second, longer than the first", ""} {
		if err := Replace(path, []byte(data), 0o600); err != nil {
			t.Fatalf("replace with %q: %v", data, err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != data {
			t.Fatalf("after replace with %q: read %q, %v", data, got, err)
		}
		if info, err := os.Stat(path); err != nil {
			t.Fatal(err)
		} else if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
			t.Fatalf("mode %04o, want 0600", info.Mode().Perm())
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
}

func TestReplaceFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	// The target is a directory with a file in it: the temporary file is
	// written, the rename over the target fails, and the target must be as
	// it was, with no temporary file left beside it.
	target := filepath.Join(dir, "grants.json")
	held := filepath.Join(target, "held")
	if err := os.MkdirAll(target, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(held, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Replace(target, []byte("new"), 0o600); err == nil {
		t.Fatal("replacing a non-empty directory succeeded")
	}
	if got, err := os.ReadFile(held); err != nil || string(got) != "old" {
		t.Fatalf("the target after a failed replace: %q, %v", got, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
		t.Fatalf("temporary files left behind after a failure: %v", left)
	}
	if err := Replace(filepath.Join(dir, "missing-dir", "f"), []byte("x"), 0o600); err == nil {
		t.Fatal("replace into a missing directory succeeded")
	}
}
