package crdt

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// NodeID names the replica that made a change. The node package derives it
// from the node's public key; here it is only an opaque, comparable string
// used as the final tie-break between stamps.
type NodeID string

// Stamp is a hybrid logical clock reading: wall milliseconds, a logical
// counter for events within one millisecond, and the node that made it.
// Stamps made by one node are strictly increasing, so a stamp also names the
// change that carries it uniquely across the whole network.
type Stamp struct {
	Wall    int64  `cbor:"1,keyasint" json:"wall"`
	Logical uint32 `cbor:"2,keyasint,omitempty" json:"logical,omitempty"`
	Node    NodeID `cbor:"3,keyasint" json:"node"`
}

// Compare orders stamps by wall time, then logical counter, then node ID.
// It returns -1, 0 or +1.
func (s Stamp) Compare(o Stamp) int {
	switch {
	case s.Wall < o.Wall:
		return -1
	case s.Wall > o.Wall:
		return 1
	case s.Logical < o.Logical:
		return -1
	case s.Logical > o.Logical:
		return 1
	}
	return strings.Compare(string(s.Node), string(o.Node))
}

// Less reports whether s sorts before o.
func (s Stamp) Less(o Stamp) bool { return s.Compare(o) < 0 }

// IsZero reports whether s is the zero stamp.
func (s Stamp) IsZero() bool { return s == Stamp{} }

// String formats s as WALL.LOGICAL@NODE, the form the HTTP API uses.
func (s Stamp) String() string {
	return strconv.FormatInt(s.Wall, 10) + "." + strconv.FormatUint(uint64(s.Logical), 10) + "@" + string(s.Node)
}

// MarshalText implements encoding.TextMarshaler. The zero stamp ("no stamp
// yet", e.g. a fresh store's clock) marshals to the empty string so that it
// survives a round trip through JSON.
func (s Stamp) MarshalText() ([]byte, error) {
	if s.IsZero() {
		return []byte{}, nil
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler. The empty string is the
// zero stamp; anything else must be accepted by [ParseStamp].
func (s *Stamp) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*s = Stamp{}
		return nil
	}
	p, err := ParseStamp(string(b))
	if err != nil {
		return err
	}
	*s = p
	return nil
}

// ParseStamp parses the WALL.LOGICAL@NODE form made by [Stamp.String]. Only
// that canonical form is accepted: decimal digits with no sign and no leading
// zeros, and a node ID that passes [ValidName]. So every stamp has exactly
// one text, and a parsed stamp can appear in a valid change.
func ParseStamp(text string) (Stamp, error) {
	clock, node, ok := strings.Cut(text, "@")
	if !ok || !ValidName(node) {
		return Stamp{}, fmt.Errorf("stamp %q: %w: want WALL.LOGICAL@NODE with a valid node id", text, ErrBadStamp)
	}
	wallText, logicalText, ok := strings.Cut(clock, ".")
	if !ok {
		return Stamp{}, fmt.Errorf("stamp %q: %w: want WALL.LOGICAL@NODE", text, ErrBadStamp)
	}
	wall, ok := parseDecimal(wallText, math.MaxInt64)
	if !ok {
		return Stamp{}, fmt.Errorf("stamp %q: %w: bad wall time", text, ErrBadStamp)
	}
	logical, ok := parseDecimal(logicalText, math.MaxUint32)
	if !ok {
		return Stamp{}, fmt.Errorf("stamp %q: %w: bad logical counter", text, ErrBadStamp)
	}
	return Stamp{Wall: int64(wall), Logical: uint32(logical), Node: NodeID(node)}, nil
}

// parseDecimal parses a canonical unsigned decimal (no sign, no leading zero
// unless the number is 0) no greater than limit.
func parseDecimal(s string, limit uint64) (uint64, bool) {
	if s == "" || len(s) > 20 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (limit-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// valid reports whether s could have been issued by a node: a node ID that
// passes ValidName and a wall time that is not negative.
func (s Stamp) valid() bool { return s.Wall >= 0 && ValidName(string(s.Node)) }

// stampSet helpers: stamp sets are kept as sorted, duplicate-free slices so
// that equal sets encode to equal bytes.

func sortStamps(s []Stamp) {
	// Insertion sort: the slices here are short (a field's concurrent values,
	// an element's add tags) and often already sorted.
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].Less(s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// normalStamps returns s sorted without duplicates, reusing its storage.
func normalStamps(s []Stamp) []Stamp {
	if len(s) < 2 {
		return s
	}
	sortStamps(s)
	out := s[:1]
	for _, x := range s[1:] {
		if x != out[len(out)-1] {
			out = append(out, x)
		}
	}
	return out
}

// searchStamps returns the index of x in the sorted slice s and whether it is
// there.
func searchStamps(s []Stamp, x Stamp) (int, bool) {
	if len(s) == 0 || s[len(s)-1].Less(x) {
		return len(s), false // the common case: x is newer than everything
	}
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m].Less(x) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(s) && s[lo] == x
}

func hasStamp(s []Stamp, x Stamp) bool {
	_, ok := searchStamps(s, x)
	return ok
}

// insertStamp adds x to the sorted slice s and reports whether it was new.
func insertStamp(s []Stamp, x Stamp) ([]Stamp, bool) {
	i, ok := searchStamps(s, x)
	if ok {
		return s, false
	}
	s = append(s, Stamp{})
	copy(s[i+1:], s[i:])
	s[i] = x
	return s, true
}

// subsetStamps reports whether every stamp of the sorted slice b is in the
// sorted slice a.
func subsetStamps(b, a []Stamp) bool {
	if len(b) > len(a) {
		return false
	}
	i := 0
	for _, x := range b {
		for i < len(a) && a[i].Less(x) {
			i++
		}
		if i == len(a) || a[i] != x {
			return false
		}
		i++
	}
	return true
}

// unionStamps returns the sorted union of two sorted slices. It returns a
// itself, not a copy, when b adds nothing to it.
func unionStamps(a, b []Stamp) []Stamp {
	if subsetStamps(b, a) {
		return a
	}
	out := make([]Stamp, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch c := a[i].Compare(b[j]); {
		case c < 0:
			out = append(out, a[i])
			i++
		case c > 0:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
