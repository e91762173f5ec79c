package mqtt

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	boltstore "github.com/mochi-mqtt/server/v2/hooks/storage/bolt"
)

// recorder is a slog.Handler that keeps every record, at every level.
type recorder struct {
	mu      *sync.Mutex
	records *[]slog.Record
}

func newRecorder() recorder { return recorder{&sync.Mutex{}, new([]slog.Record)} }

func (recorder) Enabled(context.Context, slog.Level) bool { return true }
func (h recorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	*h.records = append(*h.records, r.Clone())
	h.mu.Unlock()
	return nil
}
func (h recorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recorder) WithGroup(string) slog.Handler      { return h }

func (h recorder) all() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), *h.records...)
}

// TestSessionFileFreshStartLogsNoError: a broker on a fresh store and a
// fresh session file, started, stopped and started again before any $SYS
// tick, logs no ERROR (mochi's bolt hook did: "failed to get data", key
// SYS, on every such start).
func TestSessionFileFreshStartLogsNoError(t *testing.T) {
	sessions := filepath.Join(t.TempDir(), "mqtt-sessions.db")
	book := openBook(t, openStore(t, filepath.Join(t.TempDir(), "node.db"), "nodeA"))
	rec := newRecorder()
	for i := range 2 {
		cfg := DefaultConfig("127.0.0.1:0", "node1")
		cfg.Logger = slog.New(rec)
		cfg.SessionFile = sessions
		b, err := New(cfg, book, &memSink{})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Start(); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil {
			t.Fatalf("start %d: close: %v", i+1, err)
		}
	}
	for _, r := range rec.all() {
		if r.Level >= slog.LevelError {
			t.Errorf("ERROR logged: %s %v", r.Message, attrs(r))
		}
	}
}

// TestMissingKeyHandler: only the missing-key read is demoted.
func TestMissingKeyHandler(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  string
		err  error
		want slog.Level
	}{
		{"missing key", "failed to get data", boltstore.ErrKeyNotFound, slog.LevelDebug},
		{"missing key, wrapped", "failed to get data", errors.Join(errors.New("read"), boltstore.ErrKeyNotFound), slog.LevelDebug},
		{"another read error", "failed to get data", errors.New("unexpected EOF"), slog.LevelError},
		{"another message", "failed to upsert data", boltstore.ErrKeyNotFound, slog.LevelError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			slog.New(missingKeyHandler{rec}).With("hook", "bolt-db").Error(tc.msg, "error", tc.err, "key", "SYS")
			got := rec.all()
			if len(got) != 1 || got[0].Level != tc.want {
				t.Fatalf("got %d records %v, want one at %v", len(got), got, tc.want)
			}
		})
	}
}

func attrs(r slog.Record) []slog.Attr {
	var as []slog.Attr
	r.Attrs(func(a slog.Attr) bool { as = append(as, a); return true })
	return as
}
