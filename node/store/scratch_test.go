package store

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"
)

func TestScratchApply(t *testing.T) {
	for _, nosync := range []bool{true, false} {
		opts := DefaultOptions(filepath.Join(t.TempDir(), "x.db"), "NODEA")
		opts.Create = true
		opts.NoSync = nosync
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		s, err := Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		g := newRemoteGen(1)
		for i := 0; i < 40; i++ {
			c := g.batch(1000)
			st := time.Now()
			if _, err := s.ApplyRemote(c); err != nil {
				t.Fatal(err)
			}
			if i%5 == 0 {
				t.Logf("nosync=%v batch %d: %v", nosync, i, time.Since(st))
			}
		}
		s.Close()
	}
}
