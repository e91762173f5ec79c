package readings_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"carenode/crdt"
	"carenode/internal/testclock"
	"carenode/node/readings"
	"carenode/node/store"
	"carenode/node/vault"
)

// TestMergeProperty stores device messages (some delivered to several
// nodes), attaches, discards and binds by session on three nodes that sync
// pairwise at random moments, then syncs them fully. Every node must then
// hold each message once and show the same review queue, the same
// observations per patient and the same state of every reading; a reading
// with concurrent decisions must be in review. rapid prints the seed of a
// failure and shrinks it.
func TestMergeProperty(t *testing.T) {
	if testing.Short() {
		t.Skip("property test: not in short mode")
	}
	root := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var msgs []readings.Message
	for _, m := range []string{
		bpMessage(t, "P1", "", "120", "R"),
		bpMessage(t, "P2", "789567", "121", "R"),
		bpMessage(t, "P3", "", "122", "R"),
		sample(t, "valid-thermometer-continua-wan.hl7v2"),
	} {
		msgs = append(msgs, batch(t, m, time.Time{}))
	}
	dk := dataKey(t)
	rapid.Check(t, func(rt *rapid.T) {
		dir, err := os.MkdirTemp(root, "check")
		if err != nil {
			rt.Fatal(err)
		}
		ctx := context.Background()
		clk := testclock.New(t0)
		var stores [3]*store.Store
		var svcs [3]*readings.Service
		for i := range stores {
			id := crdt.NodeID(fmt.Sprintf("node%d", i+1))
			opts := store.DefaultOptions(filepath.Join(dir, string(id)+".db"), id)
			opts.Create, opts.NoSync = true, true
			opts.Important = func(coll, f string) bool { return coll == readings.Collection && readings.Important(f) }
			if stores[i], err = store.Open(opts); err != nil {
				rt.Fatal(err)
			}
			defer stores[i].Close()
			cfg := readings.DefaultConfig(stores[i])
			cfg.Patients = &patients{ids: map[string][]string{"p1": {"p1"}, "p2": {"p2"}, "789567": {"p2"}}}
			cfg.Now, cfg.Logger = clk.Now, quiet
			if svcs[i], err = readings.Open(cfg); err != nil {
				rt.Fatal(err)
			}
			defer svcs[i].Close()
			box, err := vault.NewDropBox(dk)
			if err != nil {
				rt.Fatal(err)
			}
			if err := svcs[i].Unlock(ctx, box); err != nil {
				rt.Fatal(err)
			}
		}
		sync := func(a, b int) {
			page, err := stores[a].ChangesAfter(stores[b].Vector(), 0)
			if err != nil {
				rt.Fatal(err)
			}
			if len(page.Changes) > 0 {
				if _, err := stores[b].ApplyRemote(page.Changes); err != nil {
					rt.Fatal(err)
				}
			}
		}
		delivered := map[int]bool{}
		steps := rapid.IntRange(1, 25).Draw(rt, "steps")
		for range steps {
			n := rapid.IntRange(0, 2).Draw(rt, "node")
			clk.Advance(time.Duration(rapid.IntRange(0, 90).Draw(rt, "seconds")) * time.Second)
			switch op := rapid.IntRange(0, 4).Draw(rt, "op"); op {
			case 0: // a device message reaches node n (again, perhaps)
				m := rapid.IntRange(0, len(msgs)-1).Draw(rt, "msg")
				msg := msgs[m]
				msg.Received = clk.Now()
				if err := svcs[n].Store(ctx, msg); err != nil {
					rt.Fatal(err)
				}
				delivered[m] = true
			case 1, 2: // a staff member attaches or discards what node n shows
				r, err := svcs[n].Review(0)
				if err != nil {
					rt.Fatal(err)
				}
				if len(r) == 0 {
					continue
				}
				id := r[rapid.IntRange(0, len(r)-1).Draw(rt, "item")].ID
				if op == 1 {
					_, err = svcs[n].Attach(ctx, id, rapid.SampledFrom([]string{"p1", "p2"}).Draw(rt, "patient"), "staff")
				} else {
					_, err = svcs[n].Discard(ctx, id, "test", "staff")
				}
				if err != nil {
					rt.Fatal(err)
				}
			case 3: // measure now on node n
				dev := "0123456789ABCDEF^EUI-64"
				if _, err := svcs[n].StartSession(ctx, dev, rapid.SampledFrom([]string{"p1", "p2"}).Draw(rt, "session patient"), 0, "desk"); err != nil {
					rt.Fatal(err)
				}
			case 4:
				sync(n, (n+1+rapid.IntRange(0, 1).Draw(rt, "peer"))%3)
			}
		}
		for range 2 {
			for a := range 3 {
				for b := range 3 {
					if a != b {
						sync(a, b)
					}
				}
			}
		}
		// The same everywhere.
		var want string
		for i, svc := range svcs {
			vs, err := stores[i].List(readings.Collection, "", 1000)
			if err != nil {
				rt.Fatal(err)
			}
			if len(vs) > len(delivered) {
				rt.Fatalf("node %d holds %d readings of %d distinct messages", i+1, len(vs), len(delivered))
			}
			var b strings.Builder
			review, err := svc.Review(0)
			if err != nil {
				rt.Fatal(err)
			}
			for _, it := range review {
				fmt.Fprintf(&b, "review %s %s %s %s\n", it.ID, it.LOINC, it.RawValue, it.State)
			}
			for _, p := range []string{"p1", "p2"} {
				obs, err := svc.Observations([]string{p}, true)
				if err != nil {
					rt.Fatal(err)
				}
				for _, it := range obs {
					fmt.Fprintf(&b, "%s %s %s %s %v %s\n", p, it.ID, it.LOINC, it.RawValue, it.Current, it.State)
				}
			}
			for _, v := range vs {
				r, err := svc.Reading(v.ID)
				if err != nil {
					rt.Fatal(err)
				}
				fmt.Fprintf(&b, "reading %s %s %s %d\n", r.ID, r.State, r.Received.Format(time.RFC3339Nano), len(r.Decisions))
				inReview := slices.ContainsFunc(review, func(it readings.Item) bool { return it.ID == r.ID })
				if (r.State == readings.StateConflict || r.State == readings.StateWaiting) != inReview {
					rt.Fatalf("node %d: reading %s in state %s, in review %v", i+1, r.ID, r.State, inReview)
				}
			}
			if i == 0 {
				want = b.String()
			} else if b.String() != want {
				rt.Fatalf("node %d differs from node 1:\n%s\nnode 1:\n%s", i+1, b.String(), want)
			}
		}
	})
}
