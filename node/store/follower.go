package store

import "sync"

// Follower hands the records that commits change, as Watch tells them, to
// refresh on a goroutine of its own: Watch's callback runs on the
// committing goroutine and must not wait, so the follower only notes the
// records keep accepts, and refresh gets each batch noted since the last
// (each record once). It is how in-memory indexes follow the store.
type Follower struct {
	keep    func(Changed) bool
	refresh func([]Changed) error
	onError func(error)
	stop    func()
	started sync.Once
	closed  sync.Once

	mu      sync.Mutex
	pending map[Changed]bool
	wake    chan struct{}
	quit    chan struct{}
	done    chan struct{}
}

// NewFollower starts noting at once, through watch (a Store's Watch);
// refreshing begins at Start, so that an index built meanwhile is handed
// what changed while it was built. onError gets refresh's errors.
func NewFollower(watch func(func([]Changed)) (stop func()), keep func(Changed) bool,
	refresh func([]Changed) error, onError func(error)) *Follower {
	f := &Follower{keep: keep, refresh: refresh, onError: onError, pending: map[Changed]bool{},
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	f.stop = watch(f.note)
	return f
}

// Start begins refreshing; calling it again does nothing.
func (f *Follower) Start() { f.started.Do(func() { go f.run() }) }

func (f *Follower) note(changed []Changed) {
	added := false
	f.mu.Lock()
	for _, c := range changed {
		if f.keep(c) {
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

func (f *Follower) run() {
	defer close(f.done)
	for {
		select {
		case <-f.quit:
			return
		case <-f.wake:
		}
		f.mu.Lock()
		batch := make([]Changed, 0, len(f.pending))
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

// Close stops following and waits for a refresh under way. Records noted
// but not yet refreshed are dropped: indexes are rebuilt from the store
// when they are next built. Closing twice is harmless.
func (f *Follower) Close() {
	f.closed.Do(func() {
		f.stop()
		close(f.quit)
		f.started.Do(func() { close(f.done) }) // never started: nothing to wait for
		<-f.done
	})
}
