package scope

import (
	"carenode/crdt"
	"carenode/sync/session"
	"carenode/sync/wire"
)

// MarkStore is node/store's durable marks.
type MarkStore interface {
	Mark(key string) (crdt.Vector, error)
	SetMark(key string, v crdt.Vector) error
}

// StoreMarks keeps a partial replica's marks for one peer in node/store, so
// they survive a restart. A mark is kept per peer and scope: it says how far
// that peer has served this replica, and another peer (whose own view of the
// assignments may lag) is not trusted with it.
type StoreMarks struct {
	Store MarkStore
	Peer  crdt.NodeID
}

var _ session.Marks = StoreMarks{}

// MarkKey is the node/store key of the mark for peer and scope.
func MarkKey(peer crdt.NodeID, s wire.Scope) string {
	return "sync/" + string(peer) + "/" + s.String()
}

// Mark returns the mark of scope for the peer.
func (m StoreMarks) Mark(s wire.Scope) (crdt.Vector, error) {
	return m.Store.Mark(MarkKey(m.Peer, s))
}

// SetMark stores the mark of scope for the peer, durably.
func (m StoreMarks) SetMark(s wire.Scope, v crdt.Vector) error {
	return m.Store.SetMark(MarkKey(m.Peer, s), v)
}
