package crdt

import (
	"fmt"
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

var mutKindNames = map[MutKind]string{
	MutSet: "set", MutAdd: "add", MutRemove: "remove", MutFact: "fact",
	MutDelete: "delete", MutRestore: "restore", MutMerge: "merge", MutTouch: "touch",
}

// String returns the kind's lower-case name.
func (k MutKind) String() string {
	if s, ok := mutKindNames[k]; ok {
		return s
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

// Validate checks the structural rules every stored change obeys.
func (c *Change) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("change %s/%d: %w: %s", c.Origin, c.Seq, ErrInvalidChange, fmt.Sprintf(format, args...))
	}
	switch {
	case c.Origin == "" || len(c.Origin) > MaxNameLen:
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
	for i, m := range c.Muts {
		if err := m.validate(); err != nil {
			return bad("mutation %d (%s): %v", i, m.Kind, err)
		}
		if m.Kind == MutMerge && m.Into == c.Record {
			return bad("mutation %d: a record cannot be merged into itself", i)
		}
	}
	return nil
}

func (m *Mutation) validate() error {
	if len(m.Seen) > MaxSeen {
		return fmt.Errorf("%d seen stamps, more than %d", len(m.Seen), MaxSeen)
	}
	if len(m.Value) > MaxValueLen {
		return fmt.Errorf("value of %d bytes, more than %d", len(m.Value), MaxValueLen)
	}
	needField := func() error {
		if !ValidName(m.Field) {
			return fmt.Errorf("bad field name %q", m.Field)
		}
		return nil
	}
	needElem := func() error {
		if m.Elem == "" || len(m.Elem) > MaxElemLen {
			return fmt.Errorf("set element must be 1..%d bytes", MaxElemLen)
		}
		return nil
	}
	switch m.Kind {
	case MutSet:
		return needField()
	case MutAdd, MutRemove:
		if err := needField(); err != nil {
			return err
		}
		return needElem()
	case MutFact:
		if err := needField(); err != nil {
			return err
		}
		if !ValidName(m.FactID) {
			return fmt.Errorf("bad fact id %q", m.FactID)
		}
	case MutDelete, MutRestore, MutTouch:
	case MutMerge:
		if !ValidName(m.Into) {
			return fmt.Errorf("bad merge target %q", m.Into)
		}
	default:
		return fmt.Errorf("unknown mutation kind %d", m.Kind)
	}
	return nil
}
