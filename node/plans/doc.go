// Package plans keeps a node's follow-up work: plans made from templates,
// the tasks (due contacts) of each plan, the attempts to reach the
// patient, escalation when they fail, alerts for abnormal answers and
// lost patients, and each staff member's work list. It stores everything
// as CRDT records in the node's store and leaves every rule to the pure
// package node/followup (which template an event starts, when contacts
// are due, whether answers are valid and abnormal or worse, what to do
// after failed attempts), so every node computes the same state from the
// same records.
//
// # Records
//
//	followup_plans/<patient>.<template>   a plan an event started (a diagnosis,
//	                                      a discharge, a procedure), or
//	followup_plans/<patient>.<random>     one started by hand
//	    registers patient, version, start, doctor, assignee, method, paused,
//	              scheduled (tasks exist up to this day), ended (once ended:
//	              reason, who, when; never unset); facts history
//	followup_tasks/<plan>.<Due.Seq>       one due contact
//	    registers plan, patient, due, dueMethod (the schedule's), method and
//	              assignee (the task's own, overriding the plan's when set);
//	    set       outcomes "<attempt id>:<outcome>" (add-only);
//	    facts     attempts (outcome, clean answers, notes, recording
//	              reference, rung, method, who, when), history
//	followup_alerts/<patient>.<random>    an abnormal or worse answer, to the
//	                                      plan's doctor, with the values
//	followup_alerts/<task>.lost           lost to follow-up, to the supervisor
//	    registers kind, patient, plan, task, to, level, raised, reason,
//	              findings, changes; set acked (ack ids); facts acks
//	followup_templates/<id>               an admin's template (PUT), replacing
//	                                      the shipped one of that id
//	followup_versions/<id>.<hash>         the immutable copy of a template that
//	                                      plans keep (content-addressed)
//
// Ids are deterministic where two nodes may make the same thing: the
// plan a diagnosis starts is the patient's and the template's, a task is
// its plan's and its Seq, the lost alert is its task's; so a diagnosis
// recorded at two nodes while apart makes one plan and the same tasks,
// and both nodes finding a task lost raise one alert. Every plan, task
// and alert id starts with the patient's chart id and a dot (PatientOf),
// so a sync scope can tell whose a record is without reading it.
//
// A plan keeps "a copy of its template" by naming a version record: the
// template's canonical JSON (followup.LoadTemplate's output marshals to
// itself) stored once under the hash of its content. 100,000 plans of one
// template share one copy; an admin replacing the template makes a new
// version for new plans and leaves running plans on theirs.
//
// # State is derived, not stored
//
// A task has no status register. Its status comes from its outcomes and
// its plan, in this order: a reached attempt makes it done; a deceased,
// moved or refused attempt makes it ended (and the attempt's transaction
// ends the plan, and for deceased and moved every plan of the patient);
// otherwise an ended plan makes it cancelled, a paused plan paused; else
// followup.NextStep says open, escalated or lost. So a task is done only
// through an attempt: there is nothing else to set. Open, escalated and
// lost tasks are on work lists; a lost task is never closed, only the
// supervisor told.
//
// The attempts' outcomes are mirrored, in the same change as the attempt
// fact, into the add-only set "outcomes", because the index reads records
// with store.ListOnly, which decodes registers and sets but not facts.
// Attempt ids begin with twelve hex digits of milliseconds, so the sorted
// set is the attempts in time order (ties by the random rest), the same
// on every node, which NextStep needs.
//
// # Merges across nodes (each is a test in merge_test.go)
//
//   - A task attempted on a nurse laptop and rescheduled at the desk while
//     apart: both stand. The attempt is a fact, the new date a register
//     the laptop did not touch; after sync the task has the new due date
//     and the attempt counts toward escalation (or makes it done).
//   - A plan ended at one node while a task of it is completed at another:
//     the plan is ended, the completed task stays done (the contact
//     happened; its answers and any alert stand), every other open task of
//     the plan is cancelled, on both nodes. Ending is a register of its
//     own that nothing unsets, so a resume made elsewhere at the same time
//     does not revive the plan.
//   - An alert acknowledged on two nodes while apart: it is acknowledged,
//     and both acknowledgments are kept with their actions (facts, oldest
//     first), identical on both nodes; the unacknowledged count drops by
//     one. A second acknowledgment on the same node is refused (ErrAcked).
//   - Failed attempts split between two nodes add up: neither node alone
//     may reach lost to follow-up, the merged outcomes do. The node that
//     applies the peer's changes (the follower) then raises the lost alert;
//     its id is deterministic, so both nodes doing so make one alert.
//   - The same diagnosis on two nodes: one plan, the same task ids; where
//     the two starts differ (recorded on different days) the due dates are
//     concurrent register values and the newer write is shown, on both.
//
// Concurrent edits of one register (two reschedules of one task, two
// changes of a plan's assignee) show the newer write everywhere; the
// other stays in the record's history facts.
//
// # The index and work lists
//
// Open reads every plan, task and alert with store.ListOnly (only the
// fields above) into memory, evaluates each task and keeps the open ones
// in one slice per assignee sorted by due date; a work list (overdue,
// today, the next UpcomingDays) is three binary searches and a copy. The
// service updates the index itself after its own writes, before it
// answers, so a caller reads what it wrote; changes from peers arrive
// through store.Watch, which names every record a commit changed, and
// are re-read on the follower's own goroutine (the committing goroutine
// must not wait). Benchmarks and figures: bench_test.go and
// docs/BENCHMARKS.md.
//
// Tasks are made for HorizonMonths (13) ahead when a plan starts, and
// Extend (Run calls it periodically) adds the next ones as time passes,
// with the next Seq, so a longer horizon only adds tasks.
//
// Not here: patient names (the index holds chart ids; names are sealed,
// and the desk app opens them through the chart service), and a nurse
// laptop's restriction to assigned patients, which the sync scope gives
// (the laptop holds only its patients' records).
package plans
