// Package trust is the certificate authority and peer acceptance of a
// carenode network: the hub's CA (crypto/x509, Ed25519 like node keys),
// node certificates signed from a CSR so a node's key never leaves it,
// one-time enrolment tokens, and the check every connection makes of its
// peer: chains to the pinned CA, not expired, not revoked, and the node ID
// in the certificate is the one derived from the certificate's key.
//
// A node certificate names its node as the URI SAN "carenode:node/ID" and
// its role as "carenode:role/ROLE"; the subject's common name is the node's
// name. The files live in the data directory's trust/ folder (Paths).
//
// The hub also makes the network's LAN gossip key (32 random bytes for
// memberlist's AES-256 encryption, trust/gossip.key, owner-only) with its
// CA, or on first need for a hub made before keys existed; enrolment hands
// it to each node, which keeps it beside its certificate. A node without
// one (enrolled before keys were delivered) gets ErrNoGossipKey, which
// tells the operator to copy the hub's file or re-enrol.
//
// The package does no network I/O; sync/transport serves enrolment and
// sessions over TLS with what it builds.
package trust
