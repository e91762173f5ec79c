// Package discovery lets nodes on one LAN find each other with
// hashicorp/memberlist, so that a clinic desk, a kiosk and a returning nurse
// laptop can sync directly instead of through the hub.
//
// Each node joins the memberlist cluster under its node ID as the member
// name and advertises its sync URL (https://host:port of its mutual-TLS
// listener) in the member metadata; [Config.OnEvent] reports peers
// appearing, changing URL and leaving.
//
// There is no multicast or broadcast: memberlist gossips by unicast to the
// members it already knows, and a node finds its first peer only through
// the seed addresses it is configured with ([Config.Join], for instance the
// clinic desk). With no seeds a node only waits to be joined.
//
// All gossip is encrypted and authenticated with the network's gossip key
// ([Config.SecretKey], AES-256, made by the hub and delivered at
// enrolment; see sync/trust), both ways: a member without the key, or with
// another network's, can neither join nor read who is where. [Start]
// refuses to run without a key ([ErrNoKey]) rather than gossip in clear.
//
// Membership still gives no trust. The key only keeps strangers out of the
// gossip: every enrolled node holds it, so a node revoked later still
// could claim any node ID and any URL. A
// discovered peer is only an address to try: the sync session authenticates
// it by its certificate, which must chain to the network's CA, not be
// revoked, and carry the node ID announced here (transport.Client.Sync's
// want argument). Peer metadata is outside input: it is size-limited and
// validated ([DecodeMeta]); a member with a bad name or metadata is logged
// and ignored.
package discovery
