package survey_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"pgregory.net/rapid"

	"carenode/crdt"
	"carenode/internal/testclock"
	"carenode/node/store"
	"carenode/node/survey"
)

// TestCaseMergeProperty runs random investigations, resolutions and
// partial syncs of one case on three nodes, then syncs them fully, and
// checks the merge rule of doc.go: every node shows the same case; its
// history holds every action any node took; its state is the highest any
// action reached and never went back on any node meanwhile; and its
// resolution is the first resolve in stamp order. rapid prints the seed of
// a failure and shrinks it.
func TestCaseMergeProperty(t *testing.T) {
	if testing.Short() {
		t.Skip("property test: not in short mode")
	}
	sealer := newSealer(t)
	root := t.TempDir()
	ctx := context.Background()
	rank := map[string]int{survey.StateOpen: 0, survey.StateInvestigating: 1, survey.StateResolved: 2}
	rapid.Check(t, func(rt *rapid.T) {
		dir, err := os.MkdirTemp(root, "check")
		if err != nil {
			rt.Fatal(err)
		}
		nodes := make([]*node, 3)
		for i := range nodes {
			id := crdt.NodeID(fmt.Sprintf("node%d", i+1))
			c := testclock.New(testStart)
			opts := store.DefaultOptions(filepath.Join(dir, string(id)+".db"), id)
			opts.Create, opts.NoSync, opts.Now = true, true, c.Now
			opts.Logger = slog.New(slog.DiscardHandler)
			st, err := store.Open(opts)
			if err != nil {
				rt.Fatal(err)
			}
			defer st.Close()
			cfg := survey.DefaultConfig(st)
			cfg.Now, cfg.Logger = c.Now, slog.New(slog.DiscardHandler)
			svc, err := survey.New(cfg)
			if err != nil {
				rt.Fatal(err)
			}
			svc.Unlock(sealer)
			nodes[i] = &node{st: st, svc: svc, clock: c}
		}
		if _, err := nodes[0].svc.Submit(ctx, "kiosk", input("v1", scores(5, 5, 5, 5, 1))); err != nil {
			rt.Fatal(err)
		}
		for _, n := range nodes[1:] {
			exchange(t, nodes[0].st, n.st)
		}
		const id = "v1.waiting"
		seen := make([]int, len(nodes)) // highest state rank each node has shown
		actions := 0
		steps := rapid.IntRange(1, 20).Draw(rt, "steps")
		for step := range steps {
			i := rapid.IntRange(0, len(nodes)-1).Draw(rt, "node")
			n := nodes[i]
			n.clock.Advance(time.Duration(rapid.IntRange(1, 120).Draw(rt, "minutes")) * time.Minute)
			var err error
			switch op := rapid.SampledFrom([]string{"investigate", "resolve", "sync"}).Draw(rt, "op"); op {
			case "sync":
				j := rapid.IntRange(0, len(nodes)-1).Draw(rt, "peer")
				exchange(t, nodes[j].st, n.st)
			default:
				if op == "investigate" {
					_, err = n.svc.Investigate(ctx, fmt.Sprintf("staff%d", i), id)
				} else {
					_, err = n.svc.Resolve(ctx, fmt.Sprintf("staff%d", i), id, fmt.Sprintf("answer %d", step))
				}
				switch {
				case errors.Is(err, survey.ErrTransition): // refused locally: nothing written
				case err != nil:
					rt.Fatal(err)
				default:
					actions++
				}
			}
			for k, m := range nodes {
				c, err := m.svc.Case(id)
				if err != nil {
					rt.Fatal(err)
				}
				if rank[c.State] < seen[k] {
					rt.Fatalf("node %d: case went back to %s", k+1, c.State)
				}
				seen[k] = rank[c.State]
			}
		}
		for range 2 {
			for _, a := range nodes {
				for _, b := range nodes {
					if a != b {
						exchange(t, a.st, b.st)
					}
				}
			}
		}
		first, err := nodes[0].svc.Case(id)
		if err != nil {
			rt.Fatal(err)
		}
		for k, m := range nodes[1:] {
			c, err := m.svc.Case(id)
			if err != nil {
				rt.Fatal(err)
			}
			if !reflect.DeepEqual(c, first) {
				rt.Fatalf("node %d shows\n%+v\nnode 1\n%+v", k+2, c, first)
			}
		}
		if len(first.History) != actions {
			rt.Fatalf("history holds %d events, but the nodes took %d actions", len(first.History), actions)
		}
		want := survey.StateOpen
		var firstResolve *survey.Event
		for i, e := range first.History {
			switch e.Action {
			case survey.ActionInvestigate:
				if want == survey.StateOpen {
					want = survey.StateInvestigating
				}
			case survey.ActionResolve:
				want = survey.StateResolved
				if firstResolve == nil {
					firstResolve = &first.History[i]
				}
			}
		}
		if first.State != want {
			rt.Fatalf("state %s, want %s from history %+v", first.State, want, first.History)
		}
		if (firstResolve == nil) != (first.Resolution == nil) || (firstResolve != nil && *firstResolve != *first.Resolution) {
			rt.Fatalf("resolution %+v, want the first resolve of %+v", first.Resolution, first.History)
		}
	})
}
