package store

import (
	"testing"
	"carenode/crdt"
)

func scratchRecs() ([]*crdt.Record, []crdt.Change) {
	g := newRemoteGen(9)
	recs := map[string]*crdt.Record{}
	var chs []crdt.Change
	for i := 0; i < 40000; i++ {
		c := g.next()
		r := recs[c.Record]
		if r == nil { r = &crdt.Record{}; recs[c.Record] = r }
		r.Apply(&c)
		chs = append(chs, c)
	}
	var out []*crdt.Record
	for _, r := range recs { out = append(out, r) }
	return out, chs
}

func BenchmarkScratchCodec(b *testing.B) {
	recs, chs := scratchRecs()
	c, _ := newCodec()
	var enc [][]byte
	tot := 0
	for _, r := range recs { v, _ := c.marshal(r); enc = append(enc, v); tot += len(v) }
	b.Logf("%d records avg %d bytes", len(recs), tot/len(recs))
	b.Run("encRecord", func(b *testing.B) { for i := range b.N { c.marshal(recs[i%len(recs)]) } })
	b.Run("decRecord", func(b *testing.B) { for i := range b.N { var r crdt.Record; c.unmarshal(enc[i%len(enc)], &r) } })
	b.Run("encChange", func(b *testing.B) { for i := range b.N { c.marshal(&chs[i%len(chs)]) } })
}
