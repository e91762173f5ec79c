package scope

import (
	"carenode/node/atomicfile"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"sync"
)

// Grants remembers, per peer and scope (key: MarkKey), the records a peer
// was served in its last completed session. A record visible now and not
// then is sent whole. Losing the memory is safe: every record in scope is
// then sent whole once more, and the peer skips what it holds.
type Grants interface {
	Granted(key string) (map[string]bool, error)
	SetGranted(key string, ids map[string]bool) error
}

// MemGrants keeps grants in memory.
type MemGrants struct {
	mu sync.Mutex
	m  map[string]map[string]bool
}

var _ Grants = (*MemGrants)(nil)

// Granted returns the records last granted under key.
func (g *MemGrants) Granted(key string) (map[string]bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return maps.Clone(g.m[key]), nil
}

// SetGranted remembers ids under key.
func (g *MemGrants) SetGranted(key string, ids map[string]bool) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil {
		g.m = map[string]map[string]bool{}
	}
	g.m[key] = maps.Clone(ids)
	return nil
}

// FileGrants keeps grants in a JSON file (the data directory's
// sync-grants.json), rewritten whole through a temporary file and a rename.
// Grants are not in the store: they are this node's bookkeeping about its
// peers, not data to sync, and the store's marks hold vectors only. One
// process uses the file at a time (serve, or carenode sync when nothing
// serves).
type FileGrants struct {
	Path string

	mu sync.Mutex
}

var _ Grants = (*FileGrants)(nil)

type grantsFile map[string][]string

func (g *FileGrants) read() (grantsFile, error) {
	b, err := os.ReadFile(g.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return grantsFile{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read grants: %w", err)
	}
	var f grantsFile
	if err := json.Unmarshal(b, &f); err != nil {
		// Safe to forget: the records are sent whole once more.
		return grantsFile{}, nil
	}
	return f, nil
}

// Granted returns the records last granted under key.
func (g *FileGrants) Granted(key string) (map[string]bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f, err := g.read()
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(f[key]))
	for _, id := range f[key] {
		out[id] = true
	}
	return out, nil
}

// SetGranted remembers ids under key, durably. Ids already remembered
// leave the file as it is: most sessions serve the same records again.
func (g *FileGrants) SetGranted(key string, ids map[string]bool) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	f, err := g.read()
	if err != nil {
		return err
	}
	sorted := slices.Sorted(maps.Keys(ids))
	if old, ok := f[key]; ok && slices.Equal(old, sorted) {
		return nil
	}
	f[key] = sorted
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if err := atomicfile.Replace(g.Path, b, 0o600); err != nil {
		return fmt.Errorf("write grants %s: %w", g.Path, err)
	}
	return nil
}
