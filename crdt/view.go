package crdt

import "slices"

// FieldView is what a reader sees of one register.
type FieldView struct {
	Value []byte `json:"value"`
	Stamp Stamp  `json:"stamp"`
	// Seen lists the stamps of every current value; a write that names them
	// all replaces them all (and so resolves a conflict).
	Seen []Stamp `json:"seen"`
	// Conflict lists every concurrent value, newest first, when the field is
	// important and more than one value is current. It is the same on every
	// replica that has applied the same changes.
	Conflict []Entry `json:"conflict,omitempty"`
}

// FactView is one fact as a reader sees it.
type FactView struct {
	ID    string `json:"id"`
	Stamp Stamp  `json:"stamp"`
	Value []byte `json:"value"`
}

// View is a record as readers see it.
type View struct {
	Fields  map[string]FieldView  `json:"fields"`
	Sets    map[string][]string   `json:"sets,omitempty"`
	Facts   map[string][]FactView `json:"facts,omitempty"`
	Deleted bool                  `json:"deleted"`
	// Tombstones lists the delete stamps in force; a restore names them.
	Tombstones []Stamp `json:"tombstones,omitempty"`
	Created    Stamp   `json:"created"`
	Updated    Stamp   `json:"updated"`
}

// Conflicts returns the names of the fields in conflict, sorted.
func (v *View) Conflicts() []string {
	var out []string
	for k, f := range v.Fields {
		if len(f.Conflict) > 0 {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// View renders r for readers. important says which fields keep concurrent
// values as a conflict to review; nil means none.
func (r *Record) View(important func(field string) bool) View {
	// Empty lists are nil whether the state was built in memory or decoded,
	// so equal records give deeply equal views.
	v := View{Fields: make(map[string]FieldView, len(r.Fields)), Deleted: r.Deleted(),
		Created: r.First, Updated: r.Last}
	if len(r.Deletes) > 0 {
		v.Tombstones = slices.Clone(r.Deletes)
	}
	for name, reg := range r.Fields {
		cur, ok := reg.Current()
		if !ok {
			continue
		}
		fv := FieldView{Value: nilIfEmpty(cur.Value), Stamp: cur.Stamp, Seen: reg.Stamps()}
		if len(reg.Values) > 1 && important != nil && important(name) {
			fv.Conflict = make([]Entry, len(reg.Values))
			for i, e := range reg.Values {
				fv.Conflict[len(reg.Values)-1-i] = Entry{Stamp: e.Stamp, Value: nilIfEmpty(e.Value)}
			}
		}
		v.Fields[name] = fv
	}
	for name, s := range r.Sets {
		if elems := s.Elems(); len(elems) > 0 {
			if v.Sets == nil {
				v.Sets = map[string][]string{}
			}
			v.Sets[name] = elems
		}
	}
	for name, l := range r.Facts {
		if v.Facts == nil {
			v.Facts = map[string][]FactView{}
		}
		facts := make([]FactView, 0, len(l))
		for id, f := range l {
			facts = append(facts, FactView{ID: id, Stamp: f.Stamp, Value: nilIfEmpty(f.Value)})
		}
		slices.SortFunc(facts, func(a, b FactView) int {
			if c := a.Stamp.Compare(b.Stamp); c != 0 {
				return c
			}
			if a.ID < b.ID {
				return -1
			}
			if a.ID > b.ID {
				return 1
			}
			return 0
		})
		v.Facts[name] = facts
	}
	return v
}

// MergedRecord returns the record readers see for a survivor: the join of
// the survivor and every record merged into it, so no field value, set
// member or fact of a duplicate is lost. The tombstone state is the
// survivor's own; a duplicate's deletion does not delete the survivor.
func MergedRecord(survivor *Record, merged []*Record) *Record {
	out := survivor.Clone()
	for _, m := range merged {
		c := m.Clone()
		c.Deletes, c.Restored = nil, nil
		out.Join(c)
	}
	return out
}
