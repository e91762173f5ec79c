package plans

import (
	"sync"

	"carenode/node/store"
)

// follower hands the records a commit changed to refresh. The store tells
// it on the committing goroutine, which must not wait, so note only
// records ids; refresh runs on the follower's own goroutine (the pattern
// of node/follow.go). Every commit to the service's collections comes this
// way: peers' changes, and local writes that did not go through the
// service (the generic record API). The service also refreshes after its
// own writes before it answers, so a caller reads what it just wrote;
// seeing those again here is harmless.
type follower struct {
	refresh func([]store.Changed) error
	onError func(error)
	stop    func()
	once    sync.Once
	started sync.Once

	mu      sync.Mutex
	pending map[store.Changed]bool
	wake    chan struct{}
	quit    chan struct{}
	done    chan struct{}
}

func newFollower(r Records, refresh func([]store.Changed) error, onError func(error)) *follower {
	f := &follower{refresh: refresh, onError: onError, pending: map[store.Changed]bool{},
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	f.stop = r.Watch(f.note)
	return f
}

// start begins refreshing: after the index is built, so what was noted
// during the build is applied to the built index.
func (f *follower) start() { f.started.Do(func() { go f.run() }) }

func (f *follower) note(changed []store.Changed) {
	added := false
	f.mu.Lock()
	for _, c := range changed {
		if ours(c.Collection) {
			f.pending[c] = true
			added = true
		}
	}
	f.mu.Unlock()
	if added {
		select {
		case f.wake <- struct{}{}:
		default: // already woken; it takes these too
		}
	}
}

func ours(coll string) bool {
	switch coll {
	case PlansCollection, TasksCollection, AlertsCollection, TemplatesCollection, VersionsCollection:
		return true
	}
	return false
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
		batch := make([]store.Changed, 0, len(f.pending))
		for c := range f.pending {
			batch = append(batch, c)
		}
		clear(f.pending)
		f.mu.Unlock()
		if err := f.refresh(batch); err != nil {
			f.onError(err)
		}
	}
}

// close stops following. Changes noted but not yet applied are dropped,
// which is harmless: the index is rebuilt from the store at the next open.
func (f *follower) close() {
	f.once.Do(func() {
		f.stop()
		close(f.quit)
		f.started.Do(func() { close(f.done) }) // never started: nothing to wait for
		<-f.done
	})
}
