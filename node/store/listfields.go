package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"carenode/crdt"
)

// Only names the parts of records a reader needs: registers (Fields) and
// sets (Sets). Facts are left out.
type Only struct {
	Fields []string
	Sets   []string
}

// ListOnly is List for readers that need a few fields of every record, such
// as an index built at unlock: each RecordView holds only the registers and
// sets named in only (and the tombstones and merges), and the other entries
// of each stored record are skipped over unread, which makes a full scan
// several times cheaper than List's.
func (s *Store) ListOnly(coll, after string, limit int, only Only) ([]RecordView, error) {
	if limit <= 0 {
		limit = 100
	}
	var parts recordParts
	for _, f := range only.Fields {
		parts.add(0, f)
	}
	for _, f := range only.Sets {
		parts.add(1, f)
	}
	var important func(string) bool
	if s.opts.Important != nil {
		important = func(f string) bool { return s.opts.Important(coll, f) }
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
		read := func(id string) (*crdt.Record, error) {
			v := b.Get([]byte(id))
			if v == nil {
				return nil, nil
			}
			r := &crdt.Record{}
			var kept keptEntries
			if decodeRecordPart(v, &parts, r, &kept) {
				return r, nil
			}
			if err := s.codec.unmarshal(v, r); err != nil {
				return nil, fmt.Errorf("read record %s/%s: %w", coll, id, err)
			}
			return r, nil
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
			id := string(k)
			members := merges.Members(id)
			if sv := members[0]; sv != id {
				if b.Get([]byte(sv)) != nil || firstStored(b, members[1:]) != id {
					continue // shown through its survivor, as List does
				}
			}
			rec, err := read(members[0])
			if err != nil {
				return err
			}
			if rec == nil {
				rec = &crdt.Record{} // the survivor has not arrived yet
			}
			if len(members) > 1 {
				var others []*crdt.Record
				for _, m := range members[1:] {
					o, err := read(m)
					if err != nil {
						return err
					}
					if o != nil {
						others = append(others, o)
					}
				}
				rec = crdt.MergedRecord(rec, others)
			}
			out = append(out, RecordView{Collection: coll, ID: members[0], Asked: id, Merged: members[1:], View: rec.View(important)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", coll, err)
	}
	return out, nil
}
