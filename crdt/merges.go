package crdt

import "slices"

// Merges is the set of merge edges of one collection and the survivor each
// record resolves to. Edges are replayed in stamp order through a
// union-find in which each edge attaches From's group under Into's group
// unless they are already one group. Because the result depends only on the
// set of edges, replicas that hold the same edges agree on every survivor:
// two nodes merging A into B and B into A concurrently end with the earlier
// edge's survivor on both, and the later edge is a no-op.
type Merges struct {
	Edges []MergeEdge `cbor:"1,keyasint,omitempty"`

	parent map[string]string // lazily rebuilt union-find; nil when stale
}

// Add records e and reports whether it was new.
func (m *Merges) Add(e MergeEdge) bool {
	i, found := slices.BinarySearchFunc(m.Edges, e, MergeEdge.compare)
	if found {
		return false
	}
	m.Edges = slices.Insert(m.Edges, i, e)
	m.parent = nil
	return true
}

func (m *Merges) resolve() {
	if m.parent != nil {
		return
	}
	m.parent = make(map[string]string, 2*len(m.Edges))
	for _, e := range m.Edges {
		from, into := m.find(e.From), m.find(e.Into)
		if from != into {
			m.parent[from] = into
		}
	}
}

func (m *Merges) find(id string) string {
	root := id
	for {
		p, ok := m.parent[root]
		if !ok {
			break
		}
		root = p
	}
	for id != root { // path compression
		next := m.parent[id]
		m.parent[id] = root
		id = next
	}
	return root
}

// Survivor returns the record id that id resolves to: itself unless it was
// merged into another.
func (m *Merges) Survivor(id string) string {
	if len(m.Edges) == 0 {
		return id
	}
	m.resolve()
	return m.find(id)
}

// Members returns every id whose survivor is the same as id's, survivor
// first, the rest sorted.
func (m *Merges) Members(id string) []string {
	root := m.Survivor(id)
	out := []string{root}
	seen := map[string]bool{root: true}
	for _, e := range m.Edges {
		for _, x := range [2]string{e.From, e.Into} {
			if !seen[x] && m.find(x) == root {
				seen[x] = true
				out = append(out, x)
			}
		}
	}
	slices.Sort(out[1:])
	return out
}

// Clone returns a copy of m.
func (m *Merges) Clone() *Merges { return &Merges{Edges: slices.Clone(m.Edges)} }
