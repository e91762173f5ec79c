package vault

import (
	"crypto/rand"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
)

// Config configures a Vault.
type Config struct {
	// Argon2 are the parameters of new password wraps. Existing wraps
	// keep the parameters they were made with.
	Argon2 Argon2Params
	// Rand supplies salts, nonces and key-file keys. Nil means
	// crypto/rand.Reader. It is read from several goroutines.
	Rand io.Reader
}

// DefaultConfig returns DefaultArgon2Params and crypto/rand.Reader.
func DefaultConfig() Config {
	return Config{Argon2: DefaultArgon2Params(), Rand: rand.Reader}
}

// Vault holds a node's wrapped copies of the data key, by name (a staff
// member's login name, or a kiosk's name for its key file), and, while
// unlocked, the data key itself. A node starts with a locked Vault and
// serves no personal data until Unlock, UnlockWithKeyFile or
// UnlockWithDataKey succeeds.
//
// The Vault does no I/O: New takes the stored wraps, and every method that
// changes a wrap returns it so the caller can store it (in bbolt, in the
// same transaction as the account change).
//
// A Vault is safe for concurrent use. Argon2 derivations (unlock, adding
// or changing a password) run one at a time, so a burst of logins costs
// one derivation's memory, not one per login, and none of them holds the
// lock that Sealer and Lock need. Lock waits for Seal, Open and Token calls
// in progress on the current Sealer and then wipes it. An unlock that
// finishes after a Lock unlocks the vault again: the last call wins.
type Vault struct {
	params Argon2Params
	rand   io.Reader
	kdf    sync.Mutex // serialises argon2 work

	mu     sync.RWMutex
	wraps  map[string]Wrapped
	keyID  KeyID   // the one data key all wraps hold; zero while unknown
	key    DataKey // valid only while unlocked
	sealer *Sealer // non-nil only while unlocked
}

// New returns a locked Vault holding copies of wraps, which must all wrap
// the same data key (ErrWrongKey otherwise: one network has one data key).
// With no wraps, the Vault can only be unlocked by UnlockWithDataKey; that
// is how the first node of a network, or a newly enrolled one, starts.
func New(cfg Config, wraps map[string]Wrapped) (*Vault, error) {
	if err := cfg.Argon2.Validate(); err != nil {
		return nil, fmt.Errorf("new vault: %w", err)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	v := &Vault{params: cfg.Argon2, rand: cfg.Rand, wraps: make(map[string]Wrapped, len(wraps))}
	for _, name := range slices.Sorted(maps.Keys(wraps)) {
		w := wraps[name]
		if name == "" {
			return nil, fmt.Errorf("new vault: %w: empty name", ErrFormat)
		}
		if err := w.check(); err != nil {
			return nil, fmt.Errorf("new vault: wrap %q: %w", name, err)
		}
		if v.keyID.IsZero() {
			v.keyID = w.KeyID
		} else if w.KeyID != v.keyID {
			return nil, fmt.Errorf("new vault: wrap %q: %w: holds key %s, others hold %s", name, ErrWrongKey, w.KeyID, v.keyID)
		}
		v.wraps[name] = w.clone()
	}
	return v, nil
}

// Locked reports whether the data key is out of memory.
func (v *Vault) Locked() bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.sealer == nil
}

// KeyID returns the id of the data key the vault's wraps hold, or the zero
// KeyID if it holds none and has not been unlocked.
func (v *Vault) KeyID() KeyID {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.keyID
}

// Sealer returns the Sealer of the unlocked data key, or ErrLocked. The
// same Sealer is returned until Lock, which wipes it.
func (v *Vault) Sealer() (*Sealer, error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.sealer == nil {
		return nil, ErrLocked
	}
	return v.sealer, nil
}

// Lock wipes the data key and the Sealer. Sealers handed out before return
// ErrLocked from then on, even after a later unlock.
func (v *Vault) Lock() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.lockLocked()
}

func (v *Vault) lockLocked() {
	if v.sealer != nil {
		v.sealer.Wipe()
		v.sealer = nil
	}
	v.key.Wipe()
	v.key = DataKey{}
}

// Unlock unwraps the data key with a staff member's password. Errors:
// ErrUnknownName (no password wrap under name), ErrWrongPassword. A failed
// attempt leaves the vault as it was, unlocked or not; a successful one on
// an unlocked vault changes nothing, so Unlock also serves to check a
// password.
func (v *Vault) Unlock(name string, password []byte) error {
	w, err := v.wrap(name, WrapPassword)
	if err != nil {
		return fmt.Errorf("unlock: %w", err)
	}
	v.kdf.Lock()
	dk, err := UnwrapWithPassword(w, password)
	v.kdf.Unlock()
	if err != nil {
		return fmt.Errorf("unlock %q: %w", name, err)
	}
	defer dk.Wipe()
	return v.install(dk)
}

// UnlockWithKeyFile unwraps the data key with a kiosk's key file, trying
// each key-file wrap. ErrWrongKeyFile if none opens.
func (v *Vault) UnlockWithKeyFile(kf KeyFileKey) error {
	v.mu.RLock()
	var tries []Wrapped
	for _, name := range slices.Sorted(maps.Keys(v.wraps)) {
		if w := v.wraps[name]; w.Kind == WrapKeyFile {
			tries = append(tries, w)
		}
	}
	v.mu.RUnlock()
	for _, w := range tries {
		dk, err := UnwrapWithKeyFile(w, kf)
		if err != nil {
			continue
		}
		defer dk.Wipe()
		return v.install(dk)
	}
	if len(tries) == 0 {
		return fmt.Errorf("unlock with key file: %w: the vault holds no key-file wrap", ErrWrongKeyFile)
	}
	return fmt.Errorf("unlock with key file: %w", ErrWrongKeyFile)
}

// UnlockWithDataKey unlocks with the data key itself: on the first node of
// a network after NewDataKey, or on a node given the key at enrolment. If
// the vault holds wraps, dk must be the key they hold (ErrWrongKey).
func (v *Vault) UnlockWithDataKey(dk DataKey) error {
	if !dk.Valid() {
		return fmt.Errorf("unlock with data key: %w", ErrNoKey)
	}
	own, err := DataKeyFromBytes(dk.Bytes())
	if err != nil {
		return fmt.Errorf("unlock with data key: %w", err)
	}
	defer own.Wipe()
	return v.install(own)
}

// install makes the vault unlocked with a copy of dk; the caller wipes dk.
func (v *Vault) install(dk DataKey) error {
	id := dk.KeyID()
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.keyID.IsZero() && id != v.keyID {
		return fmt.Errorf("unlock: %w: key %s, the vault holds %s", ErrWrongKey, id, v.keyID)
	}
	if v.sealer != nil {
		return nil
	}
	key, err := DataKeyFromBytes(dk.s.b[:])
	if err != nil {
		return err
	}
	s, err := NewSealer(key, v.rand)
	if err != nil {
		key.Wipe()
		return err
	}
	v.keyID, v.key, v.sealer = id, key, s
	return nil
}

// wrap returns a copy of the wrap under name if it has kind.
func (v *Vault) wrap(name string, kind WrapKind) (Wrapped, error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	w, ok := v.wraps[name]
	if !ok || w.Kind != kind {
		return Wrapped{}, fmt.Errorf("%w: no %s for %q", ErrUnknownName, kind, name)
	}
	return w.clone(), nil
}

// dataKey returns a private copy of the data key (the caller wipes it), or
// ErrLocked.
func (v *Vault) dataKey() (DataKey, error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.sealer == nil {
		return DataKey{}, ErrLocked
	}
	return DataKeyFromBytes(v.key.s.b[:])
}

// AddPassword wraps the unlocked data key under a new name's password and
// returns the new wrap for the caller to store. Nothing sealed changes.
// Errors: ErrLocked, ErrNameExists, ErrWeakPassword.
func (v *Vault) AddPassword(name string, password []byte) (Wrapped, error) {
	return v.putPassword("add password", name, password, false)
}

// Rewrap replaces the password of an existing name with a new one, on an
// unlocked vault (an administrator resetting a forgotten password). Only
// the wrap changes; the data key and everything sealed stay as they are.
// Errors: ErrLocked, ErrUnknownName, ErrWeakPassword.
func (v *Vault) Rewrap(name string, password []byte) (Wrapped, error) {
	return v.putPassword("rewrap", name, password, true)
}

func (v *Vault) putPassword(op, name string, password []byte, replace bool) (Wrapped, error) {
	if name == "" {
		return Wrapped{}, fmt.Errorf("%s: %w: empty name", op, ErrUnknownName)
	}
	if err := CheckPassword(password); err != nil {
		return Wrapped{}, fmt.Errorf("%s %q: %w", op, name, err)
	}
	if err := v.checkName(name, replace, WrapPassword); err != nil {
		return Wrapped{}, fmt.Errorf("%s: %w", op, err)
	}
	dk, err := v.dataKey()
	if err != nil {
		return Wrapped{}, fmt.Errorf("%s %q: %w", op, name, err)
	}
	defer dk.Wipe()
	v.kdf.Lock()
	w, err := WrapWithPassword(dk, password, v.params, v.rand)
	v.kdf.Unlock()
	if err != nil {
		return Wrapped{}, fmt.Errorf("%s %q: %w", op, name, err)
	}
	return v.store(op, name, w, replace)
}

// ChangePassword replaces name's password, proving the old one; it works
// whether the vault is locked or not and leaves it so. It costs two argon2
// derivations. Errors: ErrUnknownName, ErrWrongPassword (old password),
// ErrWeakPassword (new password).
func (v *Vault) ChangePassword(name string, oldPassword, newPassword []byte) (Wrapped, error) {
	if err := CheckPassword(newPassword); err != nil {
		return Wrapped{}, fmt.Errorf("change password of %q: %w", name, err)
	}
	old, err := v.wrap(name, WrapPassword)
	if err != nil {
		return Wrapped{}, fmt.Errorf("change password: %w", err)
	}
	v.kdf.Lock()
	w, err := rewrapPassword(old, oldPassword, newPassword, v.params, v.rand)
	v.kdf.Unlock()
	if err != nil {
		return Wrapped{}, fmt.Errorf("change password of %q: %w", name, err)
	}
	return v.store("change password", name, w, true)
}

// rewrapPassword unwraps old with oldPassword and wraps the same data key
// under newPassword.
func rewrapPassword(old Wrapped, oldPassword, newPassword []byte, p Argon2Params, r io.Reader) (Wrapped, error) {
	dk, err := UnwrapWithPassword(old, oldPassword)
	if err != nil {
		return Wrapped{}, err
	}
	defer dk.Wipe()
	return WrapWithPassword(dk, newPassword, p, r)
}

// AddKeyFile makes a new key-file key for a kiosk, wraps the unlocked data
// key under it, and returns both: write the key with WriteKeyFile and store
// the wrap. Errors: ErrLocked, ErrNameExists.
func (v *Vault) AddKeyFile(name string) (KeyFileKey, Wrapped, error) {
	if name == "" {
		return KeyFileKey{}, Wrapped{}, fmt.Errorf("add key file: %w: empty name", ErrUnknownName)
	}
	if err := v.checkName(name, false, WrapKeyFile); err != nil {
		return KeyFileKey{}, Wrapped{}, fmt.Errorf("add key file: %w", err)
	}
	dk, err := v.dataKey()
	if err != nil {
		return KeyFileKey{}, Wrapped{}, fmt.Errorf("add key file %q: %w", name, err)
	}
	defer dk.Wipe()
	kf, err := NewKeyFile(v.rand)
	if err != nil {
		return KeyFileKey{}, Wrapped{}, fmt.Errorf("add key file %q: %w", name, err)
	}
	w, err := WrapWithKeyFile(dk, kf, v.rand)
	if err == nil {
		w, err = v.store("add key file", name, w, false)
	}
	if err != nil {
		kf.Wipe()
		return KeyFileKey{}, Wrapped{}, err
	}
	return kf, w, nil
}

// Remove deletes the wrap under name (a staff member who left, a retired
// kiosk). It refuses to remove the last wrap (ErrLastWrap). Removing a wrap
// stops that password or key file from unlocking this vault from now on;
// it does not revoke a copy of the wrap taken earlier (a backup): that
// needs a new data key.
func (v *Vault) Remove(name string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.wraps[name]; !ok {
		return fmt.Errorf("remove: %w: %q", ErrUnknownName, name)
	}
	if len(v.wraps) == 1 {
		return fmt.Errorf("remove %q: %w", name, ErrLastWrap)
	}
	delete(v.wraps, name)
	return nil
}

// Names returns the names the vault holds wraps under, sorted.
func (v *Vault) Names() []string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return slices.Sorted(maps.Keys(v.wraps))
}

// Wraps returns a deep copy of the vault's wraps, by name, for storing.
func (v *Vault) Wraps() map[string]Wrapped {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make(map[string]Wrapped, len(v.wraps))
	for name, w := range v.wraps {
		out[name] = w.clone()
	}
	return out
}

// checkName returns ErrNameExists or ErrUnknownName if name is (replace
// false) or is not (replace true) held with kind.
func (v *Vault) checkName(name string, replace bool, kind WrapKind) error {
	v.mu.RLock()
	defer v.mu.RUnlock()
	w, ok := v.wraps[name]
	switch {
	case !replace && ok:
		return fmt.Errorf("%w: %q", ErrNameExists, name)
	case replace && (!ok || w.Kind != kind):
		return fmt.Errorf("%w: no %s for %q", ErrUnknownName, kind, name)
	}
	return nil
}

// store puts w under name after checking again, under the write lock, what
// checkName checked before the slow part, and returns a copy of w.
func (v *Vault) store(op, name string, w Wrapped, replace bool) (Wrapped, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if old, ok := v.wraps[name]; !replace && ok {
		return Wrapped{}, fmt.Errorf("%s: %w: %q", op, ErrNameExists, name)
	} else if replace && (!ok || old.Kind != w.Kind) {
		return Wrapped{}, fmt.Errorf("%s: %w: %q was removed meanwhile", op, ErrUnknownName, name)
	}
	if !v.keyID.IsZero() && w.KeyID != v.keyID {
		return Wrapped{}, fmt.Errorf("%s %q: %w", op, name, ErrWrongKey)
	}
	v.keyID = w.KeyID
	v.wraps[name] = w
	return w.clone(), nil
}
