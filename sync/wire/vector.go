package wire

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"carenode/crdt"
)

// Digest identifies a version vector: SHA-256 of its canonical encoding.
// Two nodes with equal digests hold equal vectors, which is how an idle sync
// learns "nothing new" without either side sending its vector.
type Digest [32]byte

// IsZero reports whether d is the zero digest, which on the wire means "no
// base: the delta is the whole vector".
func (d Digest) IsZero() bool { return d == Digest{} }

func (d Digest) String() string { return hex.EncodeToString(d[:8]) }

// digestDomain keeps a vector digest from colliding with any other hash of
// the same bytes.
const digestDomain = "carenode sync vector v1\x00"

// DigestOf returns the digest of v: SHA-256 over a domain string and the
// CBOR array of [origin, seq] pairs sorted by origin, zero entries left out.
func DigestOf(v crdt.Vector) Digest {
	var e enc
	e.b = append(e.b, digestDomain...)
	origins := nonZero(v)
	e.array(len(origins))
	for _, o := range origins {
		e.array(2)
		e.text(string(o))
		e.uint(v[o])
	}
	return sha256.Sum256(e.b)
}

func nonZero(v crdt.Vector) []crdt.NodeID {
	origins := make([]crdt.NodeID, 0, len(v))
	for o, n := range v {
		if n != 0 {
			origins = append(origins, o)
		}
	}
	slices.Sort(origins)
	return origins
}

// Entry is one origin's sequence in a vector delta. Seq 0 means the origin
// is absent from the target vector.
type Entry struct {
	Origin crdt.NodeID
	Seq    uint64
}

// VectorDelta describes a vector as the changes from a base vector that the
// receiving side holds: with equal vectors it is two digests and no entries.
type VectorDelta struct {
	// Base is the digest of the vector the delta applies to; zero means the
	// empty vector, so Entries is the whole vector.
	Base Digest
	// Entries lists, sorted by origin, every origin whose sequence differs
	// from the base.
	Entries []Entry
	// Digest is the digest of the described vector, checked after applying.
	Digest Digest
}

// Delta returns v described against base (whose digest is baseDigest, or
// zero for the empty base, in which case base must be empty).
func Delta(v, base crdt.Vector, baseDigest Digest) VectorDelta {
	d := VectorDelta{Base: baseDigest, Digest: DigestOf(v)}
	seen := map[crdt.NodeID]bool{}
	for o, n := range v {
		seen[o] = true
		if n != base[o] {
			d.Entries = append(d.Entries, Entry{o, n})
		}
	}
	for o, n := range base {
		if !seen[o] && n != 0 {
			d.Entries = append(d.Entries, Entry{o, 0})
		}
	}
	slices.SortFunc(d.Entries, func(a, b Entry) int { return cmpNode(a.Origin, b.Origin) })
	return d
}

// FullDelta describes v against the empty vector.
func FullDelta(v crdt.Vector) VectorDelta { return Delta(v, nil, Digest{}) }

// Apply rebuilds the vector d describes from base, which must be the vector
// whose digest is d.Base (nil for a zero Base), and checks its digest.
func (d VectorDelta) Apply(base crdt.Vector) (crdt.Vector, error) {
	v := crdt.Vector{}
	if !d.Base.IsZero() {
		for o, n := range base {
			if n != 0 {
				v[o] = n
			}
		}
	}
	for _, e := range d.Entries {
		if e.Seq == 0 {
			delete(v, e.Origin)
		} else {
			v[e.Origin] = e.Seq
		}
	}
	if got := DigestOf(v); got != d.Digest {
		return nil, fmt.Errorf("%w: rebuilt %s, sender said %s", ErrDigest, got, d.Digest)
	}
	return v, nil
}

func cmpNode(a, b crdt.NodeID) int { return bytes.Compare([]byte(a), []byte(b)) }

// MaxVectorEntries bounds the origins in a vector from a peer. A network of
// a county has tens of nodes; incarnations after restores add a few more.
const MaxVectorEntries = 1 << 14

func (d VectorDelta) encode(e *enc) {
	e.array(3)
	if d.Base.IsZero() {
		e.bytes(nil)
	} else {
		e.bytes(d.Base[:])
	}
	e.array(len(d.Entries))
	for _, en := range d.Entries {
		e.array(2)
		e.text(string(en.Origin))
		e.uint(en.Seq)
	}
	e.bytes(d.Digest[:])
}

func (d *dec) digest(allowEmpty bool) Digest {
	var g Digest
	p := d.bytes(len(g))
	if d.err != nil {
		return g
	}
	switch {
	case len(p) == len(g):
		copy(g[:], p)
		if g.IsZero() {
			d.fail("zero digest")
		}
	case len(p) == 0 && allowEmpty:
	default:
		d.fail("digest of %d bytes", len(p))
	}
	return g
}

func (d *dec) vectorDelta() VectorDelta {
	var v VectorDelta
	d.arrayRange(3, 3, "vector")
	v.Base = d.digest(true)
	n := d.array(MaxVectorEntries)
	if n > 0 {
		v.Entries = make([]Entry, 0, n)
	}
	for i := 0; i < n && d.err == nil; i++ {
		d.arrayRange(2, 2, "vector entry")
		o := crdt.NodeID(d.text(crdt.MaxNameLen))
		seq := d.uint()
		if d.err != nil {
			break
		}
		if !crdt.ValidName(string(o)) {
			d.fail("bad origin %q", o)
			break
		}
		if i > 0 && cmpNode(v.Entries[i-1].Origin, o) >= 0 {
			d.fail("vector entries not sorted or repeated at %q", o)
			break
		}
		v.Entries = append(v.Entries, Entry{o, seq})
	}
	v.Digest = d.digest(false)
	return v
}
