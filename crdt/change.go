package crdt

import (
	"fmt"
	"unicode/utf8"
)

// MutKind says what a mutation does.
type MutKind uint8

// The mutation kinds. Their numbers are stored and sent; never renumber.
const (
	MutSet     MutKind = 1 // write Value to register Field, replacing the stamps in Seen
	MutAdd     MutKind = 2 // add Elem to set Field, tagged with the change's stamp
	MutRemove  MutKind = 3 // remove from set Field the add tags of Elem listed in Seen
	MutFact    MutKind = 4 // append fact FactID with Value to list Field
	MutDelete  MutKind = 5 // tombstone the record
	MutRestore MutKind = 6 // lift the tombstones listed in Seen
	MutMerge   MutKind = 7 // the record is a duplicate of record Into
	MutTouch   MutKind = 8 // create the record with no fields yet
)

// String returns the kind's lower-case name.
func (k MutKind) String() string {
	switch k {
	case MutSet:
		return "set"
	case MutAdd:
		return "add"
	case MutRemove:
		return "remove"
	case MutFact:
		return "fact"
	case MutDelete:
		return "delete"
	case MutRestore:
		return "restore"
	case MutMerge:
		return "merge"
	case MutTouch:
		return "touch"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Mutation is one edit inside a change. Which fields are used depends on
// Kind; unused ones are empty.
type Mutation struct {
	Kind   MutKind `cbor:"1,keyasint" json:"kind"`
	Field  string  `cbor:"2,keyasint,omitempty" json:"field,omitempty"`
	Value  []byte  `cbor:"3,keyasint,omitempty" json:"value,omitempty"`
	Elem   string  `cbor:"4,keyasint,omitempty" json:"elem,omitempty"`
	FactID string  `cbor:"5,keyasint,omitempty" json:"factId,omitempty"`
	Seen   []Stamp `cbor:"6,keyasint,omitempty" json:"seen,omitempty"`
	Into   string  `cbor:"7,keyasint,omitempty" json:"into,omitempty"`
}

// Change is the unit of replication: origin Origin's change number Seq,
// stamped Stamp, to one record. Seq counts 1, 2, 3 … per origin with no gaps.
type Change struct {
	Origin     NodeID     `cbor:"1,keyasint" json:"origin"`
	Seq        uint64     `cbor:"2,keyasint" json:"seq"`
	Stamp      Stamp      `cbor:"3,keyasint" json:"stamp"`
	Collection string     `cbor:"4,keyasint" json:"collection"`
	Record     string     `cbor:"5,keyasint" json:"record"`
	Muts       []Mutation `cbor:"6,keyasint" json:"muts"`
}

// Limits on names, checked by Validate. They keep keys short in the store
// and refuse garbage from peers early.
const (
	MaxNameLen  = 64
	MaxElemLen  = 4096
	MaxValueLen = 1 << 20
	MaxMuts     = 4096
	MaxSeen     = 4096
)

// ValidName reports whether s may name a collection, record or field:
// 1..64 bytes of ASCII letters, digits, '_', '-' and '.'.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}

// Validate checks the structural rules every stored change obeys:
//
//   - Origin passes [ValidName] (node IDs do; it keeps the change-log key and
//     the text form of a [Vector] unambiguous), Seq is at least 1, and Stamp
//     was made by Origin with a wall time that is not negative;
//   - Collection and Record pass ValidName; there are 1..[MaxMuts] mutations;
//   - each mutation has a known kind, fills the fields its kind uses (a valid
//     Field name, an Elem of 1..[MaxElemLen] bytes of valid UTF-8, a valid
//     FactID or Into) and leaves every other field empty;
//   - Seen lists at most [MaxSeen] stamps, each one a node could have made
//     (valid node ID, wall time not negative); Value is at most [MaxValueLen];
//   - a record is not merged into itself, and a change writes a register at
//     most once (two values with one stamp would leave which one wins to
//     chance).
//
// Every string a change carries ends up as CBOR text in the store, which must
// be valid UTF-8 to decode again; the rules above guarantee that.
func (c *Change) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("change %s/%d: %w: %s", c.Origin, c.Seq, ErrInvalidChange, fmt.Sprintf(format, args...))
	}
	switch {
	case !ValidName(string(c.Origin)):
		return bad("bad origin %q", c.Origin)
	case c.Seq == 0:
		return bad("sequence numbers start at 1")
	case c.Stamp.Node != c.Origin:
		return bad("stamp %s was not made by the origin", c.Stamp)
	case c.Stamp.Wall < 0:
		return bad("negative wall time")
	case !ValidName(c.Collection):
		return bad("bad collection name %q", c.Collection)
	case !ValidName(c.Record):
		return bad("bad record id %q", c.Record)
	case len(c.Muts) == 0:
		return bad("no mutations")
	case len(c.Muts) > MaxMuts:
		return bad("%d mutations, more than %d", len(c.Muts), MaxMuts)
	}
	for i := range c.Muts {
		m := &c.Muts[i]
		if err := m.validate(); err != nil {
			return bad("mutation %d (%s): %v", i, m.Kind, err)
		}
		if m.Kind == MutMerge && m.Into == c.Record {
			return bad("mutation %d: a record cannot be merged into itself", i)
		}
	}
	if i, twice := c.fieldSetTwice(); twice {
		return bad("mutation %d: field %q is set twice in one change", i, c.Muts[i].Field)
	}
	return nil
}

// fieldSetTwice returns the index of the first MutSet whose field an earlier
// MutSet of c already wrote.
func (c *Change) fieldSetTwice() (int, bool) {
	if len(c.Muts) <= 16 {
		for i := range c.Muts {
			if c.Muts[i].Kind != MutSet {
				continue
			}
			for j := range i {
				if c.Muts[j].Kind == MutSet && c.Muts[j].Field == c.Muts[i].Field {
					return i, true
				}
			}
		}
		return 0, false
	}
	written := map[string]bool{}
	for i := range c.Muts {
		if m := &c.Muts[i]; m.Kind == MutSet {
			if written[m.Field] {
				return i, true
			}
			written[m.Field] = true
		}
	}
	return 0, false
}

// uses lists which optional fields each kind fills.
type uses struct{ field, value, elem, factID, seen, into bool }

func kindUses(k MutKind) (uses, bool) {
	switch k {
	case MutSet:
		return uses{field: true, value: true, seen: true}, true
	case MutAdd:
		return uses{field: true, elem: true}, true
	case MutRemove:
		return uses{field: true, elem: true, seen: true}, true
	case MutFact:
		return uses{field: true, value: true, factID: true}, true
	case MutRestore:
		return uses{seen: true}, true
	case MutMerge:
		return uses{into: true}, true
	case MutDelete, MutTouch:
		return uses{}, true
	}
	return uses{}, false
}

func (m *Mutation) validate() error {
	u, ok := kindUses(m.Kind)
	if !ok {
		return fmt.Errorf("unknown mutation kind %d", m.Kind)
	}
	switch {
	case !u.field && m.Field != "",
		!u.value && len(m.Value) > 0,
		!u.elem && m.Elem != "",
		!u.factID && m.FactID != "",
		!u.seen && len(m.Seen) > 0,
		!u.into && m.Into != "":
		return fmt.Errorf("a %s mutation fills a field it does not use", m.Kind)
	case u.field && !ValidName(m.Field):
		return fmt.Errorf("bad field name %q", m.Field)
	case u.elem && (m.Elem == "" || len(m.Elem) > MaxElemLen || !utf8.ValidString(m.Elem)):
		return fmt.Errorf("set element must be 1..%d bytes of UTF-8", MaxElemLen)
	case u.factID && !ValidName(m.FactID):
		return fmt.Errorf("bad fact id %q", m.FactID)
	case u.into && !ValidName(m.Into):
		return fmt.Errorf("bad merge target %q", m.Into)
	case len(m.Seen) > MaxSeen:
		return fmt.Errorf("%d seen stamps, more than %d", len(m.Seen), MaxSeen)
	case len(m.Value) > MaxValueLen:
		return fmt.Errorf("value of %d bytes, more than %d", len(m.Value), MaxValueLen)
	}
	for _, s := range m.Seen {
		if !s.valid() {
			return fmt.Errorf("seen stamp %s is not one a node could make", s)
		}
	}
	return nil
}
