package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"
	"slices"
	"sync"
	"unicode/utf8"

	"carenode/crdt"
)

// The store encodes and decodes every record and change it touches, so the
// reflective CBOR library was most of the cost of applying a remote batch.
// This file writes the two hot types, crdt.Record and crdt.Change, by hand:
//
//   - The encoder produces exactly the bytes the library's core
//     deterministic mode produces (integer keys in order, omitempty as the
//     struct tags say, text map keys sorted length first, nil containers as
//     null), so files written before and after are alike and equal states
//     stay equal bytes. TestFastCodecMatchesLibrary checks it.
//   - The decoder reads only that canonical form. Anything else (another
//     key order, a non-shortest length, an unknown key, null, an empty
//     container, bad UTF-8, trailing bytes …) makes it give up, and the
//     library decodes the value instead, with its limits and its errors.
//     So the fast path never accepts what the library would refuse, and
//     FuzzFastDecode checks that it decodes to the same value.
//
// TestFastCodecKnowsEveryField fails when a crdt type gains a field this file
// does not write.

// CBOR major types.
const (
	majUint  = 0
	majNeg   = 1
	majBytes = 2
	majText  = 3
	majArray = 4
	majMap   = 5
)

// cborNull is the simple value null.
const cborNull = 0xf6

// maxFastItems mirrors the decoder's MaxArrayElements and MaxMapPairs: a
// longer container is left to the library, which refuses it.
const maxFastItems = 1 << 20

// fastEnc appends canonical CBOR to b.
type fastEnc struct {
	b    []byte
	keys [4][8]string // scratch for sortedKeys, one per map nesting level
}

func (e *fastEnc) head(major byte, n uint64) {
	m := major << 5
	switch {
	case n < 24:
		e.b = append(e.b, m|byte(n))
	case n <= math.MaxUint8:
		e.b = append(e.b, m|24, byte(n))
	case n <= math.MaxUint16:
		e.b = binary.BigEndian.AppendUint16(append(e.b, m|25), uint16(n))
	case n <= math.MaxUint32:
		e.b = binary.BigEndian.AppendUint32(append(e.b, m|26), uint32(n))
	default:
		e.b = binary.BigEndian.AppendUint64(append(e.b, m|27), n)
	}
}

func (e *fastEnc) int(n int64) {
	if n < 0 {
		e.head(majNeg, uint64(-1-n))
		return
	}
	e.head(majUint, uint64(n))
}

func (e *fastEnc) text(s string) {
	e.head(majText, uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *fastEnc) bytes(p []byte) {
	e.head(majBytes, uint64(len(p)))
	e.b = append(e.b, p...)
}

// count returns how many of the given omitempty conditions hold, plus fixed.
func count(fixed int, present ...bool) uint64 {
	n := fixed
	for _, p := range present {
		if p {
			n++
		}
	}
	return uint64(n)
}

func (e *fastEnc) stamp(s crdt.Stamp) {
	e.head(majMap, count(2, s.Logical != 0))
	e.head(majUint, 1)
	e.int(s.Wall)
	if s.Logical != 0 {
		e.head(majUint, 2)
		e.head(majUint, uint64(s.Logical))
	}
	e.head(majUint, 3)
	e.text(string(s.Node))
}

// stamps writes a []Stamp that is not omitted: nil is null.
func (e *fastEnc) stamps(s []crdt.Stamp) {
	if s == nil {
		e.b = append(e.b, cborNull)
		return
	}
	e.head(majArray, uint64(len(s)))
	for _, x := range s {
		e.stamp(x)
	}
}

// sortedKeys returns m's keys in the order core deterministic encoding
// sorts their encodings: shorter first, then bytewise. buf is scratch space
// for small maps.
func sortedKeys[V any](m map[string]V, buf *[8]string) []string {
	keys := buf[:0]
	if len(m) > len(buf) {
		keys = make([]string, 0, len(m))
	}
	for k := range m {
		keys = append(keys, k)
	}
	if len(keys) > 1 {
		slices.SortFunc(keys, compareKeys)
	}
	return keys
}

func compareKeys(a, b string) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return cmp.Compare(a, b)
}

func (e *fastEnc) register(r *crdt.Register) {
	if r == nil {
		e.b = append(e.b, cborNull)
		return
	}
	e.head(majMap, count(0, len(r.Values) > 0, len(r.Superseded) > 0))
	if len(r.Values) > 0 {
		e.head(majUint, 1)
		e.head(majArray, uint64(len(r.Values)))
		for _, v := range r.Values {
			e.head(majMap, count(1, len(v.Value) > 0))
			e.head(majUint, 1)
			e.stamp(v.Stamp)
			if len(v.Value) > 0 {
				e.head(majUint, 2)
				e.bytes(v.Value)
			}
		}
	}
	if len(r.Superseded) > 0 {
		e.head(majUint, 2)
		e.stamps(r.Superseded)
	}
}

func (e *fastEnc) tagMap(m map[string][]crdt.Stamp) {
	e.head(majMap, uint64(len(m)))
	for _, k := range sortedKeys(m, &e.keys[2]) {
		e.text(k)
		e.stamps(m[k])
	}
}

func (e *fastEnc) orset(s *crdt.ORSet) {
	if s == nil {
		e.b = append(e.b, cborNull)
		return
	}
	e.head(majMap, count(0, len(s.Adds) > 0, len(s.Removed) > 0))
	if len(s.Adds) > 0 {
		e.head(majUint, 1)
		e.tagMap(s.Adds)
	}
	if len(s.Removed) > 0 {
		e.head(majUint, 2)
		e.tagMap(s.Removed)
	}
}

func (e *fastEnc) facts(l map[string]crdt.Fact) {
	if l == nil {
		e.b = append(e.b, cborNull)
		return
	}
	e.head(majMap, uint64(len(l)))
	for _, id := range sortedKeys(l, &e.keys[3]) {
		f := l[id]
		e.text(id)
		e.head(majMap, count(1, len(f.Value) > 0))
		e.head(majUint, 1)
		e.stamp(f.Stamp)
		if len(f.Value) > 0 {
			e.head(majUint, 2)
			e.bytes(f.Value)
		}
	}
}

func (e *fastEnc) record(r *crdt.Record) { e.recordWith(r, nil) }

// recordWith writes r with, in its field maps, the entries of kept (as
// stored, not decoded) beside r's own. No key may be in both.
func (e *fastEnc) recordWith(r *crdt.Record, kept *keptEntries) {
	if kept == nil {
		kept = &keptEntries{}
	}
	nf, ns, nx := len(r.Fields)+len(kept[0]), len(r.Sets)+len(kept[1]), len(r.Facts)+len(kept[2])
	e.head(majMap, count(2, nf > 0, ns > 0, nx > 0,
		len(r.Deletes) > 0, len(r.Restored) > 0, len(r.MergedTo) > 0))
	e.head(majUint, 1)
	e.stamp(r.First)
	e.head(majUint, 2)
	e.stamp(r.Last)
	if nf > 0 {
		e.head(majUint, 3)
		e.head(majMap, uint64(nf))
		rest := kept[0]
		for _, k := range sortedKeys(r.Fields, &e.keys[0]) {
			rest = e.keptBefore(rest, k)
			e.text(k)
			e.register(r.Fields[k])
		}
		e.keptAll(rest)
	}
	if ns > 0 {
		e.head(majUint, 4)
		e.head(majMap, uint64(ns))
		rest := kept[1]
		for _, k := range sortedKeys(r.Sets, &e.keys[0]) {
			rest = e.keptBefore(rest, k)
			e.text(k)
			e.orset(r.Sets[k])
		}
		e.keptAll(rest)
	}
	if nx > 0 {
		e.head(majUint, 5)
		e.head(majMap, uint64(nx))
		rest := kept[2]
		for _, k := range sortedKeys(r.Facts, &e.keys[0]) {
			rest = e.keptBefore(rest, k)
			e.text(k)
			e.facts(r.Facts[k])
		}
		e.keptAll(rest)
	}
	if len(r.Deletes) > 0 {
		e.head(majUint, 6)
		e.stamps(r.Deletes)
	}
	if len(r.Restored) > 0 {
		e.head(majUint, 7)
		e.stamps(r.Restored)
	}
	if len(r.MergedTo) > 0 {
		e.head(majUint, 8)
		e.head(majArray, uint64(len(r.MergedTo)))
		for _, m := range r.MergedTo {
			e.head(majMap, 3)
			e.head(majUint, 1)
			e.text(m.From)
			e.head(majUint, 2)
			e.text(m.Into)
			e.head(majUint, 3)
			e.stamp(m.Stamp)
		}
	}
}

// keptBefore writes the entries of kept whose keys sort before key and
// returns the others.
func (e *fastEnc) keptBefore(kept []keptEntry, key string) []keptEntry {
	for len(kept) > 0 && compareKeys(string(kept[0].key), key) < 0 {
		e.b = append(e.b, kept[0].raw...)
		kept = kept[1:]
	}
	return kept
}

// keptAll writes the entries of kept.
func (e *fastEnc) keptAll(kept []keptEntry) {
	for _, k := range kept {
		e.b = append(e.b, k.raw...)
	}
}

func (e *fastEnc) mutation(m *crdt.Mutation) {
	e.head(majMap, count(1, m.Field != "", len(m.Value) > 0, m.Elem != "", m.FactID != "", len(m.Seen) > 0, m.Into != ""))
	e.head(majUint, 1)
	e.head(majUint, uint64(m.Kind))
	if m.Field != "" {
		e.head(majUint, 2)
		e.text(m.Field)
	}
	if len(m.Value) > 0 {
		e.head(majUint, 3)
		e.bytes(m.Value)
	}
	if m.Elem != "" {
		e.head(majUint, 4)
		e.text(m.Elem)
	}
	if m.FactID != "" {
		e.head(majUint, 5)
		e.text(m.FactID)
	}
	if len(m.Seen) > 0 {
		e.head(majUint, 6)
		e.stamps(m.Seen)
	}
	if m.Into != "" {
		e.head(majUint, 7)
		e.text(m.Into)
	}
}

func (e *fastEnc) change(c *crdt.Change) {
	e.head(majMap, 6)
	e.head(majUint, 1)
	e.text(string(c.Origin))
	e.head(majUint, 2)
	e.head(majUint, c.Seq)
	e.head(majUint, 3)
	e.stamp(c.Stamp)
	e.head(majUint, 4)
	e.text(c.Collection)
	e.head(majUint, 5)
	e.text(c.Record)
	e.head(majUint, 6)
	if c.Muts == nil {
		e.b = append(e.b, cborNull)
		return
	}
	e.head(majArray, uint64(len(c.Muts)))
	for i := range c.Muts {
		e.mutation(&c.Muts[i])
	}
}

// fastDec reads the canonical form fastEnc writes. Any deviation sets bad;
// the caller then hands the bytes to the library. Its methods return zero
// values once bad is set, so callers check it once at the end.
type fastDec struct {
	b   []byte
	i   int
	bad bool
	// nodes holds the node names of the stamps read so far: a record's
	// stamps name a handful of nodes many times over, and sharing one
	// string each spares an allocation per stamp.
	nodes [4]crdt.NodeID
	// vals is where byte strings are copied to: one allocation for all of
	// a value's byte strings rather than one each.
	vals []byte
	// parts, if set, names the only entries of a record's field maps to
	// decode; the others go to kept, undecoded.
	parts *recordParts
	kept  *keptEntries
}

// head reads an item's header in shortest form.
func (d *fastDec) head() (major byte, n uint64) {
	if d.bad || d.i >= len(d.b) {
		d.bad = true
		return 0, 0
	}
	ib := d.b[d.i]
	d.i++
	major, ai := ib>>5, ib&31
	var size int
	switch {
	case ai < 24:
		return major, uint64(ai)
	case ai == 24:
		size = 1
	case ai == 25:
		size = 2
	case ai == 26:
		size = 4
	case ai == 27:
		size = 8
	default: // indefinite length, simple values, reserved
		d.bad = true
		return 0, 0
	}
	if len(d.b)-d.i < size {
		d.bad = true
		return 0, 0
	}
	p := d.b[d.i : d.i+size]
	d.i += size
	var min uint64
	switch size {
	case 1:
		n, min = uint64(p[0]), 24
	case 2:
		n, min = uint64(binary.BigEndian.Uint16(p)), math.MaxUint8+1
	case 4:
		n, min = uint64(binary.BigEndian.Uint32(p)), math.MaxUint16+1
	case 8:
		n, min = binary.BigEndian.Uint64(p), math.MaxUint32+1
	}
	if n < min {
		d.bad = true
	}
	return major, n
}

// expect reads a header of the given major type.
func (d *fastDec) expect(major byte) uint64 {
	m, n := d.head()
	if m != major {
		d.bad = true
		return 0
	}
	return n
}

// items reads the header of a non-empty array or map small enough to
// allocate for: every item takes at least one byte, so n is bounded by
// what is left.
func (d *fastDec) items(major byte) int {
	n := d.expect(major)
	if d.bad || n == 0 || n > maxFastItems || n > uint64(len(d.b)-d.i) {
		d.bad = true
		return 0
	}
	return int(n)
}

// raw reads a string's content, still in the caller's buffer.
func (d *fastDec) raw(major byte) []byte {
	n := d.expect(major)
	if d.bad || n > uint64(len(d.b)-d.i) {
		d.bad = true
		return nil
	}
	p := d.b[d.i : d.i+int(n)]
	d.i += int(n)
	return p
}

func (d *fastDec) text() string {
	p := d.raw(majText)
	if !utf8.Valid(p) {
		d.bad = true
		return ""
	}
	return string(p)
}

// bytes reads a non-empty byte string into new memory: the caller's buffer
// is bbolt's and goes away with the transaction.
func (d *fastDec) bytes() []byte {
	p := d.raw(majBytes)
	if len(p) == 0 {
		d.bad = true
		return nil
	}
	if cap(d.vals)-len(d.vals) < len(p) {
		// Room for every byte string still to come: they are no longer
		// than the rest of the input.
		d.vals = make([]byte, 0, len(p)+len(d.b)-d.i)
	}
	i := len(d.vals)
	d.vals = append(d.vals, p...)
	return d.vals[i:len(d.vals):len(d.vals)]
}

// node reads a stamp's node name, reusing the string of an equal name read
// before.
func (d *fastDec) node() crdt.NodeID {
	p := d.raw(majText)
	for _, n := range d.nodes {
		if n != "" && string(n) == string(p) {
			return n
		}
	}
	if !utf8.Valid(p) {
		d.bad = true
		return ""
	}
	n := crdt.NodeID(p)
	copy(d.nodes[1:], d.nodes[:])
	d.nodes[0] = n
	return n
}

func (d *fastDec) uint() uint64 { return d.expect(majUint) }

func (d *fastDec) int() int64 {
	m, n := d.head()
	switch {
	case d.bad || n > math.MaxInt64:
		d.bad = true
		return 0
	case m == majUint:
		return int64(n)
	case m == majNeg:
		return -1 - int64(n)
	}
	d.bad = true
	return 0
}

// fields walks a struct map: next returns each key, which must be one of
// the known ones and larger than the one before.
type fields struct {
	d    *fastDec
	left int
	last uint64
}

func (d *fastDec) fields() fields {
	return fields{d: d, left: d.items(majMap)}
}

func (f *fields) next(maxKey uint64) (uint64, bool) {
	if f.left == 0 || f.d.bad {
		return 0, false
	}
	f.left--
	k := f.d.uint()
	if k <= f.last || k > maxKey {
		f.d.bad = true
		return 0, false
	}
	f.last = k
	return k, true
}

// keys walks a text-keyed map in canonical key order.
type keys struct {
	d    *fastDec
	left int
	last []byte
	n    int
}

func (d *fastDec) keys() keys {
	k := keys{d: d, left: d.items(majMap)}
	k.n = k.left
	return k
}

func (k *keys) next() (string, bool) {
	p, ok := k.nextRaw()
	if !ok {
		return "", false
	}
	return string(p), true
}

// nextRaw is next without making a string: the key as it is in the input.
func (k *keys) nextRaw() ([]byte, bool) {
	if k.left == 0 || k.d.bad {
		return nil, false
	}
	first := k.left == k.n
	k.left--
	p := k.d.raw(majText)
	if k.d.bad || !utf8.Valid(p) || (!first && compareKeyBytes(k.last, p) >= 0) {
		k.d.bad = true
		return nil, false
	}
	k.last = p
	return p, true
}

// compareKeyBytes is compareKeys for keys still in their input bytes.
func compareKeyBytes(a, b []byte) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return bytes.Compare(a, b)
}

func (d *fastDec) stamp() crdt.Stamp {
	var s crdt.Stamp
	f := d.fields()
	for k, ok := f.next(3); ok; k, ok = f.next(3) {
		switch k {
		case 1:
			s.Wall = d.int()
		case 2:
			n := d.uint()
			if n == 0 || n > math.MaxUint32 {
				d.bad = true
			}
			s.Logical = uint32(n)
		case 3:
			s.Node = d.node()
		}
	}
	return s
}

func (d *fastDec) stamps() []crdt.Stamp {
	n := d.items(majArray)
	if d.bad {
		return nil
	}
	out := make([]crdt.Stamp, n)
	for i := range out {
		out[i] = d.stamp()
	}
	return out
}

// register reads a register into r.
func (d *fastDec) register(r *crdt.Register) {
	f := d.fields()
	for k, ok := f.next(2); ok; k, ok = f.next(2) {
		switch k {
		case 1:
			n := d.items(majArray)
			if d.bad {
				return
			}
			r.Values = make([]crdt.Entry, n)
			for i := range r.Values {
				r.Values[i].Stamp, r.Values[i].Value = d.stampValue()
			}
		case 2:
			r.Superseded = d.stamps()
		}
	}
}

// stampValue reads an Entry or a Fact: {1: stamp, 2?: bytes}.
func (d *fastDec) stampValue() (crdt.Stamp, []byte) {
	var s crdt.Stamp
	var v []byte
	f := d.fields()
	for k, ok := f.next(2); ok; k, ok = f.next(2) {
		switch k {
		case 1:
			s = d.stamp()
		case 2:
			v = d.bytes()
		}
	}
	return s, v
}

func (d *fastDec) tagMap() map[string][]crdt.Stamp {
	k := d.keys()
	m := make(map[string][]crdt.Stamp, k.left)
	for key, ok := k.next(); ok; key, ok = k.next() {
		m[key] = d.stamps()
	}
	return m
}

func (d *fastDec) orset() *crdt.ORSet {
	s := &crdt.ORSet{}
	f := d.fields()
	for k, ok := f.next(2); ok; k, ok = f.next(2) {
		switch k {
		case 1:
			s.Adds = d.tagMap()
		case 2:
			s.Removed = d.tagMap()
		}
	}
	return s
}

func (d *fastDec) record(r *crdt.Record) {
	f := d.fields()
	for k, ok := f.next(8); ok; k, ok = f.next(8) {
		if d.parts != nil && k >= 3 && k <= 5 {
			d.partialMap(r, int(k-3))
			continue
		}
		switch k {
		case 1:
			r.First = d.stamp()
		case 2:
			r.Last = d.stamp()
		case 3:
			ks := d.keys()
			r.Fields = make(map[string]*crdt.Register, ks.left)
			regs := make([]crdt.Register, ks.left) // one allocation for all
			for i := 0; ; i++ {
				key, ok := ks.next()
				if !ok {
					break
				}
				d.register(&regs[i])
				r.Fields[key] = &regs[i]
			}
		case 4:
			ks := d.keys()
			r.Sets = make(map[string]*crdt.ORSet, ks.left)
			for key, ok := ks.next(); ok; key, ok = ks.next() {
				r.Sets[key] = d.orset()
			}
		case 5:
			ks := d.keys()
			r.Facts = make(map[string]map[string]crdt.Fact, ks.left)
			for key, ok := ks.next(); ok; key, ok = ks.next() {
				ids := d.keys()
				l := make(map[string]crdt.Fact, ids.left)
				for id, ok := ids.next(); ok; id, ok = ids.next() {
					var fact crdt.Fact
					fact.Stamp, fact.Value = d.stampValue()
					l[id] = fact
				}
				r.Facts[key] = l
			}
		case 6:
			r.Deletes = d.stamps()
		case 7:
			r.Restored = d.stamps()
		case 8:
			n := d.items(majArray)
			if d.bad {
				return
			}
			r.MergedTo = make([]crdt.MergeEdge, n)
			for i := range r.MergedTo {
				e := &r.MergedTo[i]
				ef := d.fields()
				for k, ok := ef.next(3); ok; k, ok = ef.next(3) {
					switch k {
					case 1:
						e.From = d.text()
					case 2:
						e.Into = d.text()
					case 3:
						e.Stamp = d.stamp()
					}
				}
			}
		}
	}
}

// recordParts names, for each field map of a record (0 Fields, 1 Sets,
// 2 Facts), the entries some changes write. crdt.Record.Apply reads and
// changes only those entries, besides First, Last, Deletes, Restored and
// MergedTo, so a record decoded with just them (and the rest kept as
// stored, see keptEntries) takes the changes as the whole record would.
type recordParts [3][]string

// note adds the entries c writes.
func (p *recordParts) note(c *crdt.Change) {
	for i := range c.Muts {
		m := &c.Muts[i]
		switch m.Kind {
		case crdt.MutSet:
			p.add(0, m.Field)
		case crdt.MutAdd, crdt.MutRemove:
			p.add(1, m.Field)
		case crdt.MutFact:
			p.add(2, m.Field)
		}
	}
}

func (p *recordParts) add(m int, key string) {
	if !slices.Contains(p[m], key) {
		p[m] = append(p[m], key)
	}
}

func (p *recordParts) has(m int, key []byte) bool {
	for _, k := range p[m] {
		if k == string(key) {
			return true
		}
	}
	return false
}

// keptEntries are the entries of a record's field maps left undecoded, in
// stored order: each entry's key and its bytes (key and value) as stored.
type keptEntries [3][]keptEntry

type keptEntry struct{ key, raw []byte }

// partialMap reads field map m (0 Fields, 1 Sets, 2 Facts) of r, decoding
// only the entries d.parts names and keeping the others' bytes. A kept
// entry is still checked as the whole decoder would check it (skim), so
// the fast path takes exactly what it takes, damage included.
func (d *fastDec) partialMap(r *crdt.Record, m int) {
	ks := d.keys()
	if d.kept[m] == nil && ks.left > 0 {
		d.kept[m] = make([]keptEntry, 0, ks.left)
	}
	for {
		start := d.i
		key, ok := ks.nextRaw()
		if !ok {
			return
		}
		if !d.parts.has(m, key) {
			switch m {
			case 0:
				d.skimRegister()
			case 1:
				d.skimORSet()
			case 2:
				d.skimFacts()
			}
			d.kept[m] = append(d.kept[m], keptEntry{key: key, raw: d.b[start:d.i]})
			continue
		}
		k := string(key)
		switch m {
		case 0:
			if r.Fields == nil {
				r.Fields = map[string]*crdt.Register{}
			}
			reg := &crdt.Register{}
			d.register(reg)
			r.Fields[k] = reg
		case 1:
			if r.Sets == nil {
				r.Sets = map[string]*crdt.ORSet{}
			}
			r.Sets[k] = d.orset()
		case 2:
			if r.Facts == nil {
				r.Facts = map[string]map[string]crdt.Fact{}
			}
			ids := d.keys()
			l := make(map[string]crdt.Fact, ids.left)
			for id, ok := ids.next(); ok; id, ok = ids.next() {
				var fact crdt.Fact
				fact.Stamp, fact.Value = d.stampValue()
				l[id] = fact
			}
			r.Facts[k] = l
		}
	}
}

// The skim methods check what the matching decoding methods check, and
// allocate nothing.

func (d *fastDec) skimText() {
	if p := d.raw(majText); !utf8.Valid(p) {
		d.bad = true
	}
}

func (d *fastDec) skimStamp() {
	f := d.fields()
	for k, ok := f.next(3); ok; k, ok = f.next(3) {
		switch k {
		case 1:
			d.int()
		case 2:
			if n := d.uint(); n == 0 || n > math.MaxUint32 {
				d.bad = true
			}
		case 3:
			d.skimText()
		}
	}
}

func (d *fastDec) skimStamps() {
	for range d.items(majArray) {
		d.skimStamp()
	}
}

func (d *fastDec) skimStampValue() {
	f := d.fields()
	for k, ok := f.next(2); ok; k, ok = f.next(2) {
		switch k {
		case 1:
			d.skimStamp()
		case 2:
			if len(d.raw(majBytes)) == 0 {
				d.bad = true
			}
		}
	}
}

func (d *fastDec) skimRegister() {
	f := d.fields()
	for k, ok := f.next(2); ok; k, ok = f.next(2) {
		switch k {
		case 1:
			for range d.items(majArray) {
				d.skimStampValue()
			}
		case 2:
			d.skimStamps()
		}
	}
}

func (d *fastDec) skimORSet() {
	f := d.fields()
	for _, ok := f.next(2); ok; _, ok = f.next(2) {
		k := d.keys()
		for _, ok := k.nextRaw(); ok; _, ok = k.nextRaw() {
			d.skimStamps()
		}
	}
}

func (d *fastDec) skimFacts() {
	k := d.keys()
	for _, ok := k.nextRaw(); ok; _, ok = k.nextRaw() {
		d.skimStampValue()
	}
}

func (d *fastDec) mutation(m *crdt.Mutation) {
	f := d.fields()
	for k, ok := f.next(7); ok; k, ok = f.next(7) {
		switch k {
		case 1:
			n := d.uint()
			if n > math.MaxUint8 {
				d.bad = true
			}
			m.Kind = crdt.MutKind(n)
		case 2:
			m.Field = d.nonEmptyText()
		case 3:
			m.Value = d.bytes()
		case 4:
			m.Elem = d.nonEmptyText()
		case 5:
			m.FactID = d.nonEmptyText()
		case 6:
			m.Seen = d.stamps()
		case 7:
			m.Into = d.nonEmptyText()
		}
	}
}

// nonEmptyText reads an omitempty string: present means not empty.
func (d *fastDec) nonEmptyText() string {
	s := d.text()
	if s == "" {
		d.bad = true
	}
	return s
}

func (d *fastDec) change(c *crdt.Change) {
	f := d.fields()
	for k, ok := f.next(6); ok; k, ok = f.next(6) {
		switch k {
		case 1:
			c.Origin = crdt.NodeID(d.text())
		case 2:
			c.Seq = d.uint()
		case 3:
			c.Stamp = d.stamp()
		case 4:
			c.Collection = d.text()
		case 5:
			c.Record = d.text()
		case 6:
			n := d.items(majArray)
			if d.bad {
				return
			}
			c.Muts = make([]crdt.Mutation, n)
			for i := range c.Muts {
				d.mutation(&c.Muts[i])
			}
		}
	}
}

// done reports whether the whole input was read without a deviation.
func (d *fastDec) done() bool { return !d.bad && d.i == len(d.b) }

// encPool holds encoders whose buffers have grown to a typical value's size,
// so encoding allocates only the returned slice.
var encPool = sync.Pool{New: func() any { return &fastEnc{b: make([]byte, 0, 1024)} }}

// encodeFast returns v's stored form (format byte and CBOR) and true if v
// is a type this file writes.
func encodeFast(v any) ([]byte, bool) {
	return encodeFastTo(nil, v)
}

// encodeFastTo is encodeFast with the result carved from a (a fresh slice
// when a is nil).
func encodeFastTo(a *arena, v any) ([]byte, bool) {
	e := encPool.Get().(*fastEnc)
	defer encPool.Put(e)
	e.b = append(e.b[:0], formatV1)
	switch v := v.(type) {
	case *crdt.Record:
		e.record(v)
	case *crdt.Change:
		e.change(v)
	default:
		return nil, false
	}
	// bbolt keeps the slice until the transaction commits: give it its own.
	if a == nil {
		return slices.Clone(e.b), true
	}
	return a.copy(e.b), true
}

// decodeRecordPart decodes stored record b (format byte included) into r
// as far as parts names: the entries of its field maps that parts does not
// name go undecoded into kept, to be written back as they are by
// encodeRecordTo. It returns false, r and kept untouched, for anything but
// this file's canonical form; decode the whole record then.
func decodeRecordPart(b []byte, parts *recordParts, r *crdt.Record, kept *keptEntries) bool {
	if len(b) == 0 || b[0] != formatV1 {
		return false
	}
	var k keptEntries
	d := fastDec{b: b[1:], parts: parts, kept: &k}
	var out crdt.Record
	if d.record(&out); !d.done() {
		return false
	}
	*r, *kept = out, k
	return true
}

// encodeRecordTo writes r's stored form into a, with the entries kept from
// decodeRecordPart (nil for none).
func encodeRecordTo(a *arena, r *crdt.Record, kept *keptEntries) []byte {
	e := encPool.Get().(*fastEnc)
	defer encPool.Put(e)
	e.b = append(e.b[:0], formatV1)
	e.recordWith(r, kept)
	return a.copy(e.b)
}

// decodeFast decodes the CBOR in b (format byte already stripped) into v if
// v is a type this file reads and b is in canonical form. On false v is
// untouched.
func decodeFast(b []byte, v any) bool {
	d := fastDec{b: b}
	switch v := v.(type) {
	case *crdt.Record:
		var r crdt.Record
		if d.record(&r); d.done() {
			*v = r
			return true
		}
	case *crdt.Change:
		var c crdt.Change
		if d.change(&c); d.done() {
			*v = c
			return true
		}
	}
	return false
}
