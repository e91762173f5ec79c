// Package wire is the byte layout of carenode's sync protocol: it encodes and
// decodes the frames two nodes exchange (hello, vector, batch, done, ack,
// error), the changes inside a batch, and compresses batches with zstd and a
// dictionary shipped in the binary. It does no I/O of its own beyond reading
// frames from an io.Reader it is given; package sync/session runs a session
// over it.
//
// The layouts, byte by byte, and the reasons for them are in sync/DESIGN.md.
// In short:
//
//   - every value is canonical CBOR (RFC 8949 core deterministic encoding of
//     integers, byte and text strings and arrays), and the decoders accept only
//     that form, so decode -> encode returns the same bytes;
//   - a change is an array whose sequence and wall time are differences from
//     the previous change, with node IDs sent once per batch;
//   - a version vector travels as a delta from a vector the receiver is known
//     to hold, identified by a SHA-256 digest, so an idle sync sends no vector
//     at all;
//   - every decoder of peer bytes bounds what it allocates by the bytes it was
//     given and the limits here (MaxFrame, MaxBatchRaw, MaxBatchChanges …),
//     and has a fuzz target.
//
// Scopes ("full", "kiosk", "nurse:<staff>") say what a replica holds; the
// relay rule, OwnOrigin, says which changes a partial replica may pass on.
//
// The dictionaries in dicts/ are made by `go generate ./sync/wire`
// (internal/gendict), which trains on changes made by node/chart from
// node/sample patients.
package wire
