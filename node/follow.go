package node

import (
	"sync"

	"carenode/node/chart"
	"carenode/node/store"
)

// follower keeps the in-memory indexes (chart search and duplicates) in
// step with records that peers change, whichever way the changes came in
// (the sync listener, `carenode sync` through this node, POST
// /api/v1/changes). The store tells it on the committing goroutine, which
// must not wait, so it only notes the ids; its own goroutine reindexes.
type follower struct {
	refresh func(ids []string) error
	onError func(err error)
	stop    func()
	once    sync.Once

	mu      sync.Mutex
	pending map[string]bool
	wake    chan struct{}
	quit    chan struct{}
	done    chan struct{}
}

func newFollower(s *store.Store, refresh func([]string) error, onError func(error)) *follower {
	f := &follower{refresh: refresh, onError: onError, pending: map[string]bool{},
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	f.stop = s.Watch(f.note)
	go f.run()
	return f
}

func (f *follower) note(changed []store.Changed) {
	added := false
	f.mu.Lock()
	for _, c := range changed {
		if c.Remote && c.Collection == chart.Collection {
			f.pending[c.Record] = true
			added = true
		}
	}
	f.mu.Unlock()
	if added {
		select {
		case f.wake <- struct{}{}:
		default: // already woken; it will take these too
		}
	}
}

func (f *follower) run() {
	defer close(f.done)
	for {
		select {
		case <-f.quit:
			return
		case <-f.wake:
		}
		f.mu.Lock()
		ids := make([]string, 0, len(f.pending))
		for id := range f.pending {
			ids = append(ids, id)
		}
		clear(f.pending)
		f.mu.Unlock()
		if err := f.refresh(ids); err != nil {
			f.onError(err)
		}
	}
}

// close stops following; ids noted but not yet reindexed are dropped, which
// is harmless: the indexes are rebuilt from the store at the next unlock.
func (f *follower) close() {
	f.once.Do(func() {
		f.stop()
		close(f.quit)
		<-f.done
	})
}
