package vault

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

func testConfig() Config {
	return Config{Argon2: TestArgon2Params(), Rand: newDetRand(42)}
}

// newAdminVault returns an unlocked vault holding dk with one password,
// "admin" / "admin-password".
func newAdminVault(t testing.TB, dk DataKey) *Vault {
	t.Helper()
	v, err := New(testConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.UnlockWithDataKey(dk); err != nil {
		t.Fatal(err)
	}
	if _, err := v.AddPassword("admin", []byte("admin-password")); err != nil {
		t.Fatal(err)
	}
	return v
}

// reload simulates a restart: the wraps go through MarshalBinary and back
// into a new, locked Vault.
func reload(t testing.TB, v *Vault) *Vault {
	t.Helper()
	stored := map[string][]byte{}
	for name, w := range v.Wraps() {
		b, err := w.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		stored[name] = b
	}
	wraps := map[string]Wrapped{}
	for name, b := range stored {
		var w Wrapped
		if err := w.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		wraps[name] = w
	}
	nv, err := New(testConfig(), wraps)
	if err != nil {
		t.Fatal(err)
	}
	return nv
}

func mustSealer(t testing.TB, v *Vault) *Sealer {
	t.Helper()
	s, err := v.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVaultLifecycle(t *testing.T) {
	dk := newKey(t, 1)
	aad := FieldAAD("patients", "p-1", "name")

	v, err := New(testConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Locked() {
		t.Fatal("a new vault is unlocked")
	}
	_, err = v.Sealer()
	wantErr(t, err, ErrLocked)
	_, err = v.AddPassword("admin", []byte("admin-password"))
	wantErr(t, err, ErrLocked)

	if err := v.UnlockWithDataKey(dk); err != nil {
		t.Fatal(err)
	}
	dk.Wipe() // the vault keeps its own copy
	if _, err := v.AddPassword("admin", []byte("admin-password")); err != nil {
		t.Fatal(err)
	}
	sealed := mustSeal(t, mustSealer(t, v), []byte("张三"), aad)

	// Restart: the node starts locked and serves nothing.
	v = reload(t, v)
	if !v.Locked() {
		t.Fatal("vault starts unlocked after a restart")
	}
	_, err = v.Sealer()
	wantErr(t, err, ErrLocked)

	wantErr(t, v.Unlock("admin", []byte("wrong-password")), ErrWrongPassword)
	wantErr(t, v.Unlock("nobody", []byte("admin-password")), ErrUnknownName)
	if !v.Locked() {
		t.Fatal("a failed unlock unlocked the vault")
	}
	if err := v.Unlock("admin", []byte("admin-password")); err != nil {
		t.Fatal(err)
	}
	s := mustSealer(t, v)
	if got, err := s.Open(sealed, aad); err != nil || string(got) != "张三" {
		t.Fatalf("Open after unlock = %q, %v", got, err)
	}

	// Unlock on an unlocked vault checks the password and keeps the Sealer.
	wantErr(t, v.Unlock("admin", []byte("wrong-password")), ErrWrongPassword)
	if v.Locked() || mustSealer(t, v) != s {
		t.Fatal("a failed unlock changed an unlocked vault")
	}
	if err := v.Unlock("admin", []byte("admin-password")); err != nil || mustSealer(t, v) != s {
		t.Fatalf("second unlock: %v, or a new Sealer", err)
	}

	v.Lock()
	_, err = s.Open(sealed, aad)
	wantErr(t, err, ErrLocked)
	if err := v.Unlock("admin", []byte("admin-password")); err != nil {
		t.Fatal(err)
	}
	_, err = s.Open(sealed, aad)
	wantErr(t, err, ErrLocked) // an old Sealer stays dead
	if _, err := mustSealer(t, v).Open(sealed, aad); err != nil {
		t.Fatal(err)
	}
}

func TestLockWipes(t *testing.T) {
	v := newAdminVault(t, newKey(t, 1))
	s := mustSealer(t, v)
	key := v.key.s
	v.Lock()
	if key.b != ([KeySize]byte{}) || !key.wiped {
		t.Error("Lock left the data key in memory")
	}
	if s.fieldKey != ([KeySize]byte{}) || s.tokenKey != ([KeySize]byte{}) || !s.wiped {
		t.Error("Lock left the Sealer's keys in memory")
	}
	if v.key.Valid() || v.sealer != nil || !v.Locked() {
		t.Error("Lock left the vault unlocked")
	}
	v.Lock() // idempotent
}

// TestChangePasswordKeepsData: changing or resetting a password, or adding
// a staff member, re-wraps the same data key, so every value sealed before
// still opens and no value is re-encrypted.
func TestChangePasswordKeepsData(t *testing.T) {
	dk := newKey(t, 1)
	v := newAdminVault(t, dk)
	aad := FieldAAD("patients", "p-1", "idNumber")
	sealed := mustSeal(t, mustSealer(t, v), []byte("11010519491231002X"), aad)
	before := bytes.Clone(sealed)

	if _, err := v.AddPassword("nurse-wang", []byte("nurse-password")); err != nil {
		t.Fatal(err)
	}
	_, err := v.AddPassword("nurse-wang", []byte("other-password"))
	wantErr(t, err, ErrNameExists)
	v.Lock()

	// The nurse changes her own password on a locked node.
	_, err = v.ChangePassword("nurse-wang", []byte("not-her-password"), []byte("new-nurse-password"))
	wantErr(t, err, ErrWrongPassword)
	_, err = v.ChangePassword("nurse-wang", []byte("nurse-password"), []byte("short"))
	wantErr(t, err, ErrWeakPassword)
	w, err := v.ChangePassword("nurse-wang", []byte("nurse-password"), []byte("new-nurse-password"))
	if err != nil {
		t.Fatal(err)
	}
	if w.KeyID != dk.KeyID() {
		t.Errorf("new wrap holds key %s, want %s", w.KeyID, dk.KeyID())
	}
	if !v.Locked() {
		t.Error("ChangePassword unlocked the vault")
	}
	v = reload(t, v)
	wantErr(t, v.Unlock("nurse-wang", []byte("nurse-password")), ErrWrongPassword)
	if err := v.Unlock("nurse-wang", []byte("new-nurse-password")); err != nil {
		t.Fatal(err)
	}
	if !v.key.Equal(dk) {
		t.Error("the data key changed with the password")
	}
	if got, err := mustSealer(t, v).Open(sealed, aad); err != nil || string(got) != "11010519491231002X" {
		t.Fatalf("old value after a password change: %q, %v", got, err)
	}

	// An administrator resets the admin password on the unlocked node.
	_, err = v.Rewrap("nobody", []byte("whatever-password"))
	wantErr(t, err, ErrUnknownName)
	_, err = v.Rewrap("admin", []byte("short"))
	wantErr(t, err, ErrWeakPassword)
	if _, err := v.Rewrap("admin", []byte("reset-admin-password")); err != nil {
		t.Fatal(err)
	}
	v = reload(t, v)
	wantErr(t, v.Unlock("admin", []byte("admin-password")), ErrWrongPassword)
	if err := v.Unlock("admin", []byte("reset-admin-password")); err != nil {
		t.Fatal(err)
	}
	if _, err := mustSealer(t, v).Open(sealed, aad); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sealed, before) {
		t.Error("a sealed value changed")
	}
}

func TestVaultKeyFile(t *testing.T) {
	dk := newKey(t, 1)
	v := newAdminVault(t, dk)
	aad := FieldAAD("patients", "p-1", "card")
	sealed := mustSeal(t, mustSealer(t, v), []byte("C000123"), aad)

	kf, _, err := v.AddKeyFile("kiosk-1")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = v.AddKeyFile("kiosk-1")
	wantErr(t, err, ErrNameExists)
	path := filepath.Join(t.TempDir(), "kiosk-1.key")
	if err := WriteKeyFile(path, kf); err != nil {
		t.Fatal(err)
	}

	v = reload(t, v)
	stranger, _ := NewKeyFile(nil)
	wantErr(t, v.UnlockWithKeyFile(stranger), ErrWrongKeyFile)
	wantErr(t, v.Unlock("kiosk-1", []byte("any-password")), ErrUnknownName)
	read, err := ReadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.UnlockWithKeyFile(read); err != nil {
		t.Fatal(err)
	}
	if got, err := mustSealer(t, v).Open(sealed, aad); err != nil || string(got) != "C000123" {
		t.Fatalf("Open after key-file unlock = %q, %v", got, err)
	}

	noKeyFile := newAdminVault(t, dk)
	noKeyFile.Lock()
	wantErr(t, noKeyFile.UnlockWithKeyFile(read), ErrWrongKeyFile)
}

func TestVaultOneDataKey(t *testing.T) {
	a := newAdminVault(t, newKey(t, 1))
	b := newAdminVault(t, newKey(t, 2))
	wraps := a.Wraps()
	wraps["other"] = b.Wraps()["admin"]
	_, err := New(testConfig(), wraps)
	wantErr(t, err, ErrWrongKey)

	a.Lock()
	wantErr(t, a.UnlockWithDataKey(newKey(t, 2)), ErrWrongKey)
	if !a.Locked() {
		t.Error("unlocked with the wrong data key")
	}
	wantErr(t, a.UnlockWithDataKey(DataKey{}), ErrNoKey)
	if err := a.UnlockWithDataKey(newKey(t, 1)); err != nil {
		t.Fatal(err)
	}
}

func TestVaultRemove(t *testing.T) {
	v := newAdminVault(t, newKey(t, 1))
	if _, err := v.AddPassword("nurse", []byte("nurse-password")); err != nil {
		t.Fatal(err)
	}
	wantErr(t, v.Remove("nobody"), ErrUnknownName)
	if err := v.Remove("nurse"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, v.Unlock("nurse", []byte("nurse-password")), ErrUnknownName)
	wantErr(t, v.Remove("admin"), ErrLastWrap)
	if got := v.Names(); len(got) != 1 || got[0] != "admin" {
		t.Errorf("Names = %v", got)
	}
}

func TestNewVaultRejects(t *testing.T) {
	_, err := New(Config{}, nil)
	wantErr(t, err, ErrBadParams)
	_, err = New(testConfig(), map[string]Wrapped{"admin": {Kind: WrapPassword}})
	if err == nil {
		t.Error("New accepted a malformed wrap")
	}
	good := newAdminVault(t, newKey(t, 1)).Wraps()["admin"]
	_, err = New(testConfig(), map[string]Wrapped{"": good})
	wantErr(t, err, ErrFormat)
}

// TestVaultConcurrent runs sealing, opening and tokens against Lock and
// Unlock, password changes and Wraps from many goroutines; run it with
// -race. Every call either works or says ErrLocked, and every value that
// opens is the value sealed.
func TestVaultConcurrent(t *testing.T) {
	v := newAdminVault(t, newKey(t, 1))
	if _, err := v.AddPassword("nurse", []byte("nurse-password")); err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, workers+3)

	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				s, err := v.Sealer()
				if errors.Is(err, ErrLocked) {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				plain := []byte(fmt.Sprintf("病人%d-%d", w, i))
				aad := FieldAAD("patients", fmt.Sprint(w), "name")
				sealed, err := s.Seal(plain, aad)
				if errors.Is(err, ErrLocked) {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				got, err := s.Open(sealed, aad)
				if errors.Is(err, ErrLocked) {
					continue
				}
				if err != nil || !bytes.Equal(got, plain) {
					errs <- fmt.Errorf("open = %q, %v; want %q", got, err, plain)
					return
				}
				if _, err := s.Token(TokenPhone, string(plain)); err != nil && !errors.Is(err, ErrLocked) {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() { // locks and unlocks
		for range rounds / 4 {
			v.Lock()
			if err := v.Unlock("admin", []byte("admin-password")); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Go(func() { // staff change their passwords meanwhile
		pw := []byte("nurse-password")
		for i := range 20 {
			next := []byte(fmt.Sprintf("nurse-password-%d", i))
			if _, err := v.ChangePassword("nurse", pw, next); err != nil {
				errs <- err
				return
			}
			pw = next
		}
	})
	wg.Go(func() { // the node persists wraps meanwhile
		for range rounds {
			for _, w := range v.Wraps() {
				if _, err := w.MarshalBinary(); err != nil {
					errs <- err
					return
				}
			}
			_ = v.Locked()
			_ = v.Names()
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := v.Unlock("nurse", []byte("nurse-password-19")); err != nil {
		t.Error(err)
	}
}
