// Package store keeps a node's replicated data in one bbolt file.
//
// Layout (schema version 1; see schema.go for migrations):
//
//	meta            schema version, node ID, last clock stamp, change-log length
//	vector          origin -> highest contiguous sequence held (the version vector)
//	log             len(origin) | origin | seq (8 bytes, big endian) -> change
//	records/<coll>  record id -> crdt.Record, one sub-bucket per collection
//	merges          collection -> crdt.Merges (duplicate-merge edges)
//	index/counts    collection -> number of records
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
// commit); a Write returns only after that transaction is on disk. A batch of remote changes is applied in one
// transaction together with the version vector update, so a batch is either
// wholly applied or not at all and a sync cut anywhere resumes without loss
// or duplicates. Applying is idempotent: a change already in the log is
// skipped. Reading, applying and encoding a batch's records are spread over
// the CPUs (each worker reads in a read transaction of its own, and decodes
// only the parts of a record the batch writes) while the write
// transaction's goroutine appends the changes to the log and puts the
// records; every call on the write transaction stays on its goroutine.
//
// Benchmarks (bench_test.go) and their figures: docs/BENCHMARKS.md.
//
// The store never sees plaintext it should not keep: it stores the bytes it
// is given. Personal data is encrypted before it reaches here (node's care
// domain).
package store
