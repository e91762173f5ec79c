package crdt

import (
	"slices"
	"sync"
	"testing"
)

func edge(from, into string, wall int64, node NodeID) MergeEdge {
	return MergeEdge{From: from, Into: into, Stamp: st(wall, 0, node)}
}

func TestMerges(t *testing.T) {
	tests := []struct {
		name      string
		edges     []MergeEdge
		survivors map[string]string
		members   map[string][]string
	}{
		{name: "none",
			survivors: map[string]string{"A": "A"},
			members:   map[string][]string{"A": {"A"}}},
		{name: "A into B",
			edges:     []MergeEdge{edge("A", "B", t0, "N1")},
			survivors: map[string]string{"A": "B", "B": "B", "C": "C"},
			members:   map[string][]string{"A": {"B", "A"}, "B": {"B", "A"}, "C": {"C"}}},
		{name: "A into B and B into A concurrently: the earlier edge decides",
			edges:     []MergeEdge{edge("A", "B", t0, "N1"), edge("B", "A", t0, "N2")},
			survivors: map[string]string{"A": "B", "B": "B"},
			members:   map[string][]string{"A": {"B", "A"}}},
		{name: "same, the other edge earlier",
			edges:     []MergeEdge{edge("A", "B", t0+1, "N1"), edge("B", "A", t0, "N2")},
			survivors: map[string]string{"A": "A", "B": "A"},
			members:   map[string][]string{"B": {"A", "B"}}},
		{name: "chain A into B into C",
			edges:     []MergeEdge{edge("A", "B", t0, "N1"), edge("B", "C", t0+1, "N1")},
			survivors: map[string]string{"A": "C", "B": "C", "C": "C"},
			members:   map[string][]string{"A": {"C", "A", "B"}}},
		{name: "chain made in the other order",
			edges:     []MergeEdge{edge("B", "C", t0, "N1"), edge("A", "B", t0+1, "N1")},
			survivors: map[string]string{"A": "C", "B": "C", "C": "C"},
			members:   map[string][]string{"C": {"C", "A", "B"}}},
		{name: "cycle A-B-C-A: the last edge is a no-op",
			edges:     []MergeEdge{edge("A", "B", t0, "N1"), edge("B", "C", t0+1, "N2"), edge("C", "A", t0+2, "N3")},
			survivors: map[string]string{"A": "C", "B": "C", "C": "C"}},
		{name: "merging into a merged record follows to its survivor",
			edges:     []MergeEdge{edge("A", "B", t0, "N1"), edge("C", "A", t0+1, "N2")},
			survivors: map[string]string{"A": "B", "B": "B", "C": "B"},
			members:   map[string][]string{"C": {"B", "A", "C"}}},
		{name: "a duplicate merged into two records: the earlier wins, groups join",
			edges:     []MergeEdge{edge("A", "B", t0, "N1"), edge("A", "C", t0+1, "N2")},
			survivors: map[string]string{"A": "C", "B": "C", "C": "C"}},
		{name: "two groups",
			edges:     []MergeEdge{edge("A", "B", t0, "N1"), edge("X", "Y", t0+1, "N2")},
			survivors: map[string]string{"A": "B", "X": "Y"},
			members:   map[string][]string{"A": {"B", "A"}, "Y": {"Y", "X"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every order of adding, with duplicates, gives one answer.
			idx := make([]int, len(tt.edges))
			for i := range idx {
				idx[i] = i
			}
			var orders [][]int
			var perm func(k int)
			perm = func(k int) {
				if k == len(idx) {
					orders = append(orders, slices.Clone(idx))
					return
				}
				for i := k; i < len(idx); i++ {
					idx[k], idx[i] = idx[i], idx[k]
					perm(k + 1)
					idx[k], idx[i] = idx[i], idx[k]
				}
			}
			perm(0)
			for _, order := range orders {
				var m Merges
				for _, i := range order {
					if !m.Add(tt.edges[i]) {
						t.Fatalf("edge %v reported as not new", tt.edges[i])
					}
					m.Survivor("A") // resolve between adds: the cache must follow
				}
				for _, i := range order {
					if m.Add(tt.edges[i]) {
						t.Fatalf("duplicate edge %v reported as new", tt.edges[i])
					}
				}
				for id, want := range tt.survivors {
					got := m.Survivor(id)
					if got != want {
						t.Errorf("order %v: Survivor(%s) = %s, want %s", order, id, got, want)
					}
					if m.Survivor(got) != got {
						t.Errorf("survivor %s is not its own survivor", got)
					}
				}
				for id, want := range tt.members {
					if got := m.Members(id); !slices.Equal(got, want) {
						t.Errorf("order %v: Members(%s) = %v, want %v", order, id, got, want)
					}
				}
				c := m.Clone()
				c.Add(edge("Q", "R", t0+99, "N9"))
				if m.Survivor("Q") != "Q" {
					t.Error("Clone shares edges")
				}
			}
		})
	}
}

// Survivor and Members only read, so readers holding a shared lock may call
// them at once, even on a freshly decoded Merges. Run with -race.
func TestMergesConcurrentReaders(t *testing.T) {
	m := &Merges{Edges: []MergeEdge{edge("A", "B", t0, "N1"), edge("B", "C", t0+1, "N1"), edge("D", "A", t0+2, "N2")}}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if m.Survivor("D") != "C" || len(m.Members("A")) != 4 {
					t.Error("wrong answer under concurrency")
					return
				}
			}
		})
	}
	wg.Wait()
}
