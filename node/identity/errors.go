package identity

import "errors"

// ErrIDLength means a node ID does not have 14 characters once spaces and
// dashes are removed.
var ErrIDLength = errors.New("wrong length")

// ErrIDChar means a node ID contains a character outside the base32
// alphabet (A-Z and 2-7).
var ErrIDChar = errors.New("invalid character")

// ErrIDCheck means a node ID's last character does not match the other 13,
// which almost always means a typo.
var ErrIDCheck = errors.New("check character does not match; check the ID for typos")

// ErrKeyExists means Save found a file already at the key path. Save never
// replaces a key, because a new key gives the node a new ID.
var ErrKeyExists = errors.New("key file already exists; refusing to overwrite it")

// ErrKeyPermissions means the key file can be read or written by users other
// than its owner.
var ErrKeyPermissions = errors.New("key file is accessible to other users")

// ErrKeyNotPEM means the key file holds no PEM block, or a PEM block that is
// not a "PRIVATE KEY".
var ErrKeyNotPEM = errors.New("not a PEM private key file")

// ErrKeyMalformed means the key file's PEM block does not hold a valid
// PKCS#8 private key.
var ErrKeyMalformed = errors.New("malformed PKCS#8 private key")

// ErrKeyType means the key file holds a valid private key of a type other
// than ed25519.
var ErrKeyType = errors.New("not an ed25519 key")

// ErrNoPrivateKey means Save was called on an Identity without a private
// key, such as the zero Identity.
var ErrNoPrivateKey = errors.New("identity has no private key")
