package wire_test

import (
	"context"
	"fmt"
	"testing"

	"carenode/crdt"
	"carenode/sync/wire"
	"carenode/sync/wire/internal/corpus"
)

// BenchmarkBatchSize measures the bytes a change costs on the wire, by batch
// size, with the shipped dictionary and without one. The changes are a
// corpus of another seed than the dictionary was trained on. Figures are
// reported as metrics (B/change, whole frames: type, length, codec byte
// and the compressed payload); the time per op is compression's.
//
//	go test ./sync/wire -run '^$' -bench BatchSize -benchtime 1x
func BenchmarkBatchSize(b *testing.B) {
	changes, err := corpus.Make(context.Background(), b.TempDir(), 2, 250)
	if err != nil {
		b.Fatal(err)
	}
	shipped, err := wire.ShippedDicts()
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{1, 10, 100, 1000} {
		for _, withDict := range []bool{true, false} {
			name := fmt.Sprintf("batch=%d/dict=%t", size, withDict)
			b.Run(name, func(b *testing.B) {
				o := wire.DefaultCodecOptions()
				o.Dicts = []wire.Dict{}
				if withDict {
					o.Dicts = shipped[:1]
				}
				c, err := wire.NewCodec(o)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				dict := c.Choose(c.DictIDs())
				var raw, framed, n int
				b.ResetTimer()
				for range b.N {
					raw, framed, n = 0, 0, 0
					for i := 0; i+size <= len(changes) && n < 2000; i += size {
						p := wire.EncodePayload(wire.Payload{Changes: changes[i : i+size]})
						z := c.Compress(p, dict)
						raw += len(p)
						framed += len(wire.AppendFrame(nil, wire.FrameBatch, z))
						n += size
					}
				}
				b.ReportMetric(float64(framed)/float64(n), "B/change")
				b.ReportMetric(float64(raw)/float64(n), "rawB/change")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// corpusSample is a small fixed set of changes for the unit tests.
func corpusSample(t testing.TB) []crdt.Change {
	t.Helper()
	changes, err := corpus.Make(context.Background(), t.TempDir(), 3, 12)
	if err != nil {
		t.Fatal(err)
	}
	return changes
}
