package mqtt

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/internal/testclock"
	"carenode/node/auth"
	"carenode/node/store"
)

func openStore(t testing.TB, path string, node crdt.NodeID) *store.Store {
	t.Helper()
	opts := store.DefaultOptions(path, node)
	opts.Create = true
	opts.Logger = slog.New(slog.DiscardHandler)
	s, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openBook(t testing.TB, s Records) *Book {
	t.Helper()
	return openBookClock(t, s, nil)
}

func openBookClock(t testing.TB, s Records, now func() time.Time) *Book {
	t.Helper()
	cfg := DefaultBookConfig(s)
	cfg.Hash = auth.TestParams()
	cfg.Now = now
	cfg.Logger = slog.New(slog.DiscardHandler)
	b, err := NewBook(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exchange sends b every change a has that b lacks.
func exchange(t *testing.T, from, to *store.Store) {
	t.Helper()
	for {
		page, err := from.ChangesAfter(to.Vector(), 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Changes) == 0 {
			return
		}
		if _, err := to.ApplyRemote(page.Changes); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBookAccounts(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, filepath.Join(t.TempDir(), "a.db"), "nodeA")
	b := openBook(t, s)
	if b.Authenticate("thermo-1", []byte("anything-at-all")) {
		t.Fatal("no account, yet authenticated")
	}
	if err := b.Approve(ctx, "thermo-1", "correct-horse", "admin"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id, pw string
		want   bool
	}{
		{"thermo-1", "correct-horse", true},
		{"thermo-1", "correct-horse", true}, // from the cache
		{"thermo-1", "correct-hors", false},
		{"thermo-1", "", false},
		{"thermo-2", "correct-horse", false},
		{"thermo/1", "correct-horse", false},
	} {
		if got := b.Authenticate(tc.id, []byte(tc.pw)); got != tc.want {
			t.Errorf("Authenticate(%q, %q) = %v", tc.id, tc.pw, got)
		}
	}
	// A new password replaces the old, even after the old was cached.
	if err := b.Approve(ctx, "thermo-1", "battery-staple", "admin"); err != nil {
		t.Fatal(err)
	}
	if b.Authenticate("thermo-1", []byte("correct-horse")) || !b.Authenticate("thermo-1", []byte("battery-staple")) {
		t.Fatal("password change not honoured")
	}
	if err := b.Revoke(ctx, "thermo-1", "admin"); err != nil {
		t.Fatal(err)
	}
	if b.Authenticate("thermo-1", []byte("battery-staple")) {
		t.Fatal("revoked device authenticated")
	}
	accts, err := b.Accounts()
	if err != nil || len(accts) != 1 || !accts[0].Revoked || accts[0].ApprovedAt.IsZero() {
		t.Fatalf("accounts %+v, %v", accts, err)
	}
	// Errors, each with a Chinese sentence.
	for _, tc := range []struct {
		err  error
		want error
	}{
		{b.Approve(ctx, "bad id", "long-enough-pw", "admin"), ErrDeviceID},
		{b.Approve(ctx, "scale-1", "short", "admin"), auth.ErrWeakPassword},
		{b.Approve(ctx, "scale-1", "", "admin"), ErrNoRequest},
		{b.Revoke(ctx, "scale-1", "admin"), ErrNoAccount},
		{b.Reject(ctx, "scale-1", "unknown", "admin"), ErrNoRequest},
	} {
		if !errors.Is(tc.err, tc.want) || MessageZh(tc.err) == "" {
			t.Errorf("got %v, want %v with a Chinese message", tc.err, tc.want)
		}
	}
	if _, err := s.Get(AccountCollection, "scale-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a failed Approve left a record: %v", err)
	}
}

func TestBookJoinRequests(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	s := openStore(t, filepath.Join(t.TempDir(), "a.db"), "nodeA")
	b := openBookClock(t, s, clk.Now)
	at := Attempt{DeviceID: "gluco-7", ClientID: "g7", Remote: "10.0.0.7:5000", Password: []byte("gluco-7-secret")}
	writes := func() uint64 { return s.LogLen() }
	b.Refused(at)
	w := writes()
	for range 5 { // a device retrying every second
		clk.Advance(time.Second)
		b.Refused(at)
	}
	if writes() != w {
		t.Fatalf("retries within RecordEvery wrote %d changes", writes()-w)
	}
	clk.Advance(time.Minute)
	b.Refused(at) // due: written with the attempts counted meanwhile
	p, err := b.Pending()
	if err != nil || len(p) != 1 {
		t.Fatalf("pending %+v, %v", p, err)
	}
	r := p[0]
	if r.Attempts != 7 || r.ClientID != "g7" || r.Remote != "10.0.0.7:5000" || r.State != JoinAsking || !r.Adoptable ||
		!r.First.Equal(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)) || !r.Last.Equal(clk.Now()) {
		t.Fatalf("request %+v", r)
	}
	// A short password cannot be adopted: the admin must give one.
	b.Refused(Attempt{DeviceID: "cheap-1", ClientID: "c", Remote: "10.0.0.8:1", Password: []byte("1234")})
	if err := b.Approve(ctx, "cheap-1", "", "admin"); !errors.Is(err, ErrNotAdoptable) || MessageZh(err) == "" {
		t.Fatalf("approve short offered password: %v", err)
	}
	// Rejected: out of the list, later attempts counted under it.
	if err := b.Reject(ctx, "gluco-7", "not ours", "admin"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute)
	b.Refused(at)
	if p, _ := b.Pending(); len(p) != 1 || p[0].DeviceID != "cheap-1" {
		t.Fatalf("pending after reject %+v", p)
	}
	rej, err := b.Requests(JoinRejected)
	if err != nil || len(rej) != 1 || rej[0].Reason != "not ours" || rej[0].DecidedBy != "admin" || rej[0].Attempts != 8 {
		t.Fatalf("rejected %+v, %v", rej, err)
	}
	// Changing one's mind: approve adopts the kept password.
	if err := b.Approve(ctx, "gluco-7", "", "admin2"); err != nil {
		t.Fatal(err)
	}
	if !b.Authenticate("gluco-7", at.Password) {
		t.Fatal("adopted password refused")
	}
	if all, _ := b.Requests(""); len(all) != 2 {
		t.Fatalf("all requests %+v", all)
	}
}

// TestBookMerge: accounts are replicated records. A device approved on
// one node connects to the other after a sync; an approval and a
// rejection made at once on two nodes merge to a device that may connect.
func TestBookMerge(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sa, sb := openStore(t, filepath.Join(dir, "a.db"), "nodeA"), openStore(t, filepath.Join(dir, "b.db"), "nodeB")
	a, b := openBook(t, sa), openBook(t, sb)
	at := Attempt{DeviceID: "scale-3", ClientID: "s3", Remote: "10.0.0.3:1", Password: []byte("scale-3-secret")}
	a.Refused(at)
	exchange(t, sa, sb)
	if p, _ := b.Pending(); len(p) != 1 || !p[0].Adoptable {
		t.Fatalf("pending on b after sync: %+v", p)
	}
	if err := a.Approve(ctx, "scale-3", "", "admin-a"); err != nil {
		t.Fatal(err)
	}
	if err := b.Reject(ctx, "scale-3", "unknown device", "admin-b"); err != nil {
		t.Fatal(err)
	}
	exchange(t, sa, sb)
	exchange(t, sb, sa)
	for name, bk := range map[string]*Book{"a": a, "b": b} {
		if !bk.Authenticate("scale-3", at.Password) {
			t.Errorf("node %s: approved device refused after merge", name)
		}
		all, err := bk.Requests("")
		if err != nil || len(all) != 1 || (all[0].State != JoinApproved && all[0].State != JoinRejected) {
			t.Errorf("node %s: requests %+v, %v", name, all, err)
		}
	}
	ra, _ := a.Requests("")
	rb, _ := b.Requests("")
	if ra[0].State != rb[0].State {
		t.Errorf("nodes disagree after merge: %q vs %q", ra[0].State, rb[0].State)
	}
}
