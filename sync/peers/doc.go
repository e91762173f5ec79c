// Package peers keeps this node's record of its sync peers: who they are
// (the hub, peers found by LAN discovery, peers that synced with it), when
// each last synced and how it ended, what moved, and each side's version
// vector at the last completed session, from which `carenode peers` works
// out the lag (changes the peer lacks, changes this node lacks).
//
// The record is a small JSON file in the data directory (peers.json),
// rewritten whole through a temporary file and a rename each time a session
// ends, so it can be read while the node serves without opening the store
// (bbolt admits one process). It is bookkeeping, not data: it does not sync,
// and losing it loses only history.
package peers
