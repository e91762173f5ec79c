// Package transport carries sync sessions and enrolment over HTTP/2 and
// TLS 1.3 with mutual authentication.
//
// A node's sync listener answers two requests:
//
//   - POST /sync/v1/session: one sync session; the request body is the
//     initiator's stream, the response body the responder's, full duplex.
//     The peer must present a certificate that sync/trust accepts (pinned
//     CA, not expired, not revoked, node ID matching its key); its node ID
//     is handed to session.Engine.Respond.
//   - POST /enrol/v1 (the hub only): a node without a certificate presents a
//     one-time token and a CSR and gets back its certificate and the CA.
//
// Client.Sync dials a peer, checks its certificate the same way (no host
// name: peers are named by node ID) and runs session.Engine.Initiate. Join
// enrols a new node; it checks the hub against the CA fingerprint carried in
// the token, since it does not have the CA yet.
//
// Client.LoopWake syncs with one peer on a Schedule (backoff and jitter
// after failures) and also when woken (a local write, debounced by the
// caller), one session at a time. Config.OnSession is told of every session
// that ends, on either side, so the node can keep its record of peers
// (sync/peers).
package transport
