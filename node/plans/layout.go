package plans

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"carenode/crdt"
	"carenode/node/followup"
	"carenode/node/store"
)

// Collections in the store.
const (
	PlansCollection     = "followup_plans"     // <patient>.<template> (from an event) or <patient>.<random> (by hand)
	TasksCollection     = "followup_tasks"     // <plan>.<Due.Seq>
	AlertsCollection    = "followup_alerts"    // <patient>.<random>, or <task>.lost
	TemplatesCollection = "followup_templates" // <template id>: an admin's template, replacing a shipped one
	VersionsCollection  = "followup_versions"  // <template id>.<hash>: the immutable copy plans keep
)

// Fields of a plan record (registers, except where noted).
const (
	fPatient   = "patient"
	fVersion   = "version" // the template copy, a VersionsCollection id
	fStart     = "start"
	fDoctor    = "doctor"
	fAssignee  = "assignee"
	fMethod    = "method" // "" or absent: each contact's own method
	fPaused    = "paused" // true or false
	fEnded     = "ended"  // present once ended: {"reason","by","at"}; never unset
	fScheduled = "scheduled"
	fHistory   = "history" // facts: who did what to the plan or task
)

// Fields of a task record.
const (
	fPlan      = "plan"
	fDue       = "due"
	fDueMethod = "dueMethod" // the schedule's method for this contact
	// fMethod and fAssignee on a task override the plan's when set.
	fOutcomes = "outcomes" // add-only set "<attempt id>:<outcome>": what the index reads
	fAttempts = "attempts" // facts, one per attempt, id = attempt id
)

// Fields of an alert record.
const (
	fKind     = "kind"
	fTask     = "task"
	fTo       = "to"
	fLevel    = "level"
	fRaised   = "raised"
	fFindings = "findings"
	fChanges  = "changes"
	fReason   = "reason"
	fAcked    = "acked" // add-only set of ack ids
	fAcks     = "acks"  // facts, one per acknowledgment
	fJSON     = "json"  // template and version records
)

// Alert kinds.
const (
	AlertFinding = "finding" // an abnormal or worsening answer: to the plan's doctor
	AlertLost    = "lost"    // lost to follow-up: to the supervisor
)

// Task statuses. Open, escalated and lost tasks are on work lists.
const (
	StatusOpen      = "open"      // no attempt yet, or failed attempts at the patient rung
	StatusEscalated = "escalated" // past the patient rung: family, village health worker, home visit
	StatusLost      = "lost"      // every rung failed: stays open, the supervisor is told
	StatusDone      = "done"      // reached, answers recorded
	StatusEnded     = "ended"     // an attempt ended the plan: deceased, moved, refused
	StatusCancelled = "cancelled" // the plan ended (at this node or another) before the task was done
	StatusPaused    = "paused"    // the plan is paused
)

// Plan statuses.
const (
	PlanActive = "active"
	PlanPaused = "paused"
	PlanEnded  = "ended"
)

func openStatus(s string) bool { return s == StatusOpen || s == StatusEscalated || s == StatusLost }

// jsonValue marshals v for a register; v is always marshallable here.
func jsonValue(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("plans: marshal: " + err.Error())
	}
	return b
}

func set(field string, v any) store.Edit {
	return store.Edit{Kind: crdt.MutSet, Field: field, Value: jsonValue(v), SeenCurrent: true}
}

// str reads a register holding a JSON string. Most values are plain ASCII
// with no escapes, which it slices without the JSON decoder: the index
// reads 300,000 tasks at open.
func str(v crdt.View, field string) string {
	f, ok := v.Fields[field]
	if !ok {
		return ""
	}
	b := f.Value
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		plain := true
		for _, c := range b[1 : len(b)-1] {
			if c == '\\' || c < 0x20 || c >= 0x80 {
				plain = false
				break
			}
		}
		if plain {
			return string(b[1 : len(b)-1])
		}
	}
	var s string
	if json.Unmarshal(b, &s) != nil {
		return ""
	}
	return s
}

func boolField(v crdt.View, field string) bool {
	f, ok := v.Fields[field]
	return ok && string(f.Value) == "true"
}

// date reads a register holding "YYYY-MM-DD"; the zero Date when absent
// or unreadable.
func date(v crdt.View, field string) followup.Date {
	s := str(v, field)
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return followup.Date{}
	}
	y, e1 := strconv.Atoi(s[:4])
	m, e2 := strconv.Atoi(s[5:7])
	d, e3 := strconv.Atoi(s[8:])
	if e1 != nil || e2 != nil || e3 != nil {
		return followup.Date{}
	}
	out := followup.Date{Year: y, Month: time.Month(m), Day: d}
	if !out.Valid() {
		return followup.Date{}
	}
	return out
}

// taskID is a task's id: its plan's id and the contact's Seq, so two
// nodes scheduling the same plan make the same tasks.
func taskID(plan string, seq int) string { return plan + "." + strconv.Itoa(seq) }

// taskSeq returns the Seq at the end of a task id.
func taskSeq(id string) int {
	i := strings.LastIndexByte(id, '.')
	n, err := strconv.Atoi(id[i+1:])
	if i < 0 || err != nil {
		return 0
	}
	return n
}

// versionID names a template's immutable copy by its content, so every
// node storing the same template makes the same record.
func versionID(t followup.Template) (string, []byte) {
	b := jsonValue(t)
	sum := sha256.Sum256(b)
	return t.ID + "." + hex.EncodeToString(sum[:6]), b
}

// attemptID sorts by time: twelve hex digits of milliseconds, then
// randomness, so every node orders attempts the same way (time, then id).
func attemptID(now time.Time) string {
	return fmt.Sprintf("%012x-%s", now.UnixMilli(), store.NewShortID())
}

// outcomesOf reads the outcome set, oldest attempt first.
func outcomesOf(elems []string) []followup.Outcome {
	// Elems come sorted, and attempt ids sort by time.
	out := make([]followup.Outcome, 0, len(elems))
	for _, e := range elems {
		if i := strings.LastIndexByte(e, ':'); i >= 0 {
			out = append(out, followup.Outcome(e[i+1:]))
		}
	}
	return out
}

// PatientOf returns the patient a follow-up record belongs to, from its
// id alone: every plan, task and alert id starts with the patient's chart
// id and a dot. Sync scopes use it to send a nurse laptop the follow-up
// records of its assigned patients. "" for template records, which every
// node holds.
func PatientOf(collection, id string) string {
	switch collection {
	case PlansCollection, TasksCollection, AlertsCollection:
		if i := strings.IndexByte(id, '.'); i > 0 {
			return id[:i]
		}
	}
	return ""
}
