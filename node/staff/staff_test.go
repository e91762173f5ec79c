package staff_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"carenode/crdt"
	"carenode/node/auth"
	"carenode/node/staff"
	"carenode/node/store"
	"carenode/node/vault"
)

func openStore(t *testing.T, node crdt.NodeID) *store.Store {
	t.Helper()
	opts := store.DefaultOptions(filepath.Join(t.TempDir(), "carenode.db"), node)
	opts.Create = true
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// unlocks counts the node's unlocks, standing in for the chart service.
type unlocks struct{ n int }

func (u *unlocks) unlock(*vault.Sealer) error { u.n++; return nil }

func openDir(t *testing.T, s *store.Store, u *unlocks) *staff.Directory {
	t.Helper()
	d, err := staff.Open(staff.Config{Records: s, Hash: auth.TestParams(), Vault: vault.Config{Argon2: vault.TestArgon2Params()},
		OnUnlock: u.unlock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAccountsAndTheDataKey(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "N1")
	var u unlocks
	d := openDir(t, s, &u)
	if !d.Locked() {
		t.Fatal("a new directory is unlocked")
	}
	for _, tc := range []struct {
		name, role, pw string
		want           error
	}{
		{"Wang", "admin", "long-enough", staff.ErrBadName},
		{"w", "admin", "long-enough", staff.ErrBadName},
		{"wang", "admin", "short", staff.ErrWeakPassword},
		{"wang", "desk", "long-enough", staff.ErrFirstAdmin},
	} {
		if _, err := d.Add(ctx, tc.name, auth.Role(tc.role), []byte(tc.pw)); !errors.Is(err, tc.want) {
			t.Errorf("Add(%q, %q): %v, want %v", tc.name, tc.role, err, tc.want)
		}
	}
	res, err := d.Add(ctx, "wang", auth.RoleAdmin, []byte("admin-password"))
	if err != nil || !res.FirstAccount || res.Pending || d.Locked() || u.n != 1 {
		t.Fatalf("first admin: %+v, %v, locked %v, unlocks %d", res, err, d.Locked(), u.n)
	}
	if _, err := d.Add(ctx, "wang", auth.RoleDesk, []byte("other-password")); !errors.Is(err, staff.ErrExists) {
		t.Fatalf("second wang: %v", err)
	}
	// Adding staff writes one change (its record) and re-encrypts nothing.
	before := s.LogLen()
	if res, err := d.Add(ctx, "li", auth.RoleDesk, []byte("desk-password")); err != nil || res.Pending {
		t.Fatalf("add on an unlocked node: %+v %v", res, err)
	}
	if got := s.LogLen() - before; got != 1 {
		t.Fatalf("adding an account wrote %d changes, want 1", got)
	}

	// Restart: locked; a wrong password neither unlocks nor says which
	// part was wrong; li's password unlocks.
	d = openDir(t, s, &u)
	if _, err := d.Login(ctx, "li", "wrong-password", "127.0.0.1:1"); !errors.Is(err, staff.ErrBadLogin) || !d.Locked() {
		t.Fatalf("wrong password: %v, locked %v", err, d.Locked())
	}
	if _, err := d.Login(ctx, "nobody", "wrong-password", "127.0.0.2:1"); !errors.Is(err, staff.ErrBadLogin) {
		t.Fatalf("unknown account: %v", err)
	}
	res2, err := d.Login(ctx, "li", "desk-password", "127.0.0.1:1")
	if err != nil || !res2.Unlocked || res2.Token == "" || d.Locked() {
		t.Fatalf("login: %+v %v", res2, err)
	}
	if sess, err := d.Session(res2.Token); err != nil || sess.Account != "li" || sess.Role != auth.RoleDesk {
		t.Fatalf("session: %+v %v", sess, err)
	}

	// A kiosk key file unlocks a restarted node on its own.
	if _, err := d.Add(ctx, "kiosk1", auth.RoleKiosk, []byte("kiosk-password")); err != nil {
		t.Fatal(err)
	}
	kfPath := filepath.Join(t.TempDir(), "kiosk.key")
	if err := d.AddKeyFile(ctx, "li", kfPath); !errors.Is(err, staff.ErrNotKiosk) {
		t.Fatalf("key file for a desk account: %v", err)
	}
	if err := d.AddKeyFile(ctx, "kiosk1", kfPath); err != nil {
		t.Fatal(err)
	}
	d = openDir(t, s, &u)
	kf, err := vault.ReadKeyFile(kfPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.UnlockWithKeyFile(kf); err != nil || d.Locked() {
		t.Fatalf("key file unlock: %v", err)
	}
	// The key file's wrap record cannot sign in.
	if _, err := d.Login(ctx, "kiosk1.keyfile", "", "127.0.0.3:1"); !errors.Is(err, staff.ErrBadLogin) {
		t.Fatalf("sign-in as the key file: %v", err)
	}
	list, err := d.Public()
	if err != nil || len(list) != 3 {
		t.Fatalf("accounts: %+v %v", list, err)
	}
}

func TestPendingAccountGetsItsKeyAtFirstSignIn(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "N1")
	var u unlocks
	d := openDir(t, s, &u)
	if _, err := d.Add(ctx, "admin", auth.RoleAdmin, []byte("admin-password")); err != nil {
		t.Fatal(err)
	}
	d = openDir(t, s, &u) // restart: locked
	res, err := d.Add(ctx, "nurse1", auth.RoleNurse, []byte("nurse-password"))
	if err != nil || !res.Pending {
		t.Fatalf("add on a locked node: %+v %v", res, err)
	}
	if _, err := d.Login(ctx, "nurse1", "nurse-password", "127.0.0.1:1"); !errors.Is(err, staff.ErrPendingLocked) {
		t.Fatalf("pending account on a locked node: %v", err)
	}
	if _, err := d.Login(ctx, "admin", "admin-password", "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Login(ctx, "nurse1", "nurse-password", "127.0.0.1:1"); err != nil {
		t.Fatalf("pending account on an unlocked node: %v", err)
	}
	d = openDir(t, s, &u) // restart: nurse1 alone unlocks now
	if res, err := d.Login(ctx, "nurse1", "nurse-password", "127.0.0.1:1"); err != nil || !res.Unlocked {
		t.Fatalf("nurse1 after getting the key: %+v %v", res, err)
	}
}

// An account made on another node arrives through sync after this node
// started; its holder can unlock this node without a restart.
func TestAccountFromAPeerUnlocks(t *testing.T) {
	ctx := context.Background()
	s1, s2 := openStore(t, "N1"), openStore(t, "N2")
	var u unlocks
	d1 := openDir(t, s1, &u)
	if _, err := d1.Add(ctx, "admin", auth.RoleAdmin, []byte("admin-password")); err != nil {
		t.Fatal(err)
	}
	copyChanges(t, s1, s2)
	d2 := openDir(t, s2, &u) // started locked, knowing only admin
	if _, err := d1.Add(ctx, "doctor1", auth.RoleDoctor, []byte("doctor-password")); err != nil {
		t.Fatal(err)
	}
	copyChanges(t, s1, s2)
	if res, err := d2.Login(ctx, "doctor1", "doctor-password", "127.0.0.1:1"); err != nil || !res.Unlocked {
		t.Fatalf("synced account on a locked node: %+v %v", res, err)
	}
}

func copyChanges(t *testing.T, from, to *store.Store) {
	t.Helper()
	page, err := from.ChangesAfter(to.Vector(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := to.ApplyRemote(page.Changes); err != nil {
		t.Fatal(err)
	}
}

// A damaged account record from a faulty peer is skipped: the node still
// starts and everyone else signs in.
func TestDamagedAccountIsSkipped(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "N1")
	var u unlocks
	d := openDir(t, s, &u)
	if _, err := d.Add(ctx, "admin", auth.RoleAdmin, []byte("admin-password")); err != nil {
		t.Fatal(err)
	}
	bad := crdt.Change{Origin: "N9", Seq: 1, Stamp: crdt.Stamp{Wall: 1, Node: "N9"}, Collection: staff.Collection, Record: "evil",
		Muts: []crdt.Mutation{{Kind: crdt.MutSet, Field: "role", Value: []byte(`"superuser"`)}, {Kind: crdt.MutSet, Field: "keyWrap", Value: []byte(`"!!"`)}}}
	if _, err := s.ApplyRemote([]crdt.Change{bad}); err != nil {
		t.Fatal(err)
	}
	d = openDir(t, s, &u)
	if _, err := d.Login(ctx, "admin", "admin-password", "127.0.0.1:1"); err != nil {
		t.Fatalf("sign-in next to a damaged account: %v", err)
	}
	if _, err := d.Login(ctx, "evil", "whatever-password", "127.0.0.1:2"); !errors.Is(err, staff.ErrBadLogin) {
		t.Fatalf("sign-in as the damaged account: %v", err)
	}
}
