package store

import (
	"slices"
	"sync"

	"carenode/crdt"
)

// Changed names a record that a commit changed.
type Changed struct {
	Collection string
	Record     string
	// Remote is true when the change came from a peer (ApplyRemote).
	Remote bool
}

// watchers holds the functions Watch registered.
type watchers struct {
	mu   sync.RWMutex
	next int
	fns  map[int]func([]Changed)
}

// Watch registers fn to be told, after every commit (local writes, WriteAll
// and remote batches alike), which records it changed, each once, sorted.
// It is how in-memory indexes (the chart search, the follow-up work lists)
// follow changes that sync brings in without scanning. fn runs on the
// committing goroutine after the transaction is durable: it must be quick
// and must not write to the store (hand work to a goroutine instead).
// Reading is fine. stop unregisters fn.
func (s *Store) Watch(fn func([]Changed)) (stop func()) {
	w := &s.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fns == nil {
		w.fns = map[int]func([]Changed){}
	}
	id := w.next
	w.next++
	w.fns[id] = fn
	return func() {
		w.mu.Lock()
		delete(w.fns, id)
		w.mu.Unlock()
	}
}

// noteChange remembers that c's record changed in this transaction.
func (t *txState) noteChange(c *crdt.Change) {
	t.changed = append(t.changed, Changed{Collection: c.Collection, Record: c.Record, Remote: c.Origin != t.s.origin})
}

// tell passes the transaction's changed records to the watchers.
func (t *txState) tell() {
	w := &t.s.watch
	w.mu.RLock()
	defer w.mu.RUnlock()
	if len(w.fns) == 0 || len(t.changed) == 0 {
		return
	}
	ch := t.changed
	slices.SortFunc(ch, func(a, b Changed) int {
		if a.Collection != b.Collection {
			if a.Collection < b.Collection {
				return -1
			}
			return 1
		}
		switch {
		case a.Record < b.Record:
			return -1
		case a.Record > b.Record:
			return 1
		}
		return 0
	})
	ch = slices.Compact(ch)
	for _, fn := range w.fns {
		fn(ch)
	}
}
