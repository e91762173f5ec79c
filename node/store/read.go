package store

import (
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"carenode/crdt"
)

// RecordView is a record as readers see it.
type RecordView struct {
	Collection string
	// ID is the record shown: the survivor if the id asked for was merged.
	ID string
	// Asked is the id that was asked for.
	Asked string
	// Merged lists the ids merged into ID, sorted.
	Merged []string
	crdt.View
}

// Get returns the record id of coll, following merges to the survivor and
// joining every duplicate merged into it.
func (s *Store) Get(coll, id string) (RecordView, error) {
	var out RecordView
	err := s.readColl(coll, nil, func(cr *collReader) error {
		v, err := cr.view(id)
		out = v
		return err
	})
	return out, err
}

// collReader reads one collection's records in a read transaction: each
// record is its stored state with the remote changes still waiting to be
// folded applied on top (pending.go).
type collReader struct {
	s      *Store
	coll   string
	b      *bolt.Bucket // nil if nothing of coll is stored
	p      *pendingSet
	merges *crdt.Merges
	parts  *recordParts // non-nil: decode only these parts of records without waiting changes
}

// readColl runs fn with a reader of coll. The waiting set is taken before
// the transaction begins (see pending.go).
func (s *Store) readColl(coll string, parts *recordParts, fn func(*collReader) error) error {
	p := s.pend.Load()
	return s.read(func(tx *bolt.Tx) error {
		merges, err := s.mergesIn(tx, coll)
		if err != nil {
			return err
		}
		cr := &collReader{s: s, coll: coll, b: tx.Bucket(bucketRecords).Bucket([]byte(coll)), p: p, merges: merges, parts: parts}
		return fn(cr)
	})
}

// exists reports whether the record is stored or waiting.
func (cr *collReader) exists(id string) bool {
	return (cr.b != nil && cr.b.Get([]byte(id)) != nil) || cr.p.has(recKey{cr.coll, id})
}

// firstExisting returns the first of ids that exists, or "".
func (cr *collReader) firstExisting(ids []string) string {
	for _, id := range ids {
		if cr.exists(id) {
			return id
		}
	}
	return ""
}

// read returns the record id, nil if it does not exist.
func (cr *collReader) read(id string) (*crdt.Record, error) {
	var v []byte
	if cr.b != nil {
		v = cr.b.Get([]byte(id))
	}
	k := recKey{cr.coll, id}
	waiting := cr.p.has(k)
	if v == nil && !waiting {
		return nil, nil
	}
	r := &crdt.Record{}
	if v != nil {
		var kept keptEntries
		if cr.parts == nil || waiting || !decodeRecordPart(v, cr.parts, r, &kept) {
			if err := cr.s.codec.unmarshal(v, r); err != nil {
				return nil, fmt.Errorf("read record %s/%s: %w", cr.coll, id, err)
			}
		}
	}
	cr.p.applyTo(k, r)
	return r, nil
}

func (cr *collReader) view(id string) (RecordView, error) {
	members := cr.merges.Members(id)
	survivor, err := cr.read(members[0])
	if err != nil {
		return RecordView{}, err
	}
	if survivor == nil && len(members) > 1 {
		// The merge arrived before the survivor's own record (it is in a
		// later batch): show what the duplicates hold under the survivor's
		// id rather than hide the patient.
		survivor = &crdt.Record{}
	}
	if survivor == nil {
		return RecordView{}, fmt.Errorf("get %s/%s: %w", cr.coll, id, ErrNotFound)
	}
	rec := survivor
	if len(members) > 1 {
		var others []*crdt.Record
		for _, m := range members[1:] {
			o, err := cr.read(m)
			if err != nil {
				return RecordView{}, err
			}
			if o != nil {
				others = append(others, o)
			}
		}
		rec = crdt.MergedRecord(survivor, others)
	}
	var important func(string) bool
	if cr.s.opts.Important != nil {
		important = func(f string) bool { return cr.s.opts.Important(cr.coll, f) }
	}
	return RecordView{Collection: cr.coll, ID: members[0], Asked: id, Merged: members[1:], View: rec.View(important)}, nil
}

// list returns up to limit records with ids after the given one, in id
// order, skipping records merged into another (they show through their
// survivor, unless the survivor has not arrived yet: then the group's
// first existing member shows it).
func (cr *collReader) list(after string, limit int) ([]RecordView, error) {
	var out []RecordView
	var err error
	cr.ids(after, func(id string) bool {
		if sv := cr.merges.Survivor(id); sv != id {
			if cr.exists(sv) || cr.firstExisting(cr.merges.Members(sv)[1:]) != id {
				return true
			}
		}
		var v RecordView
		if v, err = cr.view(id); err != nil {
			return false
		}
		out = append(out, v)
		return len(out) < limit
	})
	return out, err
}

// ids calls fn with the id of every existing record after the given one
// (all from the start if after is empty), in order, until fn returns
// false: the stored ones merged with those that have waiting changes.
func (cr *collReader) ids(after string, fn func(id string) bool) {
	waiting := cr.p.byColl()[cr.coll]
	wi := 0
	for wi < len(waiting) && after != "" && waiting[wi] <= after {
		wi++
	}
	var k []byte
	var c *bolt.Cursor
	if cr.b != nil {
		c = cr.b.Cursor()
		k, _ = c.First()
		if after != "" {
			k, _ = c.Seek([]byte(after))
			if k != nil && string(k) == after {
				k, _ = c.Next()
			}
		}
	}
	for k != nil || wi < len(waiting) {
		var id string
		switch {
		case k == nil:
			id = waiting[wi]
			wi++
		case wi == len(waiting):
			id = string(k)
			k, _ = c.Next()
		default:
			switch cmp := strings.Compare(string(k), waiting[wi]); {
			case cmp < 0:
				id = string(k)
				k, _ = c.Next()
			case cmp > 0:
				id = waiting[wi]
				wi++
			default: // stored, with waiting changes
				id = string(k)
				k, _ = c.Next()
				wi++
			}
		}
		if !fn(id) {
			return
		}
	}
}

// List returns up to limit records of coll with ids after the given one, in
// id order, skipping records merged into another (they show through their
// survivor). An empty after starts at the beginning.
func (s *Store) List(coll, after string, limit int) ([]RecordView, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []RecordView
	err := s.readColl(coll, nil, func(cr *collReader) error {
		var err error
		out, err = cr.list(after, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", coll, err)
	}
	return out, nil
}
