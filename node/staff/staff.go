package staff

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"carenode/crdt"
	"carenode/node/auth"
	"carenode/node/store"
	"carenode/node/vault"
)

// Collection holds one record per account, keyed by its name.
const Collection = "staff"

// Records is what the directory needs of the node's store.
type Records interface {
	Write(ctx context.Context, req store.WriteRequest) (store.WriteResult, error)
	Get(coll, id string) (store.RecordView, error)
	List(coll, after string, limit int) ([]store.RecordView, error)
}

// Config configures a Directory.
type Config struct {
	Records Records
	// Hash are the argon2id costs of new password hashes; Vault those of
	// new data-key wraps. Tests use the cheap auth.TestParams and
	// vault.TestArgon2Params.
	Hash  auth.Params
	Vault vault.Config
	// Sessions and Limiter shape sign-ins; zero values mean the defaults.
	Sessions auth.SessionConfig
	Limiter  auth.LimiterConfig
	// OnUnlock is called with the data key's Sealer when the node unlocks
	// (the chart service builds its indexes); an error keeps the node locked.
	OnUnlock func(*vault.Sealer) error
	Logger   *slog.Logger
}

// Account is a staff member (or a kiosk's device account) as stored.
type Account struct {
	Name string    `json:"name"`
	Role auth.Role `json:"role"`
	// Pending means the account has no wrap of the data key yet: it was
	// added on a locked node. Its first sign-in on an unlocked node adds one.
	Pending bool `json:"pending,omitempty"`
	hash    string
	wrap    []byte
}

// Directory holds the node's accounts, their sessions and the vault of the
// data key they unlock. It is safe for concurrent use.
type Directory struct {
	cfg      Config
	log      *slog.Logger
	sessions *auth.Sessions
	limiter  *auth.Limiter
	keys     atomic.Pointer[vault.Vault] // replaced whole when wraps are reread
	mu       sync.Mutex                  // serialises account changes
}

// Open reads the stored accounts and returns a locked directory.
func Open(cfg Config) (*Directory, error) {
	if cfg.Hash == (auth.Params{}) {
		cfg.Hash = auth.DefaultParams()
	}
	if cfg.Vault.Argon2 == (vault.Argon2Params{}) {
		cfg.Vault.Argon2 = vault.DefaultConfig().Argon2
	}
	if cfg.Sessions.Idle == 0 {
		cfg.Sessions = auth.DefaultSessionConfig(rand.Reader)
	}
	if cfg.Sessions.Rand == nil {
		cfg.Sessions.Rand = rand.Reader
	}
	if cfg.Limiter.MaxKeys == 0 {
		cfg.Limiter = auth.DefaultLimiterConfig()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Vault.Rand == nil {
		cfg.Vault.Rand = rand.Reader
	}
	d := &Directory{cfg: cfg, log: cfg.Logger.With("subsystem", "staff"), sessions: auth.NewSessions(cfg.Sessions),
		limiter: auth.NewLimiter(cfg.Limiter)}
	if err := d.loadVault(); err != nil {
		return nil, err
	}
	return d, nil
}

// loadVault builds a locked vault from the stored wraps.
func (d *Directory) loadVault() error {
	accts, err := d.Accounts()
	if err != nil {
		return err
	}
	wraps := map[string]vault.Wrapped{}
	for _, a := range accts {
		if len(a.wrap) == 0 {
			continue
		}
		var w vault.Wrapped
		if err := w.UnmarshalBinary(a.wrap); err != nil {
			return fmt.Errorf("account %s: stored key wrap: %w", a.Name, err)
		}
		wraps[a.Name] = w
	}
	v, err := vault.New(d.cfg.Vault, wraps)
	if err != nil {
		return fmt.Errorf("open vault: %w", err)
	}
	d.keys.Store(v)
	return nil
}

// Accounts lists the stored accounts by name.
func (d *Directory) Accounts() ([]Account, error) {
	var out []Account
	after := ""
	for {
		views, err := d.cfg.Records.List(Collection, after, 500)
		if err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		for _, v := range views {
			if v.Deleted {
				continue
			}
			a, err := decodeAccount(v)
			if err != nil {
				// A damaged account (from a faulty peer) must not stop the
				// node from starting or anyone else from signing in.
				d.log.Warn("account record cannot be read; skipped", "account", v.ID, "err", err)
				continue
			}
			out = append(out, a)
		}
		if len(views) < 500 {
			return out, nil
		}
		after = views[len(views)-1].ID
	}
}

// errDamaged marks an account record that cannot be decoded.
var errDamaged = errors.New("damaged account record")

func decodeAccount(v store.RecordView) (Account, error) {
	a, err := decodeAccountFields(v)
	if err != nil {
		return Account{}, fmt.Errorf("%w: %w", errDamaged, err)
	}
	return a, nil
}

func decodeAccountFields(v store.RecordView) (Account, error) {
	a := Account{Name: v.ID}
	str := func(field string) (string, error) {
		f, ok := v.Fields[field]
		if !ok {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(f.Value, &s); err != nil {
			return "", fmt.Errorf("account %s: field %s: %w", v.ID, field, err)
		}
		return s, nil
	}
	role, err := str("role")
	if err != nil {
		return Account{}, err
	}
	if a.Role, err = auth.ParseRole(role); err != nil {
		return Account{}, fmt.Errorf("account %s: %w", v.ID, err)
	}
	if a.hash, err = str("passwordHash"); err != nil {
		return Account{}, err
	}
	wrap, err := str("keyWrap")
	if err != nil {
		return Account{}, err
	}
	if wrap != "" {
		if a.wrap, err = base64.StdEncoding.DecodeString(wrap); err != nil {
			return Account{}, fmt.Errorf("account %s: key wrap: %w", v.ID, err)
		}
	}
	a.Pending = len(a.wrap) == 0
	return a, nil
}

func (d *Directory) account(name string) (Account, error) {
	v, err := d.cfg.Records.Get(Collection, name)
	if errors.Is(err, store.ErrNotFound) || (err == nil && v.Deleted) {
		return Account{}, ErrNoAccount
	}
	if err != nil {
		return Account{}, fmt.Errorf("read account %s: %w", name, err)
	}
	return decodeAccount(v)
}

// CheckName reports whether name can be an account name: 2–32 lower-case
// letters, digits, '.', '_' or '-', starting with a letter. Names are
// record ids and appear in audit events, so they are plain ASCII.
func CheckName(name string) error {
	if len(name) < 2 || len(name) > 32 || name[0] < 'a' || name[0] > 'z' {
		return ErrBadName
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return ErrBadName
		}
	}
	return nil
}

// AddResult says what Add did.
type AddResult struct {
	Account
	// FirstAccount: the node had no accounts; a new data key was made,
	// wrapped under this password, and the node is now unlocked.
	FirstAccount bool `json:"firstAccount,omitempty"`
}

// Add makes an account. On a node with no accounts yet the first must be an
// admin: the network's data key is made then and wrapped under that
// password. Later accounts get a wrap of the data key when the node is
// unlocked; on a locked node they are Pending until their first sign-in on
// an unlocked node. Adding an account never re-encrypts any data.
func (d *Directory) Add(ctx context.Context, name string, role auth.Role, password []byte) (AddResult, error) {
	if err := CheckName(name); err != nil {
		return AddResult{}, err
	}
	if _, err := auth.ParseRole(string(role)); err != nil {
		return AddResult{}, err
	}
	if err := auth.CheckPassword(string(password)); err != nil {
		return AddResult{}, ErrWeakPassword
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.account(name); err == nil {
		return AddResult{}, ErrExists
	} else if !errors.Is(err, ErrNoAccount) {
		return AddResult{}, err
	}
	accts, err := d.Accounts()
	if err != nil {
		return AddResult{}, err
	}
	res := AddResult{Account: Account{Name: name, Role: role}}
	if len(accts) == 0 {
		if role != auth.RoleAdmin {
			return AddResult{}, ErrFirstAdmin
		}
		if len(d.keys.Load().Names()) == 0 && d.keys.Load().Locked() {
			dk, err := vault.NewDataKey(d.cfg.Vault.Rand)
			if err != nil {
				return AddResult{}, fmt.Errorf("make data key: %w", err)
			}
			if err := d.keys.Load().UnlockWithDataKey(dk); err != nil {
				return AddResult{}, fmt.Errorf("unlock new vault: %w", err)
			}
			dk.Wipe()
			res.FirstAccount = true
		}
	}
	hash, err := auth.HashPassword(string(password), d.cfg.Hash, d.cfg.Vault.Rand)
	if err != nil {
		return AddResult{}, fmt.Errorf("hash password: %w", err)
	}
	var wrap []byte
	if !d.keys.Load().Locked() {
		w, err := d.keys.Load().AddPassword(name, password)
		if err != nil {
			return AddResult{}, fmt.Errorf("wrap data key for %s: %w", name, err)
		}
		if wrap, err = w.MarshalBinary(); err != nil {
			return AddResult{}, err
		}
	}
	res.Pending = wrap == nil
	if err := d.store(ctx, name, role, hash, wrap, true); err != nil {
		if wrap != nil {
			_ = d.keys.Load().Remove(name)
		}
		return AddResult{}, err
	}
	if res.FirstAccount {
		if err := d.unlocked(); err != nil {
			return AddResult{}, err
		}
	}
	d.log.Info("account added", "account", name, "role", role, "pending", res.Pending)
	return res, nil
}

// store writes an account's fields; create makes a new record.
func (d *Directory) store(ctx context.Context, name string, role auth.Role, hash string, wrap []byte, create bool) error {
	var edits []store.Edit
	if create {
		edits = append(edits,
			store.Edit{Kind: crdt.MutSet, Field: "role", Value: jsonText(string(role))},
			store.Edit{Kind: crdt.MutSet, Field: "passwordHash", Value: jsonText(hash)})
	}
	if wrap != nil {
		edits = append(edits, store.Edit{Kind: crdt.MutSet, Field: "keyWrap", Value: wrapValue(wrap),
			SeenCurrent: true})
	}
	_, err := d.cfg.Records.Write(ctx, store.WriteRequest{Collection: Collection, Record: name, Create: create,
		MustExist: !create, Edits: edits})
	if err != nil {
		return fmt.Errorf("store account %s: %w", name, err)
	}
	return nil
}

// unlocked tells the node's data services the vault is open.
func (d *Directory) unlocked() error {
	sealer, err := d.keys.Load().Sealer()
	if err != nil {
		return err
	}
	if d.cfg.OnUnlock != nil {
		if err := d.cfg.OnUnlock(sealer); err != nil {
			d.keys.Load().Lock()
			return fmt.Errorf("unlock: %w", err)
		}
	}
	return nil
}

// Locked reports whether the data key is out of memory.
func (d *Directory) Locked() bool { return d.keys.Load().Locked() }

// LoginResult is a successful sign-in.
type LoginResult struct {
	Token    string    `json:"token"`
	Name     string    `json:"name"`
	Role     auth.Role `json:"role"`
	Unlocked bool      `json:"unlocked"` // this sign-in unlocked the node
}

// Login checks name's password and starts a session. Failed attempts are
// slowed down per account and per client address (ErrTooMany, with the wait).
// On a locked node, the sign-in of an account holding a wrap of the data key
// unlocks it; a pending account signing in on an unlocked node gets its wrap.
func (d *Directory) Login(ctx context.Context, name, password, remote string) (LoginResult, error) {
	keys := limiterKeys(name, remote)
	if err := d.allow(keys); err != nil {
		return LoginResult{}, err
	}
	fail := func(err error) (LoginResult, error) {
		for _, k := range keys {
			d.limiter.Failure(k)
		}
		return LoginResult{}, err
	}
	a, err := d.account(name)
	if errors.Is(err, errDamaged) {
		// A damaged account record signs nobody in.
		d.log.Warn("account record cannot be read", "account", name, "err", err)
		err = ErrNoAccount
	}
	if errors.Is(err, ErrNoAccount) || errors.Is(err, store.ErrInvalid) {
		// The same answer as a wrong password: do not tell which names exist.
		return fail(ErrBadLogin)
	}
	if err != nil {
		return LoginResult{}, err
	}
	if a.hash == "" {
		return fail(ErrBadLogin) // a key-file wrap, not an account
	}
	res := LoginResult{Name: a.Name, Role: a.Role}
	if d.keys.Load().Locked() && !a.Pending {
		if !slices.Contains(d.keys.Load().Names(), a.Name) {
			// The account (or its wrap) came from a peer after this node
			// started: read the wraps again. The vault is locked, so
			// nothing held in it is lost.
			d.mu.Lock()
			err := d.loadVault()
			d.mu.Unlock()
			if err != nil {
				return LoginResult{}, err
			}
		}
		// Unwrapping the data key proves the password: one argon2 run.
		switch err := d.keys.Load().Unlock(a.Name, []byte(password)); {
		case errors.Is(err, vault.ErrWrongPassword):
			return fail(ErrBadLogin)
		case err != nil:
			return LoginResult{}, fmt.Errorf("unlock with %s's password: %w", a.Name, err)
		}
		if err := d.unlocked(); err != nil {
			return LoginResult{}, err
		}
		res.Unlocked = true
		d.log.Info("node unlocked", "account", a.Name)
	} else {
		ok, err := auth.VerifyPassword(a.hash, password)
		if err != nil {
			return LoginResult{}, fmt.Errorf("account %s: %w", a.Name, err)
		}
		if !ok {
			return fail(ErrBadLogin)
		}
		if a.Pending {
			if d.keys.Load().Locked() {
				return LoginResult{}, ErrPendingLocked
			}
			if err := d.completeWrap(ctx, a.Name, []byte(password)); err != nil {
				return LoginResult{}, err
			}
		}
	}
	for _, k := range keys {
		d.limiter.Success(k)
	}
	if res.Token, err = d.sessions.Create(a.Name, a.Role); err != nil {
		return LoginResult{}, fmt.Errorf("start session: %w", err)
	}
	return res, nil
}

// completeWrap gives a pending account its wrap of the data key.
func (d *Directory) completeWrap(ctx context.Context, name string, password []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	w, err := d.keys.Load().AddPassword(name, password)
	if errors.Is(err, vault.ErrNameExists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("wrap data key for %s: %w", name, err)
	}
	b, err := w.MarshalBinary()
	if err != nil {
		return err
	}
	if err := d.store(ctx, name, "", "", b, false); err != nil {
		_ = d.keys.Load().Remove(name)
		return err
	}
	d.log.Info("account key wrap added at first sign-in", "account", name)
	return nil
}

// ChangePassword replaces name's password, proving the old one. Only the
// account's hash and its wrap of the data key change: nothing sealed is
// re-encrypted. Every session of the account ends. Failed proofs count
// against the sign-in limiter like failed sign-ins.
func (d *Directory) ChangePassword(ctx context.Context, name, oldPassword, newPassword, remote string) error {
	keys := limiterKeys(name, remote)
	if err := d.allow(keys); err != nil {
		return err
	}
	if err := auth.CheckPassword(newPassword); err != nil {
		return ErrWeakPassword
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	a, err := d.account(name)
	if errors.Is(err, ErrNoAccount) || errors.Is(err, errDamaged) {
		return ErrBadLogin
	}
	if err != nil {
		return err
	}
	ok, err := auth.VerifyPassword(a.hash, oldPassword)
	if err != nil || !ok {
		for _, k := range keys {
			d.limiter.Failure(k)
		}
		return ErrBadLogin
	}
	hash, err := auth.HashPassword(newPassword, d.cfg.Hash, d.cfg.Vault.Rand)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	var wrap []byte
	if !a.Pending {
		w, err := d.keys.Load().ChangePassword(name, []byte(oldPassword), []byte(newPassword))
		if err != nil {
			return fmt.Errorf("rewrap data key for %s: %w", name, err)
		}
		if wrap, err = w.MarshalBinary(); err != nil {
			return err
		}
	}
	if err := d.storePassword(ctx, name, hash, wrap); err != nil {
		return err
	}
	d.sessions.RevokeAccount(name)
	d.log.Info("password changed", "account", name)
	return nil
}

// ResetPassword sets a new password for name without the old one (an admin
// for a staff member who forgot theirs). The node must be unlocked, since
// the new wrap is made from the data key in memory; nothing sealed is
// re-encrypted. Every session of the account ends.
func (d *Directory) ResetPassword(ctx context.Context, name, newPassword string) error {
	if err := auth.CheckPassword(newPassword); err != nil {
		return ErrWeakPassword
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	a, err := d.account(name)
	if err != nil {
		return err
	}
	if a.hash == "" {
		return ErrNoAccount // a key-file wrap
	}
	hash, err := auth.HashPassword(newPassword, d.cfg.Hash, d.cfg.Vault.Rand)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	v := d.keys.Load()
	if v.Locked() {
		return ErrLockedReset
	}
	var w vault.Wrapped
	if slices.Contains(v.Names(), name) {
		w, err = v.Rewrap(name, []byte(newPassword))
	} else {
		w, err = v.AddPassword(name, []byte(newPassword))
	}
	if err != nil {
		return fmt.Errorf("wrap data key for %s: %w", name, err)
	}
	wrap, err := w.MarshalBinary()
	if err != nil {
		return err
	}
	if err := d.storePassword(ctx, name, hash, wrap); err != nil {
		return err
	}
	d.sessions.RevokeAccount(name)
	d.log.Info("password reset", "account", name)
	return nil
}

// storePassword writes an account's new hash and, when not nil, its wrap.
func (d *Directory) storePassword(ctx context.Context, name, hash string, wrap []byte) error {
	edits := []store.Edit{{Kind: crdt.MutSet, Field: "passwordHash", Value: jsonText(hash), SeenCurrent: true}}
	if wrap != nil {
		edits = append(edits, store.Edit{Kind: crdt.MutSet, Field: "keyWrap", Value: wrapValue(wrap), SeenCurrent: true})
	}
	if _, err := d.cfg.Records.Write(ctx, store.WriteRequest{Collection: Collection, Record: name, MustExist: true, Edits: edits}); err != nil {
		return fmt.Errorf("store password of %s: %w", name, err)
	}
	return nil
}

// UnlockWithKeyFile unlocks the node with a kiosk's key file.
func (d *Directory) UnlockWithKeyFile(kf vault.KeyFileKey) error {
	if err := d.keys.Load().UnlockWithKeyFile(kf); err != nil {
		return err
	}
	return d.unlocked()
}

// AddKeyFile wraps the data key under a new key file for the kiosk account
// name (which must exist and have the kiosk role) and writes the key file to
// path, readable by its owner only. The node must be unlocked.
func (d *Directory) AddKeyFile(ctx context.Context, name, path string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, err := d.account(name)
	if err != nil {
		return err
	}
	if a.Role != auth.RoleKiosk {
		return fmt.Errorf("%w: %s has role %s", ErrNotKiosk, name, a.Role)
	}
	wrapName := name + ".keyfile"
	kf, w, err := d.keys.Load().AddKeyFile(wrapName)
	if err != nil {
		return fmt.Errorf("key file for %s: %w", name, err)
	}
	defer kf.Wipe()
	b, err := w.MarshalBinary()
	if err != nil {
		return err
	}
	if err := vault.WriteKeyFile(path, kf); err != nil {
		_ = d.keys.Load().Remove(wrapName)
		return err
	}
	if err := d.storeKeyFileWrap(ctx, wrapName, b); err != nil {
		_ = d.keys.Load().Remove(wrapName)
		return err
	}
	return nil
}

// storeKeyFileWrap stores a key-file wrap as an account-less record of the
// staff collection, role kiosk, no password: it only unlocks.
func (d *Directory) storeKeyFileWrap(ctx context.Context, wrapName string, wrap []byte) error {
	_, err := d.cfg.Records.Write(ctx, store.WriteRequest{Collection: Collection, Record: wrapName, Create: true,
		Edits: []store.Edit{
			{Kind: crdt.MutSet, Field: "role", Value: jsonText(string(auth.RoleKiosk))},
			{Kind: crdt.MutSet, Field: "keyWrap", Value: wrapValue(wrap)},
		}})
	if err != nil {
		return fmt.Errorf("store key file wrap %s: %w", wrapName, err)
	}
	return nil
}

// Session returns the session of a bearer token.
func (d *Directory) Session(token string) (auth.Session, error) { return d.sessions.Lookup(token) }

// Logout ends a session.
func (d *Directory) Logout(token string) { d.sessions.Revoke(token) }

// Public returns the accounts without their secrets, for listing.
func (d *Directory) Public() ([]Account, error) {
	accts, err := d.Accounts()
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(accts, func(a Account) bool { return strings.HasSuffix(a.Name, ".keyfile") }), nil
}

func hostOf(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}

// TooManyError is a sign-in refused for too many recent failures.
type TooManyError struct{ Wait time.Duration }

func (e *TooManyError) Error() string {
	return fmt.Sprintf("too many failed sign-ins; try again in %s", e.Wait.Round(time.Second))
}

// ReadPassword reads a password from r: the first line, without its line
// end. Used for --password-file.
func ReadPassword(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return nil, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return []byte(strings.TrimSuffix(line, "\r")), nil
}

// jsonText is a stored text field's value.
func jsonText(s string) []byte {
	b, _ := json.Marshal(s) // a string always encodes
	return b
}

// wrapValue is the stored value of a key wrap: base64 text.
func wrapValue(wrap []byte) []byte { return jsonText(base64.StdEncoding.EncodeToString(wrap)) }

// limiterKeys are what failed password checks count against: the account
// and the client's address, so neither guessing one account from many
// addresses nor many accounts from one address goes unslowed.
func limiterKeys(name, remote string) []string {
	return []string{"account:" + strings.ToLower(name), "addr:" + hostOf(remote)}
}

// allow refuses an attempt while any of keys must wait.
func (d *Directory) allow(keys []string) error {
	for _, k := range keys {
		if ok, wait := d.limiter.Allow(k); !ok {
			return &TooManyError{Wait: wait}
		}
	}
	return nil
}

// DropBox returns the drop box of the unlocked data key, to which
// node/readings seals device messages that may arrive while the node is
// locked, or vault.ErrLocked.
func (d *Directory) DropBox() (*vault.DropBox, error) { return d.keys.Load().DropBox() }
