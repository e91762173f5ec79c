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
// Membership gives no trust. Anything on the LAN that can reach the gossip
// port can claim any node ID and any URL (unless [Config.SecretKey] is set,
// and even then the key only keeps strangers out of the gossip). A
// discovered peer is only an address to try: the sync session authenticates
// it by its certificate, which must chain to the network's CA, not be
// revoked, and carry the node ID announced here (transport.Client.Sync's
// want argument). Peer metadata is outside input: it is size-limited and
// validated ([DecodeMeta]); a member with a bad name or metadata is logged
// and ignored.
package discovery
