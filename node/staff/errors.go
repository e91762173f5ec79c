package staff

import "errors"

// Errors callers tell apart; the API gives each its status and a sentence in
// both languages.
var (
	ErrBadName       = errors.New("account name must be 2-32 lower-case letters, digits, '.', '_' or '-', starting with a letter")
	ErrExists        = errors.New("an account with this name already exists")
	ErrNoAccount     = errors.New("no such account")
	ErrWeakPassword  = errors.New("password too short: use at least 8 characters")
	ErrFirstAdmin    = errors.New("the first account of a node must be an admin")
	ErrBadLogin      = errors.New("wrong name or password")
	ErrPendingLocked = errors.New("this account has not been given the node's key yet: an account that has signed in on this node before must sign in first")
	ErrNotKiosk      = errors.New("key files are for kiosk accounts")
	ErrLockedReset   = errors.New("a password can be reset only on an unlocked node: sign in first")
)
