package followup

import (
	"errors"
	"testing"

	"pgregory.net/rapid"
)

func outcomes(s ...Outcome) []Outcome { return s }

const (
	na = OutcomeNoAnswer
	wn = OutcomeWrongNumber
)

func TestNextStep(t *testing.T) {
	h := template(t, "hypertension")
	short, err := LoadTemplate(vary(t, `{"maxFailedAttempts":1,"escalation":["home_visit","lost_to_follow_up"]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		t         Template
		outcomes  []Outcome
		action    string
		rung      string
		method    string
		attempt   int
		changed   bool
		notify    bool
		reason    Outcome
		escalated bool
	}{
		{"first attempt", h, nil, ActionAttempt, RungPatient, "", 1, false, false, "", false},
		{"one no answer", h, outcomes(na), ActionAttempt, RungPatient, "", 2, false, false, "", false},
		{"two", h, outcomes(na, na), ActionAttempt, RungPatient, "", 3, false, false, "", false},
		{"three: family", h, outcomes(na, na, na), ActionAttempt, RungFamily, MethodPhone, 1, true, false, "", true},
		{"family fails once", h, outcomes(na, na, na, na), ActionAttempt, RungFamily, MethodPhone, 2, false, false, "", true},
		{"wrong number skips a rung", h, outcomes(wn), ActionAttempt, RungFamily, MethodPhone, 1, true, false, "", true},
		{"village health worker", h, outcomes(na, na, na, na, na, na), ActionAttempt, RungVillageHealthWorker, MethodPhone, 1, true, false, "", true},
		{"home visit", h, outcomes(wn, wn, wn), ActionAttempt, RungHomeVisit, MethodHomeVisit, 1, true, false, "", true},
		{"lost", h, outcomes(wn, wn, wn, wn), ActionLost, RungLost, "", 0, true, true, "", true},
		{"lost stays lost", h, outcomes(wn, wn, wn, wn, na, na, na, na), ActionLost, RungLost, "", 0, false, true, "", true},
		{"twelve no answers", h, outcomes(na, na, na, na, na, na, na, na, na, na, na, na), ActionLost, RungLost, "", 0, true, true, "", true},
		{"reached", h, outcomes(na, OutcomeReached), ActionDone, "", "", 0, false, false, OutcomeReached, false},
		{"reached after lost", h, outcomes(wn, wn, wn, wn, OutcomeReached), ActionDone, "", "", 0, false, false, OutcomeReached, false},
		{"refused", h, outcomes(OutcomeRefused), ActionEndPlan, "", "", 0, false, false, OutcomeRefused, false},
		{"moved beats reached", h, outcomes(OutcomeReached, OutcomeMoved), ActionEndPlan, "", "", 0, false, false, OutcomeMoved, false},
		{"deceased beats all", h, outcomes(OutcomeRefused, OutcomeDeceased, OutcomeMoved), ActionEndPlan, "", "", 0, false, false, OutcomeDeceased, false},
		{"short ladder", short, outcomes(na), ActionAttempt, RungHomeVisit, MethodHomeVisit, 1, true, false, "", true},
		{"short ladder lost", short, outcomes(na, na), ActionLost, RungLost, "", 0, true, true, "", true},
		{"no ladder still ends lost", Template{}, outcomes(na, na, na), ActionLost, RungLost, "", 0, true, true, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NextStep(tc.t, tc.outcomes)
			if err != nil {
				t.Fatal(err)
			}
			if s.Action != tc.action || s.Rung != tc.rung || s.Method != tc.method || s.Attempt != tc.attempt ||
				s.Changed != tc.changed || s.NotifySupervisor != tc.notify || s.Reason != tc.reason || s.Escalated != tc.escalated {
				t.Errorf("step %+v", s)
			}
			if s.Text.En == "" || s.Text.Zh == "" {
				t.Errorf("no text: %+v", s)
			}
			if s.Action == ActionAttempt && s.Of != tc.t.MaxFailedAttempts && tc.t.MaxFailedAttempts != 0 {
				t.Errorf("of %d", s.Of)
			}
		})
	}
	if _, err := NextStep(h, outcomes(na, "busy")); !errors.Is(err, ErrOutcome) {
		t.Errorf("unknown outcome: %v", err)
	}
	s, _ := NextStep(h, outcomes(na, na, na))
	if s.Text.Zh != "联系不上患者：请电话联系家属或紧急联系人（第1次，共3次）。" {
		t.Errorf("text %q", s.Text.Zh)
	}
}

func TestParseOutcome(t *testing.T) {
	for _, s := range []string{"reached", "no_answer", "wrong_number", "refused", "deceased", "moved"} {
		if o, err := ParseOutcome(s); err != nil || string(o) != s {
			t.Errorf("%s: %v", s, err)
		}
	}
	for _, s := range []string{"", "Reached", "no answer", "busy"} {
		if _, err := ParseOutcome(s); !errors.Is(err, ErrOutcome) {
			t.Errorf("%q: %v", s, err)
		}
	}
}

// TestNextStepNeverCloses: failed attempts alone never complete or end a
// task; they only climb the ladder, one rung at a time, up to lost; and a
// terminal outcome decides the same wherever it falls in the list.
func TestNextStepNeverCloses(t *testing.T) {
	h := template(t, "hypertension")
	rapid.Check(t, func(rt *rapid.T) {
		fails := rapid.SliceOf(rapid.SampledFrom([]Outcome{na, wn})).Draw(rt, "fails")
		prev := 0
		for i := 0; i <= len(fails); i++ {
			s, err := NextStep(h, fails[:i])
			if err != nil {
				rt.Fatal(err)
			}
			if s.Action != ActionAttempt && s.Action != ActionLost {
				rt.Fatalf("after %v: %+v", fails[:i], s)
			}
			rung := 0
			for j, r := range append([]string{RungPatient}, h.Escalation...) {
				if r == s.Rung {
					rung = j
				}
			}
			if rung < prev || rung > prev+1 {
				rt.Fatalf("after %v: rung %s from %d", fails[:i], s.Rung, prev)
			}
			prev = rung
		}
		end := rapid.SampledFrom([]Outcome{OutcomeReached, OutcomeRefused, OutcomeDeceased, OutcomeMoved}).Draw(rt, "end")
		at := rapid.IntRange(0, len(fails)).Draw(rt, "at")
		list := append(append(append([]Outcome{}, fails[:at]...), end), fails[at:]...)
		s, err := NextStep(h, list)
		if err != nil || s.Reason != end {
			rt.Fatalf("%v: %+v %v", list, s, err)
		}
	})
}
