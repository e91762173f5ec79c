package mqtt

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"carenode/crdt"
	"carenode/node/auth"
	"carenode/node/store"
)

// The collections the Book keeps its records in. Device ids are the
// record ids, so they follow crdt.ValidName.
const (
	// AccountCollection holds one record per device allowed to connect.
	AccountCollection = "device_accounts"
	// JoinCollection holds one record per device that asked to join.
	JoinCollection = "device_join"
)

// Join states: a request is asking until an admin approves or rejects it.
const (
	JoinAsking   = "asking"
	JoinApproved = "approved"
	JoinRejected = "rejected"
)

// Records is what a Book needs of the node's store; *store.Store has it.
type Records interface {
	Write(ctx context.Context, req store.WriteRequest) (store.WriteResult, error)
	Get(coll, id string) (store.RecordView, error)
	List(coll, after string, limit int) ([]store.RecordView, error)
}

var _ Records = (*store.Store)(nil)

// BookConfig configures a Book. Start from DefaultBookConfig.
type BookConfig struct {
	Records Records
	// Hash is the argon2id cost of a device password. Device secrets are
	// long and random, so this is lighter than a person's password hash;
	// a verified password is remembered (as its SHA-256), so a device
	// reconnecting pays it once per node start.
	Hash auth.Params
	// RecordEvery is the least time between two writes of the same
	// refused device's attempt: a device retrying every second must not
	// write to the store every second. A new device, a new password or a
	// new client id are written at once.
	RecordEvery time.Duration
	// MaxHashing bounds the password hashes computed at once, so a flood
	// of CONNECTs cannot take all memory (each costs Hash.Memory KiB).
	MaxHashing int
	// Rand is the salt source; nil means crypto/rand.
	Rand io.Reader
	// Now is the node's clock; nil means time.Now.
	Now func() time.Time
	// Logger; nil means slog.Default.
	Logger *slog.Logger
}

// DefaultBookConfig returns a BookConfig over records.
func DefaultBookConfig(records Records) BookConfig {
	return BookConfig{Records: records, Hash: auth.Params{Time: 2, Memory: 19 * 1024, Threads: 1, SaltLen: 16, KeyLen: 32},
		RecordEvery: time.Minute, MaxHashing: 2}
}

// Account is a device allowed to connect.
type Account struct {
	DeviceID   string
	Revoked    bool
	ApprovedBy string
	ApprovedAt time.Time
}

// JoinRequest is a device that tried to connect without a known account
// (or with a wrong password).
type JoinRequest struct {
	DeviceID string // the MQTT username it gave
	ClientID string
	Remote   string
	Attempts int
	First    time.Time
	Last     time.Time
	// State is JoinAsking, JoinApproved or JoinRejected.
	State string
	// Reason is why it was rejected; DecidedBy who approved or rejected it.
	Reason, DecidedBy string
	// Adoptable is true when the password the device last offered is kept
	// (hashed) so that Approve can adopt it: the device then connects on
	// its next try with no change on its side.
	Adoptable bool
}

// Attempt is one refused CONNECT, as the broker saw it.
type Attempt struct {
	DeviceID, ClientID, Remote string
	Password                   []byte
}

// Book keeps device accounts and the devices asking to join as records of
// the node's store, so they are replicated like other data: a device
// approved on the hub may connect to any clinic node it syncs with.
//
// Records are CRDT records of registers: an approval on one node and a
// rejection on another, made concurrently, leave an account (approval
// wins for connecting, since the account record is the only thing
// Authenticate reads) and one of the two join states. Revoke is a
// register too, so a later Approve lifts it.
//
// Its methods are safe for concurrent use.
type Book struct {
	cfg  BookConfig
	log  *slog.Logger
	sema chan struct{}

	mu       sync.Mutex
	verified map[string]verified // device id -> the password that matched a stored hash
	seen     map[string]*seenAttempt
}

type verified struct {
	sum  [32]byte
	hash string
}

// seenAttempt is what the Book remembers of a refused device between two
// writes.
type seenAttempt struct {
	attempts int // since the last write
	written  time.Time
	sum      [32]byte // SHA-256 of the password last offered
	clientID string
}

// NewBook returns a Book over cfg.Records.
func NewBook(cfg BookConfig) (*Book, error) {
	if cfg.Records == nil {
		return nil, fmt.Errorf("records is nil: %w", ErrConfig)
	}
	if cfg.Hash.Time == 0 || cfg.Hash.Memory == 0 || cfg.Hash.Threads == 0 || cfg.Hash.KeyLen < 16 || cfg.Hash.SaltLen < 8 {
		return nil, fmt.Errorf("hash parameters %+v: %w", cfg.Hash, ErrConfig)
	}
	if cfg.MaxHashing <= 0 {
		cfg.MaxHashing = 2
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Book{cfg: cfg, log: log.With("subsystem", "mqtt-accounts"), sema: make(chan struct{}, cfg.MaxHashing),
		verified: map[string]verified{}, seen: map[string]*seenAttempt{}}, nil
}

var (
	_ Accounts     = (*Book)(nil)
	_ JoinRecorder = (*Book)(nil)
)

// CheckDeviceID reports whether id can name a device: 1 to 64 ASCII
// letters, digits, '_', '-' or '.' (it is a record id and a topic level).
func CheckDeviceID(id string) error {
	if !crdt.ValidName(id) {
		return fmt.Errorf("device id %q: %w", id, ErrDeviceID)
	}
	return nil
}

// Authenticate reports whether deviceID has an account, not revoked, whose
// password is password.
func (b *Book) Authenticate(deviceID string, password []byte) bool {
	if CheckDeviceID(deviceID) != nil {
		return false
	}
	a, hash, err := b.account(deviceID)
	if err != nil || a.Revoked || hash == "" {
		if err != nil && !errors.Is(err, ErrNoAccount) {
			b.log.Error("read device account", "device", deviceID, "err", err)
		}
		return false
	}
	sum := sha256.Sum256(password)
	b.mu.Lock()
	v, ok := b.verified[deviceID]
	b.mu.Unlock()
	if ok && v.hash == hash && subtle.ConstantTimeCompare(v.sum[:], sum[:]) == 1 {
		return true
	}
	b.sema <- struct{}{}
	good, err := auth.VerifyPassword(hash, string(password))
	<-b.sema
	if err != nil {
		b.log.Error("device account has a damaged password hash", "device", deviceID, "err", err)
		return false
	}
	if good {
		b.mu.Lock()
		b.verified[deviceID] = verified{sum: sum, hash: hash}
		b.mu.Unlock()
	}
	return good
}

// Refused records a refused CONNECT in the devices asking to join. A
// device whose request was approved but whose password does not match is
// asking again. It writes to the store at most once per RecordEvery per
// device unless something new is offered; it logs, and does not return,
// errors (the device is refused either way).
func (b *Book) Refused(at Attempt) {
	if CheckDeviceID(at.DeviceID) != nil {
		return // not a name we can keep; the broker logs the refusal
	}
	now := b.cfg.Now()
	sum := sha256.Sum256(at.Password)
	b.mu.Lock()
	s, ok := b.seen[at.DeviceID]
	if !ok {
		if len(b.seen) >= 10000 {
			clear(b.seen) // only throttling state: forgetting costs a write
		}
		s = &seenAttempt{}
		b.seen[at.DeviceID] = s
	}
	s.attempts++
	changed := !ok || s.sum != sum || s.clientID != at.ClientID
	due := changed || now.Sub(s.written) >= b.cfg.RecordEvery
	attempts := s.attempts
	if due {
		s.attempts, s.written, s.sum, s.clientID = 0, now, sum, at.ClientID
	}
	b.mu.Unlock()
	if !due {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.record(ctx, at, attempts, changed, now); err != nil {
		b.log.Error("record device asking to join", "device", at.DeviceID, "err", err)
	}
}

func (b *Book) record(ctx context.Context, at Attempt, attempts int, changed bool, now time.Time) error {
	prev, err := b.join(at.DeviceID)
	if err != nil && !errors.Is(err, ErrNoRequest) {
		return err
	}
	set := fieldSetter{}
	if errors.Is(err, ErrNoRequest) {
		set.add("first", now)
	}
	if prev.State != JoinRejected {
		set.add("state", JoinAsking) // approved but refused: a new password, so asking again
	}
	set.add("clientId", at.ClientID)
	set.add("remote", at.Remote)
	set.add("last", now)
	set.add("attempts", prev.Attempts+attempts)
	if changed {
		// Keep what it offered, hashed, so Approve can adopt it. A
		// password too short to be a device secret is not adoptable.
		hash := ""
		if auth.CheckPassword(string(at.Password)) == nil {
			select {
			case b.sema <- struct{}{}:
				hash, err = auth.HashPassword(string(at.Password), b.cfg.Hash, b.cfg.Rand)
				<-b.sema
				if err != nil {
					return err
				}
			default: // busy hashing: keep the attempt, not the password
			}
		}
		set.add("offeredHash", hash)
	}
	_, err = b.cfg.Records.Write(ctx, store.WriteRequest{Collection: JoinCollection, Record: at.DeviceID, Edits: set})
	if err != nil {
		return fmt.Errorf("write join request %s: %w", at.DeviceID, err)
	}
	return nil
}

// Requests lists the devices that asked to join in state (JoinAsking,
// JoinRejected, JoinApproved; "" for all), oldest first.
func (b *Book) Requests(state string) ([]JoinRequest, error) {
	var out []JoinRequest
	err := b.each(JoinCollection, func(v store.RecordView) error {
		r, _, err := decodeJoin(v)
		if err != nil {
			b.log.Warn("join request record cannot be read; skipped", "device", v.ID, "err", err)
			return nil
		}
		if state == "" || r.State == state {
			out = append(out, r)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b JoinRequest) int { return a.First.Compare(b.First) })
	return out, err
}

// Pending lists the devices asking to join, oldest first.
func (b *Book) Pending() ([]JoinRequest, error) { return b.Requests(JoinAsking) }

// Accounts lists the device accounts, revoked ones too, by device id.
func (b *Book) Accounts() ([]Account, error) {
	var out []Account
	err := b.each(AccountCollection, func(v store.RecordView) error {
		a, _, err := decodeAccount(v)
		if err != nil {
			b.log.Warn("device account record cannot be read; skipped", "device", v.ID, "err", err)
			return nil
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

func (b *Book) each(coll string, fn func(store.RecordView) error) error {
	after := ""
	for {
		views, err := b.cfg.Records.List(coll, after, 500)
		if err != nil {
			return fmt.Errorf("list %s: %w", coll, err)
		}
		for _, v := range views {
			if v.Deleted {
				continue
			}
			if err := fn(v); err != nil {
				return err
			}
		}
		if len(views) < 500 {
			return nil
		}
		after = views[len(views)-1].ID
	}
}

// Approve creates (or renews) deviceID's account and marks its request
// approved. With password "", the device keeps the password it last
// offered when it asked to join (ErrNotAdoptable if none was kept);
// otherwise password, at least auth.MinPasswordLen characters, becomes
// its password and must be set on the device. by names the admin.
func (b *Book) Approve(ctx context.Context, deviceID, password, by string) error {
	if err := CheckDeviceID(deviceID); err != nil {
		return err
	}
	var hash string
	if password == "" {
		_, offered, err := b.joinHash(deviceID)
		if err != nil {
			return err
		}
		if offered == "" {
			return fmt.Errorf("approve %s: %w", deviceID, ErrNotAdoptable)
		}
		hash = offered
	} else {
		h, err := auth.HashPassword(password, b.cfg.Hash, b.cfg.Rand)
		if err != nil {
			return fmt.Errorf("approve %s: %w", deviceID, err)
		}
		hash = h
	}
	now := b.cfg.Now()
	acct := fieldSetter{}
	acct.add("passwordHash", hash)
	acct.add("revoked", false)
	acct.add("approvedBy", by)
	acct.add("approvedAt", now)
	if _, err := b.cfg.Records.Write(ctx, store.WriteRequest{Collection: AccountCollection, Record: deviceID, Edits: acct}); err != nil {
		return fmt.Errorf("approve %s: write account: %w", deviceID, err)
	}
	return b.decide(ctx, deviceID, JoinApproved, "", by)
}

// Reject marks deviceID's request rejected, with reason: it leaves the
// list of devices asking to join, and its later attempts are counted
// under it without bringing it back. Approve still works afterwards.
func (b *Book) Reject(ctx context.Context, deviceID, reason, by string) error {
	if err := CheckDeviceID(deviceID); err != nil {
		return err
	}
	if _, err := b.join(deviceID); err != nil {
		return fmt.Errorf("reject %s: %w", deviceID, err)
	}
	return b.decide(ctx, deviceID, JoinRejected, reason, by)
}

func (b *Book) decide(ctx context.Context, deviceID, state, reason, by string) error {
	if _, err := b.join(deviceID); errors.Is(err, ErrNoRequest) {
		return nil // approved without having asked (created by an admin)
	}
	set := fieldSetter{}
	set.add("state", state)
	set.add("reason", reason)
	set.add("decidedBy", by)
	if _, err := b.cfg.Records.Write(ctx, store.WriteRequest{Collection: JoinCollection, Record: deviceID, Edits: set}); err != nil {
		return fmt.Errorf("%s %s: write join request: %w", state, deviceID, err)
	}
	return nil
}

// Revoke stops deviceID from connecting from its next CONNECT on (a
// connected device keeps its connection until it reconnects).
func (b *Book) Revoke(ctx context.Context, deviceID, by string) error {
	if err := CheckDeviceID(deviceID); err != nil {
		return err
	}
	if _, _, err := b.account(deviceID); err != nil {
		return fmt.Errorf("revoke %s: %w", deviceID, err)
	}
	set := fieldSetter{}
	set.add("revoked", true)
	set.add("approvedBy", by)
	if _, err := b.cfg.Records.Write(ctx, store.WriteRequest{Collection: AccountCollection, Record: deviceID, MustExist: true, Edits: set}); err != nil {
		return fmt.Errorf("revoke %s: %w", deviceID, err)
	}
	b.mu.Lock()
	delete(b.verified, deviceID)
	b.mu.Unlock()
	return nil
}

func (b *Book) account(deviceID string) (Account, string, error) {
	v, err := b.cfg.Records.Get(AccountCollection, deviceID)
	if errors.Is(err, store.ErrNotFound) || err == nil && v.Deleted {
		return Account{}, "", ErrNoAccount
	}
	if err != nil {
		return Account{}, "", fmt.Errorf("read device account %s: %w", deviceID, err)
	}
	return decodeAccount(v)
}

func (b *Book) join(deviceID string) (JoinRequest, error) {
	r, _, err := b.joinHash(deviceID)
	return r, err
}

func (b *Book) joinHash(deviceID string) (JoinRequest, string, error) {
	v, err := b.cfg.Records.Get(JoinCollection, deviceID)
	if errors.Is(err, store.ErrNotFound) || err == nil && v.Deleted {
		return JoinRequest{}, "", fmt.Errorf("device %s: %w", deviceID, ErrNoRequest)
	}
	if err != nil {
		return JoinRequest{}, "", fmt.Errorf("read join request %s: %w", deviceID, err)
	}
	return decodeJoin(v)
}

// fieldSetter collects register writes of JSON values. Each replaces what
// this node has seen of the field, as an edit made by a person does.
type fieldSetter []store.Edit

func (s *fieldSetter) add(field string, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("mqtt: encode %s: %v", field, err)) // only plain values get here
	}
	*s = append(*s, store.Edit{Kind: crdt.MutSet, Field: field, Value: raw, SeenCurrent: true})
}

// fields reads registers of a record view.
type fields struct {
	v   store.RecordView
	err error
}

func (f *fields) get(name string, into any) {
	fv, ok := f.v.Fields[name]
	if !ok || f.err != nil {
		return
	}
	if err := json.Unmarshal(fv.Value, into); err != nil {
		f.err = fmt.Errorf("%s/%s field %s: %w", f.v.Collection, f.v.ID, name, err)
	}
}

func decodeAccount(v store.RecordView) (Account, string, error) {
	f := fields{v: v}
	a := Account{DeviceID: v.ID}
	var hash string
	f.get("passwordHash", &hash)
	f.get("revoked", &a.Revoked)
	f.get("approvedBy", &a.ApprovedBy)
	f.get("approvedAt", &a.ApprovedAt)
	return a, hash, f.err
}

func decodeJoin(v store.RecordView) (JoinRequest, string, error) {
	f := fields{v: v}
	r := JoinRequest{DeviceID: v.ID}
	var hash string
	f.get("clientId", &r.ClientID)
	f.get("remote", &r.Remote)
	f.get("attempts", &r.Attempts)
	f.get("first", &r.First)
	f.get("last", &r.Last)
	f.get("state", &r.State)
	f.get("reason", &r.Reason)
	f.get("decidedBy", &r.DecidedBy)
	f.get("offeredHash", &hash)
	r.Adoptable = hash != ""
	return r, hash, f.err
}
