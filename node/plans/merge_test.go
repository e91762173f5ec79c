package plans_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"carenode/node/plans"
)

// Merge tests: two real stores (a clinic desk and a nurse laptop) apart,
// each changing the same follow-up data, then exchanging changes. Each
// ends with both nodes showing the same thing, which is the outcome
// written in doc.go.

// pair makes two nodes holding the same patient and hypertension plan.
func pair(t *testing.T) (desk1, laptop *node, patient string, plan plans.Plan) {
	desk1, laptop = newNode(t, "desk1"), newNode(t, "laptop1")
	patient = desk1.patient(t)
	plan = hypertension(t, desk1, patient)
	exchange(t, desk1, laptop)
	eventually(t, "the plan on the laptop", func() bool { return len(laptop.svc.Tasks(patient)) == 13 })
	return desk1, laptop, patient, plan
}

func sameTasks(t *testing.T, a, b *node, patient string) []plans.Task {
	t.Helper()
	var ta, tb []plans.Task
	eventually(t, "both nodes to show the same tasks", func() bool {
		ta, tb = a.svc.Tasks(patient), b.svc.Tasks(patient)
		return reflect.DeepEqual(ta, tb)
	})
	return ta
}

// A task attempted on the nurse laptop and rescheduled at the desk while
// apart: both stand. The attempt (a fact) is kept, the new date (a
// register the laptop did not touch) is kept.
func TestMergeAttemptAndReschedule(t *testing.T) {
	desk1, laptop, patient, _ := pair(t)
	task := desk1.svc.Tasks(patient)[0]
	attempt(t, laptop, nurse, task.ID, "no_answer", nil)
	newDue := task.Due.AddDays(2).String()
	if _, err := desk1.svc.ChangeTask(background, desk, task.ID, plans.TaskChange{Due: &newDue}); err != nil {
		t.Fatal(err)
	}
	exchange(t, desk1, laptop)
	got := sameTasks(t, desk1, laptop, patient)[0]
	if got.ID != task.ID || got.Due.String() != newDue || got.AttemptCount != 1 || got.Status != plans.StatusOpen || got.Step.Attempt != 2 {
		t.Errorf("merged task %+v, want due %s with one failed attempt, next attempt 2", got, newDue)
	}
	// And the reverse: reached on the laptop, rescheduled at the desk:
	// done, whatever the date says.
	second := desk1.svc.Tasks(patient)[1]
	attempt(t, laptop, nurse, second.ID, "reached", map[string]any{"systolic": 135.0, "diastolic": 85.0})
	d := second.Due.AddDays(5).String()
	if _, err := desk1.svc.ChangeTask(background, desk, second.ID, plans.TaskChange{Due: &d}); err != nil {
		t.Fatal(err)
	}
	exchange(t, desk1, laptop)
	if got := sameTasks(t, desk1, laptop, patient)[1]; got.Status != plans.StatusDone || got.Due.String() != d {
		t.Errorf("reached + rescheduled: %+v", got)
	}
}

// A plan ended at one node while a task of it is completed at another:
// the plan is ended, the completed task stays done (the contact
// happened, its answers and alerts stand), every other open task is
// cancelled.
func TestMergeEndAndComplete(t *testing.T) {
	desk1, laptop, patient, plan := pair(t)
	task := desk1.svc.Tasks(patient)[0]
	if _, err := desk1.svc.EndPlan(background, doctor, plan.ID, "moved to Kunming"); err != nil {
		t.Fatal(err)
	}
	res := attempt(t, laptop, nurse, task.ID, "reached", map[string]any{"systolic": 176.0, "diastolic": 92.0})
	if len(res.Alerts) != 1 {
		t.Fatalf("laptop's abnormal answer raised %v", res.Alerts)
	}
	exchange(t, desk1, laptop)
	tasks := sameTasks(t, desk1, laptop, patient)
	if tasks[0].Status != plans.StatusDone {
		t.Errorf("completed task after merge: %s, want done", tasks[0].Status)
	}
	for _, x := range tasks[1:] {
		if x.Status != plans.StatusCancelled {
			t.Errorf("task %s after merge: %s, want cancelled", x.ID, x.Status)
		}
	}
	for _, n := range []*node{desk1, laptop} {
		p, err := n.svc.Plan(plan.ID)
		if err != nil || p.Status != plans.PlanEnded || p.EndReason != "moved to Kunming" || p.OpenTasks != 0 {
			t.Errorf("%s plan %+v %v", n.st.Node(), p, err)
		}
		eventually(t, "the alert on both", func() bool { a, _ := n.svc.Alerts("dr-wang", 0); return len(a) == 1 })
	}
	// No more attempts on either node.
	if _, err := laptop.svc.Attempt(background, nurse, tasks[1].ID, plans.AttemptInput{Outcome: "no_answer"}); err == nil {
		t.Error("attempt on an ended plan's task accepted")
	}
}

// An alert acknowledged twice, on two nodes while apart: it is
// acknowledged, and both acknowledgments with their actions are kept,
// oldest first, the same on both nodes.
func TestMergeAlertAckedTwice(t *testing.T) {
	desk1, laptop, patient, _ := pair(t)
	res := attempt(t, desk1, nurse, desk1.svc.Tasks(patient)[0].ID, "reached", map[string]any{"systolic": 185.0})
	exchange(t, desk1, laptop)
	id := res.Alerts[0]
	eventually(t, "the alert on the laptop", func() bool { return laptop.svc.UnacknowledgedAlerts() == 1 })
	if _, err := desk1.svc.Ack(background, doctor, id, "Referred to county hospital"); err != nil {
		t.Fatal(err)
	}
	laptop.clock.advance(time.Minute)
	other := doctor
	other.Name = "dr-li"
	if _, err := laptop.svc.Ack(background, other, id, "Phoned the patient: go to the emergency room"); err != nil {
		t.Fatal(err)
	}
	exchange(t, desk1, laptop)
	var a, b plans.Alert
	eventually(t, "the same alert on both", func() bool {
		a, _ = desk1.svc.Alert(id)
		b, _ = laptop.svc.Alert(id)
		return len(a.Acks) == 2 && reflect.DeepEqual(a, b)
	})
	if !a.Acknowledged || a.Level != "urgent" || a.Acks[0].By != "dr-wang" || a.Acks[1].By != "dr-li" {
		t.Errorf("merged alert %+v", a)
	}
	for _, n := range []*node{desk1, laptop} {
		if c := n.svc.UnacknowledgedAlerts(); c != 0 {
			t.Errorf("%s counts %d unacknowledged", n.st.Node(), c)
		}
	}
}

// Failures split between two nodes add up: six no answers on each (the
// patient and family rungs as each node sees it) are twelve together,
// every rung's three, so the task is lost to follow-up only once merged;
// the supervisor is told once (one alert id, whichever node raises it).
func TestMergeLostAcrossNodes(t *testing.T) {
	desk1, laptop, patient, _ := pair(t)
	task := desk1.svc.Tasks(patient)[0].ID
	for range 6 {
		attempt(t, desk1, desk, task, "no_answer", nil)
	}
	for range 6 {
		attempt(t, laptop, nurse, task, "no_answer", nil)
	}
	if desk1.svc.UnacknowledgedAlerts()+laptop.svc.UnacknowledgedAlerts() != 0 {
		t.Fatal("lost before merging")
	}
	exchange(t, desk1, laptop)
	eventually(t, "a lost alert", func() bool {
		return desk1.svc.UnacknowledgedAlerts() == 1 || laptop.svc.UnacknowledgedAlerts() == 1
	})
	exchange(t, desk1, laptop)
	eventually(t, "one lost alert on both", func() bool {
		a, _ := desk1.svc.Alerts("head-nurse", 0)
		b, _ := laptop.svc.Alerts("head-nurse", 0)
		return len(a) == 1 && len(b) == 1 && a[0].ID == b[0].ID
	})
	if got := sameTasks(t, desk1, laptop, patient)[0]; got.Status != plans.StatusLost || got.AttemptCount != 12 {
		t.Errorf("merged task %+v", got)
	}
}

// The same diagnosis recorded on two nodes while apart makes one plan
// with the same tasks (ids from patient, template and Seq).
func TestMergeSameDiagnosisTwice(t *testing.T) {
	desk1, laptop := newNode(t, "desk1"), newNode(t, "laptop1")
	patient := desk1.patient(t)
	exchange(t, desk1, laptop)
	hypertension(t, desk1, patient)
	laptop.clock.advance(48 * time.Hour)
	if _, err := laptop.svc.Diagnosed(background, nurse, patient, "I10"); err != nil {
		t.Fatal(err)
	}
	exchange(t, desk1, laptop)
	tasks := sameTasks(t, desk1, laptop, patient)
	if len(desk1.svc.Plans(patient)) != 1 || len(laptop.svc.Plans(patient)) != 1 {
		t.Errorf("plans: %d and %d, want 1", len(desk1.svc.Plans(patient)), len(laptop.svc.Plans(patient)))
	}
	ids := map[string]bool{}
	for _, x := range tasks {
		ids[x.ID] = true
	}
	// The laptop's start is two days later: the newer write's dates are
	// shown; Seq 14 exists only if one node's horizon reached it.
	if len(tasks) < 13 || !slices.IsSortedFunc(tasks, func(a, b plans.Task) int { return a.Due.Compare(b.Due) }) || len(ids) != len(tasks) {
		t.Errorf("merged tasks %+v", tasks)
	}
}
