package auth

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"carenode/internal/testclock"
)

func TestPolicy(t *testing.T) {
	tests := []struct {
		role Role
		perm Permission
		want bool
	}{
		{RoleAdmin, PermUsersManage, true},
		{RoleAdmin, PermAuditRead, true},
		{RoleDoctor, PermPatientRead, true},
		{RoleDoctor, PermUsersManage, false},
		{RoleDoctor, PermAuditRead, false},
		{RoleNurse, PermVitalsWrite, true},
		{RoleNurse, PermPatientMerge, false},
		{RoleDesk, PermPatientMerge, true},
		{RoleDesk, PermVitalsWrite, false},
		{RoleKiosk, PermCheckIn, true},
		{RoleKiosk, PermPatientRead, false},
		{RoleKiosk, PermPatientSearch, false},
		{RoleKiosk, PermRecordsRead, false},
		{Role("ghost"), PermCheckIn, false},
	}
	for _, tc := range tests {
		if got := tc.role.Can(tc.perm); got != tc.want {
			t.Errorf("%s.Can(%s) = %v, want %v", tc.role, tc.perm, got, tc.want)
		}
	}
	for _, r := range Roles() {
		if got, err := ParseRole(string(r)); err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
		if len(policy(r)) == 0 {
			t.Errorf("role %s may do nothing", r)
		}
	}
	if _, err := ParseRole("Admin"); !errors.Is(err, ErrBadRole) || !strings.Contains(err.Error(), "desk") {
		t.Errorf("ParseRole(Admin) = %v", err)
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("正确的马电池订书钉", TestParams(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash %q not in PHC form", h)
	}
	h2, _ := HashPassword("正确的马电池订书钉", TestParams(), rand.Reader)
	if h == h2 {
		t.Error("two hashes of one password are equal: salt not random")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"正确的马电池订书钉", true}, {"正确的马电池订书", false}, {"", false}, {"正确的马电池订书钉 ", false}} {
		ok, err := VerifyPassword(h, tc.pw)
		if err != nil || ok != tc.want {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
		}
	}
	if _, err := HashPassword("short", TestParams(), rand.Reader); !errors.Is(err, ErrWeakPassword) {
		t.Errorf("short password: %v", err)
	}
	if _, err := HashPassword("longenough", TestParams(), bytes.NewReader(nil)); err == nil {
		t.Error("hash with a failing random source succeeded")
	}
}

func TestVerifyMalformedHash(t *testing.T) {
	good, _ := HashPassword("longenough", TestParams(), rand.Reader)
	parts := strings.Split(good, "$")
	for name, h := range map[string]string{
		"empty":        "",
		"bcrypt":       "$2a$10$abcdefghijklmnopqrstuv",
		"argon2i":      strings.Replace(good, "argon2id", "argon2i", 1),
		"version":      strings.Replace(good, "v=19", "v=16", 1),
		"huge memory":  strings.Replace(good, "m=64", "m=99999999", 1),
		"zero time":    strings.Replace(good, "t=1", "t=0", 1),
		"unknown key":  strings.Replace(good, "p=1", "p=1,x=2", 1),
		"bad salt":     strings.Join(append(parts[:4:4], "!!!", parts[5]), "$"),
		"short hash":   strings.Join(append(parts[:5:5], "AAAA"), "$"),
		"extra fields": good + "$x",
	} {
		if _, err := VerifyPassword(h, "longenough"); !errors.Is(err, ErrBadHash) {
			t.Errorf("%s: err = %v, want ErrBadHash", name, err)
		}
	}
}

func FuzzVerifyPassword(f *testing.F) {
	good, _ := HashPassword("longenough", TestParams(), rand.Reader)
	f.Add(good)
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("")
	f.Fuzz(func(t *testing.T, h string) {
		ok, err := VerifyPassword(h, "longenough")
		if err != nil && ok {
			t.Fatal("error and success at once")
		}
	})
}

func TestSessions(t *testing.T) {
	c := testclock.New(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC))
	s := NewSessions(SessionConfig{Idle: 30 * time.Minute, Lifetime: 2 * time.Hour, Now: c.Now, Rand: rand.Reader})
	tok, err := s.Create("wang", RoleDesk)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) < 40 {
		t.Errorf("token %q too short", tok)
	}
	sess, err := s.Lookup(tok)
	if err != nil || sess.Account != "wang" || sess.Role != RoleDesk {
		t.Fatalf("lookup: %+v %v", sess, err)
	}
	if _, err := s.Lookup(tok + "x"); !errors.Is(err, ErrNoSession) {
		t.Errorf("altered token: %v", err)
	}
	// Used every 20 minutes it lives until the 2 h lifetime.
	for range 5 {
		c.Advance(20 * time.Minute)
		if _, err := s.Lookup(tok); err != nil {
			t.Fatalf("active session ended at %s: %v", c.Now(), err)
		}
	}
	c.Advance(21 * time.Minute) // 2h01 after login
	if _, err := s.Lookup(tok); !errors.Is(err, ErrNoSession) {
		t.Errorf("session outlived its lifetime: %v", err)
	}
	tok2, _ := s.Create("li", RoleNurse)
	c.Advance(31 * time.Minute)
	if _, err := s.Lookup(tok2); !errors.Is(err, ErrNoSession) {
		t.Errorf("idle session still valid: %v", err)
	}
	tok3, _ := s.Create("zhao", RoleDoctor)
	tok4, _ := s.Create("zhao", RoleDoctor)
	s.Revoke(tok3)
	if _, err := s.Lookup(tok3); !errors.Is(err, ErrNoSession) {
		t.Error("revoked token still valid")
	}
	if _, err := s.Lookup(tok4); err != nil {
		t.Error("revoking one session ended another")
	}
	s.RevokeAccount("zhao")
	if s.Len() != 0 {
		t.Errorf("%d sessions left after revoking all", s.Len())
	}
}

func TestSessionsConcurrent(t *testing.T) {
	s := NewSessions(DefaultSessionConfig(rand.Reader))
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				tok, err := s.Create("u", RoleNurse)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Lookup(tok); err != nil {
					t.Error(err)
				}
				if i%2 == 0 {
					s.Revoke(tok)
				}
			}
		}()
	}
	wg.Wait()
	if got := s.Len(); got != 8*50 {
		t.Errorf("%d sessions, want 400", got)
	}
}

func TestLimiter(t *testing.T) {
	c := testclock.New(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC))
	l := NewLimiter(LimiterConfig{Free: 3, Base: time.Second, Max: 8 * time.Second, Forget: time.Hour, MaxKeys: 3, Now: c.Now})
	for i := range 3 {
		if ok, _ := l.Allow("wang"); !ok {
			t.Fatalf("free attempt %d refused", i+1)
		}
		l.Failure("wang")
	}
	if ok, _ := l.Allow("wang"); !ok {
		t.Fatal("4th attempt refused; the waits start after the 4th failure")
	}
	wantWaits := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
	for i, want := range wantWaits {
		l.Failure("wang")
		ok, wait := l.Allow("wang")
		if ok || wait != want {
			t.Fatalf("after failure %d: allow=%v wait=%s, want wait %s", 4+i, ok, wait, want)
		}
		if ok, _ := l.Allow("li"); !ok {
			t.Fatal("another account was limited")
		}
		c.Advance(want)
		if ok, _ := l.Allow("wang"); !ok {
			t.Fatalf("still refused after waiting %s", want)
		}
	}
	l.Success("wang")
	l.Failure("wang")
	if ok, _ := l.Allow("wang"); !ok {
		t.Error("success did not clear the failures")
	}
	// A full table drops the oldest key rather than growing.
	for _, k := range []string{"a", "b", "c", "d"} {
		c.Advance(time.Second)
		l.Failure(k)
	}
	if len(l.keys) > 3 {
		t.Errorf("limiter tracks %d keys, max 3", len(l.keys))
	}
	// Forgotten after an hour without failures.
	for range 10 {
		l.Failure("e")
	}
	c.Advance(61 * time.Minute)
	if ok, _ := l.Allow("e"); !ok {
		t.Error("failures not forgotten after an hour")
	}
}
