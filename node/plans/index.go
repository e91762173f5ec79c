package plans

import (
	"cmp"
	"slices"
	"strings"
	"sync"

	"carenode/crdt"
	"carenode/node/followup"
	"carenode/node/store"
)

// index is the in-memory picture of every plan, task and alert that work
// lists and alert lists read: built at open with store.ListOnly (only the
// fields named below are decoded) and kept current by refresh, which the
// service calls after its own writes and the watcher after a peer's.
// Open tasks sit in a slice per assignee sorted by due date, so a work
// list is three binary searches and a copy, never a scan of the store.
type index struct {
	mu        sync.RWMutex
	versions  map[string]*followup.Template // version id -> template copy; nil: unreadable
	templates map[string]followup.Template  // admin templates by id
	plans     map[string]*planEntry
	patients  map[string]map[string]bool // patient -> plan ids
	tasks     map[string]*taskEntry
	planTasks map[string]map[string]*taskEntry // plan id -> its tasks, even before the plan arrives
	lists     map[string][]*taskEntry          // assignee -> open tasks by (due, id)
	alerts    map[string]*alertEntry
	unacked   int
	fresh     map[string]*followup.Step // version id -> the step of a task with no attempt
}

type planEntry struct {
	id, patient, version string
	doctor, assignee     string
	method, endReason    string
	start, scheduled     followup.Date
	paused, ended        bool
	templateID           string
}

type taskEntry struct {
	id, plan, patient string
	seq               int
	due               followup.Date
	dueMethod         string
	method, assignee  string // the task's own, overriding the plan's
	outcomes          []followup.Outcome

	// Derived by evaluate.
	status string
	step   *followup.Step // shared and never changed: evaluate replaces it
	owner  string         // effective assignee
	how    string         // effective method
	listed string         // the owner whose list holds it; "" none
	lDue   followup.Date
}

type alertEntry struct {
	id, kind, to, patient, level, raised string
	acked                                bool
}

var (
	planFields  = store.Only{Fields: []string{fPatient, fVersion, fStart, fDoctor, fAssignee, fMethod, fPaused, fEnded, fScheduled}}
	taskFields  = store.Only{Fields: []string{fPlan, fPatient, fDue, fDueMethod, fMethod, fAssignee}, Sets: []string{fOutcomes}}
	alertFields = store.Only{Fields: []string{fKind, fTo, fPatient, fLevel, fRaised}, Sets: []string{fAcked}}
)

func newIndex() *index {
	return &index{versions: map[string]*followup.Template{}, templates: map[string]followup.Template{},
		plans: map[string]*planEntry{}, patients: map[string]map[string]bool{}, tasks: map[string]*taskEntry{},
		planTasks: map[string]map[string]*taskEntry{}, lists: map[string][]*taskEntry{}, alerts: map[string]*alertEntry{},
		fresh: map[string]*followup.Step{}}
}

func planFromView(id string, v crdt.View) *planEntry {
	p := &planEntry{id: id, patient: str(v, fPatient), version: str(v, fVersion), doctor: str(v, fDoctor),
		assignee: str(v, fAssignee), method: str(v, fMethod), start: date(v, fStart), scheduled: date(v, fScheduled),
		paused: boolField(v, fPaused)}
	if _, ok := v.Fields[fEnded]; ok {
		p.ended = true
		var e endMark
		if decodeJSON(v.Fields[fEnded].Value, &e) == nil {
			p.endReason = e.Reason
		}
	}
	p.templateID, _, _ = strings.Cut(p.version, ".")
	return p
}

func taskFromView(id string, v crdt.View) *taskEntry {
	return &taskEntry{id: id, plan: str(v, fPlan), patient: str(v, fPatient), seq: taskSeq(id), due: date(v, fDue),
		dueMethod: str(v, fDueMethod), method: str(v, fMethod), assignee: str(v, fAssignee),
		outcomes: outcomesOf(v.Sets[fOutcomes])}
}

func alertFromView(id string, v crdt.View) *alertEntry {
	return &alertEntry{id: id, kind: str(v, fKind), to: str(v, fTo), patient: str(v, fPatient), level: str(v, fLevel),
		raised: str(v, fRaised), acked: len(v.Sets[fAcked]) > 0}
}

// template returns the copy a plan keeps; the zero Template (NextStep's
// defaults: three failures a rung, then lost to follow-up) while the copy
// has not arrived.
func (x *index) template(p *planEntry) followup.Template {
	if p != nil {
		if t := x.versions[p.version]; t != nil {
			return *t
		}
	}
	return followup.Template{}
}

// putPlan replaces a plan's entry and re-evaluates its tasks. Caller holds mu.
func (x *index) putPlan(p *planEntry) {
	if old := x.plans[p.id]; old != nil && old.patient != p.patient {
		delete(x.patients[old.patient], p.id)
	}
	x.plans[p.id] = p
	if x.patients[p.patient] == nil {
		x.patients[p.patient] = map[string]bool{}
	}
	x.patients[p.patient][p.id] = true
	for _, t := range x.planTasks[p.id] {
		x.evaluate(t)
	}
}

// putTask replaces a task's entry. Caller holds mu.
func (x *index) putTask(t *taskEntry) {
	if old := x.tasks[t.id]; old != nil {
		x.unlist(old)
		if old.plan != t.plan {
			delete(x.planTasks[old.plan], t.id)
		}
	}
	x.tasks[t.id] = t
	if x.planTasks[t.plan] == nil {
		x.planTasks[t.plan] = map[string]*taskEntry{}
	}
	x.planTasks[t.plan][t.id] = t
	x.evaluate(t)
}

func (x *index) putAlert(a *alertEntry) {
	if old := x.alerts[a.id]; old != nil && !old.acked {
		x.unacked--
	}
	x.alerts[a.id] = a
	if !a.acked {
		x.unacked++
	}
}

// evaluate derives a task's status, step, assignee and method from its
// outcomes and its plan, and moves it between work lists. Caller holds mu.
func (x *index) evaluate(t *taskEntry) {
	p := x.plans[t.plan]
	t.status, t.step = x.status(p, t.outcomes)
	t.owner, t.how = effective(t, p)
	x.unlist(t)
	if openStatus(t.status) && t.owner != "" && t.due.Valid() {
		l := x.lists[t.owner]
		i, _ := slices.BinarySearchFunc(l, t, byDue)
		x.lists[t.owner] = slices.Insert(l, i, t)
		t.listed, t.lDue = t.owner, t.due
	}
}

// nextStep is followup.NextStep for p's template, remembered per template
// copy for tasks with no attempt yet: most tasks, all alike.
func (x *index) nextStep(p *planEntry, outcomes []followup.Outcome) (*followup.Step, error) {
	if len(outcomes) > 0 {
		st, err := followup.NextStep(x.template(p), outcomes)
		return &st, err
	}
	key := ""
	if p != nil {
		key = p.version
	}
	if st, ok := x.fresh[key]; ok {
		return st, nil
	}
	st, err := followup.NextStep(x.template(p), nil)
	if err == nil {
		x.fresh[key] = &st
	}
	return &st, err
}

// effective returns whose list a task is on and how the next contact is
// made: the task's own assignee and method, else the plan's, else the
// schedule's method; escalation past the patient names its own method.
func effective(t *taskEntry, p *planEntry) (owner, how string) {
	owner, how = t.assignee, t.method
	if p != nil {
		if owner == "" {
			owner = p.assignee
		}
		if how == "" {
			how = p.method
		}
	}
	if how == "" {
		how = t.dueMethod
	}
	if t.step != nil && t.step.Escalated && t.step.Method != "" {
		how = t.step.Method
	}
	return owner, how
}

// status is a task's state: what its attempts say first (a task with a
// reached attempt is done even when its plan ended meanwhile at another
// node, since the contact happened), then its plan's state, then how far
// escalation has gone. An outcome this build does not know keeps the
// task open rather than closing it.
func (x *index) status(p *planEntry, outcomes []followup.Outcome) (string, *followup.Step) {
	step, err := x.nextStep(p, outcomes)
	if err != nil {
		return StatusOpen, nil
	}
	switch {
	case step.Action == followup.ActionDone:
		return StatusDone, step
	case step.Action == followup.ActionEndPlan:
		return StatusEnded, step
	case p != nil && p.ended:
		return StatusCancelled, step
	case p != nil && p.paused:
		return StatusPaused, step
	case step.Action == followup.ActionLost:
		return StatusLost, step
	case step.Escalated:
		return StatusEscalated, step
	}
	return StatusOpen, step
}

func byDue(a, b *taskEntry) int {
	if c := a.due.Compare(b.due); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

func (x *index) unlist(t *taskEntry) {
	if t.listed == "" {
		return
	}
	l := x.lists[t.listed]
	key := &taskEntry{id: t.id, due: t.lDue}
	if i, ok := slices.BinarySearchFunc(l, key, byDue); ok {
		l = slices.Delete(l, i, i+1)
		if len(l) == 0 {
			delete(x.lists, t.listed)
		} else {
			x.lists[t.listed] = l
		}
	}
	t.listed = ""
}

// span returns the open tasks of owner due in [from, to] (to's zero Date:
// no end), in order.
func (x *index) span(owner string, from, to followup.Date) []*taskEntry {
	l := x.lists[owner]
	lo := 0
	if from.Valid() {
		lo, _ = slices.BinarySearchFunc(l, from, func(t *taskEntry, d followup.Date) int { return t.due.Compare(d) })
	}
	hi := len(l)
	if to.Valid() {
		hi, _ = slices.BinarySearchFunc(l, to.AddDays(1), func(t *taskEntry, d followup.Date) int { return t.due.Compare(d) })
	}
	if hi < lo {
		return nil
	}
	return l[lo:hi]
}
