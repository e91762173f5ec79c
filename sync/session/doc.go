// Package session runs one sync session between two nodes over a pair of
// byte streams: it exchanges version vectors and scopes in one round trip,
// then each side streams the changes the other lacks in batches and applies
// what it receives, batch by batch, each in one store transaction with the
// version-vector update.
//
// The package does no network I/O: Engine.Initiate and Engine.Respond take an
// io.Reader and an io.Writer (an HTTP/2 request and response body, a TLS
// connection, an io.Pipe in tests). The store is reached through the Replica
// interface declared here, which node/store's Store satisfies.
//
// Because every batch is applied atomically and the next session starts from
// the receiver's vector, a session cut at any byte loses nothing and, when
// resumed, sends nothing twice. The state machine, the resume argument and
// the idle-sync byte count are in sync/DESIGN.md.
//
// Partial replicas (kiosk, nurse laptop) are served through a Policy that
// turns the scope a peer asks for into a wire.Filter, which may also trim a
// change to the mutations the scope holds (a kiosk's few patient fields;
// a change trimmed to nothing is not sent, and the peer's mark passes it);
// they relay only their own changes (wire.OwnOrigin), and remember through
// Marks how far their scope has been scanned, so that a filtered stream is
// not scanned again.
// A GrantPolicy also names the records newly in a peer's scope, which are
// sent whole (sync/DESIGN.md, "Scopes that grow and shrink").
// Options.Progress follows a session's changes and bytes each way, for a
// progress bar.
package session
