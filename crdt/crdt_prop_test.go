package crdt

// Property tests for the merge rules (pgregory.net/rapid).
//
// TestPropReplicasConverge runs 5..7 replicas that make random changes of
// every kind with their own clocks (wall times that stall, go backwards and
// jump far ahead), gossip them to each other in random order with duplicates,
// delays and partitions, sometimes restart from their encoded state, and
// finally exchange everything. Every replica must then hold byte-identical
// state, show identical views and conflicts, resolve every merge to the same
// survivor, and have lost nothing (see checkConverged).
//
// When a property fails, rapid shrinks the case and prints the seed and a
// fail file. Reproduce with either of
//
//	go test ./crdt -run 'TestPropReplicasConverge$' -rapid.seed=N
//	go test ./crdt -run 'TestPropReplicasConverge$' -rapid.failfile=testdata/rapid/...
//
// Run longer with -rapid.checks=N (default 100), e.g.
//
//	go test ./crdt -run TestProp -rapid.checks=5000

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"pgregory.net/rapid"
)

// The world's vocabulary: few names, so that changes collide often.
var (
	propCollections = []string{"patients", "visits"}
	propIDs         = []string{"r0", "r1", "r2", "r3", "r4"}
	propFields      = []string{"phone", "dob", "name", "note"}
	propSets        = []string{"allergies", "tags"}
	propElems       = []string{"penicillin", "latex", "高血压"}
	propLists       = []string{"vitals", "attempts"}
	propValues      = []string{"", "a", "b", "138-0000-1111", "1970-01-01"}
)

// propImportant marks the fields whose concurrent values are a conflict to
// review; the node's schema decides this in real life.
func propImportant(field string) bool { return field == "phone" || field == "dob" }

type regKey struct{ coll, id, field string }

type tagKey struct {
	coll, id, set, elem string
	tag                 Stamp
}

type factKey struct{ coll, id, list, fact string }

type recKey struct{ coll, id string }

type changeKey struct {
	origin NodeID
	seq    uint64
}

type replica struct {
	id      NodeID
	clock   *Clock
	wall    int64
	seq     uint64
	records map[string]map[string]*Record // collection -> id -> record
	merges  map[string]*Merges            // collection -> merges
	log     []*Change                     // every change held, in the order it came
	has     map[changeKey]bool
}

func newReplica(id NodeID, wall int64) *replica {
	r := &replica{id: id, clock: NewClock(id, 0), wall: wall,
		records: map[string]map[string]*Record{}, merges: map[string]*Merges{}, has: map[changeKey]bool{}}
	for _, c := range propCollections {
		r.records[c] = map[string]*Record{}
		r.merges[c] = &Merges{}
	}
	return r
}

func (r *replica) record(coll, id string) *Record {
	rec := r.records[coll][id]
	if rec == nil {
		rec = &Record{}
		r.records[coll][id] = rec
	}
	return rec
}

// apply applies c (again, if the replica has it already: that must be a
// no-op) and keeps the collection's merges in step, as node/store does.
// peek returns the record without creating it (an empty one if missing).
func (r *replica) peek(coll, id string) *Record {
	if rec := r.records[coll][id]; rec != nil {
		return rec
	}
	return &Record{}
}

func (r *replica) apply(c *Change) {
	k := changeKey{c.Origin, c.Seq}
	if !r.has[k] {
		r.has[k] = true
		r.log = append(r.log, c)
	}
	r.record(c.Collection, c.Record).Apply(c)
	for _, m := range c.Muts {
		if m.Kind == MutMerge {
			r.merges[c.Collection].Add(MergeEdge{From: c.Record, Into: m.Into, Stamp: c.Stamp})
		}
	}
}

// receive is apply for a change from elsewhere: the clock observes it.
func (r *replica) receive(c *Change) {
	r.clock.Observe(c.Stamp, r.wall)
	r.apply(c)
}

// replicaState is everything a replica stores, as node/store would encode it.
type replicaState struct {
	Records map[string]map[string]*Record `cbor:"1,keyasint"`
	Merges  map[string]*Merges            `cbor:"2,keyasint"`
	Clock   Stamp                         `cbor:"3,keyasint"`
}

func (r *replica) stateBytes(t *rapid.T) []byte {
	b, err := detEnc.Marshal(replicaState{Records: r.records, Merges: r.merges})
	if err != nil {
		t.Fatalf("encode state of %s: %v", r.id, err)
	}
	return b
}

// restart replaces the replica's in-memory state by what decoding its
// encoded state gives, and its clock by a new one restored from the last
// stamp, as a node does when it starts.
func (r *replica) restart(t *rapid.T) {
	b, err := detEnc.Marshal(replicaState{Records: r.records, Merges: r.merges, Clock: r.clock.Last()})
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	var s replicaState
	if err := cbor.Unmarshal(b, &s); err != nil {
		t.Fatalf("replica %s: decode own state: %v", r.id, err)
	}
	again, _ := detEnc.Marshal(s)
	if !bytes.Equal(again, b) {
		t.Fatalf("replica %s: decode/encode changed the state", r.id)
	}
	r.records, r.merges = s.Records, s.Merges
	for _, c := range propCollections {
		if r.records[c] == nil {
			r.records[c] = map[string]*Record{}
		}
		if r.merges[c] == nil {
			r.merges[c] = &Merges{}
		}
	}
	last := r.clock.Last()
	r.clock = NewClock(r.id, 0)
	r.clock.Restore(s.Clock)
	if r.clock.Last() != last {
		t.Fatalf("replica %s: clock restored to %v, was %v", r.id, r.clock.Last(), last)
	}
}

// world holds the replicas and the ground truth of what was done.
type world struct {
	reps    []*replica
	all     []*Change
	group   []int // partition group of each replica; nil when connected
	skews   int
	writes  map[regKey][]Stamp
	seen    map[regKey]map[Stamp]bool // every stamp a set named as seen
	added   map[tagKey]bool
	removed map[tagKey]bool
	facts   map[factKey][]Fact
	deletes map[recKey][]Stamp
	lifted  map[recKey]map[Stamp]bool // stamps a restore named
	edges   map[string][]MergeEdge
}

func newWorld(n int, wall int64) *world {
	w := &world{writes: map[regKey][]Stamp{}, seen: map[regKey]map[Stamp]bool{},
		added: map[tagKey]bool{}, removed: map[tagKey]bool{}, facts: map[factKey][]Fact{},
		deletes: map[recKey][]Stamp{}, lifted: map[recKey]map[Stamp]bool{}, edges: map[string][]MergeEdge{}}
	for i := range n {
		w.reps = append(w.reps, newReplica(NodeID(fmt.Sprintf("N%d", i)), wall))
	}
	return w
}

const hourMs = 3_600_000

// tick moves replica r's wall clock: mostly forward a little, sometimes not
// at all, sometimes backwards, sometimes years ahead (and back again).
func (w *world) tick(t *rapid.T, r *replica) {
	switch rapid.IntRange(0, 19).Draw(t, "clock") {
	case 0, 1:
		// same millisecond
	case 2:
		r.wall = max(0, r.wall-rapid.Int64Range(1, 2*hourMs).Draw(t, "back"))
	case 3:
		r.wall += rapid.Int64Range(24*hourMs, 2*365*24*hourMs).Draw(t, "far ahead")
	case 4:
		r.wall = max(0, r.wall-rapid.Int64Range(24*hourMs, 2*365*24*hourMs).Draw(t, "far back"))
	default:
		r.wall += rapid.Int64Range(1, 5_000).Draw(t, "forward")
	}
}

func pick[E any](t *rapid.T, s []E, label string) E { return rapid.SampledFrom(s).Draw(t, label) }

// subset returns some of s: all of it, none, or a random part.
func subset(t *rapid.T, s []Stamp, label string) []Stamp {
	switch rapid.IntRange(0, 5).Draw(t, label+" mode") {
	case 0:
		return nil
	case 1:
		var out []Stamp
		for _, x := range s {
			if rapid.Bool().Draw(t, label+" keep") {
				out = append(out, x)
			}
		}
		return out
	}
	return slices.Clone(s)
}

// makeChange has replica r make one change of one to three mutations from
// what it currently sees, applies it locally and records the ground truth.
func (w *world) makeChange(t *rapid.T, r *replica) {
	w.tick(t, r)
	coll := pick(t, propCollections, "collection")
	id := pick(t, propIDs, "record")
	rec := r.peek(coll, id)
	stamp := r.clock.Now(r.wall)
	c := &Change{Origin: r.id, Seq: r.seq + 1, Stamp: stamp, Collection: coll, Record: id}
	n := rapid.IntRange(1, 3).Draw(t, "mutations")
	setInChange := map[string]bool{}
	for range n {
		var m Mutation
		switch kind := MutKind(rapid.IntRange(1, 8).Draw(t, "kind")); kind {
		case MutSet:
			f := pick(t, propFields, "field")
			if setInChange[f] {
				m = Mutation{Kind: MutTouch}
				break
			}
			setInChange[f] = true
			var cur []Stamp
			if reg := rec.Fields[f]; reg != nil {
				cur = reg.Stamps()
			}
			m = Mutation{Kind: MutSet, Field: f, Value: []byte(pick(t, propValues, "value")), Seen: subset(t, cur, "seen")}
		case MutAdd:
			m = Mutation{Kind: MutAdd, Field: pick(t, propSets, "set"), Elem: pick(t, propElems, "elem")}
		case MutRemove:
			s, e := pick(t, propSets, "set"), pick(t, propElems, "elem")
			var tags []Stamp
			if set := rec.Sets[s]; set != nil {
				tags = set.Tags(e)
			}
			m = Mutation{Kind: MutRemove, Field: s, Elem: e, Seen: tags}
		case MutFact:
			fid := fmt.Sprintf("f-%s-%d-%d", r.id, c.Seq, len(c.Muts))
			if len(w.facts) > 0 && rapid.IntRange(0, 4).Draw(t, "reuse fact id") == 0 {
				// A reading delivered twice, recorded by another node.
				keys := make([]factKey, 0, len(w.facts))
				for k := range w.facts {
					keys = append(keys, k)
				}
				slices.SortFunc(keys, func(a, b factKey) int {
					return cmp.Or(cmp.Compare(a.coll, b.coll), cmp.Compare(a.id, b.id),
						cmp.Compare(a.list, b.list), cmp.Compare(a.fact, b.fact))
				})
				k := pick(t, keys, "fact")
				if len(c.Muts) > 0 && (k.coll != coll || k.id != id) { // a change is about one record
					m = Mutation{Kind: MutTouch}
					break
				}
				c.Collection, c.Record, coll, id, rec = k.coll, k.id, k.coll, k.id, r.peek(k.coll, k.id)
				m = Mutation{Kind: MutFact, Field: k.list, FactID: k.fact, Value: []byte(pick(t, propValues, "value"))}
				break
			}
			m = Mutation{Kind: MutFact, Field: pick(t, propLists, "list"), FactID: fid, Value: []byte(pick(t, propValues, "value"))}
		case MutDelete:
			m = Mutation{Kind: MutDelete}
		case MutRestore:
			m = Mutation{Kind: MutRestore, Seen: subset(t, rec.Deletes, "tombstones")}
			if len(m.Seen) == 0 {
				m.Seen = nil
			}
		case MutMerge:
			into := pick(t, propIDs, "into")
			if into == id {
				m = Mutation{Kind: MutTouch}
				break
			}
			m = Mutation{Kind: MutMerge, Into: into}
		case MutTouch:
			m = Mutation{Kind: MutTouch}
		default:
			t.Fatalf("kind %v", kind)
		}
		c.Muts = append(c.Muts, m)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("generated an invalid change: %v", err)
	}
	r.seq++
	w.all = append(w.all, c)
	w.record(c)
	r.apply(c)
}

// record notes what c did, for the final checks.
func (w *world) record(c *Change) {
	rk := recKey{c.Collection, c.Record}
	for _, m := range c.Muts {
		switch m.Kind {
		case MutSet:
			k := regKey{c.Collection, c.Record, m.Field}
			w.writes[k] = append(w.writes[k], c.Stamp)
			if w.seen[k] == nil {
				w.seen[k] = map[Stamp]bool{}
			}
			for _, s := range m.Seen {
				w.seen[k][s] = true
			}
		case MutAdd:
			w.added[tagKey{c.Collection, c.Record, m.Field, m.Elem, c.Stamp}] = true
		case MutRemove:
			for _, s := range m.Seen {
				w.removed[tagKey{c.Collection, c.Record, m.Field, m.Elem, s}] = true
			}
		case MutFact:
			k := factKey{c.Collection, c.Record, m.Field, m.FactID}
			w.facts[k] = append(w.facts[k], Fact{Stamp: c.Stamp, Value: m.Value})
		case MutDelete:
			w.deletes[rk] = append(w.deletes[rk], c.Stamp)
		case MutRestore:
			if w.lifted[rk] == nil {
				w.lifted[rk] = map[Stamp]bool{}
			}
			for _, s := range m.Seen {
				w.lifted[rk][s] = true
			}
		case MutMerge:
			w.edges[c.Collection] = append(w.edges[c.Collection], MergeEdge{From: c.Record, Into: m.Into, Stamp: c.Stamp})
		}
	}
}

// gossip delivers a few changes that sender holds to receiver, in random
// order, duplicates included; what is not picked waits (is delayed).
func (w *world) gossip(t *rapid.T) {
	from := rapid.IntRange(0, len(w.reps)-1).Draw(t, "from")
	to := rapid.IntRange(0, len(w.reps)-1).Draw(t, "to")
	if from == to || len(w.reps[from].log) == 0 {
		return
	}
	if w.group != nil && w.group[from] != w.group[to] {
		return // partitioned
	}
	src, dst := w.reps[from], w.reps[to]
	w.tick(t, dst)
	for range rapid.IntRange(1, 6).Draw(t, "batch") {
		c := src.log[rapid.IntRange(0, len(src.log)-1).Draw(t, "change")]
		if _, ok := dst.clock.Observe(c.Stamp, dst.wall); ok {
			w.skews++
		}
		dst.apply(c)
	}
}

func (w *world) partition(t *rapid.T) {
	if rapid.IntRange(0, 2).Draw(t, "heal") == 0 {
		w.group = nil
		return
	}
	w.group = make([]int, len(w.reps))
	for i := range w.group {
		w.group[i] = rapid.IntRange(0, 2).Draw(t, "group")
	}
}

// exchangeAll gives every replica every change, in an order of its own, with
// duplicates. The order comes from a seeded PRNG (the seed is drawn, so the
// run is reproducible from rapid's seed) to keep rapid's draws few.
func (w *world) exchangeAll(t *rapid.T) {
	rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "exchange seed"), 1))
	for _, r := range w.reps {
		order := slices.Clone(w.all)
		for range len(order) / 4 {
			order = append(order, order[rng.IntN(len(order))])
		}
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, c := range order {
			r.wall += int64(rng.IntN(3))
			r.receive(c)
		}
	}
}

func TestPropReplicasConverge(t *testing.T) {
	var runs, changes, conflicts, merged, deleted, skews, restarts int
	rapid.Check(t, func(t *rapid.T) {
		w := newWorld(rapid.IntRange(5, 7).Draw(t, "replicas"), rapid.Int64Range(0, 1<<41).Draw(t, "start"))
		steps := rapid.IntRange(1, 400).Draw(t, "steps")
		for range steps {
			switch a := rapid.IntRange(0, 19).Draw(t, "action"); {
			case a < 9:
				w.makeChange(t, w.reps[rapid.IntRange(0, len(w.reps)-1).Draw(t, "replica")])
			case a < 17:
				w.gossip(t)
			case a < 19:
				w.partition(t)
			default:
				w.reps[rapid.IntRange(0, len(w.reps)-1).Draw(t, "restart")].restart(t)
				restarts++
			}
		}
		w.group = nil
		w.exchangeAll(t)
		w.checkConverged(t)

		runs++
		changes += len(w.all)
		skews += w.skews
		for _, coll := range propCollections {
			if len(w.edges[coll]) > 0 {
				merged++
			}
			for _, rec := range w.reps[0].records[coll] {
				v := rec.View(propImportant)
				conflicts += len(v.Conflicts())
				if v.Deleted {
					deleted++
				}
			}
		}
	})
	// Shows (with -v) that the generator reaches the interesting cases.
	t.Logf("%d runs, %d changes: %d conflicts to review, %d collections with merges, %d deleted records, %d skew events, %d restarts",
		runs, changes, conflicts, merged, deleted, skews, restarts)
}

// checkConverged asserts the properties every replica must have once it
// holds every change.
func (w *world) checkConverged(t *rapid.T) {
	ref := w.reps[0]
	refBytes := ref.stateBytes(t)

	// Every change, each origin's numbered 1..n with no gap.
	want := Vector{}
	for _, c := range w.all {
		want[c.Origin]++
	}
	for _, r := range w.reps {
		got := Vector{}
		for _, c := range r.log {
			got[c.Origin] = max(got[c.Origin], c.Seq)
		}
		if len(r.log) != len(w.all) || !reflect.DeepEqual(got, want) {
			t.Fatalf("replica %s holds %d of %d changes, vector %v, want %v", r.id, len(r.log), len(w.all), got, want)
		}
	}

	// Byte-identical state.
	for _, r := range w.reps[1:] {
		if b := r.stateBytes(t); !bytes.Equal(b, refBytes) {
			for _, coll := range propCollections {
				for id, rec := range ref.records[coll] {
					if !bytes.Equal(enc(t, rec), enc(t, r.records[coll][id])) {
						t.Fatalf("%s/%s differs:\n%s: %+v\n%s: %+v", coll, id, ref.id, rec, r.id, r.records[coll][id])
					}
				}
			}
			t.Fatalf("replica %s state differs from %s", r.id, ref.id)
		}
	}

	for _, coll := range propCollections {
		// Identical views, including conflicts, and identical merged views.
		for _, id := range propIDs {
			refRec := ref.records[coll][id]
			if refRec == nil {
				continue
			}
			refView := refRec.View(propImportant)
			refMerged := mergedView(ref, coll, id)
			for _, r := range w.reps[1:] {
				if v := r.records[coll][id].View(propImportant); !reflect.DeepEqual(v, refView) {
					t.Fatalf("%s/%s: view on %s differs from %s:\n%#v\n%#v", coll, id, r.id, ref.id, v, refView)
				}
				if v := mergedView(r, coll, id); !reflect.DeepEqual(v, refMerged) {
					t.Fatalf("%s/%s: merged view on %s differs", coll, id, r.id)
				}
			}
			// Conflicts are exactly the important fields with >1 value.
			for f, fv := range refView.Fields {
				if n := len(refRec.Fields[f].Values); (propImportant(f) && n > 1) != (len(fv.Conflict) > 0) {
					t.Fatalf("%s/%s.%s: %d values, conflict %v", coll, id, f, n, fv.Conflict)
				}
			}
		}

		// One survivor per id, the same everywhere, its own survivor, and
		// what a naive reference resolution says.
		wantSurv := referenceSurvivors(w.edges[coll])
		for _, r := range w.reps {
			m := r.merges[coll]
			// The collection's merges hold exactly its records' merge edges.
			var fromRecords []MergeEdge
			for _, rec := range r.records[coll] {
				fromRecords = append(fromRecords, rec.MergedTo...)
			}
			slices.SortFunc(fromRecords, MergeEdge.compare)
			if !slices.Equal(fromRecords, m.Edges) {
				t.Fatalf("%s: replica %s: merges %v, records' edges %v", coll, r.id, m.Edges, fromRecords)
			}
			for _, id := range propIDs {
				s := m.Survivor(id)
				if want, ok := wantSurv[id]; (ok && s != want) || (!ok && s != id) {
					t.Fatalf("%s: replica %s: Survivor(%s) = %s, reference says %s", coll, r.id, id, s, want)
				}
				if m.Survivor(s) != s {
					t.Fatalf("%s: survivor %s of %s is not its own survivor", coll, s, id)
				}
				mem := m.Members(id)
				if mem[0] != s || !slices.Contains(mem, id) {
					t.Fatalf("%s: Members(%s) = %v, survivor %s", coll, id, mem, s)
				}
			}
		}
	}

	for _, r := range w.reps {
		// Registers: exactly the values no write named as seen.
		for k, written := range w.writes {
			var wantStamps []Stamp
			for _, s := range written {
				if !w.seen[k][s] {
					wantStamps = append(wantStamps, s)
				}
			}
			slices.SortFunc(wantStamps, Stamp.Compare)
			got := r.records[k.coll][k.id].Fields[k.field].Stamps()
			if !slices.Equal(got, wantStamps) && !(len(got) == 0 && len(wantStamps) == 0) {
				t.Fatalf("replica %s: %v holds %v, want %v", r.id, k, got, wantStamps)
			}
		}
		// Add-wins: every add tag no remove named is present; every named
		// one is gone.
		for k := range w.added {
			set := r.records[k.coll][k.id].Sets[k.set]
			live := set != nil && slices.Contains(set.Tags(k.elem), k.tag)
			if live == w.removed[k] {
				t.Fatalf("replica %s: %v live=%v but removed=%v", r.id, k, live, w.removed[k])
			}
			if live && !set.Contains(k.elem) {
				t.Fatalf("replica %s: %v has a live tag but Contains is false", r.id, k)
			}
		}
		// Nothing lost: every fact ever appended, kept by the tie-break.
		for k, fs := range w.facts {
			got, ok := r.records[k.coll][k.id].Facts[k.list][k.fact]
			if !ok {
				t.Fatalf("replica %s lost fact %v", r.id, k)
			}
			// The earliest stamp keeps the id; on a tie, the smaller value.
			keep := slices.MinFunc(fs, func(a, b Fact) int {
				if c := a.Stamp.Compare(b.Stamp); c != 0 {
					return c
				}
				return bytes.Compare(a.Value, b.Value)
			})
			if got.Stamp != keep.Stamp || !bytes.Equal(got.Value, keep.Value) {
				t.Fatalf("replica %s: fact %v is %+v, want %+v", r.id, k, got, keep)
			}
		}
		// Tombstones: exactly the deletes no restore named.
		for k, ds := range w.deletes {
			var wantT []Stamp
			for _, d := range ds {
				if !w.lifted[k][d] {
					wantT = append(wantT, d)
				}
			}
			slices.SortFunc(wantT, Stamp.Compare)
			wantT = slices.Compact(wantT) // a change may delete twice
			rec := r.records[k.coll][k.id]
			if !slices.Equal(rec.Deletes, wantT) && !(len(rec.Deletes) == 0 && len(wantT) == 0) {
				t.Fatalf("replica %s: %v tombstones %v, want %v", r.id, k, rec.Deletes, wantT)
			}
		}
	}
}

// mergedView is what a reader of id sees on r once merges are followed.
func mergedView(r *replica, coll, id string) View {
	m := r.merges[coll]
	s := m.Survivor(id)
	var dups []*Record
	for _, x := range m.Members(s)[1:] {
		if rec := r.records[coll][x]; rec != nil {
			dups = append(dups, rec)
		}
	}
	surv := r.records[coll][s]
	if surv == nil {
		surv = &Record{}
	}
	return MergedRecord(surv, dups).View(propImportant)
}

// referenceSurvivors resolves edges the slow, obvious way: in stamp order,
// relabel every member of From's group with Into's group unless they are one.
func referenceSurvivors(edges []MergeEdge) map[string]string {
	edges = slices.Clone(edges)
	slices.SortFunc(edges, MergeEdge.compare)
	edges = slices.Compact(edges)
	label := map[string]string{}
	get := func(id string) string {
		if l, ok := label[id]; ok {
			return l
		}
		return id
	}
	for _, e := range edges {
		lf, li := get(e.From), get(e.Into)
		if lf == li {
			continue
		}
		label[e.From], label[e.Into] = lf, li
		for id, l := range label {
			if l == lf {
				label[id] = li
			}
		}
	}
	return label
}

// genChanges makes changes to one record from three origins, with seen lists
// drawn from every stamp made so far (not only what a replica could have
// seen: Join must equal Apply for any valid changes), and now and then a
// reissued stamp with other values, as a node restored from an old backup
// would make.
func genChanges(t *rapid.T) []*Change {
	origins := []NodeID{"A", "B", "C"}
	clocks := map[NodeID]*Clock{}
	seqs := map[NodeID]uint64{}
	for _, o := range origins {
		clocks[o] = NewClock(o, 0)
	}
	var stamps []Stamp
	var out []*Change
	wall := int64(t0)
	for range rapid.IntRange(0, 25).Draw(t, "changes") {
		o := pick(t, origins, "origin")
		wall += rapid.Int64Range(-2, 3).Draw(t, "dt")
		s := clocks[o].Now(wall)
		if len(out) > 0 && rapid.IntRange(0, 9).Draw(t, "reissue") == 0 {
			s = pick(t, out, "reissued").Stamp
			o = s.Node
		}
		seqs[o]++
		c := &Change{Origin: o, Seq: seqs[o], Stamp: s, Collection: "c", Record: "p"}
		someSeen := func() []Stamp {
			var seen []Stamp
			for _, x := range stamps {
				if rapid.IntRange(0, 2).Draw(t, "seen") == 0 {
					seen = append(seen, x)
				}
			}
			return seen
		}
		fields := map[string]bool{}
		for range rapid.IntRange(1, 3).Draw(t, "muts") {
			var m Mutation
			switch MutKind(rapid.IntRange(1, 8).Draw(t, "kind")) {
			case MutSet:
				f := pick(t, propFields[:2], "field")
				if fields[f] {
					continue
				}
				fields[f] = true
				m = Mutation{Kind: MutSet, Field: f, Value: []byte(pick(t, propValues, "value")), Seen: someSeen()}
			case MutAdd:
				m = Mutation{Kind: MutAdd, Field: "tags", Elem: pick(t, propElems, "elem")}
			case MutRemove:
				m = Mutation{Kind: MutRemove, Field: "tags", Elem: pick(t, propElems, "elem"), Seen: someSeen()}
			case MutFact:
				m = Mutation{Kind: MutFact, Field: "vitals", FactID: pick(t, []string{"o1", "o2", "o3"}, "fact"),
					Value: []byte(pick(t, propValues, "value"))}
			case MutDelete:
				m = Mutation{Kind: MutDelete}
			case MutRestore:
				m = Mutation{Kind: MutRestore, Seen: someSeen()}
			case MutMerge:
				m = Mutation{Kind: MutMerge, Into: pick(t, propIDs, "into")}
			case MutTouch:
				m = Mutation{Kind: MutTouch}
			}
			c.Muts = append(c.Muts, m)
		}
		if len(c.Muts) == 0 {
			c.Muts = []Mutation{{Kind: MutTouch}}
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("generated an invalid change: %v", err)
		}
		stamps = append(stamps, s)
		out = append(out, c)
	}
	return out
}

// applyShuffled applies cs to a fresh record in an order rapid picks.
func applyShuffled(t *rapid.T, cs []*Change, label string) *Record {
	r := &Record{}
	for _, c := range rapid.Permutation(cs).Draw(t, label) {
		r.Apply(c)
	}
	return r
}

func pickSubset(t *rapid.T, cs []*Change, label string) []*Change {
	var out []*Change
	for _, c := range cs {
		if rapid.Bool().Draw(t, label) {
			out = append(out, c)
		}
	}
	return out
}

func joined(a, b *Record) *Record {
	out := a.Clone()
	out.Join(b)
	return out
}

func TestPropJoin(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cs := genChanges(t)
		sa, sb, sc := pickSubset(t, cs, "in A"), pickSubset(t, cs, "in B"), pickSubset(t, cs, "in C")
		a, b, c := applyShuffled(t, sa, "order A"), applyShuffled(t, sb, "order B"), applyShuffled(t, sc, "order C")
		bytesOf := func(r *Record) []byte { return enc(t, r) }
		aBytes, bBytes := bytesOf(a), bytesOf(b)

		// Apply is order-independent and idempotent.
		if !bytes.Equal(bytesOf(applyShuffled(t, append(slices.Clone(sa), sa...), "order A twice")), aBytes) {
			t.Fatal("applying A in another order, twice over, differs")
		}
		// Join of two subsets equals applying their union.
		union := slices.Clone(sa)
		for _, x := range sb {
			if !slices.Contains(union, x) {
				union = append(union, x)
			}
		}
		ab := joined(a, b)
		if !bytes.Equal(bytesOf(ab), bytesOf(applyShuffled(t, union, "order A+B"))) {
			t.Fatalf("Join(A, B) differs from applying A ∪ B:\njoin  %+v\napply %+v", ab, applyShuffled(t, union, "order A+B again"))
		}
		if !bytes.Equal(bytesOf(a), aBytes) || !bytes.Equal(bytesOf(b), bBytes) {
			t.Fatal("Join modified a record it was not asked to")
		}
		// Commutative, associative, idempotent.
		if !bytes.Equal(bytesOf(ab), bytesOf(joined(b, a))) {
			t.Fatal("Join is not commutative")
		}
		if !bytes.Equal(bytesOf(joined(ab, c)), bytesOf(joined(a, joined(b, c)))) {
			t.Fatal("Join is not associative")
		}
		if !bytes.Equal(bytesOf(joined(a, a)), aBytes) || !bytes.Equal(bytesOf(joined(ab, b)), bytesOf(ab)) {
			t.Fatal("Join is not idempotent")
		}
		// A record decoded from the store joins the same as the original.
		var dec Record
		if err := cbor.Unmarshal(aBytes, &dec); err != nil {
			t.Fatal(err)
		}
		dec.Join(b)
		if !bytes.Equal(bytesOf(&dec), bytesOf(ab)) {
			t.Fatal("a decoded record joins differently")
		}
		// Applying the rest of the changes to a decoded record, too.
		var dec2 Record
		if err := cbor.Unmarshal(aBytes, &dec2); err != nil {
			t.Fatal(err)
		}
		for _, x := range sb {
			dec2.Apply(x)
		}
		if !bytes.Equal(bytesOf(&dec2), bytesOf(ab)) {
			t.Fatal("applying to a decoded record differs")
		}
		// Views agree with the bytes.
		if !reflect.DeepEqual(ab.View(propImportant), joined(b, a).View(propImportant)) {
			t.Fatal("views of equal records differ")
		}
	})
}
