package store

import (
	"bytes"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterr "go.etcd.io/bbolt/errors"

	"carenode/crdt"
)

// Observer receives the store's measurements. Its methods are called from
// the goroutine that committed the transaction, after the commit, and must
// not block.
type Observer interface {
	// Committed reports a local group commit of n writes that took d,
	// including the fsync.
	Committed(n int, d time.Duration)
	// Applied reports a remote batch: applied new changes, dups skipped.
	Applied(applied, dups int, d time.Duration)
	// LogLength reports the change-log length after a commit.
	LogLength(n uint64)
	// ClockSkew reports a remote stamp further ahead of local time than the
	// clock may follow; the change was kept.
	ClockSkew(ev crdt.SkewEvent)
}

// Options configure a Store. Use DefaultOptions and change what you need.
type Options struct {
	// Path of the bbolt file.
	Path string
	// Node is this node's ID: the origin of its changes and its clock's
	// tie-break. Open refuses a file made for another node.
	Node crdt.NodeID
	// Create allows Open to make a new file; without it a missing file is an
	// error.
	Create bool
	// MaxBatch caps the writes gathered into one transaction.
	MaxBatch int
	// MaxSkew bounds how far a remote stamp may pull the clock ahead.
	MaxSkew time.Duration
	// NoSync skips fsync. Only for benchmarks: acknowledged writes can be
	// lost on power loss.
	NoSync bool
	// LockTimeout is how long Open waits for another process's lock.
	LockTimeout time.Duration
	// ReadOnly opens the file for reading only (status, backup).
	ReadOnly bool
	// Important says which fields keep concurrent values as a conflict.
	Important func(collection, field string) bool
	// Now reads the wall clock; tests inject their own.
	Now func() time.Time
	// Logger receives the store's logs.
	Logger *slog.Logger
	// Observer receives measurements; nil means none.
	Observer Observer
	// FoldAfter is how many remote changes may wait in the log before
	// ApplyRemote rewrites their records (pending.go); 0 means
	// DefaultFoldAfter, a negative value folds every batch at once.
	FoldAfter int
	// FoldIdle is how long after the last remote batch waiting changes are
	// folded anyway; 0 means DefaultFoldIdle.
	FoldIdle time.Duration
}

// DefaultOptions returns options for the store at path owned by node.
func DefaultOptions(path string, node crdt.NodeID) Options {
	return Options{
		Path:        path,
		Node:        node,
		MaxBatch:    1024,
		MaxSkew:     crdt.DefaultMaxSkew,
		LockTimeout: 500 * time.Millisecond,
		Now:         time.Now,
		Logger:      slog.Default(),
	}
}

// Store is one node's database. All methods are safe for concurrent use.
type Store struct {
	opts  Options
	db    *bolt.DB
	codec codec
	log   *slog.Logger

	reqs     chan *writeReq
	quit     chan struct{}
	done     chan struct{}
	closeMu  sync.RWMutex // held for reading while enqueueing; for writing by Close
	closed   bool
	writeMu  sync.Mutex // serialises write transactions and guards clock
	clock    *crdt.Clock
	origin   crdt.NodeID  // the origin of local changes; guarded by writeMu after Open
	stateMu  sync.RWMutex // guards vector, held and logLen mirrors
	watch    watchers
	vector   crdt.Vector
	held     crdt.Vector // origin -> highest sequence in the log, gaps or not
	logLen   uint64
	closeErr error

	mergesMu    sync.Mutex // guards mergesCache
	mergesCache map[string]mergesEntry

	pend      atomic.Pointer[pendingSet] // remote changes not yet folded; replaced under writeMu
	foldRun   sync.Mutex                 // held by a run of the folder, and by Fold
	foldMu    sync.Mutex                 // guards foldTimer
	foldTimer *time.Timer
	foldWake  chan struct{} // nil on a read-only store
	foldIdle  chan struct{}
	foldQuit  chan struct{}
	foldDone  chan struct{}
}

// Open opens (or, with opts.Create, creates) the store at opts.Path.
func Open(opts Options) (s *Store, err error) {
	if opts.Node == "" || !crdt.ValidName(string(opts.Node)) {
		return nil, fmt.Errorf("open store %s: bad node id %q", opts.Path, opts.Node)
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1024
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.FoldAfter == 0 {
		opts.FoldAfter = DefaultFoldAfter
	}
	if opts.FoldIdle <= 0 {
		opts.FoldIdle = DefaultFoldIdle
	}
	if !opts.Create {
		if _, err := os.Stat(opts.Path); err != nil {
			return nil, fmt.Errorf("open store %s: %w", opts.Path, err)
		}
	}
	c, err := newCodec()
	if err != nil {
		return nil, err
	}
	db, err := openBolt(opts)
	if err != nil {
		return nil, err
	}
	s = &Store{opts: opts, db: db, codec: c, log: opts.Logger.With("subsystem", "store"),
		clock: crdt.NewClock(opts.Node, opts.MaxSkew)}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	if err := s.load(); err != nil {
		return nil, fmt.Errorf("open store %s: %w", opts.Path, err)
	}
	if !opts.ReadOnly && s.pend.Load() != nil {
		// Batches a crash left unfolded: fold them now, so a restarted node
		// starts with nothing waiting.
		n := s.pend.Load().len()
		if err := s.fold(); err != nil {
			return nil, fmt.Errorf("open store %s: %w", opts.Path, err)
		}
		s.log.Info("folded remote changes left waiting by the last run", "changes", n)
	}
	if !opts.ReadOnly {
		s.startFolder()
	}
	if !opts.ReadOnly {
		s.reqs = make(chan *writeReq, opts.MaxBatch)
		s.quit = make(chan struct{})
		s.done = make(chan struct{})
		go s.committer()
	}
	return s, nil
}

// openBolt opens the file, turning bbolt's panics on damaged files into
// errors: a truncated or overwritten file must give a clear message at
// start, never a crash.
func openBolt(opts Options) (db *bolt.DB, err error) {
	// A truncated file can make bbolt touch mapped pages past the end of
	// the file; turn that fault into a panic we recover instead of a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("open store %s: %w: %v", opts.Path, ErrCorrupt, r)
		}
	}()
	bo := &bolt.Options{
		Timeout:  opts.LockTimeout,
		NoSync:   opts.NoSync,
		ReadOnly: opts.ReadOnly,
	}
	db, err = bolt.Open(opts.Path, 0o600, bo)
	switch {
	case errors.Is(err, bolterr.ErrTimeout):
		return nil, fmt.Errorf("open store %s: %w", opts.Path, ErrLocked)
	case errors.Is(err, bolterr.ErrInvalid), errors.Is(err, bolterr.ErrChecksum), errors.Is(err, bolterr.ErrVersionMismatch):
		return nil, fmt.Errorf("open store %s: %w: %w", opts.Path, ErrCorrupt, err)
	case err != nil && strings.Contains(err.Error(), "file size too small"):
		// bbolt says so for a file shorter than its first pages, without a
		// sentinel error to test.
		return nil, fmt.Errorf("open store %s: %w: %w", opts.Path, ErrCorrupt, err)
	case err != nil:
		return nil, fmt.Errorf("open store %s: %w", opts.Path, err)
	}
	// A file cut short at a page boundary opens cleanly: bbolt finds its
	// meta pages and trips over the missing ones only when a read or a
	// commit reaches them. The meta page says how far the pages reach.
	var want int64
	if err := db.View(func(tx *bolt.Tx) error { want = tx.Size(); return nil }); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w: %w", opts.Path, ErrCorrupt, err)
	}
	if fi, err := os.Stat(opts.Path); err == nil && fi.Size() < want {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w: the file holds %d bytes but its pages reach %d: it was cut short (a copy that did not finish?)", opts.Path, ErrCorrupt, fi.Size(), want)
	}
	return db, nil
}

// load migrates the schema (or checks it, read-only), checks ownership and
// reads the vector, clock and log length into memory. Damage that bbolt
// trips over while doing so (it panics on some) comes back as ErrCorrupt;
// a full walk of the file is Check, which backup and restore run.
func (s *Store) load() (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrCorrupt, r)
		}
	}()
	check := func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return ErrNotCarenode
		}
		if node := string(meta.Get(keyNode)); node != string(s.opts.Node) {
			return fmt.Errorf("%w: file is node %s, this is node %s", ErrWrongNode, node, s.opts.Node)
		}
		return s.readState(tx)
	}
	if s.opts.ReadOnly {
		return s.db.View(func(tx *bolt.Tx) error {
			if v := schemaVersion(tx); v != SchemaVersion {
				if v > SchemaVersion {
					return fmt.Errorf("%w: file has schema %d, this build knows up to %d", ErrSchemaTooNew, v, SchemaVersion)
				}
				if v == 0 {
					return ErrNotCarenode
				}
			}
			return check(tx)
		})
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		fresh := tx.Bucket(bucketMeta) == nil
		if fresh && !s.opts.Create {
			return ErrNotCarenode
		}
		if !fresh && tx.Bucket(bucketMeta).Get(keySchema) == nil {
			return ErrNotCarenode
		}
		from, err := migrate(tx)
		if err != nil {
			return err
		}
		if fresh {
			if err := tx.Bucket(bucketMeta).Put(keyNode, []byte(s.opts.Node)); err != nil {
				return err
			}
		} else if from != SchemaVersion {
			s.log.Info("migrated database schema", "from", from, "to", SchemaVersion)
		}
		return check(tx)
	})
}

func (s *Store) readState(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	vec := crdt.Vector{}
	if err := tx.Bucket(bucketVector).ForEach(func(k, v []byte) error {
		vec[crdt.NodeID(k)] = getU64(v)
		return nil
	}); err != nil {
		return err
	}
	s.origin = s.opts.Node
	if o := meta.Get(keyOrigin); o != nil {
		s.origin = crdt.NodeID(o)
	}
	s.clock = crdt.NewClock(s.origin, s.opts.MaxSkew)
	if b := meta.Get(keyClock); b != nil {
		var last crdt.Stamp
		if err := s.codec.unmarshal(b, &last); err != nil {
			return fmt.Errorf("read clock: %w", err)
		}
		s.clock.Restore(last)
	}
	// Every origin with a change in the log is in the vector bucket (flush
	// writes each origin it appends to), so one seek per origin finds the
	// highest sequence held.
	held := crdt.Vector{}
	c := tx.Bucket(bucketLog).Cursor()
	for origin := range vec {
		prefix := logPrefix(string(origin))
		last := logKey(string(origin), math.MaxUint64)
		k, _ := c.Seek(last)
		switch {
		case k == nil: // past the end of the log
			k, _ = c.Last()
		case !bytes.Equal(k, last):
			k, _ = c.Prev()
		}
		if k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8 {
			held[origin] = getU64(k[len(prefix):])
		}
	}
	s.vector = vec
	s.held = held
	s.logLen = getU64(meta.Get(keyLogLen))
	p, err := s.loadPending(tx)
	if err != nil {
		return err
	}
	s.pend.Store(p)
	return nil
}

// Node returns the node ID the store belongs to.
func (s *Store) Node() crdt.NodeID { return s.opts.Node }

// Origin returns the origin this store stamps its local changes with: the
// node ID, or the node ID and an incarnation suffix after a restore (see
// NewIncarnation).
func (s *Store) Origin() crdt.NodeID {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.origin
}

// NewIncarnation gives the store a fresh origin, NODE.suffix with a random
// suffix, for its local changes from now on. A node restored from a backup
// must call it before writing: its old origin may have numbered changes
// after the backup that other nodes already hold, and reusing those sequence
// numbers with other content would make peers skip the new changes as
// duplicates. Changes made under the old origin stay as they are. The
// sync layer authenticates an origin by the node ID before the dot.
func (s *Store) NewIncarnation(rand io.Reader) (crdt.NodeID, error) {
	var b [5]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("new incarnation: %w", err)
	}
	origin := crdt.NodeID(string(s.opts.Node) + "." + strings.ToLower(base32.StdEncoding.EncodeToString(b[:])))
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed || s.opts.ReadOnly {
		return "", ErrClosed
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyOrigin, []byte(origin))
	}); err != nil {
		return "", fmt.Errorf("new incarnation of %s: %w", s.opts.Path, err)
	}
	last := s.clock.Last()
	s.origin = origin
	s.clock = crdt.NewClock(origin, s.opts.MaxSkew)
	s.clock.Restore(last)
	s.log.Info("new incarnation: local changes now carry a new origin", "origin", string(origin))
	return origin, nil
}

// Path returns the file's path.
func (s *Store) Path() string { return s.opts.Path }

// Vector returns a copy of the version vector.
func (s *Store) Vector() crdt.Vector {
	s.stateMu.RLock()
	defer s.stateMu.RUnlock()
	return s.vector.Clone()
}

// LogLen returns the number of changes in the log.
func (s *Store) LogLen() uint64 {
	s.stateMu.RLock()
	defer s.stateMu.RUnlock()
	return s.logLen
}

// Close stops accepting writes, commits every write already queued, and
// closes the file. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return s.closeErr
	}
	s.closed = true
	s.closeMu.Unlock()
	if s.quit != nil {
		close(s.quit)
		<-s.done
	}
	var foldErr error
	if !s.opts.ReadOnly {
		s.stopFolder()
		if foldErr = s.fold(); foldErr != nil {
			// Nothing is lost: the changes stay in the log and the next Open
			// folds them.
			s.log.Error("folding remote changes at close failed; the next start folds them", "err", foldErr)
		}
	}
	s.closeErr = errors.Join(foldErr, s.db.Close())
	return s.closeErr
}

// Check walks the whole file and reports damage (bbolt's consistency check).
func (s *Store) Check() error {
	return s.read(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
			if len(errs) > 20 {
				break
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("%w: %w", ErrCorrupt, errors.Join(errs...))
		}
		return nil
	})
}

// Backup writes a consistent copy of the whole file to w while the store
// stays open for reads and writes, and returns the bytes written.
func (s *Store) Backup(w io.Writer) (int64, error) {
	var n int64
	err := s.read(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("backup %s: %w", s.opts.Path, err)
	}
	return n, nil
}

func (s *Store) now() int64 { return s.opts.Now().UnixMilli() }

// Stats is a summary for `carenode status` and metrics.
type Stats struct {
	Node    crdt.NodeID       `json:"node"`
	Origin  crdt.NodeID       `json:"origin"`
	Schema  uint64            `json:"schema"`
	Records map[string]uint64 `json:"records"`
	LogLen  uint64            `json:"logLength"`
	Vector  crdt.Vector       `json:"vector"`
	// FileBytes is what the database's pages take; DiskBytes the file's
	// size, which bbolt grows ahead of use and never shrinks.
	FileBytes   int64      `json:"fileBytes"`
	DiskBytes   int64      `json:"diskBytes"`
	LastStamp   crdt.Stamp `json:"lastStamp"`
	Collections []string   `json:"collections"`
	// Waiting counts the remote changes not yet folded into their records
	// (they are read all the same; pending.go).
	Waiting int `json:"waiting"`
}

// Stats reads the summary in one read transaction.
func (s *Store) Stats() (Stats, error) {
	st := Stats{Node: s.opts.Node, Origin: s.Origin(), Records: map[string]uint64{}}
	p := s.pend.Load() // before the transaction, as readers take it (pending.go)
	st.Waiting = p.len()
	if fi, err := os.Stat(s.opts.Path); err == nil {
		st.DiskBytes = fi.Size()
	}
	err := s.read(func(tx *bolt.Tx) error {
		st.Schema = schemaVersion(tx)
		st.FileBytes = tx.Size()
		st.LogLen = getU64(tx.Bucket(bucketMeta).Get(keyLogLen))
		if b := tx.Bucket(bucketMeta).Get(keyClock); b != nil {
			if err := s.codec.unmarshal(b, &st.LastStamp); err != nil {
				return err
			}
		}
		st.Vector = crdt.Vector{}
		if err := tx.Bucket(bucketVector).ForEach(func(k, v []byte) error {
			st.Vector[crdt.NodeID(k)] = getU64(v)
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketIndex).Bucket(bucketCounts).ForEach(func(k, v []byte) error {
			st.Records[string(k)] = getU64(v)
			st.Collections = append(st.Collections, string(k))
			return nil
		}); err != nil {
			return err
		}
		// The counts are of stored records; records that so far exist only
		// as remote changes waiting to be folded count too.
		for coll, ids := range p.byColl() {
			b := tx.Bucket(bucketRecords).Bucket([]byte(coll))
			for _, id := range ids {
				if b == nil || b.Get([]byte(id)) == nil {
					if _, ok := st.Records[coll]; !ok {
						st.Collections = append(st.Collections, coll)
					}
					st.Records[coll]++
				}
			}
		}
		slices.Sort(st.Collections)
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("read stats %s: %w", s.opts.Path, err)
	}
	return st, nil
}

// update runs fn in a write transaction, as bbolt's Update does, and turns
// a panic in it (bbolt asserts on damaged pages) into ErrCorrupt: the
// transaction is rolled back and the node keeps serving what it can.
func (s *Store) update(fn func(tx *bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("write %s: %w: %v", s.opts.Path, ErrCorrupt, r)
		}
	}()
	return s.db.Update(fn)
}

// read runs fn in a read transaction; on a closed store it returns
// ErrClosed rather than bbolt's own error, so callers can tell shutdown from
// damage.
//
// bbolt panics on some damaged pages (and a damaged mapping can fault);
// a read that meets one returns ErrCorrupt instead of taking the node down.
// bbolt's View rolls the transaction back on the way out either way.
func (s *Store) read(fn func(tx *bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("read %s: %w: %v", s.opts.Path, ErrCorrupt, r)
		}
	}()
	err = s.db.View(fn)
	if errors.Is(err, bolterr.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}
