package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	"carenode/crdt"
	"carenode/node/store"
	"carenode/sync/wire"
)

// Replica is what a session needs of the node's store. node/store's Store
// implements it. Its methods are called from the session's goroutines
// (ChangesAfter from the sending one, ApplyRemote from the receiving one),
// concurrently with each other and with other sessions.
type Replica interface {
	// ChangesAfter returns up to limit changes the replica holds beyond
	// after, by origin then sequence, contiguous per origin.
	ChangesAfter(after crdt.Vector, limit int) (store.ChangePage, error)
	// ApplyRemote applies a batch in one transaction together with the
	// version-vector update, skipping changes already held.
	ApplyRemote(changes []crdt.Change) (store.ApplyResult, error)
	// Vector returns the replica's version vector.
	Vector() crdt.Vector
}

// Marks keeps a partial replica's mark for its scope: a vector saying "every
// change this scope may hold, up to here, is held". A partial replica holds
// other origins' changes with gaps, so its version vector stops at the first
// gap; the mark lets it tell a peer how far it has really been served.
// SetMark is called only after the batch it covers is durably applied. The
// methods are called from the session's receiving goroutine and must not
// block for long.
type Marks interface {
	Mark(scope wire.Scope) (crdt.Vector, error)
	SetMark(scope wire.Scope, v crdt.Vector) error
}

// Policy decides what a peer that asked for a scope is sent. It is called
// once per session, before any batch, and may block briefly (it reads data:
// assignments, appointments). A nil Filter means everything; an error
// refuses the session.
type Policy interface {
	Filter(peer crdt.NodeID, scope wire.Scope) (wire.Filter, error)
}

// Grant is what a GrantPolicy allows a peer in one session.
type Grant struct {
	// Filter is what the peer may be sent (nil: everything), change by
	// change and, for a kiosk, field by field.
	Filter wire.Filter
	// Fresh picks the changes of records that have come into the peer's
	// scope since the peer was last served (a patient newly assigned to a
	// nurse, newly booked at the kiosk). Their changes below the peer's
	// vector (and mark) are sent too, through Filter, so the records
	// arrive whole (as whole as Filter lets them). Nil: none.
	Fresh func(crdt.Change) bool
	// Served, when not nil, is called once the session has completed
	// (the peer acknowledged everything sent): the policy may then
	// remember the scope as served. It is not called after an error, so
	// a cut session sends the fresh records again next time.
	Served func() error
}

// GrantPolicy is a Policy that also knows which records are newly in a
// peer's scope. The session uses Grant instead of Filter when the policy
// has it; it is called once per session, before any batch.
type GrantPolicy interface {
	Policy
	Grant(peer crdt.NodeID, scope wire.Scope) (Grant, error)
}

// PolicyFunc adapts a function to Policy.
type PolicyFunc func(peer crdt.NodeID, scope wire.Scope) (wire.Filter, error)

// Filter calls f.
func (f PolicyFunc) Filter(peer crdt.NodeID, scope wire.Scope) (wire.Filter, error) {
	return f(peer, scope)
}

// FullOnly is the policy of a node that serves no partial replicas: a full
// scope gets everything, any other is refused.
var FullOnly Policy = PolicyFunc(func(peer crdt.NodeID, s wire.Scope) (wire.Filter, error) {
	if s.IsFull() {
		return nil, nil
	}
	return nil, fmt.Errorf("%w: this node serves no %s replicas", ErrScopeRefused, s)
})

// Config configures an Engine.
type Config struct {
	// Node is this node's ID, sent in the hello.
	Node crdt.NodeID
	// Scope is what this node holds: wire.Full() for a clinic desk or
	// the hub. A partial replica relays only its own changes.
	Scope wire.Scope
	// Replica is the node's store.
	Replica Replica
	// Marks keeps a partial replica's mark; nil means none (correct, but
	// a partial replica is then sent again what its filter let through
	// beyond its first gap).
	Marks Marks
	// Policy turns a peer's scope into a filter; nil means FullOnly.
	Policy Policy
	// Codec compresses batches; nil means a codec with the shipped
	// dictionaries, closed by Engine.Close.
	Codec *wire.Codec
	// BatchChanges and BatchBytes cut batches: at most this many changes,
	// and about this many bytes before compression.
	BatchChanges int
	BatchBytes   int
	// Logger receives the session's logs.
	Logger *slog.Logger
}

// DefaultConfig returns the configuration of a full replica.
func DefaultConfig(node crdt.NodeID, r Replica) Config {
	return Config{Node: node, Scope: wire.Full(), Replica: r, BatchChanges: 500, BatchBytes: 256 << 10}
}

// Log keys.
const (
	logPeer  = "peer"
	logScope = "scope"
	logSent  = "sent"
	logRecvd = "received"
	logBytes = "bytes"
	logIdle  = "idle"
)

// historyLen is how many of its own recent vectors an engine remembers, so
// that a peer's hello may name one of them as its base.
const historyLen = 64

// maxPeers bounds the peers whose last vector an engine remembers.
const maxPeers = 4096

// Engine runs sessions for one node. It is safe for concurrent use: a hub
// runs many sessions at once.
type Engine struct {
	cfg       Config
	log       *slog.Logger
	ownsCodec bool

	mu      sync.Mutex
	history []remembered                // own recent vectors, oldest first
	peers   map[crdt.NodeID]crdt.Vector // each peer's vector at the end of the last session
}

type remembered struct {
	digest wire.Digest
	vector crdt.Vector
}

// New returns an engine for cfg.
func New(cfg Config) (*Engine, error) {
	if !crdt.ValidName(string(cfg.Node)) {
		return nil, fmt.Errorf("sync session: bad node ID %q", cfg.Node)
	}
	if cfg.Replica == nil {
		return nil, errors.New("sync session: no replica")
	}
	if _, err := wire.ParseScope(cfg.Scope.String()); err != nil {
		return nil, fmt.Errorf("sync session: %w", err)
	}
	if cfg.BatchChanges <= 0 {
		cfg.BatchChanges = 500
	}
	if cfg.BatchBytes <= 0 {
		cfg.BatchBytes = 256 << 10
	}
	if cfg.Policy == nil {
		cfg.Policy = FullOnly
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	e := &Engine{cfg: cfg, log: cfg.Logger.With("subsystem", "sync"), peers: map[crdt.NodeID]crdt.Vector{}}
	if cfg.Codec == nil {
		c, err := wire.NewCodec(wire.DefaultCodecOptions())
		if err != nil {
			return nil, fmt.Errorf("sync session: %w", err)
		}
		e.cfg.Codec, e.ownsCodec = c, true
	}
	return e, nil
}

// Close releases the codec the engine made.
func (e *Engine) Close() {
	if e.ownsCodec {
		e.cfg.Codec.Close()
	}
}

func (e *Engine) remember(v crdt.Vector) wire.Digest {
	d := wire.DigestOf(v)
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, h := range e.history {
		if h.digest == d {
			return d
		}
	}
	if len(e.history) == historyLen {
		e.history = e.history[1:]
	}
	e.history = append(e.history, remembered{d, v.Clone()})
	return d
}

func (e *Engine) recall(d wire.Digest) (crdt.Vector, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, h := range e.history {
		if h.digest == d {
			return h.vector, true
		}
	}
	return nil, false
}

func (e *Engine) setPeer(peer crdt.NodeID, v crdt.Vector) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.peers[peer]; !ok && len(e.peers) >= maxPeers {
		for k := range e.peers {
			delete(e.peers, k)
			break
		}
	}
	e.peers[peer] = v
}

func (e *Engine) peerVector(peer crdt.NodeID) crdt.Vector {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.peers[peer]
}

// Result says what a session did.
type Result struct {
	Peer      crdt.NodeID
	PeerScope wire.Scope
	// Idle is true when the hellos showed equal vectors: nothing to send
	// either way.
	Idle bool
	// Sent and Received count changes; the batches are counted apart.
	Sent, Received               int
	BatchesSent, BatchesReceived int
	Applied, Duplicates          int // what this side's ApplyRemote calls reported
	PeerApplied, PeerDuplicates  int // what the peer's ack reported
	BytesSent, BytesReceived     int64
	Vector, PeerVector           crdt.Vector // each side's vector at the end (the peer's from its ack)
	VectorResent                 bool        // the responder could not resolve the initiator's base
}

// Initiate runs a session as the side that opened the stream: it writes its
// hello at once. peer, when not empty, is the node the caller dialled; a
// hello from another node ends the session with ErrWrongPeer.
//
// The session ends when both sides have sent their batches and acks. On an
// error Initiate writes an Error frame if it can, closes r and w when they
// are io.Closers (so that neither side stays blocked), and returns the
// error; changes applied before the error stay applied, and the next session
// resumes from there. Cancelling ctx aborts the same way.
func (e *Engine) Initiate(ctx context.Context, r io.Reader, w io.Writer, peer crdt.NodeID) (Result, error) {
	return e.InitiateWith(ctx, r, w, peer, Options{})
}

// Options are what the caller knows of one session's peer before it starts
// (the transport: from the peer's certificate). A nil field means the
// engine's Config.
type Options struct {
	// Policy decides what this peer is sent (the transport's knows the
	// role in the peer's certificate).
	Policy Policy
	// Marks keeps this node's marks for this peer.
	Marks Marks
	// Progress, when not nil, is told how the session advances: after
	// the handshake, after each batch sent or applied, and at the end.
	// It is called from the session's goroutines, one call at a time,
	// and must not block.
	Progress func(Progress)
}

// Progress is how far a session has got. The totals are estimated from the
// two vectors at hello time: what a scope filters out is counted but never
// sent, so a partial replica's session may end below its totals.
type Progress struct {
	Sent, Received           int   // changes
	ToSend, ToReceive        int   // estimated totals
	BytesSent, BytesReceived int64 // on the streams so far
}

// InitiateWith is Initiate with per-session options.
func (e *Engine) InitiateWith(ctx context.Context, r io.Reader, w io.Writer, peer crdt.NodeID, o Options) (Result, error) {
	s := e.newSession(ctx, r, w, peer, true, o)
	return s.run()
}

// RespondWith is Respond with per-session options.
func (e *Engine) RespondWith(ctx context.Context, r io.Reader, w io.Writer, peer crdt.NodeID, o Options) (Result, error) {
	s := e.newSession(ctx, r, w, peer, false, o)
	return s.run()
}

// Respond runs a session as the side that accepted the stream: it reads the
// initiator's hello first. peer, when not empty, is the node the transport
// authenticated (from its certificate); the hello must name it.
func (e *Engine) Respond(ctx context.Context, r io.Reader, w io.Writer, peer crdt.NodeID) (Result, error) {
	return e.RespondWith(ctx, r, w, peer, Options{})
}

type session struct {
	e         *Engine
	ctx       context.Context
	initiator bool
	expect    crdt.NodeID
	r         io.Reader
	fr        *wire.FrameReader
	policy    Policy
	marks     Marks
	progress  func(Progress)
	progMu    sync.Mutex
	toSend    int
	toRecv    int
	nSent     atomic.Int64 // changes, for progress
	nRecv     atomic.Int64
	bSent     atomic.Int64 // bytes, for progress
	bRecv     atomic.Int64

	wmu sync.Mutex
	w   io.Writer

	errOnce sync.Once
	err     error
	aborted chan struct{}

	my, peerV  crdt.Vector // the vectors each side said it had at hello time
	myDigest   wire.Digest
	peer       wire.Hello
	filter     wire.Filter // for what this side sends
	grant      Grant       // the policy's grant: filter, fresh records, served
	dict       uint32
	cursor     crdt.Vector // a partial receiver's mark, as batches are applied
	ackedEarly bool
	peerDone   chan struct{} // closed when the peer's done was read and its batches applied

	preambleSent bool // under wmu

	res Result
}

func (e *Engine) newSession(ctx context.Context, r io.Reader, w io.Writer, peer crdt.NodeID, initiator bool, o Options) *session {
	s := &session{e: e, ctx: ctx, initiator: initiator, expect: peer, r: r, w: w, policy: e.cfg.Policy, marks: e.cfg.Marks,
		fr: wire.NewFrameReader(r), aborted: make(chan struct{}), peerDone: make(chan struct{})}
	if o.Policy != nil {
		s.policy = o.Policy
	}
	if o.Marks != nil {
		s.marks = o.Marks
	}
	s.progress = o.Progress
	return s
}

// fail records the session's first error and aborts the streams: an Error
// frame goes out if the writer is free, then r and w are closed if they can
// be, which unblocks both this side's goroutines and the peer's.
func (s *session) fail(err error) {
	s.errOnce.Do(func() {
		s.err = err
		var remote *wire.RemoteError
		if !errors.As(err, &remote) && !isStreamError(err) && s.wmu.TryLock() {
			msg := wire.ErrorMsg{Code: codeOf(err), Message: err.Error()}
			var b []byte
			if !s.preambleSent {
				b = wire.Preamble[:]
			}
			b = wire.AppendFrame(b, wire.FrameError, wire.EncodeError(msg))
			if n, werr := s.w.Write(b); werr == nil {
				s.res.BytesSent += int64(n)
				flush(s.w)
			}
			s.wmu.Unlock()
		}
		close(s.aborted)
		if c, ok := s.w.(io.Closer); ok {
			c.Close()
		}
		if c, ok := s.r.(io.Closer); ok {
			c.Close()
		}
	})
}

func isStreamError(err error) bool {
	return errors.Is(err, wire.ErrTruncated) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func codeOf(err error) wire.ErrorCode {
	switch {
	case errors.Is(err, ErrWrongPeer), errors.Is(err, ErrScopeRefused), errors.Is(err, ErrRelay):
		return wire.CodeRefused
	case errors.Is(err, ErrBadBatch):
		return wire.CodeApply
	case errors.Is(err, wire.ErrMalformed), errors.Is(err, wire.ErrFrameTooLarge), errors.Is(err, wire.ErrNotSync),
		errors.Is(err, wire.ErrVersion), errors.Is(err, wire.ErrUnknownDict), errors.Is(err, wire.ErrDigest),
		errors.Is(err, ErrProtocol):
		return wire.CodeProtocol
	}
	return wire.CodeInternal
}

// write sends frames built in b, whole and after the preamble, then
// flushes. Only the handshake and the sending goroutine write (and fail,
// when the writer is free): the receiving loop never does, so that two
// sides blocked writing to each other cannot both stop reading.
func (s *session) write(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	select {
	case <-s.aborted:
		return fmt.Errorf("sync aborted")
	default:
	}
	if !s.preambleSent {
		b = append(wire.Preamble[:], b...)
		s.preambleSent = true
	}
	n, err := s.w.Write(b)
	s.res.BytesSent += int64(n)
	s.bSent.Store(s.res.BytesSent)
	if err != nil {
		return fmt.Errorf("write to peer: %w", err)
	}
	return flush(s.w)
}

func flush(w io.Writer) error {
	switch f := w.(type) {
	case interface{ Flush() error }:
		return f.Flush()
	case interface{ Flush() }:
		f.Flush()
	}
	return nil
}

// presented returns the vector this node tells peers it has: its store's
// vector, joined for a partial replica with its mark.
func (s *session) presented() (crdt.Vector, error) {
	v := s.e.cfg.Replica.Vector()
	if s.e.cfg.Scope.IsPartial() && s.marks != nil {
		m, err := s.marks.Mark(s.e.cfg.Scope)
		if err != nil {
			return nil, fmt.Errorf("read mark: %w", err)
		}
		for o, n := range m {
			if n > v[o] {
				v[o] = n
			}
		}
	}
	return v, nil
}

func (s *session) run() (Result, error) {
	stop := context.AfterFunc(s.ctx, func() { s.fail(s.ctx.Err()) })
	if err := s.handshake(); err != nil {
		s.fail(err)
	} else {
		s.exchange()
	}
	if !stop() {
		// The context ended as the session finished: wait for the fail
		// it started, so that s.err is read after it is written.
		s.errOnce.Do(func() {})
	}
	s.res.BytesReceived = s.fr.BytesRead()
	if s.res.Sent > 0 || s.res.Received > 0 {
		// Fresh records may be sent whole although the vectors were equal.
		s.res.Idle = false
	}
	s.report()
	if s.err == nil && s.grant.Served != nil {
		if err := s.grant.Served(); err != nil {
			// Only costs a resend of the fresh records next time.
			s.e.log.Warn("remember the scope served", logPeer, s.res.Peer, "error", err.Error())
		}
	}
	if s.err != nil {
		s.e.log.Warn("sync failed", logPeer, s.res.Peer, "error", s.err.Error())
		return s.res, s.err
	}
	s.e.log.Info("sync done", logPeer, s.res.Peer, logScope, s.res.PeerScope.String(), logSent, s.res.Sent,
		logRecvd, s.res.Received, logBytes, s.res.BytesSent+s.res.BytesReceived, logIdle, s.res.Idle)
	return s.res, nil
}

// report tells the progress callback, if any, how far the session is.
func (s *session) report() {
	if s.progress == nil {
		return
	}
	s.progMu.Lock()
	defer s.progMu.Unlock()
	s.progress(Progress{Sent: int(s.nSent.Load()), Received: int(s.nRecv.Load()), ToSend: s.toSend, ToReceive: s.toRecv,
		BytesSent: s.bSent.Load(), BytesReceived: s.bRecv.Load()})
}

// readFrame reads the next frame, turning an Error frame into a
// *wire.RemoteError.
func (s *session) readFrame() (wire.FrameType, []byte, error) {
	t, p, err := s.fr.Next()
	s.bRecv.Store(s.fr.BytesRead())
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, nil, fmt.Errorf("read from peer: %w: %w", wire.ErrTruncated, err)
		}
		return 0, nil, fmt.Errorf("read from peer: %w", err)
	}
	if t == wire.FrameError {
		m, err := wire.DecodeError(p)
		if err != nil {
			return 0, nil, err
		}
		return 0, nil, &wire.RemoteError{Code: m.Code, Message: m.Message}
	}
	return t, p, nil
}

func (s *session) expectFrame(want wire.FrameType) ([]byte, error) {
	t, p, err := s.readFrame()
	if err != nil {
		return nil, err
	}
	if t != want {
		return nil, fmt.Errorf("%w: %s frame where %s was expected", ErrProtocol, t, want)
	}
	return p, nil
}

func (s *session) hello(flags wire.HelloFlags, v wire.VectorDelta) []byte {
	h := wire.Hello{Node: s.e.cfg.Node, Scope: s.e.cfg.Scope, Flags: flags, Dicts: s.e.cfg.Codec.DictIDs(), Vector: v}
	return wire.AppendFrame(nil, wire.FrameHello, wire.EncodeHello(h))
}

func (s *session) readHello() error {
	if err := s.fr.ReadPreamble(); err != nil {
		return err
	}
	p, err := s.expectFrame(wire.FrameHello)
	if err != nil {
		return err
	}
	h, err := wire.DecodeHello(p)
	if err != nil {
		return err
	}
	if s.expect != "" && h.Node != s.expect {
		return fmt.Errorf("%w: hello from %s, expected %s", ErrWrongPeer, h.Node, s.expect)
	}
	if h.Node == s.e.cfg.Node {
		return fmt.Errorf("%w: the peer says it is this node (%s)", ErrWrongPeer, h.Node)
	}
	s.peer, s.res.Peer, s.res.PeerScope = h, h.Node, h.Scope
	s.dict = s.e.cfg.Codec.Choose(h.Dicts)
	var g Grant
	if gp, ok := s.policy.(GrantPolicy); ok {
		g, err = gp.Grant(h.Node, h.Scope)
	} else {
		g.Filter, err = s.policy.Filter(h.Node, h.Scope)
	}
	if err != nil {
		if !errors.Is(err, ErrScopeRefused) {
			err = fmt.Errorf("%w: %s for %s: %w", ErrScopeRefused, h.Scope, h.Node, err)
		}
		return err
	}
	s.grant, s.filter = g, g.Filter
	return nil
}

// handshake exchanges hellos (and, when the responder cannot resolve the
// initiator's base, the initiator's whole vector).
func (s *session) handshake() error {
	var err error
	if s.my, err = s.presented(); err != nil {
		return err
	}
	s.myDigest = s.e.remember(s.my)
	if s.initiator {
		return s.handshakeInitiator()
	}
	return s.handshakeResponder()
}

func (s *session) handshakeInitiator() error {
	v := wire.FullDelta(s.my)
	if s.expect != "" {
		if base := s.e.peerVector(s.expect); base != nil {
			v = wire.Delta(s.my, base, wire.DigestOf(base))
		}
	}
	if err := s.write(s.hello(0, v)); err != nil {
		return err
	}
	if err := s.readHello(); err != nil {
		return err
	}
	var base crdt.Vector
	switch pv := s.peer.Vector; {
	case pv.Base.IsZero():
	case pv.Base == s.myDigest:
		base = s.my
	default:
		return fmt.Errorf("%w: the responder's vector is based on %s, not on this node's %s", ErrProtocol, pv.Base, s.myDigest)
	}
	var err error
	if s.peerV, err = s.peer.Vector.Apply(base); err != nil {
		return err
	}
	if s.peer.Flags&wire.NeedVector != 0 {
		s.res.VectorResent = true
		b := wire.AppendFrame(nil, wire.FrameVector, wire.EncodeVector(wire.Delta(s.my, s.peerV, s.peer.Vector.Digest)))
		if err := s.write(b); err != nil {
			return err
		}
	}
	s.res.Idle = s.peer.Vector.Digest == s.myDigest
	return nil
}

func (s *session) handshakeResponder() error {
	if err := s.readHello(); err != nil {
		return err
	}
	var base crdt.Vector
	known := true
	switch pv := s.peer.Vector; {
	case pv.Base.IsZero():
	case pv.Base == s.myDigest:
		base = s.my
	default:
		base, known = s.e.recall(pv.Base)
	}
	if !known {
		s.res.VectorResent = true
		if err := s.write(s.hello(wire.NeedVector, wire.FullDelta(s.my))); err != nil {
			return err
		}
		p, err := s.expectFrame(wire.FrameVector)
		if err != nil {
			return err
		}
		v, err := wire.DecodeVector(p)
		if err != nil {
			return err
		}
		if v.Base != s.myDigest {
			return fmt.Errorf("%w: the initiator's vector is based on %s, not on this node's %s", ErrProtocol, v.Base, s.myDigest)
		}
		if s.peerV, err = v.Apply(s.my); err != nil {
			return err
		}
		return nil
	}
	var err error
	if s.peerV, err = s.peer.Vector.Apply(base); err != nil {
		return err
	}
	s.res.Idle = s.peer.Vector.Digest == s.myDigest
	return s.write(s.hello(0, wire.Delta(s.my, s.peerV, s.peer.Vector.Digest)))
}

// exchange runs the sending goroutine and the receiving loop until both
// sides have sent their batches and acks, or the first error.
func (s *session) exchange() {
	if s.e.cfg.Scope.IsPartial() && s.marks != nil {
		s.cursor = s.my.Clone()
	}
	if s.progress != nil {
		ownOnly := s.e.cfg.Scope.IsPartial()
		for o, n := range s.my {
			if n > s.peerV[o] && (!ownOnly || wire.OwnOrigin(s.e.cfg.Node, o)) {
				s.toSend += int(n - s.peerV[o])
			}
		}
		for o, n := range s.peerV {
			if n > s.my[o] && (!s.peer.Scope.IsPartial() || wire.OwnOrigin(s.peer.Node, o)) {
				s.toRecv += int(n - s.my[o])
			}
		}
		s.report()
	}
	// The peer sends only changes this side lacks as of its hello and
	// holds no more than it announced; when this side's vector covers the
	// peer's, nothing can come, and the ack goes out with the done. Not on
	// a partial replica: records newly in its scope come whole, below its
	// vector, and the sender takes the ack as proof they were applied
	// (Grant.Served).
	s.ackedEarly = s.my.Covers(s.peerV) && !s.e.cfg.Scope.IsPartial()
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		if err := s.send(); err != nil {
			s.fail(err)
		}
	}()
	if err := s.receive(); err != nil {
		s.fail(err)
	}
	<-sent
}

// estimate is about the bytes a change takes in a batch before compression.
func estimate(c *crdt.Change) int {
	n := 24 + len(c.Collection) + len(c.Record)
	for i := range c.Muts {
		m := &c.Muts[i]
		n += 8 + len(m.Field) + len(m.Value) + len(m.Elem) + len(m.FactID) + len(m.Into) + 12*len(m.Seen)
	}
	return n
}

// send streams the changes the peer lacks, then Done (and the early ack).
func (s *session) send() error {
	me := s.e.cfg.Node
	ownOnly := s.e.cfg.Scope.IsPartial()
	relayable := func(o crdt.NodeID) bool { return !ownOnly || wire.OwnOrigin(me, o) }
	// ask is where ChangesAfter scans from: the peer's vector, raised
	// past every origin this node may not relay, so they are not scanned.
	ask := s.peerV.Clone()
	for o, n := range s.my {
		if !relayable(o) && ask[o] < n {
			ask[o] = n
		}
	}
	sentTo := s.peerV.Clone() // how far the peer has been served, as it will see it
	var batches, changes uint64
	for {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		page, err := s.e.cfg.Replica.ChangesAfter(ask, s.e.cfg.BatchChanges)
		if err != nil {
			return fmt.Errorf("read changes to send: %w", err)
		}
		kept := page.Changes[:0:0]
		for _, c := range page.Changes {
			// Nothing beyond what the hello announced: a change written
			// during the session goes in the next one, and a change
			// received from the peer is never echoed back.
			if c.Seq > s.my[c.Origin] || !relayable(c.Origin) {
				continue
			}
			// A change the filter refuses, or trims to nothing, is left
			// out like one outside the scope: the through entries below
			// move the peer's mark past it, so it is not asked for again.
			c, ok, err := s.filtered(c)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			kept = append(kept, c)
		}
		var through []wire.Entry
		if s.filter != nil {
			for _, o := range page.Next.Origins() {
				if t := min(page.Next[o], s.my[o]); relayable(o) && t > sentTo[o] {
					through = append(through, wire.Entry{Origin: o, Seq: t})
				}
			}
		}
		for len(kept) > 0 || len(through) > 0 {
			n, size := 0, 0
			for n < len(kept) && (n == 0 || size+estimate(&kept[n]) <= s.e.cfg.BatchBytes) {
				size += estimate(&kept[n])
				n++
			}
			p := wire.Payload{Changes: kept[:n]}
			for _, c := range p.Changes {
				sentTo[c.Origin] = max(sentTo[c.Origin], c.Seq)
			}
			kept = kept[n:]
			if len(kept) == 0 {
				for _, t := range through {
					if t.Seq > sentTo[t.Origin] {
						p.Through = append(p.Through, t)
						sentTo[t.Origin] = t.Seq
					}
				}
				through = nil
			}
			if len(p.Changes) == 0 && len(p.Through) == 0 {
				break
			}
			if err := s.sendBatch(p, &batches, &changes); err != nil {
				return err
			}
		}
		ask = page.Next
		if !page.More {
			break
		}
	}
	if s.grant.Fresh != nil {
		if err := s.sendFresh(relayable, &batches, &changes); err != nil {
			return err
		}
	}
	s.res.BatchesSent, s.res.Sent = int(batches), int(changes)
	b := wire.AppendFrame(nil, wire.FrameDone, wire.EncodeDone(wire.Done{Batches: batches, Changes: changes}))
	if s.ackedEarly {
		b = wire.AppendFrame(b, wire.FrameAck, wire.EncodeAck(wire.Ack{Vector: wire.Delta(s.my, s.peerV, s.peer.Vector.Digest)}))
		s.e.remember(s.my)
		s.res.Vector = s.my
		return s.write(b)
	}
	if err := s.write(b); err != nil {
		return err
	}
	select {
	case <-s.peerDone:
		return s.ack()
	case <-s.aborted:
		return nil
	}
}

// filtered applies the peer's filter to c: c itself, a copy trimmed to
// what the peer's scope may hold, or false. A copy with no mutation left is
// never sent (crdt refuses an empty change). A filter that returned another
// change (origin, sequence, stamp or record) would put a wrong entry in the
// peer's log under that change's name; the session stops instead.
func (s *session) filtered(c crdt.Change) (crdt.Change, bool, error) {
	if s.filter == nil {
		return c, true, nil
	}
	t, ok := s.filter(c)
	if !ok || len(t.Muts) == 0 {
		return crdt.Change{}, false, nil
	}
	if t.Origin != c.Origin || t.Seq != c.Seq || t.Stamp != c.Stamp || t.Collection != c.Collection || t.Record != c.Record {
		return crdt.Change{}, false, fmt.Errorf("%w: %s/%d came back as %s/%d (%s/%s)", ErrFilter,
			c.Origin, c.Seq, t.Origin, t.Seq, t.Collection, t.Record)
	}
	return t, true, nil
}

// sendBatch compresses and writes one batch.
func (s *session) sendBatch(p wire.Payload, batches, changes *uint64) error {
	z := s.e.cfg.Codec.Compress(wire.EncodePayload(p), s.dict)
	if len(z) > wire.MaxFrame {
		return fmt.Errorf("%w: a batch of %d changes from %s/%d is %d bytes compressed, limit %d",
			ErrTooLarge, len(p.Changes), p.Changes[0].Origin, p.Changes[0].Seq, len(z), wire.MaxFrame)
	}
	if err := s.write(wire.AppendFrame(nil, wire.FrameBatch, z)); err != nil {
		return err
	}
	*batches++
	*changes += uint64(len(p.Changes))
	s.nSent.Add(int64(len(p.Changes)))
	s.report()
	return nil
}

// sendFresh sends the changes of records newly in the peer's scope that the
// main pass left out because they lie below the peer's vector: a scope that
// grows brings its new records whole. It scans the log from the start, once
// per session that has fresh records (sync/DESIGN.md, "Scopes that grow").
// The batches carry no through entries: they do not move the peer's mark.
func (s *session) sendFresh(relayable func(crdt.NodeID) bool, batches, changes *uint64) error {
	ask := crdt.Vector{}
	for o, n := range s.my {
		if !relayable(o) || s.peerV[o] == 0 {
			ask[o] = n // nothing of o below the peer's vector to look at
		}
	}
	var kept []crdt.Change
	size := 0
	flushKept := func() error {
		if len(kept) == 0 {
			return nil
		}
		err := s.sendBatch(wire.Payload{Changes: kept}, batches, changes)
		kept, size = nil, 0
		return err
	}
	for {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		page, err := s.e.cfg.Replica.ChangesAfter(ask, s.e.cfg.BatchChanges)
		if err != nil {
			return fmt.Errorf("read changes of records newly in scope: %w", err)
		}
		for _, c := range page.Changes {
			// Above the peer's vector the main pass has sent it already.
			if c.Seq > s.peerV[c.Origin] || c.Seq > s.my[c.Origin] || !relayable(c.Origin) || !s.grant.Fresh(c) {
				continue
			}
			c, ok, err := s.filtered(c)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			if len(kept) > 0 && (len(kept) >= s.e.cfg.BatchChanges || size+estimate(&c) > s.e.cfg.BatchBytes) {
				if err := flushKept(); err != nil {
					return err
				}
			}
			kept = append(kept, c)
			size += estimate(&c)
		}
		ask = page.Next
		if !page.More {
			return flushKept()
		}
	}
}

// receive reads the peer's batches, done and ack.
func (s *session) receive() error {
	var gotDone, gotAck bool
	for !gotDone || !gotAck {
		t, p, err := s.readFrame()
		if err != nil {
			return err
		}
		switch t {
		case wire.FrameBatch:
			if gotDone {
				return fmt.Errorf("%w: batch after done", ErrProtocol)
			}
			if err := s.apply(p); err != nil {
				return err
			}
		case wire.FrameDone:
			if gotDone {
				return fmt.Errorf("%w: second done", ErrProtocol)
			}
			d, err := wire.DecodeDone(p)
			if err != nil {
				return err
			}
			if d.Batches != uint64(s.res.BatchesReceived) || d.Changes != uint64(s.res.Received) {
				return fmt.Errorf("%w: the peer sent %d batches of %d changes, %d of %d arrived", ErrProtocol,
					d.Batches, d.Changes, s.res.BatchesReceived, s.res.Received)
			}
			gotDone = true
			close(s.peerDone)
		case wire.FrameAck:
			if gotAck {
				return fmt.Errorf("%w: second ack", ErrProtocol)
			}
			a, err := wire.DecodeAck(p)
			if err != nil {
				return err
			}
			if a.Vector.Base != s.myDigest {
				return fmt.Errorf("%w: the peer's ack is based on %s, not on this node's hello %s", ErrProtocol, a.Vector.Base, s.myDigest)
			}
			v, err := a.Vector.Apply(s.my)
			if err != nil {
				return err
			}
			s.res.PeerApplied, s.res.PeerDuplicates, s.res.PeerVector = int(a.Applied), int(a.Duplicates), v
			s.e.setPeer(s.peer.Node, v)
			gotAck = true
		default:
			return fmt.Errorf("%w: unexpected %s frame", ErrProtocol, t)
		}
	}
	return nil
}

// ack sends this side's vector after applying every batch of the peer. The
// sending goroutine calls it once the receiving loop has read the peer's
// done.
func (s *session) ack() error {
	v, err := s.presented()
	if err != nil {
		return err
	}
	s.e.remember(v)
	s.res.Vector = v
	a := wire.Ack{Applied: uint64(s.res.Applied), Duplicates: uint64(s.res.Duplicates),
		Vector: wire.Delta(v, s.peerV, s.peer.Vector.Digest)}
	return s.write(wire.AppendFrame(nil, wire.FrameAck, wire.EncodeAck(a)))
}

// apply decodes, checks and applies one batch: wholly or not at all.
func (s *session) apply(frame []byte) error {
	n := s.res.BatchesReceived + 1
	raw, err := s.e.cfg.Codec.Decompress(frame)
	if err != nil {
		return fmt.Errorf("%w: batch %d: %w", ErrBadBatch, n, err)
	}
	p, err := wire.DecodePayload(raw)
	if err != nil {
		return fmt.Errorf("%w: batch %d: %w", ErrBadBatch, n, err)
	}
	for i := range p.Changes {
		c := &p.Changes[i]
		if err := c.Validate(); err != nil {
			return fmt.Errorf("%w: batch %d: change %d of %d (%s/%d): %w", ErrBadBatch, n, i+1, len(p.Changes), c.Origin, c.Seq, err)
		}
		if s.peer.Scope.IsPartial() && !wire.OwnOrigin(s.peer.Node, c.Origin) {
			return fmt.Errorf("%w: batch %d: %s (a %s replica) sent a change of %s", ErrRelay, n, s.peer.Node, s.peer.Scope, c.Origin)
		}
	}
	if len(p.Changes) > 0 {
		r, err := s.e.cfg.Replica.ApplyRemote(p.Changes)
		if err != nil {
			return fmt.Errorf("%w: batch %d: %w", ErrBadBatch, n, err)
		}
		s.res.Applied += r.Applied
		s.res.Duplicates += r.Duplicates
	}
	s.res.BatchesReceived = n
	s.res.Received += len(p.Changes)
	s.nRecv.Add(int64(len(p.Changes)))
	s.report()
	if s.cursor != nil {
		for _, c := range p.Changes {
			s.cursor[c.Origin] = max(s.cursor[c.Origin], c.Seq)
		}
		for _, t := range p.Through {
			s.cursor[t.Origin] = max(s.cursor[t.Origin], t.Seq)
		}
		if err := s.marks.SetMark(s.e.cfg.Scope, s.cursor.Clone()); err != nil {
			return fmt.Errorf("save mark after batch %d: %w", n, err)
		}
	}
	return nil
}

// MemMarks keeps marks in memory, for tests; sync/scope's StoreMarks keeps
// them in node/store.
type MemMarks struct {
	mu sync.Mutex
	m  map[wire.Scope]crdt.Vector
}

var _ Marks = (*MemMarks)(nil)

// Mark returns the mark of scope.
func (m *MemMarks) Mark(scope wire.Scope) (crdt.Vector, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.m[scope].Clone(), nil
}

// SetMark sets the mark of scope.
func (m *MemMarks) SetMark(scope wire.Scope, v crdt.Vector) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[wire.Scope]crdt.Vector{}
	}
	m.m[scope] = v
	return nil
}
