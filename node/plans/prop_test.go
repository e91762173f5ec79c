package plans_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"pgregory.net/rapid"

	"carenode/crdt"
	"carenode/node/followup"
	"carenode/node/plans"
	"carenode/node/store"
)

// TestMergeProperty runs random attempts, reschedules, reassignments,
// pauses, ends and acknowledgments on two nodes that sync at random
// moments, then syncs them fully and checks that (1) both nodes show the
// same plans, tasks, alerts and work lists, (2) each node's index, kept
// up to date change by change, equals one built afresh from its store,
// and (3) no task is done without a reached attempt. rapid prints the
// seed of a failure and shrinks it.
func TestMergeProperty(t *testing.T) {
	if testing.Short() {
		t.Skip("property test: not in short mode")
	}
	root := t.TempDir()
	rapid.Check(t, func(rt *rapid.T) {
		dir, err := os.MkdirTemp(root, "check")
		if err != nil {
			rt.Fatal(err)
		}
		var ns [2]*node
		for i := range ns {
			ns[i] = propNode(rt, dir, crdt.NodeID(fmt.Sprintf("node%d", i)))
			defer ns[i].st.Close()
			defer ns[i].svc.Close()
		}
		patient := ns[0].patient(rt)
		plan := hypertension(rt, ns[0], patient)
		exchange(rt, ns[0], ns[1])
		eventually(rt, "the plan on node1", func() bool { return len(ns[1].svc.Tasks(patient)) == 13 })
		taskIDs := func(n *node) []string {
			var ids []string
			for _, x := range n.svc.Tasks(patient) {
				ids = append(ids, x.ID)
			}
			return ids
		}(ns[0])
		staff := []string{"dr-wang", "nurse-zhao"}
		ops := rapid.IntRange(1, 25).Draw(rt, "ops")
		for range ops {
			n := ns[rapid.IntRange(0, 1).Draw(rt, "node")]
			n.clock.advance(time.Duration(rapid.IntRange(1, 3600).Draw(rt, "ms")) * time.Millisecond)
			task := rapid.SampledFrom(taskIDs[:4]).Draw(rt, "task")
			var err error
			switch rapid.IntRange(0, 9).Draw(rt, "op") {
			case 0, 1, 2:
				_, err = n.svc.Attempt(background, nurse, task, plans.AttemptInput{Outcome: "no_answer"})
			case 3:
				_, err = n.svc.Attempt(background, nurse, task, plans.AttemptInput{Outcome: "wrong_number"})
			case 4:
				sys := rapid.IntRange(90, 200).Draw(rt, "systolic")
				_, err = n.svc.Attempt(background, nurse, task, plans.AttemptInput{Outcome: "reached", Answers: map[string]any{"systolic": float64(sys)}})
			case 5:
				d := followup.DateOf(testStart).AddDays(rapid.IntRange(0, 90).Draw(rt, "days")).String()
				_, err = n.svc.ChangeTask(background, desk, task, plans.TaskChange{Due: &d})
			case 6:
				who := rapid.SampledFrom(staff).Draw(rt, "assignee")
				_, err = n.svc.ChangePlan(background, doctor, plan.ID, plans.PlanChange{Assignee: &who})
			case 7:
				if rapid.Bool().Draw(rt, "pause") {
					_, err = n.svc.PausePlan(background, doctor, plan.ID, "")
				} else {
					_, err = n.svc.ResumePlan(background, doctor, plan.ID, "")
				}
			case 8:
				if rapid.IntRange(0, 3).Draw(rt, "end") == 0 {
					_, err = n.svc.EndPlan(background, doctor, plan.ID, "random end")
				} else {
					exchange(rt, ns[0], ns[1])
				}
			case 9:
				as, _ := n.svc.Alerts("", 0)
				if len(as) > 0 {
					_, err = n.svc.Ack(background, doctor, as[0].ID, "seen")
				}
			}
			var pe *plans.Error
			if err != nil && !errors.As(err, &pe) {
				rt.Fatalf("unexpected error: %v", err)
			}
		}
		exchange(rt, ns[0], ns[1])
		type snapshot struct {
			Tasks   []plans.Task
			Plans   []plans.Plan
			Alerts  []plans.Alert
			Unacked int
			Lists   []plans.WorkList
		}
		snap := func(s *plans.Service) snapshot {
			as, _ := s.Alerts("", 0)
			out := snapshot{Tasks: s.Tasks(patient), Plans: s.Plans(patient), Alerts: as, Unacked: s.UnacknowledgedAlerts()}
			for _, who := range staff {
				out.Lists = append(out.Lists, s.WorkListOn(who, followup.DateOf(testStart).AddDays(45)))
			}
			return out
		}
		rebuilt := func(n *node) snapshot {
			fresh, err := plans.Open(serviceConfig(n))
			if err != nil {
				rt.Fatal(err)
			}
			defer fresh.Close()
			return snap(fresh)
		}
		// The followers apply each node's changes to the other's index on
		// their own goroutines, and lost alerts they raise need one more
		// exchange: wait until both nodes agree with each other and with
		// an index built afresh from their stores.
		var a, b, fa, fb snapshot
		deadline := time.Now().Add(30 * time.Second)
		for {
			exchange(rt, ns[0], ns[1])
			a, b = snap(ns[0].svc), snap(ns[1].svc)
			fa, fb = rebuilt(ns[0]), rebuilt(ns[1])
			if reflect.DeepEqual(a, b) && reflect.DeepEqual(a, fa) && reflect.DeepEqual(b, fb) {
				break
			}
			if time.Now().After(deadline) {
				rt.Fatalf("nodes differ after sync, or from an index built afresh:\nnode0 %+v\nnode1 %+v\nfresh0 %+v\nfresh1 %+v", a, b, fa, fb)
			}
			time.Sleep(5 * time.Millisecond)
		}
		for _, x := range a.Tasks {
			if x.Status == plans.StatusDone {
				full, _ := ns[0].svc.Task(x.ID)
				reached := false
				for _, at := range full.Attempts {
					reached = reached || at.Outcome == followup.OutcomeReached
				}
				if !reached {
					rt.Fatalf("task %s done without a reached attempt: %+v", x.ID, full)
				}
			}
		}
	})
}

// propNode is newNode for rapid: a store in dir (NoSync: many small
// checks) closed by the caller.
func propNode(rt *rapid.T, dir string, id crdt.NodeID) *node {
	opts := store.DefaultOptions(filepath.Join(dir, string(id)+".db"), id)
	opts.Create, opts.NoSync, opts.Logger = true, true, quietLog
	c := &clock{now: testStart}
	opts.Now = c.Now
	st, err := store.Open(opts)
	if err != nil {
		rt.Fatal(err)
	}
	n := &node{st: st, clock: c, queue: &queue{}}
	if n.svc, err = plans.Open(serviceConfig(n)); err != nil {
		rt.Fatal(err)
	}
	return n
}
