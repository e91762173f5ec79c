package node

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"carenode/node/nodeconf"
)

// TestOpenFailureLeavesNothingRunning: when a late step of Open fails (here
// the key file to unlock with is not one), the services opened before it
// stop and the store closes, so the same process can open the node again
// and no goroutine outlives the failure.
func TestOpenFailureLeavesNothingRunning(t *testing.T) {
	dir := t.TempDir()
	if _, err := Init(InitOptions{Dir: dir, Name: "Test clinic", Role: nodeconf.RoleClinic}); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "not-a-key")
	if err := os.WriteFile(bad, []byte("not a key file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	before := runtime.NumGoroutine()
	for range 3 {
		_, err := Open(Config{Dir: dir, FastHashes: true, Logger: quiet, KeyFile: bad})
		if err == nil || !strings.Contains(err.Error(), "key file") {
			t.Fatalf("open with a bad key file: %v, want an error naming the key file", err)
		}
	}
	// Goroutines end shortly after Close returns (a watcher's last select);
	// wait for them, bounded generously: a loaded machine under -race can
	// be slow to schedule them, and only a leak waits forever.
	for deadline := time.Now().Add(30 * time.Second); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before three failed opens, %d after:\n%s", before, runtime.NumGoroutine(),
				buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
	n, err := Open(Config{Dir: dir, FastHashes: true, Logger: quiet})
	if err != nil {
		t.Fatalf("open after failed opens: %v", err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
}
