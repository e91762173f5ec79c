package wire

import (
	"errors"
	"fmt"
)

// ErrMalformed means peer bytes do not follow the layouts in sync/DESIGN.md:
// a truncated or over-long item, a non-canonical encoding, bytes left over.
var ErrMalformed = errors.New("malformed sync message")

// ErrNotSync means the stream does not start with the sync preamble: the
// peer is not a carenode node, or speaks another protocol version.
var ErrNotSync = errors.New("not a carenode sync stream")

// ErrVersion means the peer speaks a protocol version this build does not.
var ErrVersion = errors.New("unsupported sync protocol version")

// ErrFrameTooLarge means a frame announced more bytes than MaxFrame, or a
// batch would decompress to more than MaxBatchRaw.
var ErrFrameTooLarge = errors.New("sync frame too large")

// ErrTruncated means the stream ended inside a frame.
var ErrTruncated = errors.New("sync stream cut inside a frame")

// ErrUnknownDict means a batch was compressed with a dictionary this build
// does not ship.
var ErrUnknownDict = errors.New("batch compressed with an unknown dictionary")

// ErrDigest means a vector rebuilt from a delta does not match the digest
// its sender gave: the base was not the vector the sender assumed.
var ErrDigest = errors.New("version vector digest mismatch")

// ErrScope means a scope's text form could not be parsed.
var ErrScope = errors.New("malformed scope")

// RemoteError is an Error frame received from the peer: it stopped the
// session and says why.
type RemoteError struct {
	Code    ErrorCode
	Message string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("peer stopped the sync: %s: %s", e.Code, e.Message)
}
