package crdt

import (
	"slices"
	"sync/atomic"
)

// Merges is the set of merge edges of one collection and the survivor each
// record resolves to. Edges are replayed in stamp order through a
// union-find in which each edge attaches From's group under Into's group
// unless they are already one group. Because the result depends only on the
// set of edges, replicas that hold the same edges agree on every survivor:
// two nodes merging A into B and B into A concurrently end with the earlier
// edge's survivor on both, and the later edge is a no-op.
//
// Add needs exclusive access, as a map does. Survivor and Members only read:
// any number of goroutines may call them at once on a Merges nobody is
// adding to. A Merges must not be copied once used (use Clone), and two are
// equal when their Edges are.
type Merges struct {
	Edges []MergeEdge `cbor:"1,keyasint,omitempty"`

	// survivors maps every id named by an edge to its survivor. It is built
	// on the first read after a change (or after decoding) and is nil when
	// stale. It is an atomic pointer so that concurrent readers may build it
	// at once: each builds the same map from the same edges.
	survivors atomic.Pointer[map[string]string]
}

// Add records e and reports whether it was new.
func (m *Merges) Add(e MergeEdge) bool {
	i, found := slices.BinarySearchFunc(m.Edges, e, MergeEdge.compare)
	if found {
		return false
	}
	m.Edges = slices.Insert(m.Edges, i, e)
	m.survivors.Store(nil)
	return true
}

// resolved returns the survivor map, building it if it is stale.
func (m *Merges) resolved() map[string]string {
	if p := m.survivors.Load(); p != nil {
		return *p
	}
	parent := make(map[string]string, 2*len(m.Edges))
	find := func(id string) string {
		root := id
		for {
			p, ok := parent[root]
			if !ok {
				break
			}
			root = p
		}
		for id != root { // path compression
			next := parent[id]
			parent[id] = root
			id = next
		}
		return root
	}
	for _, e := range m.Edges { // in stamp order: the order that decides
		if from, into := find(e.From), find(e.Into); from != into {
			parent[from] = into
		}
	}
	out := make(map[string]string, 2*len(m.Edges))
	for _, e := range m.Edges {
		out[e.From] = find(e.From)
		out[e.Into] = find(e.Into)
	}
	m.survivors.Store(&out)
	return out
}

// Survivor returns the record id that id resolves to: itself unless it was
// merged into another.
func (m *Merges) Survivor(id string) string {
	if len(m.Edges) == 0 {
		return id
	}
	if s, ok := m.resolved()[id]; ok {
		return s
	}
	return id
}

// Members returns every id whose survivor is the same as id's, survivor
// first, the rest sorted.
func (m *Merges) Members(id string) []string {
	root := m.Survivor(id)
	out := []string{root}
	if len(m.Edges) == 0 {
		return out
	}
	for x, s := range m.resolved() {
		if s == root && x != root {
			out = append(out, x)
		}
	}
	slices.Sort(out[1:])
	return out
}

// Clone returns a copy of m.
func (m *Merges) Clone() *Merges { return &Merges{Edges: slices.Clone(m.Edges)} }
