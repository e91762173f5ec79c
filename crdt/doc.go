// Package crdt holds carenode's replicated data types and their merge rules.
//
// It is pure: no I/O, no clock read, no imports of carenode packages. Callers
// pass the wall time in (milliseconds since the Unix epoch) and persist the
// state themselves; node/store keeps it in bbolt. The reasons behind each rule
// are written down in DESIGN.md beside this file.
//
// The unit of replication is a [Change]: one origin node's numbered, stamped
// edit of one record, made of one or more [Mutation]s. A [Record] is the join
// of every change applied to it, in any order, any number of times:
//
//   - scalar fields are multi-value registers ([Register]); a write names the
//     stamps it saw and replaces exactly those;
//   - sets are add-wins observed-remove sets ([ORSet]);
//   - facts (observations, attempts, answers) are append-only, deduplicated
//     by id;
//   - deletion is a tombstone that a later restore may lift;
//   - duplicates are merged by a merge mutation; [Merges] resolves every
//     replica's merge edges to the same survivor whatever order they came in.
//
// Every operation on these types is commutative, associative and idempotent;
// crdt_prop_test.go checks that with randomised property tests.
//
// A [Clock] and a [Record] are not safe for concurrent use. A [Merges] may be
// read ([Merges.Survivor], [Merges.Members]) by many goroutines at once while
// nobody calls [Merges.Add].
package crdt
