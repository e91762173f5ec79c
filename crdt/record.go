package crdt

import (
	"bytes"
	"slices"
)

// Entry is one value written to a register.
type Entry struct {
	Stamp Stamp  `cbor:"1,keyasint" json:"stamp"`
	Value []byte `cbor:"2,keyasint,omitempty" json:"value"`
}

// Register is a multi-value register. Values holds every written value that
// no applied write has superseded, sorted by stamp; more than one means
// concurrent writes. Superseded remembers every stamp some write named as
// seen, so a value that arrives after the write that replaced it stays
// replaced. It grows by one stamp per replacing write; DESIGN.md says how it
// could be compacted.
type Register struct {
	Values     []Entry `cbor:"1,keyasint,omitempty"`
	Superseded []Stamp `cbor:"2,keyasint,omitempty"`
}

func (r *Register) write(e Entry, seen []Stamp) {
	for _, s := range seen {
		var added bool
		r.Superseded, added = insertStamp(r.Superseded, s)
		if added { // a stamp superseded before has no value left to drop
			if i, ok := r.search(s); ok {
				r.Values = slices.Delete(r.Values, i, i+1)
			}
		}
	}
	if hasStamp(r.Superseded, e.Stamp) {
		return
	}
	i, found := r.search(e.Stamp)
	if found {
		r.Values[i] = keepEntry(r.Values[i], e)
		return
	}
	r.Values = slices.Insert(r.Values, i, e)
}

// search finds stamp s in the sorted Values.
func (r *Register) search(s Stamp) (int, bool) {
	return slices.BinarySearchFunc(r.Values, s, func(x Entry, s Stamp) int { return x.Stamp.Compare(s) })
}

// keepEntry decides between two values with one stamp. A stamp names one
// change, so they differ only if an origin reissued a stamp (a node restored
// from an old backup, a forged change); every replica then keeps the same one,
// the smaller value, whatever order they came in.
func keepEntry(a, b Entry) Entry {
	if bytes.Compare(b.Value, a.Value) < 0 {
		return b
	}
	return a
}

// Current returns the value shown for the register: the newest by stamp.
func (r *Register) Current() (Entry, bool) {
	if len(r.Values) == 0 {
		return Entry{}, false
	}
	return r.Values[len(r.Values)-1], true
}

// Stamps returns the stamps of every current value: what a write that wants
// to replace all of them names as seen.
func (r *Register) Stamps() []Stamp {
	out := make([]Stamp, len(r.Values))
	for i, e := range r.Values {
		out[i] = e.Stamp
	}
	return out
}

func (r *Register) join(o *Register) {
	before := len(r.Superseded)
	r.Superseded = unionStamps(r.Superseded, o.Superseded)
	if len(r.Superseded) == before && r.holds(o.Values) {
		return // o brings nothing new: the common case when replicas agree
	}
	// Merge the two sorted value lists, dropping what either side superseded.
	vals := make([]Entry, 0, len(r.Values)+len(o.Values))
	i, j := 0, 0
	for i < len(r.Values) || j < len(o.Values) {
		var e Entry
		switch {
		case j == len(o.Values):
			e, i = r.Values[i], i+1
		case i == len(r.Values):
			e, j = o.Values[j], j+1
		default:
			switch c := r.Values[i].Stamp.Compare(o.Values[j].Stamp); {
			case c < 0:
				e, i = r.Values[i], i+1
			case c > 0:
				e, j = o.Values[j], j+1
			default:
				e = keepEntry(r.Values[i], o.Values[j])
				i, j = i+1, j+1
			}
		}
		if !hasStamp(r.Superseded, e.Stamp) {
			vals = append(vals, e)
		}
	}
	r.Values = vals
}

// holds reports whether joining the sorted entries vals would leave r's
// values as they are: each is in r already (and keeps r's value) or is
// superseded in r.
func (r *Register) holds(vals []Entry) bool {
	i := 0
	for _, e := range vals {
		for i < len(r.Values) && r.Values[i].Stamp.Less(e.Stamp) {
			i++
		}
		if i < len(r.Values) && r.Values[i].Stamp == e.Stamp {
			if bytes.Compare(e.Value, r.Values[i].Value) < 0 {
				return false
			}
			continue
		}
		if !hasStamp(r.Superseded, e.Stamp) {
			return false
		}
	}
	return true
}

func (r *Register) clone() *Register {
	return &Register{Values: slices.Clone(r.Values), Superseded: slices.Clone(r.Superseded)}
}

// ORSet is an add-wins observed-remove set. Each add is tagged with its
// change's stamp; a remove names the tags it saw, so an add it did not see
// survives it. Adds holds live tags only; Removed holds removed tags so that
// an add arriving after its remove stays removed.
type ORSet struct {
	Adds    map[string][]Stamp `cbor:"1,keyasint,omitempty"`
	Removed map[string][]Stamp `cbor:"2,keyasint,omitempty"`
}

func (s *ORSet) add(elem string, tag Stamp) {
	if hasStamp(s.Removed[elem], tag) {
		return
	}
	if s.Adds == nil {
		s.Adds = map[string][]Stamp{}
	}
	s.Adds[elem], _ = insertStamp(s.Adds[elem], tag)
}

func (s *ORSet) remove(elem string, tags []Stamp) {
	for _, t := range tags {
		if s.Removed == nil {
			s.Removed = map[string][]Stamp{}
		}
		s.Removed[elem], _ = insertStamp(s.Removed[elem], t)
		if live, ok := s.Adds[elem]; ok {
			if i, found := searchStamps(live, t); found {
				live = slices.Delete(live, i, i+1)
				if len(live) == 0 {
					delete(s.Adds, elem)
				} else {
					s.Adds[elem] = live
				}
			}
		}
	}
}

// Contains reports whether elem is in the set.
func (s *ORSet) Contains(elem string) bool { return len(s.Adds[elem]) > 0 }

// Tags returns elem's live add tags: what a remove of elem names as seen.
func (s *ORSet) Tags(elem string) []Stamp { return slices.Clone(s.Adds[elem]) }

// Elems returns the members sorted.
func (s *ORSet) Elems() []string {
	out := make([]string, 0, len(s.Adds))
	for e := range s.Adds {
		out = append(out, e)
	}
	slices.Sort(out)
	return out
}

func (s *ORSet) join(o *ORSet) {
	for e, tags := range o.Removed {
		s.remove(e, tags)
	}
	for e, tags := range o.Adds {
		for _, t := range tags {
			s.add(e, t)
		}
	}
}

func (s *ORSet) clone() *ORSet {
	out := &ORSet{}
	for e, t := range s.Adds {
		if out.Adds == nil {
			out.Adds = make(map[string][]Stamp, len(s.Adds))
		}
		out.Adds[e] = slices.Clone(t)
	}
	for e, t := range s.Removed {
		if out.Removed == nil {
			out.Removed = make(map[string][]Stamp, len(s.Removed))
		}
		out.Removed[e] = slices.Clone(t)
	}
	return out
}

// Fact is an immutable, append-only entry (a vital-sign reading, a follow-up
// attempt, a survey answer).
type Fact struct {
	Stamp Stamp  `cbor:"1,keyasint" json:"stamp"`
	Value []byte `cbor:"2,keyasint,omitempty" json:"value"`
}

// keepFact decides which of two facts with one id stays. Ids are meant to be
// unique; if two differ anyway, every replica keeps the same one.
func keepFact(a, b Fact) Fact {
	if c := a.Stamp.Compare(b.Stamp); c != 0 {
		if c < 0 {
			return a
		}
		return b
	}
	if bytes.Compare(a.Value, b.Value) <= 0 {
		return a
	}
	return b
}

// MergeEdge records that record From is a duplicate of record Into.
type MergeEdge struct {
	From  string `cbor:"1,keyasint" json:"from"`
	Into  string `cbor:"2,keyasint" json:"into"`
	Stamp Stamp  `cbor:"3,keyasint" json:"stamp"`
}

func (e MergeEdge) compare(o MergeEdge) int {
	if c := e.Stamp.Compare(o.Stamp); c != 0 {
		return c
	}
	if e.From != o.From {
		if e.From < o.From {
			return -1
		}
		return 1
	}
	switch {
	case e.Into < o.Into:
		return -1
	case e.Into > o.Into:
		return 1
	}
	return 0
}

// Record is the replicated state of one record: the join of every change
// applied to it.
type Record struct {
	First    Stamp                      `cbor:"1,keyasint"`
	Last     Stamp                      `cbor:"2,keyasint"`
	Fields   map[string]*Register       `cbor:"3,keyasint,omitempty"`
	Sets     map[string]*ORSet          `cbor:"4,keyasint,omitempty"`
	Facts    map[string]map[string]Fact `cbor:"5,keyasint,omitempty"`
	Deletes  []Stamp                    `cbor:"6,keyasint,omitempty"`
	Restored []Stamp                    `cbor:"7,keyasint,omitempty"`
	MergedTo []MergeEdge                `cbor:"8,keyasint,omitempty"`
}

// Apply folds change c into r. Applying a change twice, or changes in any
// order, gives the same record. c must have passed Validate. r keeps c's
// Value slices rather than copying them: do not modify them afterwards.
func (r *Record) Apply(c *Change) {
	if r.First.IsZero() || c.Stamp.Less(r.First) {
		r.First = c.Stamp
	}
	if r.Last.Less(c.Stamp) {
		r.Last = c.Stamp
	}
	for i := range c.Muts {
		m := &c.Muts[i]
		switch m.Kind {
		case MutSet:
			r.register(m.Field).write(Entry{Stamp: c.Stamp, Value: nilIfEmpty(m.Value)}, m.Seen)
		case MutAdd:
			r.set(m.Field).add(m.Elem, c.Stamp)
		case MutRemove:
			r.set(m.Field).remove(m.Elem, m.Seen)
		case MutFact:
			r.addFact(m.Field, m.FactID, Fact{Stamp: c.Stamp, Value: nilIfEmpty(m.Value)})
		case MutDelete:
			if !hasStamp(r.Restored, c.Stamp) {
				r.Deletes, _ = insertStamp(r.Deletes, c.Stamp)
			}
		case MutRestore:
			r.restore(m.Seen)
		case MutMerge:
			r.addMergeEdge(MergeEdge{From: c.Record, Into: m.Into, Stamp: c.Stamp})
		}
	}
}

// nilIfEmpty makes an empty value nil, as it is after a CBOR round trip, so
// the replica that wrote it and the ones that decoded it show the same thing.
func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func (r *Record) register(field string) *Register {
	if r.Fields == nil {
		r.Fields = map[string]*Register{}
	}
	reg := r.Fields[field]
	if reg == nil {
		reg = &Register{}
		r.Fields[field] = reg
	}
	return reg
}

func (r *Record) set(field string) *ORSet {
	if r.Sets == nil {
		r.Sets = map[string]*ORSet{}
	}
	s := r.Sets[field]
	if s == nil {
		s = &ORSet{}
		r.Sets[field] = s
	}
	return s
}

func (r *Record) addFact(list, id string, f Fact) {
	if r.Facts == nil {
		r.Facts = map[string]map[string]Fact{}
	}
	l := r.Facts[list]
	if l == nil {
		l = map[string]Fact{}
		r.Facts[list] = l
	}
	if old, ok := l[id]; ok {
		f = keepFact(old, f)
	}
	l[id] = f
}

func (r *Record) restore(seen []Stamp) {
	for _, s := range seen {
		r.Restored, _ = insertStamp(r.Restored, s)
		if i, ok := searchStamps(r.Deletes, s); ok {
			r.Deletes = slices.Delete(r.Deletes, i, i+1)
			if len(r.Deletes) == 0 {
				r.Deletes = nil // as a decoded record has it
			}
		}
	}
}

func (r *Record) addMergeEdge(e MergeEdge) {
	i, found := slices.BinarySearchFunc(r.MergedTo, e, MergeEdge.compare)
	if !found {
		r.MergedTo = slices.Insert(r.MergedTo, i, e)
	}
}

// Deleted reports whether the record carries a tombstone no restore lifted.
func (r *Record) Deleted() bool { return len(r.Deletes) > 0 }

// Clone returns a deep copy of r.
func (r *Record) Clone() *Record {
	out := &Record{First: r.First, Last: r.Last,
		Deletes: slices.Clone(r.Deletes), Restored: slices.Clone(r.Restored), MergedTo: slices.Clone(r.MergedTo)}
	for k, v := range r.Fields {
		if out.Fields == nil {
			out.Fields = make(map[string]*Register, len(r.Fields))
		}
		out.Fields[k] = v.clone()
	}
	for k, v := range r.Sets {
		if out.Sets == nil {
			out.Sets = make(map[string]*ORSet, len(r.Sets))
		}
		out.Sets[k] = v.clone()
	}
	for k, l := range r.Facts {
		if out.Facts == nil {
			out.Facts = make(map[string]map[string]Fact, len(r.Facts))
		}
		nl := make(map[string]Fact, len(l))
		for id, f := range l {
			nl[id] = f
		}
		out.Facts[k] = nl
	}
	return out
}

// Join folds o into r: the result is the record as if every change applied
// to either had been applied to r. o is not modified.
func (r *Record) Join(o *Record) {
	if !o.First.IsZero() && (r.First.IsZero() || o.First.Less(r.First)) {
		r.First = o.First
	}
	if r.Last.Less(o.Last) {
		r.Last = o.Last
	}
	if r.Fields == nil && len(o.Fields) > 0 {
		r.Fields = make(map[string]*Register, len(o.Fields))
	}
	for k, v := range o.Fields {
		if mine := r.Fields[k]; mine != nil {
			mine.join(v)
		} else {
			r.Fields[k] = v.clone()
		}
	}
	for k, v := range o.Sets {
		r.set(k).join(v)
	}
	for k, l := range o.Facts {
		for id, f := range l {
			r.addFact(k, id, f)
		}
	}
	r.restore(o.Restored)
	for _, d := range o.Deletes {
		if !hasStamp(r.Restored, d) {
			r.Deletes, _ = insertStamp(r.Deletes, d)
		}
	}
	for _, e := range o.MergedTo {
		r.addMergeEdge(e)
	}
}
