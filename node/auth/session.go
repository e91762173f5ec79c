package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"sync"
	"time"
)

// Session is one logged-in account.
type Session struct {
	Account string
	Role    Role
	Started time.Time
	LastUse time.Time
}

// SessionConfig bounds sessions' lifetimes.
type SessionConfig struct {
	Idle     time.Duration // ends after this long unused
	Lifetime time.Duration // ends this long after login, used or not
	Now      func() time.Time
	Rand     io.Reader
}

// DefaultSessionConfig: a clinic shift. rand must be crypto/rand.Reader in
// production.
func DefaultSessionConfig(rand io.Reader) SessionConfig {
	return SessionConfig{Idle: 30 * time.Minute, Lifetime: 12 * time.Hour, Now: time.Now, Rand: rand}
}

// Sessions holds the live sessions in memory. Safe for concurrent use.
type Sessions struct {
	cfg  SessionConfig
	mu   sync.Mutex
	byID map[[sha256.Size]byte]*Session
}

// NewSessions returns an empty set of sessions.
func NewSessions(cfg SessionConfig) *Sessions {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sessions{cfg: cfg, byID: map[[sha256.Size]byte]*Session{}}
}

// Create starts a session and returns its bearer token.
func (s *Sessions) Create(account string, role Role) (string, error) {
	var raw [32]byte
	if _, err := io.ReadFull(s.cfg.Rand, raw[:]); err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	s.byID[sha256.Sum256([]byte(token))] = &Session{Account: account, Role: role, Started: now, LastUse: now}
	return token, nil
}

// Lookup returns the session of token and marks it used.
func (s *Sessions) Lookup(token string) (Session, error) {
	now := s.cfg.Now()
	key := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byID[key]
	if !ok || s.expired(sess, now) {
		delete(s.byID, key)
		return Session{}, ErrNoSession
	}
	sess.LastUse = now
	return *sess, nil
}

// Revoke ends the session of token.
func (s *Sessions) Revoke(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, sha256.Sum256([]byte(token)))
}

// RevokeAccount ends every session of an account (password changed,
// account disabled).
func (s *Sessions) RevokeAccount(account string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, sess := range s.byID {
		if sess.Account == account {
			delete(s.byID, k)
		}
	}
}

// Len returns the number of live sessions.
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(s.cfg.Now())
	return len(s.byID)
}

func (s *Sessions) expired(sess *Session, now time.Time) bool {
	return now.Sub(sess.LastUse) > s.cfg.Idle || now.Sub(sess.Started) > s.cfg.Lifetime
}

func (s *Sessions) sweep(now time.Time) {
	for k, sess := range s.byID {
		if s.expired(sess, now) {
			delete(s.byID, k)
		}
	}
}
