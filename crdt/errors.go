package crdt

import "errors"

// ErrBadStamp means a stamp's text form could not be parsed.
var ErrBadStamp = errors.New("malformed stamp")

// ErrBadVector means a version vector's text form could not be parsed.
var ErrBadVector = errors.New("malformed version vector")

// ErrInvalidChange means a change breaks a structural rule (missing origin,
// zero sequence, a stamp from another node, an unknown mutation kind …). A
// change from a peer that fails validation is refused before it is stored.
var ErrInvalidChange = errors.New("invalid change")
