// Package nodeconf reads and writes the TOML file in which a person
// configures a node: its name and role, where its HTTP API listens, how its
// store commits, and how it logs.
//
// This is the file a person edits, not the configuration the node runs
// with: the node's constructor takes its own config, built from a [File]
// and command-line flags, so the file format can stay friendly and stable
// while the runtime config changes freely.
//
// [Render] writes a file with a comment above every key, and [WriteNew]
// saves it without ever replacing an existing file. [Load] rejects keys it
// does not know, because a misspelt key silently ignored leaves a clinic
// running with a setting it thinks it changed; keys left out take their
// defaults. [File.Validate] reports every bad value at once, each naming
// the key, the value and what is allowed, so a person can fix the file in
// one pass.
package nodeconf
