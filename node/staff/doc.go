// Package staff keeps a node's staff accounts (and kiosk device accounts):
// who they are, their role, their argon2id password hash and their wrap of
// the network's data key, all stored as records of the "staff" collection so
// that accounts sync like other data. It signs people in (rate-limited per
// account and per client address), holds their sessions, and unlocks the
// node's vault.
//
// # Accounts and the data key
//
// The first account of a node must be an admin: adding it makes the data key
// and wraps it under that password (node/vault). Every later account gets its
// own wrap when it is added on an unlocked node; added on a locked node (by
// `carenode user add` while nobody is signed in) it is pending: its password
// hash is stored but no wrap, and its first sign-in on an unlocked node adds
// the wrap. A pending account cannot unlock a locked node — the data key is
// not derivable from anything it holds. Adding an account or changing a
// password writes one wrap and re-encrypts nothing.
//
// A password is checked by unwrapping the data key when the node is locked
// (one argon2id run that both proves the password and unlocks), and by the
// stored argon2id hash otherwise. A wrong name and a wrong password give the
// same error, so sign-in does not reveal which names exist.
//
// Kiosks unlock with a key file instead (AddKeyFile, UnlockWithKeyFile); its
// wrap is stored as the record NAME.keyfile, which cannot sign in.
package staff
