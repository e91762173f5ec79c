package chart_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"carenode/crdt"
	"carenode/node/care"
	"carenode/node/chart"
	"carenode/node/store"
)

// TestMergePropertyTwoNodes runs random allergy additions and removals,
// phone edits and merges on two nodes that sync at random moments, then
// syncs them fully and checks that both show the same charts and that
// every patient's survivor holds exactly the allergies added to any record
// of its group and not removed: a merge never loses one. rapid prints the
// seed of a failure and shrinks it.
func TestMergePropertyTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("property test: not in short mode")
	}
	sealer := newSealer(t)
	root := t.TempDir()
	ctx := context.Background()
	rapid.Check(t, func(rt *rapid.T) {
		dir, err := os.MkdirTemp(root, "check")
		if err != nil {
			rt.Fatal(err)
		}
		var nodes [2]*node
		for i := range nodes {
			id := crdt.NodeID(fmt.Sprintf("node%d", i+1))
			opts := store.DefaultOptions(filepath.Join(dir, string(id)+".db"), id)
			opts.Create, opts.NoSync = true, true
			opts.Important = func(coll, f string) bool { return coll == chart.Collection && chart.Important(f) }
			st, err := store.Open(opts)
			if err != nil {
				rt.Fatal(err)
			}
			defer st.Close()
			svc := chart.New(chart.Config{Records: st, Node: string(id), Now: testClock(), Logger: quiet})
			if err := svc.Unlock(sealer); err != nil {
				rt.Fatal(err)
			}
			nodes[i] = &node{st: st, svc: svc}
		}
		sync := func() {
			for _, dir := range [][2]int{{0, 1}, {1, 0}} {
				from, to := nodes[dir[0]], nodes[dir[1]]
				page, err := from.st.ChangesAfter(to.st.Vector(), 0)
				if err != nil {
					rt.Fatal(err)
				}
				if len(page.Changes) == 0 {
					continue
				}
				if _, err := to.st.ApplyRemote(page.Changes); err != nil {
					rt.Fatal(err)
				}
				var ids []string
				for _, c := range page.Changes {
					if c.Collection == chart.Collection {
						ids = append(ids, c.Record)
					}
				}
				if err := to.svc.Refresh(ids); err != nil {
					rt.Fatal(err)
				}
			}
		}

		// Three patients, registered on node 1 and known to both.
		var pids []string
		for i, name := range []string{"张三", "张叁", "章三"} {
			r, err := nodes[0].svc.Register(ctx, desk, care.PatientInput{Name: name, Sex: "male", BirthDate: "1960-01-01",
				Phones: []string{fmt.Sprintf("1380000000%d", i)}}, true)
			if err != nil {
				rt.Fatal(err)
			}
			pids = append(pids, r.ID)
		}
		sync()

		group := map[string]string{} // the model: patient -> group root
		for _, p := range pids {
			group[p] = p
		}
		var find func(string) string
		find = func(p string) string {
			if group[p] == p {
				return p
			}
			return find(group[p])
		}
		added := map[string]string{} // allergy element id -> patient it was added to
		removed := map[string]bool{}
		steps := rapid.IntRange(1, 25).Draw(rt, "steps")
		for step := range steps {
			n := nodes[rapid.IntRange(0, 1).Draw(rt, "node")]
			p := rapid.SampledFrom(pids).Draw(rt, "patient")
			switch rapid.SampledFrom([]string{"add", "remove", "merge", "phone", "sync"}).Draw(rt, "op") {
			case "add":
				ch, err := n.svc.AddAllergy(ctx, doctor, p, care.AllergyInput{Substance: fmt.Sprintf("药物%d", step)})
				if err != nil {
					rt.Fatal(err)
				}
				for _, a := range ch.Allergies {
					if a.Substance == fmt.Sprintf("药物%d", step) {
						added[a.ID] = p
					}
				}
			case "remove":
				ch, err := n.svc.Get(ctx, doctor, p)
				if err != nil {
					rt.Fatal(err)
				}
				if len(ch.Allergies) == 0 {
					continue
				}
				a := rapid.SampledFrom(ch.Allergies).Draw(rt, "allergy")
				if _, err := n.svc.RemoveElement(ctx, doctor, p, "allergies", a.ID); err != nil {
					rt.Fatal(err)
				}
				removed[a.ID] = true
			case "merge":
				q := rapid.SampledFrom(pids).Draw(rt, "into")
				_, err := n.svc.Merge(ctx, doctor, p, q)
				if errors.Is(err, chart.ErrSelfMerge) {
					continue // one chart already, as this node sees it
				}
				if err != nil {
					rt.Fatal(err)
				}
				if a, b := find(p), find(q); a != b {
					group[a] = b
				}
			case "phone":
				body := fmt.Sprintf(`{"phones":["139%08d"]}`, step)
				if _, err := n.svc.Update(ctx, desk, p, []byte(body), ""); err != nil {
					rt.Fatal(err)
				}
			case "sync":
				sync()
			}
		}
		sync()

		for _, p := range pids {
			var shown [2]chart.Patient
			for i, n := range nodes {
				if shown[i], err = n.svc.Get(ctx, doctor, p); err != nil {
					rt.Fatal(err)
				}
			}
			a, _ := json.Marshal(shown[0])
			b, _ := json.Marshal(shown[1])
			if string(a) != string(b) {
				rt.Fatalf("patient %s differs between the nodes:\n%s\n%s", p, a, b)
			}
			var want []string
			for e, q := range added {
				if find(q) == find(p) && !removed[e] {
					want = append(want, e)
				}
			}
			var got []string
			for _, al := range shown[0].Allergies {
				got = append(got, al.ID)
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				rt.Fatalf("patient %s (survivor %s): allergies %v, want %v", p, shown[0].ID, got, want)
			}
			for _, q := range pids {
				if find(q) == find(p) {
					if sq, _ := nodes[0].svc.Get(ctx, doctor, q); sq.ID != shown[0].ID {
						rt.Fatalf("%s and %s were merged but show %s and %s", p, q, shown[0].ID, sq.ID)
					}
				}
			}
		}
		// The indexes agree with the stores: one entry per group.
		groups := map[string]bool{}
		for _, p := range pids {
			groups[find(p)] = true
		}
		for _, n := range nodes {
			if n.svc.Count() != len(groups) {
				rt.Fatalf("%s: Count %d, want %d groups", n.st.Node(), n.svc.Count(), len(groups))
			}
			res, err := n.svc.Search(desk, "zhangsan", 0)
			if err != nil {
				rt.Fatal(err)
			}
			if len(res) != len(groups) {
				rt.Fatalf("%s: search finds %d charts, want %d", n.st.Node(), len(res), len(groups))
			}
		}
	})
}
