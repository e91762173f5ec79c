package vault

import "errors"

// ErrLocked means the vault, or a Sealer it handed out, is locked: the data
// key is not in memory, so no personal value can be sealed, opened or
// tokenised. Unlock the vault and ask it for a new Sealer.
var ErrLocked = errors.New("vault is locked")

// ErrWrongKey means a sealed value (or a wrapped key) belongs to a different
// data key than the one in use, told by its key id. The value is not
// damaged; it needs the network's other key.
var ErrWrongKey = errors.New("sealed under a different data key")

// ErrTampered means a sealed value failed authentication: its bytes were
// altered, or it was copied to a field, record or collection other than the
// one it was sealed for.
var ErrTampered = errors.New("sealed value failed authentication (altered, or moved to another field or record)")

// ErrFormat means the bytes are not a sealed value or wrapped key of a
// format this version knows: wrong version byte, truncated, or of the wrong
// length.
var ErrFormat = errors.New("not a sealed value of a known format")

// ErrWrongPassword means the password does not unwrap the data key.
var ErrWrongPassword = errors.New("wrong password")

// ErrWeakPassword means a new password is shorter than MinPasswordLen
// characters. Existing wraps are never refused for this reason.
var ErrWeakPassword = errors.New("password is too short: use at least 8 characters")

// ErrWrongKeyFile means the key file does not unwrap any data key the vault
// holds a key-file wrap for.
var ErrWrongKeyFile = errors.New("key file does not unlock this vault")

// ErrNoKey means a DataKey or KeyFileKey is the zero value or was wiped.
var ErrNoKey = errors.New("key is empty or wiped")

// ErrBadParams means Argon2 parameters are outside the range this package
// accepts (see Argon2Params.Validate).
var ErrBadParams = errors.New("argon2 parameters out of range")

// ErrBadTokenKind means Token was called with an empty kind.
var ErrBadTokenKind = errors.New("blind-index token kind must not be empty")

// ErrUnknownName means the vault holds no wrap under that name, or holds a
// wrap of the other kind (a key file where a password was expected, or the
// other way round). Callers that must not reveal which staff names exist
// report it exactly like ErrWrongPassword.
var ErrUnknownName = errors.New("no such wrap in the vault")

// ErrNameExists means AddPassword or AddKeyFile was given a name the vault
// already holds a wrap under; use Rewrap or ChangePassword to replace it.
var ErrNameExists = errors.New("vault already holds a wrap under this name")

// ErrLastWrap means Remove would leave the vault with no wrap at all, after
// which nothing could unlock it.
var ErrLastWrap = errors.New("refusing to remove the vault's last wrap")

// ErrKeyFileExists means WriteKeyFile found a file already at the path; it
// never replaces one, since the old key may be the only copy.
var ErrKeyFileExists = errors.New("key file already exists; refusing to overwrite it")

// ErrKeyFilePermissions means the key file can be read or written by users
// other than its owner.
var ErrKeyFilePermissions = errors.New("key file is accessible to other users")

// ErrKeyFileFormat means the file is not a carenode vault key file.
var ErrKeyFileFormat = errors.New("not a carenode vault key file")
