package auth

import "errors"

// ErrBadRole means a role name is not one of admin, doctor, nurse, desk,
// kiosk.
var ErrBadRole = errors.New("unknown role")

// ErrBadHash means a stored password hash is not an argon2id PHC string.
var ErrBadHash = errors.New("malformed password hash")

// ErrWeakPassword means a new password is too short to protect patient data.
var ErrWeakPassword = errors.New("password too short")

// ErrNoSession means a token is unknown, expired or revoked.
var ErrNoSession = errors.New("no such session")
