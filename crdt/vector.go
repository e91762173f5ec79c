package crdt

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Vector is a version vector: for each origin, the highest sequence number
// such that this replica holds every change 1..n from that origin.
type Vector map[NodeID]uint64

// Clone returns a copy of v.
func (v Vector) Clone() Vector {
	out := make(Vector, len(v))
	for k, n := range v {
		out[k] = n
	}
	return out
}

// Has reports whether v includes change seq of origin.
func (v Vector) Has(origin NodeID, seq uint64) bool { return seq <= v[origin] }

// Origins returns v's origins sorted.
func (v Vector) Origins() []NodeID {
	out := make([]NodeID, 0, len(v))
	for k := range v {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Covers reports whether v has everything o has.
func (v Vector) Covers(o Vector) bool {
	for k, n := range o {
		if v[k] < n {
			return false
		}
	}
	return true
}

// String formats v as ORIGIN:SEQ,ORIGIN:SEQ sorted by origin, the form used
// in the HTTP API's `after` parameter. Origins with sequence 0 are left out.
func (v Vector) String() string {
	var b strings.Builder
	for _, k := range v.Origins() {
		if v[k] == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(string(k))
		b.WriteByte(':')
		b.WriteString(strconv.FormatUint(v[k], 10))
	}
	return b.String()
}

// ParseVector parses the form made by [Vector.String]. The empty string is
// the empty vector. Spaces around entries are allowed; each origin must pass
// [ValidName] and appear once. Entries with sequence 0 say nothing and are
// left out, as String leaves them out, so parse -> String -> parse is
// lossless.
func ParseVector(text string) (Vector, error) {
	v := Vector{}
	if strings.TrimSpace(text) == "" {
		return v, nil
	}
	var zero map[NodeID]bool // origins named with sequence 0, for the duplicate check
	for part := range strings.SplitSeq(text, ",") {
		origin, seqText, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || !ValidName(origin) {
			return nil, fmt.Errorf("version vector entry %q: %w: want ORIGIN:SEQ with a valid origin", part, ErrBadVector)
		}
		seq, err := strconv.ParseUint(seqText, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("version vector entry %q: %w: bad sequence number", part, ErrBadVector)
		}
		id := NodeID(origin)
		if _, dup := v[id]; dup || zero[id] {
			return nil, fmt.Errorf("version vector entry %q: %w: origin named twice", part, ErrBadVector)
		}
		if seq == 0 {
			if zero == nil {
				zero = map[NodeID]bool{}
			}
			zero[id] = true
			continue
		}
		v[id] = seq
	}
	return v, nil
}
