// Package bench measures sync between two carenode nodes, side by side with
// PouchDB replicating the same records, for docs/BENCHMARKS.md
// (`carenode bench sync`, scripts/bench-sync.sh).
//
// It has three parts:
//
//   - Generate writes a seeded dataset into a work directory: a hub's store
//     with 10,000 node/sample patients registered through node/chart (sealed
//     personal fields, allergies, diagnoses, audit), 100,000 vital-sign
//     observations and 20,000 follow-up tasks; then a clinic desk that has
//     synced it all and "a clinic day" on top (50 new patients, 1,500
//     observations, 300 task updates, 20 demographic edits, and 10 edits
//     made on both the desk and the hub). Every record is also written as a
//     JSON document (one per record, the same content) for the PouchDB side.
//     No care package stores observations or tasks yet, so they are generic
//     records of a realistic shape in collections "observations" and
//     "tasks".
//   - Proxy is a byte-counting TCP proxy that can throttle a link (32 kbit/s
//     each way, 600 ms round trip); both systems sync through it. It is
//     hand-written because it must count exactly what crosses and model a
//     2G modem's rate and latency, which no library in go.mod does.
//   - Run starts each side's two nodes as separate processes (carenode
//     itself for Go, bench/pouchdb/peer.js under node for PouchDB), drives
//     them over their standard input and output, and reports wall time,
//     bytes each way, HTTP requests, CPU time and peak RSS per process (each
//     process reports its own getrusage), for an initial sync, a clinic day
//     and an idle sync.
package bench
