package session

import "errors"

// ErrWrongPeer means the peer's hello named another node than the one the
// transport authenticated or dialled.
var ErrWrongPeer = errors.New("peer is not the node expected")

// ErrScopeRefused means the policy refused the scope a peer asked for.
var ErrScopeRefused = errors.New("scope refused")

// ErrRelay means a partial replica sent a change of another origin than its
// own, against the relay rule.
var ErrRelay = errors.New("partial replica relayed another node's change")

// ErrBadBatch means a batch could not be applied: it did not decode, held an
// invalid change, or the store refused it. Nothing of that batch is applied.
var ErrBadBatch = errors.New("batch refused")

// ErrProtocol means the peer broke the session's order of frames or its
// counts.
var ErrProtocol = errors.New("sync protocol violated")

// ErrTooLarge means a change is too large to fit in a frame.
var ErrTooLarge = errors.New("change too large to sync")

// ErrFilter means a scope filter returned, for a change, a change with
// another identity (origin, sequence, stamp, collection or record) than the
// one it was given: a bug in the policy, which would corrupt the peer's log.
var ErrFilter = errors.New("scope filter changed a change's identity")
