package sample

import (
	"math/rand/v2"
	"slices"
	"sort"
)

// choice is one item of a table and its relative weight.
type choice[T any] struct {
	item   T
	weight int
}

// picker draws items in proportion to their weights.
type picker[T any] struct {
	items []T
	cum   []int // cum[i] is the sum of the weights of items 0..i
}

// newPicker builds a picker from a table, leaving out items of weight 0.
func newPicker[T any](table []choice[T]) picker[T] {
	var p picker[T]
	total := 0
	for _, c := range table {
		if c.weight <= 0 {
			continue
		}
		total += c.weight
		p.items = append(p.items, c.item)
		p.cum = append(p.cum, total)
	}
	return p
}

func (p *picker[T]) pick(rng *rand.Rand) T {
	x := rng.IntN(p.cum[len(p.cum)-1])
	return p.items[sort.Search(len(p.cum), func(i int) bool { return p.cum[i] > x })]
}

// pickDistinct appends n distinct items to dst; n must not exceed the
// number of items of nonzero weight. Redrawing on a repeat keeps the
// proportions among the items not yet drawn.
func pickDistinct[T comparable](rng *rand.Rand, p *picker[T], n int, dst []T) []T {
	start := len(dst)
	for len(dst)-start < n {
		if it := p.pick(rng); !slices.Contains(dst[start:], it) {
			dst = append(dst, it)
		}
	}
	return dst
}
