package followup

import "fmt"

// Outcome is how one attempt to contact a patient ended.
type Outcome string

// Outcomes of an attempt, as the API takes them.
const (
	OutcomeReached     Outcome = "reached"      // the follow-up took place: answers follow
	OutcomeNoAnswer    Outcome = "no_answer"    // nobody answered, or nobody was home
	OutcomeWrongNumber Outcome = "wrong_number" // the number is not the patient's, or does not work
	OutcomeRefused     Outcome = "refused"      // the patient declines follow-up
	OutcomeDeceased    Outcome = "deceased"     // the patient has died
	OutcomeMoved       Outcome = "moved"        // the patient has left the clinic's area
)

// ParseOutcome returns s as an Outcome, or an error wrapping ErrOutcome.
func ParseOutcome(s string) (Outcome, error) {
	switch o := Outcome(s); o {
	case OutcomeReached, OutcomeNoAnswer, OutcomeWrongNumber, OutcomeRefused, OutcomeDeceased, OutcomeMoved:
		return o, nil
	}
	return "", fmt.Errorf("%w %q: want reached, no_answer, wrong_number, refused, deceased or moved", ErrOutcome, clip(s))
}

// Actions a Step asks for.
const (
	// ActionAttempt: make another attempt, to Step.Rung by Step.Method.
	ActionAttempt = "attempt"
	// ActionDone: the patient was reached; the task is done once the
	// answers are recorded.
	ActionDone = "done"
	// ActionEndPlan: the patient died, moved away or refused; the plan
	// ends with Step.Reason, and its open tasks with it.
	ActionEndPlan = "end_plan"
	// ActionLost: every rung failed; the task stays open, marked lost to
	// follow-up, and the supervisor is notified. It is never closed.
	ActionLost = "lost"
)

// Step is what to do next with a task.
type Step struct {
	Action string `json:"action"` // an Action… constant
	Rung   string `json:"rung"`   // a Rung… constant: whom the next attempt contacts
	// Method is the next attempt's method: phone for family and village
	// health worker, home_visit for a home visit; "" at the patient rung,
	// where the task's own method (Due.Method) stands, and when no
	// attempt follows.
	Method string `json:"method,omitempty"`
	// Attempt is the number of the next attempt at this rung (1 to
	// MaxFailedAttempts), and Of the rung's allowance; both 0 when no
	// attempt follows.
	Attempt int `json:"attempt,omitempty"`
	Of      int `json:"of,omitempty"`
	// Escalated: the task is past the patient rung. Changed: the last
	// attempt moved it to this rung, so now is the time to reassign the
	// task and tell the people concerned.
	Escalated bool `json:"escalated"`
	Changed   bool `json:"changed"`
	// NotifySupervisor: the task is lost to follow-up.
	NotifySupervisor bool `json:"notifySupervisor"`
	// Reason is the outcome that ended the plan (deceased, moved,
	// refused) or completed the task (reached).
	Reason Outcome `json:"reason,omitempty"`
	// Text tells the health worker in both languages.
	Text Text `json:"text"`
}

// NextStep returns what to do with a task of t after the attempts whose
// outcomes are given, oldest first (the store orders attempts from
// several nodes by time, then node, so every node computes the same
// step). An unknown outcome is an error wrapping ErrOutcome, never a
// reason to close the task.
//
// Outcomes that end the task win whatever their place, in this order:
// deceased, moved, refused (each ends the plan with that reason, since
// calling a dead patient's family again, or a patient who said no, does
// harm), then reached (the task is done). Otherwise the task climbs the
// ladder: the patient, then each rung of t.Escalation, each allowed
// t.MaxFailedAttempts failed attempts; a no_answer is one failure, and a
// wrong_number moves to the next rung at once (the same number will not
// start working). At the last rung, lost_to_follow_up, the task stays
// open and the supervisor is notified: a patient who cannot be reached is
// never dropped silently.
func NextStep(t Template, outcomes []Outcome) (Step, error) {
	end := map[Outcome]bool{}
	for _, o := range outcomes {
		if _, err := ParseOutcome(string(o)); err != nil {
			return Step{}, err
		}
		end[o] = true
	}
	for _, o := range []Outcome{OutcomeDeceased, OutcomeMoved, OutcomeRefused} {
		if end[o] {
			return Step{Action: ActionEndPlan, Reason: o, Text: endText(o)}, nil
		}
	}
	if end[OutcomeReached] {
		return Step{Action: ActionDone, Reason: OutcomeReached,
			Text: Text{En: "The patient was reached: record the answers to complete the task.", Zh: "已联系上患者：记录回答后任务完成。"}}, nil
	}
	max := t.MaxFailedAttempts
	if max < 1 {
		max = DefaultMaxFailed
	}
	ladder := append([]string{RungPatient}, t.Escalation...)
	if len(ladder) == 1 || ladder[len(ladder)-1] != RungLost {
		ladder = append(ladder, RungLost) // a template not from LoadTemplate still never closes silently
	}
	rung, failed, changed := 0, 0, false
	for _, o := range outcomes {
		changed = false
		if rung == len(ladder)-1 {
			continue // attempts after lost to follow-up leave it there
		}
		failed++
		if o == OutcomeWrongNumber || failed >= max {
			rung++
			failed = 0
			changed = true
		}
	}
	s := Step{Rung: ladder[rung], Escalated: rung > 0, Changed: changed}
	if s.Rung == RungLost {
		s.Action = ActionLost
		s.NotifySupervisor = true
		s.Text = Text{
			En: "Lost to follow-up: every step of escalation failed. The task stays open and the supervisor is notified.",
			Zh: "失访：各级升级联系均未成功。任务保持未完成，并已通知主管。",
		}
		return s, nil
	}
	s.Action = ActionAttempt
	s.Attempt, s.Of = failed+1, max
	switch s.Rung {
	case RungFamily, RungVillageHealthWorker:
		s.Method = MethodPhone
	case RungHomeVisit:
		s.Method = MethodHomeVisit
	}
	who := rungText(s.Rung)
	s.Text = Text{
		En: fmt.Sprintf("%s (attempt %d of %d).", who.En, s.Attempt, s.Of),
		Zh: fmt.Sprintf("%s（第%d次，共%d次）。", who.Zh, s.Attempt, s.Of),
	}
	return s, nil
}

func rungText(rung string) Text {
	switch rung {
	case RungFamily:
		return Text{En: "The patient cannot be reached: phone a family member or emergency contact", Zh: "联系不上患者：请电话联系家属或紧急联系人"}
	case RungVillageHealthWorker:
		return Text{En: "The patient and family cannot be reached: ask the village health worker to find the patient", Zh: "联系不上患者及家属：请村医/社区卫生人员协助寻找患者"}
	case RungHomeVisit:
		return Text{En: "Visit the patient at home", Zh: "请上门随访"}
	}
	return Text{En: "Contact the patient", Zh: "联系患者"}
}

func endText(o Outcome) Text {
	switch o {
	case OutcomeDeceased:
		return Text{En: "The patient has died: the plan ends.", Zh: "患者已故：随访计划结束。"}
	case OutcomeMoved:
		return Text{En: "The patient has moved away: the plan ends; hand the record over to their new clinic if it is known.", Zh: "患者已迁出：随访计划结束；如知道新的就诊机构，请移交记录。"}
	}
	return Text{En: "The patient refused follow-up: the plan ends and the refusal is recorded.", Zh: "患者拒绝随访：随访计划结束，并记录拒绝情况。"}
}
