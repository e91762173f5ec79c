// Package node is a running carenode node: its data directory, identity,
// store, metrics and HTTP API, wired together by Open and run by Serve.
//
// A data directory holds:
//
//	node.key      the node's Ed25519 private key (PEM, mode 0600)
//	config.toml   the configuration a person edits, with commented defaults
//	carenode.db   the bbolt store (package node/store)
//	serve.json    present while `carenode serve` runs: its pid and address,
//	              so `carenode status` and `backup` can reach a running node
//	              whose database file is locked
//
// Sub-packages: store (the bbolt file), api (HTTP JSON API), chart (patient
// charts, sealed at rest, searched in memory), staff (accounts, sign-in and
// the data key's wraps), care (the patient record's rules), vault
// (encryption), auth (roles and sessions), metrics (Prometheus), identity
// (keys and node IDs), nodeconf (the config file), sample (realistic demo
// data). DESIGN.md beside this file holds the threat model of a stolen
// node and how a node unlocks.
//
// Which fields are "important" (concurrent values kept as a conflict to
// review) is declared in one place, schema.go.
package node
