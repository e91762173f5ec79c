// Package backup writes, verifies and restores a node backup: one file, a
// zstd-compressed tar holding MANIFEST.json, the node's key, its config and a
// consistent copy of its database.
//
// The manifest records every file's size and SHA-256 and the database's
// node ID, schema, change-log length and record counts. Verify reads the
// whole archive back, checks every checksum, opens the database copy,
// runs bbolt's consistency check on it and compares its counts with the
// manifest, so a backup that says it is good has been read back in full.
//
// The archive holds the node's private key in the clear, like the data
// directory itself: keep backups where the node's disk would be kept.
// (Personal data inside the database is encrypted at its origin by the
// care domain, so it is ciphertext here too.)
package backup
