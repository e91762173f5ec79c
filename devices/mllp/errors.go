package mllp

import "errors"

// ErrConfig means a Config is unusable; the error says which field.
var ErrConfig = errors.New("invalid MLLP configuration")

// ErrServerClosed is returned by Serve after its context ended.
var ErrServerClosed = errors.New("MLLP server closed")
