package crdt

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Benchmarks measure the merge rules alone: no encoding, no store. Each
// benchmark op is one field operation (or one record join), so ns/op and
// allocs/op are per operation. Run with
//
//	go test ./crdt -run '^$' -bench . -benchmem

const (
	benchRecords = 1000
	benchFields  = 10
	benchOps     = 100_000
)

// fieldOpWorkload makes benchOps MutSet changes spread over benchRecords x
// benchFields registers by five nodes, with the seen lists editors send:
// mostly every current value (a normal edit), sometimes a stale list (an
// edit made concurrently elsewhere, which leaves a conflict), sometimes
// nothing (a blind write). It returns the changes and each one's record.
func fieldOpWorkload() ([]*Change, []int) {
	rng := rand.New(rand.NewPCG(1, 2))
	nodes := []NodeID{"NODEA", "NODEB", "NODEC", "NODED", "NODEE"}
	clocks := make([]*Clock, len(nodes))
	seqs := make([]uint64, len(nodes))
	for i, n := range nodes {
		clocks[i] = NewClock(n, 0)
	}
	fields := make([]string, benchFields)
	for i := range fields {
		fields[i] = fmt.Sprintf("field%d", i)
	}
	truth := make([]*Record, benchRecords) // what the editors see
	for i := range truth {
		truth[i] = &Record{}
	}
	stale := map[[2]int][]Stamp{}
	ops := make([]*Change, benchOps)
	recs := make([]int, benchOps)
	wall := t0
	for i := range ops {
		wall += int64(rng.IntN(3))
		n := rng.IntN(len(nodes))
		ri, fi := rng.IntN(benchRecords), rng.IntN(benchFields)
		var seen []Stamp
		if reg := truth[ri].Fields[fields[fi]]; reg != nil {
			seen = reg.Stamps()
		}
		key := [2]int{ri, fi}
		switch p := rng.IntN(100); {
		case p < 8: // concurrent edit: saw what the previous writer saw
			seen, stale[key] = stale[key], seen
		case p < 12: // blind write
			seen = nil
		default:
			stale[key] = seen
		}
		seqs[n]++
		c := &Change{Origin: nodes[n], Seq: seqs[n], Stamp: clocks[n].Now(wall), Collection: "patients",
			Record: fmt.Sprintf("p%04d", ri),
			Muts:   []Mutation{{Kind: MutSet, Field: fields[fi], Value: fmt.Appendf(nil, "138%08d", rng.IntN(1e8)), Seen: seen}}}
		truth[ri].Apply(c)
		ops[i], recs[i] = c, ri
	}
	return ops, recs
}

// benchApply applies ops[i] to record recs[i], one per benchmark op, starting
// over on fresh records after each pass (the reset is not timed).
func benchApply(b *testing.B, ops []*Change, recs []int) {
	fresh := func() []*Record {
		rs := make([]*Record, benchRecords)
		for i := range rs {
			rs[i] = &Record{}
		}
		return rs
	}
	state := fresh()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		j := i % len(ops)
		if j == 0 && i > 0 {
			b.StopTimer()
			state = fresh()
			b.StartTimer()
		}
		state[recs[j]].Apply(ops[j])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkApply100kFieldOps: one op is one MutSet applied to a register.
func BenchmarkApply100kFieldOps(b *testing.B) {
	ops, recs := fieldOpWorkload()
	benchApply(b, ops, recs)
}

// BenchmarkJoin: one op joins one record (10 fields, a set, facts).
//
//   - halves: two replicas each hold about 60% of the changes; join both
//     into an empty record (rebuilding a record from two snapshots).
//   - same: join a record into an equal one (a whole record resent when a
//     partial replica's scope grows); the steady state of a sync.
func BenchmarkJoin(b *testing.B) {
	ops, recs := fieldOpWorkload()
	rng := rand.New(rand.NewPCG(3, 4))
	left, right, all := make([]*Record, benchRecords), make([]*Record, benchRecords), make([]*Record, benchRecords)
	for i := range benchRecords {
		left[i], right[i], all[i] = &Record{}, &Record{}, &Record{}
	}
	place := func(c *Change, ri int) {
		all[ri].Apply(c)
		switch rng.IntN(5) {
		case 0, 1:
			left[ri].Apply(c)
		case 2, 3:
			right[ri].Apply(c)
		default:
			left[ri].Apply(c)
			right[ri].Apply(c)
		}
	}
	for i, c := range ops {
		place(c, recs[i])
	}
	// Sets and facts too, so a join exercises every part of a record.
	for ri := range benchRecords {
		for k := range 6 {
			s := st(t0+int64(benchOps+ri*10+k), 0, "NODEA")
			place(&Change{Origin: "NODEA", Seq: 1, Stamp: s, Record: "p", Collection: "c",
				Muts: []Mutation{add("allergies", fmt.Sprintf("a%d", k)), fact("vitals", fmt.Sprintf("o%d", k), "120/80")}}, ri)
		}
	}
	b.Run("halves", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			r := &Record{}
			r.Join(left[i%benchRecords])
			r.Join(right[i%benchRecords])
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "joins/s")
	})
	b.Run("same", func(b *testing.B) {
		copies := make([]*Record, benchRecords)
		for i := range copies {
			copies[i] = all[i].Clone()
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			all[i%benchRecords].Join(copies[i%benchRecords])
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "joins/s")
	})
}

// BenchmarkORSet: one op is one add or remove on a record's set of about 20
// elements (an allergy or diagnosis list), removes naming the tags the
// editor sees; then reading the members.
func BenchmarkORSet(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	nodes := []NodeID{"NODEA", "NODEB", "NODEC"}
	clocks := make([]*Clock, len(nodes))
	for i, n := range nodes {
		clocks[i] = NewClock(n, 0)
	}
	truth := make([]*Record, benchRecords)
	for i := range truth {
		truth[i] = &Record{}
	}
	ops := make([]*Change, benchOps)
	recs := make([]int, benchOps)
	wall := t0
	for i := range ops {
		wall += int64(rng.IntN(3))
		n, ri := rng.IntN(len(nodes)), rng.IntN(benchRecords)
		elem := fmt.Sprintf("icd10-%02d", rng.IntN(30))
		m := add("diagnoses", elem)
		if rng.IntN(10) < 3 {
			var tags []Stamp
			if s := truth[ri].Sets["diagnoses"]; s != nil {
				tags = s.Tags(elem)
			}
			m = Mutation{Kind: MutRemove, Field: "diagnoses", Elem: elem, Seen: tags}
		}
		c := &Change{Origin: nodes[n], Seq: uint64(i + 1), Stamp: clocks[n].Now(wall), Collection: "patients",
			Record: "p", Muts: []Mutation{m}}
		truth[ri].Apply(c)
		ops[i], recs[i] = c, ri
	}
	b.Run("apply", func(b *testing.B) { benchApply(b, ops, recs) })
	b.Run("elems", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			if s := truth[i%benchRecords].Sets["diagnoses"]; s != nil {
				_ = s.Elems()
			}
		}
	})
	b.Run("contains", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			if s := truth[i%benchRecords].Sets["diagnoses"]; s != nil {
				_ = s.Contains("icd10-07")
			}
		}
	})
}
