package store

import "errors"

// ErrNotFound means no record has the requested id in the collection.
var ErrNotFound = errors.New("record not found")

// ErrExists means a create named an id that is already taken.
var ErrExists = errors.New("record already exists")

// ErrClosed means the store was closed; the write was not made.
var ErrClosed = errors.New("store closed")

// ErrNotCarenode means the file is a bbolt database but not a carenode store.
var ErrNotCarenode = errors.New("not a carenode database")

// ErrSchemaTooNew means the file was written by a newer carenode whose
// schema this build does not know; upgrade carenode rather than risk it.
var ErrSchemaTooNew = errors.New("database schema is newer than this carenode")

// ErrCorrupt means the file could not be read as a bbolt database or a
// stored value failed to decode.
var ErrCorrupt = errors.New("database file is damaged")

// ErrWrongNode means the file belongs to another node's identity.
var ErrWrongNode = errors.New("database belongs to another node")

// ErrLocked means another process (usually `carenode serve`) has the file
// open.
var ErrLocked = errors.New("database is in use by another process")

// ErrInvalid means a write request breaks a rule (bad name, empty edit,
// merge into itself …). The message says which.
var ErrInvalid = errors.New("invalid write")
