package node

import (
	"carenode/node/chart"
	"carenode/node/store"
)

// newFollower keeps the in-memory indexes (chart search and duplicates) in
// step with patient records that peers change, whichever way the changes
// came in (the sync listener, `carenode sync` through this node, POST
// /api/v1/changes). Local writes go through the chart service, which
// indexes them itself.
func newFollower(s *store.Store, refresh func(ids []string) error, onError func(error)) *store.Follower {
	f := store.NewFollower(s.Watch,
		func(c store.Changed) bool { return c.Remote && c.Collection == chart.Collection },
		func(batch []store.Changed) error {
			ids := make([]string, len(batch))
			for i, c := range batch {
				ids[i] = c.Record
			}
			return refresh(ids)
		}, onError)
	f.Start()
	return f
}
