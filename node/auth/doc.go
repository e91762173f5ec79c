// Package auth holds staff accounts' building blocks: roles and what each
// may do, argon2id password hashes, session tokens and the limiter that
// slows down password guessing.
//
// Roles: admin, doctor, nurse, desk (front desk), kiosk (a device account).
// What each role may do is declared in one table, policy.go; API routes name
// the Permission they need and ask Role.Can.
//
// Passwords are hashed with argon2id (golang.org/x/crypto/argon2) and kept
// in the PHC string form ($argon2id$v=19$m=…,t=…,p=…$salt$hash), so the
// parameters travel with the hash and can be raised later without breaking
// old hashes.
//
// Sessions live in memory only: a token is 32 random bytes, the server keeps
// only its SHA-256, and a restart logs everyone out. Sessions end after an
// idle timeout and an absolute lifetime, whichever comes first.
//
// Failed logins are limited per key (the caller uses the account name and,
// separately, the client address): after a few free failures each further
// failure doubles the wait, up to a cap; a success clears the key.
//
// Time is injected (a now function) so tests control it.
package auth
