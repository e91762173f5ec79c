package auth

import (
	"sync"
	"time"
)

// LimiterConfig shapes the login limiter.
type LimiterConfig struct {
	Free    int           // failures allowed before any wait
	Base    time.Duration // first wait after the free failures
	Max     time.Duration // longest wait
	Forget  time.Duration // a key with no failure for this long starts over
	MaxKeys int           // keys tracked at most; the oldest are dropped first
	Now     func() time.Time
}

// DefaultLimiterConfig: five free tries (a clerk mistyping), then 1 s, 2 s,
// 4 s … up to 15 minutes.
func DefaultLimiterConfig() LimiterConfig {
	return LimiterConfig{Free: 5, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour, MaxKeys: 100_000, Now: time.Now}
}

// Limiter slows down repeated failed logins per key. Safe for concurrent
// use.
type Limiter struct {
	cfg  LimiterConfig
	mu   sync.Mutex
	keys map[string]*attempts
}

type attempts struct {
	failures int
	until    time.Time // no attempt before this
	last     time.Time
}

// NewLimiter returns a limiter.
func NewLimiter(cfg LimiterConfig) *Limiter {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 100_000
	}
	return &Limiter{cfg: cfg, keys: map[string]*attempts{}}
}

// Allow reports whether an attempt for key may be made now, and if not,
// how long to wait.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.keys[key]
	if !ok {
		return true, 0
	}
	if now.Sub(a.last) > l.cfg.Forget {
		delete(l.keys, key)
		return true, 0
	}
	if now.Before(a.until) {
		return false, a.until.Sub(now)
	}
	return true, 0
}

// Failure records a failed attempt for key.
func (l *Limiter) Failure(key string) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.keys[key]
	if !ok {
		if len(l.keys) >= l.cfg.MaxKeys {
			l.evict()
		}
		a = &attempts{}
		l.keys[key] = a
	}
	a.failures++
	a.last = now
	if over := a.failures - l.cfg.Free; over > 0 {
		wait := l.cfg.Base
		for i := 1; i < over && wait < l.cfg.Max; i++ {
			wait *= 2
		}
		a.until = now.Add(min(wait, l.cfg.Max))
	}
}

// Success clears key's failures.
func (l *Limiter) Success(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, key)
}

// evict drops the key whose last failure is oldest. Linear, but only runs
// when the table is full, which takes a flood of distinct names.
func (l *Limiter) evict() {
	var oldest string
	var at time.Time
	for k, a := range l.keys {
		if oldest == "" || a.last.Before(at) {
			oldest, at = k, a.last
		}
	}
	delete(l.keys, oldest)
}
