package plans

import "carenode/node/store"

// newFollower follows the store for the service's collections (see
// store.Follower). Every commit to them comes this way: peers' changes, and
// local writes that did not go through the service (the generic record
// API). The service also refreshes after its own writes before it answers,
// so a caller reads what it just wrote; seeing those again here is
// harmless.
func newFollower(r Records, refresh func([]store.Changed) error, onError func(error)) *store.Follower {
	return store.NewFollower(r.Watch, func(c store.Changed) bool { return ours(c.Collection) }, refresh, onError)
}

func ours(coll string) bool {
	switch coll {
	case PlansCollection, TasksCollection, AlertsCollection, TemplatesCollection, VersionsCollection:
		return true
	}
	return false
}
