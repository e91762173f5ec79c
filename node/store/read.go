package store

import (
	"fmt"

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
	err := s.read(func(tx *bolt.Tx) error {
		v, err := s.view(tx, coll, id)
		out = v
		return err
	})
	return out, err
}

func (s *Store) view(tx *bolt.Tx, coll, id string) (RecordView, error) {
	merges, err := s.mergesIn(tx, coll)
	if err != nil {
		return RecordView{}, err
	}
	return s.viewWith(tx, coll, id, merges)
}

// viewWith is view with coll's merges already read.
func (s *Store) viewWith(tx *bolt.Tx, coll, id string, merges *crdt.Merges) (RecordView, error) {
	members := merges.Members(id)
	b := tx.Bucket(bucketRecords).Bucket([]byte(coll))
	if b == nil {
		return RecordView{}, fmt.Errorf("get %s/%s: %w", coll, id, ErrNotFound)
	}
	read := func(id string) (*crdt.Record, error) {
		v := b.Get([]byte(id))
		if v == nil {
			return nil, nil
		}
		r := &crdt.Record{}
		if err := s.codec.unmarshal(v, r); err != nil {
			return nil, fmt.Errorf("read record %s/%s: %w", coll, id, err)
		}
		return r, nil
	}
	survivor, err := read(members[0])
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
		return RecordView{}, fmt.Errorf("get %s/%s: %w", coll, id, ErrNotFound)
	}
	rec := survivor
	if len(members) > 1 {
		var others []*crdt.Record
		for _, m := range members[1:] {
			o, err := read(m)
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
	if s.opts.Important != nil {
		important = func(f string) bool { return s.opts.Important(coll, f) }
	}
	return RecordView{Collection: coll, ID: members[0], Asked: id, Merged: members[1:], View: rec.View(important)}, nil
}

// List returns up to limit records of coll with ids after the given one, in
// id order, skipping records merged into another (they show through their
// survivor). An empty after starts at the beginning.
func (s *Store) List(coll, after string, limit int) ([]RecordView, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []RecordView
	err := s.read(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRecords).Bucket([]byte(coll))
		if b == nil {
			return nil
		}
		merges, err := s.mergesIn(tx, coll)
		if err != nil {
			return err
		}
		c := b.Cursor()
		k, _ := c.First()
		if after != "" {
			k, _ = c.Seek([]byte(after))
			if k != nil && string(k) == after {
				k, _ = c.Next()
			}
		}
		for ; k != nil && len(out) < limit; k, _ = c.Next() {
			if sv := merges.Survivor(string(k)); sv != string(k) {
				// Shown through its survivor, unless the survivor has not
				// arrived yet: then the group's first stored member shows it.
				if b.Get([]byte(sv)) != nil || firstStored(b, merges.Members(sv)[1:]) != string(k) {
					continue
				}
			}
			v, err := s.viewWith(tx, coll, string(k), merges)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", coll, err)
	}
	return out, nil
}

// firstStored returns the first of ids held in b, or "".
func firstStored(b *bolt.Bucket, ids []string) string {
	for _, id := range ids {
		if b.Get([]byte(id)) != nil {
			return id
		}
	}
	return ""
}
