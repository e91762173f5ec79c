// Package store keeps a node's replicated data in one bbolt file.
//
// Layout (schema version 2; see schema.go for migrations):
//
//	meta            schema version, node ID, last clock stamp, change-log length
//	vector          origin -> highest contiguous sequence held (the version vector)
//	log             len(origin) | origin | seq (8 bytes, big endian) -> change
//	records/<coll>  record id -> crdt.Record, one sub-bucket per collection
//	merges          collection -> crdt.Merges (duplicate-merge edges)
//	unfolded        batch number -> runs of (origin, first, last) sequences:
//	                remote changes in the log not yet folded into records
//	index/counts    collection -> number of records stored in records/<coll>
//	index/marks     sync marks: peer and scope -> the vector the peer has
//	index/...       domain indexes, added by later schema versions
//
// Keys in the log sort by origin and then sequence, so "every change from
// origin X after N" is one cursor seek and a forward scan.
//
// Values are CBOR (fxamacker/cbor/v2 in core deterministic mode, integer map
// keys) behind a one-byte format version, so equal states are equal bytes and
// a later format can be read beside the old one. Records and changes, the
// values on every hot path, are written and read by hand-written code that
// produces the same bytes (fastcodec.go); anything unusual is left to the
// library.
//
// Writes: local writes go through a single committer goroutine that gathers
// every write waiting at the moment into one bbolt transaction (group
// commit); a Write returns only after that transaction is on disk. A batch of
// remote changes is applied in one transaction together with the version
// vector update, so a batch is either wholly applied or not at all and a
// sync cut anywhere resumes without loss or duplicates. Applying is
// idempotent: a change already in the log is skipped.
//
// Applied means in the log and seen by every read, not yet written into
// its record: the records a batch touches are rewritten in bulk later, by
// a folder goroutine, so that one rewrite of a records page serves many
// batches (pending.go says why and how reads stay exact; fold.go how the
// folding runs). Records are read, applied and encoded on every CPU, and
// only the parts of a record the changes write are decoded again; every
// call on a write transaction stays on its goroutine.
//
// Benchmarks (bench_test.go) and their figures: docs/BENCHMARKS.md.
//
// The store never sees plaintext it should not keep: it stores the bytes it
// is given. Personal data is encrypted before it reaches here (node's care
// domain).
package store
