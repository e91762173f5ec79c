// Package identity holds a node's ed25519 key pair and the node ID derived
// from it.
//
// A node ID is what staff read aloud and type when they pair two nodes, so
// it is short and carries a check character: 13 base32 characters taken from
// the SHA-256 of the public key (65 bits, enough to make accidental
// collisions between the nodes of one health district vanishingly unlikely),
// followed by one Luhn mod 32 check character that catches every
// single-character typo. [ParseID] forgives lower case, spaces and dashes,
// because people add them when copying an ID by hand.
//
// The private key lives in a PEM file (PKCS#8) that [Identity.Save] writes
// atomically with mode 0600 and never overwrites: replacing a node's key
// changes its ID, so every peer would stop trusting it. [Load] refuses a key
// file that other users can read, since anyone holding the key can
// impersonate the node.
//
// The package does no logging; every problem is returned as an error that
// wraps one of the sentinel errors in errors.go.
package identity
