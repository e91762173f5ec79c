package store

import "fmt"

// Only names the parts of records a reader needs: registers (Fields) and
// sets (Sets). Facts are left out.
type Only struct {
	Fields []string
	Sets   []string
}

// ListOnly is List for readers that need a few fields of every record, such
// as an index built at unlock: each RecordView holds the registers and sets
// named in only (and the tombstones and merges), and the other entries of
// each stored record are skipped over unread, which makes a full scan
// several times cheaper than List's. (A record with remote changes still
// waiting to be folded is read whole, so it may show more.)
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
	var out []RecordView
	err := s.readColl(coll, &parts, func(cr *collReader) error {
		var err error
		out, err = cr.list(after, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", coll, err)
	}
	return out, nil
}
