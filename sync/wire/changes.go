package wire

import (
	"math"

	"carenode/crdt"
)

// Limits on a batch from a peer, beyond crdt's own limits on a change.
const (
	// MaxBatchChanges bounds the changes in one batch.
	MaxBatchChanges = 1 << 16
	// MaxBatchNodes bounds the node table of one batch (origins and the
	// nodes of seen stamps).
	MaxBatchNodes = 1 << 14
)

// Payload is what a batch frame carries once decompressed: changes to apply
// in one transaction, and how far the sender's scan went.
type Payload struct {
	Changes []crdt.Change
	// Through lists, for origins whose changes the sender scanned past
	// without sending them all (its filter refused some), the highest
	// sequence it scanned. A partial replica keeps it as its mark; a full
	// replica ignores it. Usually empty.
	Through []Entry
}

// nodeTable numbers the node IDs of a batch in order of first use.
type nodeTable struct {
	ids   []crdt.NodeID
	index map[crdt.NodeID]uint64
}

func (t *nodeTable) ref(n crdt.NodeID) uint64 {
	if i, ok := t.index[n]; ok {
		return i
	}
	if t.index == nil {
		t.index = map[crdt.NodeID]uint64{}
	}
	i := uint64(len(t.ids))
	t.ids = append(t.ids, n)
	t.index[n] = i
	return i
}

// EncodePayload returns the canonical CBOR of p (layout in sync/DESIGN.md).
// Sequences and wall times are sent as differences from the previous change
// so that a run of one origin's changes costs a byte or two for each; node
// IDs are sent once per batch.
func EncodePayload(p Payload) []byte {
	var t nodeTable
	for i := range p.Changes {
		c := &p.Changes[i]
		t.ref(c.Origin)
		t.ref(c.Stamp.Node)
		for j := range c.Muts {
			for _, s := range c.Muts[j].Seen {
				t.ref(s.Node)
			}
		}
	}
	for _, en := range p.Through {
		t.ref(en.Origin)
	}
	e := enc{b: make([]byte, 0, 64+len(p.Changes)*128)}
	e.array(3)
	e.array(len(t.ids))
	for _, id := range t.ids {
		e.text(string(id))
	}
	e.array(len(p.Changes))
	prevSeq := map[crdt.NodeID]uint64{}
	var prevWall int64
	for i := range p.Changes {
		c := &p.Changes[i]
		e.array(7)
		e.uint(t.index[c.Origin])
		e.int(int64(c.Seq - prevSeq[c.Origin])) // wraps for a decreasing seq; decode wraps back
		prevSeq[c.Origin] = c.Seq
		e.int(c.Stamp.Wall - prevWall)
		prevWall = c.Stamp.Wall
		e.uint(uint64(c.Stamp.Logical))
		// The stamp's node is the origin in every valid change; anything
		// else is refused by Validate, so it is not sent separately.
		e.text(c.Collection)
		e.text(c.Record)
		e.array(len(c.Muts))
		for j := range c.Muts {
			encodeMut(&e, &c.Muts[j], c.Stamp.Wall, &t)
		}
	}
	e.array(len(p.Through))
	for _, en := range p.Through {
		e.array(2)
		e.uint(t.index[en.Origin])
		e.uint(en.Seq)
	}
	return e.b
}

// encodeMut writes [kind, field, value, elem, factID, seen, into] without
// its trailing empty elements: a Set is [1, field, value] or with its seen
// stamps, an Add is [2, field, "", elem].
func encodeMut(e *enc, m *crdt.Mutation, wall int64, t *nodeTable) {
	n := 1
	switch {
	case m.Into != "":
		n = 7
	case len(m.Seen) > 0:
		n = 6
	case m.FactID != "":
		n = 5
	case m.Elem != "":
		n = 4
	case len(m.Value) > 0:
		n = 3
	case m.Field != "":
		n = 2
	}
	e.array(n)
	e.uint(uint64(m.Kind))
	if n > 1 {
		e.text(m.Field)
	}
	if n > 2 {
		e.bytes(m.Value)
	}
	if n > 3 {
		e.text(m.Elem)
	}
	if n > 4 {
		e.text(m.FactID)
	}
	if n > 5 {
		e.array(len(m.Seen))
		for _, s := range m.Seen {
			e.array(3)
			e.int(s.Wall - wall)
			e.uint(uint64(s.Logical))
			e.uint(t.index[s.Node])
		}
	}
	if n > 6 {
		e.text(m.Into)
	}
}

// DecodePayload parses a batch payload. It checks the layout only; the
// changes still need crdt.Change.Validate before they are applied. Values
// point into b.
func DecodePayload(b []byte) (Payload, error) {
	d := dec{b: b}
	var p Payload
	d.arrayRange(3, 3, "batch")
	nn := d.array(MaxBatchNodes)
	nodes := make([]crdt.NodeID, 0, nn)
	for i := 0; i < nn && d.err == nil; i++ {
		nodes = append(nodes, crdt.NodeID(d.text(crdt.MaxNameLen)))
	}
	node := func() crdt.NodeID {
		i := d.uint()
		if d.err == nil && i >= uint64(len(nodes)) {
			d.fail("node index %d beyond the table of %d", i, len(nodes))
			return ""
		}
		if d.err != nil {
			return ""
		}
		return nodes[i]
	}
	nc := d.array(MaxBatchChanges)
	if nc > 0 {
		p.Changes = make([]crdt.Change, 0, nc)
	}
	prevSeq := map[crdt.NodeID]uint64{}
	var prevWall int64
	for i := 0; i < nc && d.err == nil; i++ {
		var c crdt.Change
		d.arrayRange(7, 7, "change")
		c.Origin = node()
		c.Seq = prevSeq[c.Origin] + uint64(d.int())
		prevSeq[c.Origin] = c.Seq
		c.Stamp.Wall = addWall(&d, prevWall, d.int())
		prevWall = c.Stamp.Wall
		c.Stamp.Logical = uint32(d.uintMax(math.MaxUint32, "logical counter"))
		c.Stamp.Node = c.Origin
		c.Collection = d.text(crdt.MaxNameLen)
		c.Record = d.text(crdt.MaxNameLen)
		nm := d.array(crdt.MaxMuts)
		if nm > 0 {
			c.Muts = make([]crdt.Mutation, nm)
		}
		for j := 0; j < nm && d.err == nil; j++ {
			decodeMut(&d, &c.Muts[j], c.Stamp.Wall, node)
		}
		p.Changes = append(p.Changes, c)
	}
	nt := d.array(MaxVectorEntries)
	for i := 0; i < nt && d.err == nil; i++ {
		d.arrayRange(2, 2, "through entry")
		o := node()
		seq := d.uint()
		p.Through = append(p.Through, Entry{o, seq})
	}
	d.end()
	if d.err != nil {
		return Payload{}, d.err
	}
	return p, nil
}

func addWall(d *dec, base, delta int64) int64 {
	if (delta > 0 && base > math.MaxInt64-delta) || (delta < 0 && base < math.MinInt64-delta) {
		d.fail("wall time out of range")
		return 0
	}
	return base + delta
}

func decodeMut(d *dec, m *crdt.Mutation, wall int64, node func() crdt.NodeID) {
	n := d.arrayRange(1, 7, "mutation")
	m.Kind = crdt.MutKind(d.uintMax(math.MaxUint8, "mutation kind"))
	var empty bool // whether the last element read was empty
	if n > 1 {
		m.Field = d.text(crdt.MaxNameLen)
		empty = m.Field == ""
	}
	if n > 2 {
		if v := d.bytes(crdt.MaxValueLen); len(v) > 0 {
			m.Value = v
		}
		empty = len(m.Value) == 0
	}
	if n > 3 {
		m.Elem = d.text(crdt.MaxElemLen)
		empty = m.Elem == ""
	}
	if n > 4 {
		m.FactID = d.text(crdt.MaxNameLen)
		empty = m.FactID == ""
	}
	if n > 5 {
		ns := d.array(crdt.MaxSeen)
		if ns > 0 {
			m.Seen = make([]crdt.Stamp, 0, ns)
		}
		for k := 0; k < ns && d.err == nil; k++ {
			d.arrayRange(3, 3, "stamp")
			var s crdt.Stamp
			s.Wall = addWall(d, wall, d.int())
			s.Logical = uint32(d.uintMax(math.MaxUint32, "logical counter"))
			s.Node = node()
			m.Seen = append(m.Seen, s)
		}
		empty = ns == 0
	}
	if n > 6 {
		m.Into = d.text(crdt.MaxNameLen)
		empty = m.Into == ""
	}
	if n > 1 && empty {
		d.fail("mutation ends with an empty element (not the canonical form)")
	}
}
