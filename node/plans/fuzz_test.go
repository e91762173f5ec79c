package plans_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"carenode/node/followup"
	"carenode/node/plans"
)

// FuzzAttempt feeds attempt bodies, as the API decodes them, to a real
// task: each is either stored as exactly one attempt, or refused with a
// bilingual error and nothing stored.
func FuzzAttempt(f *testing.F) {
	for _, s := range []string{
		`{"outcome":"no_answer"}`,
		`{"outcome":"reached","answers":{"systolic":172,"diastolic":96,"symptoms":["none"]}}`,
		`{"outcome":"reached","answers":{"systolic":1400}}`,
		`{"outcome":"reached","answers":{"adherence":"sometimes","side_effects":"yes"}}`,
		`{"outcome":"reached","answers":{"notes":"头晕，已嘱复诊","weight":-1}}`,
		`{"outcome":"deceased","notes":"家属告知"}`,
		`{"outcome":"wrong_number","recording":"calls/2026-03-02/0001.amr"}`,
		`{"outcome":"reached","answers":{"symptoms":["nosebleed","nosebleed"],"heart_rate":1e400}}`,
		`{"outcome":""}`,
	} {
		f.Add([]byte(s))
	}
	n := newNode(f, "fuzz1")
	p := n.patient(f)
	hypertension(f, n, p)
	f.Fuzz(func(t *testing.T, body []byte) {
		var in plans.AttemptInput
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		dec.UseNumber()
		if dec.Decode(&in) != nil {
			return // the API refuses it before the service sees it
		}
		// A fresh plan each time, so earlier inputs cannot close the task.
		plan, err := n.svc.CreatePlan(background, doctor, plans.PlanInput{Patient: p, Template: "hypertension"})
		if err != nil {
			t.Fatal(err)
		}
		task := plan.ID + ".1"
		res, err := n.svc.Attempt(background, nurse, task, in)
		got, terr := n.svc.Task(task)
		if terr != nil {
			t.Fatal(terr)
		}
		if err != nil {
			var pe *plans.Error
			var fe *followup.Error
			switch {
			case errors.As(err, &pe) && pe.En != "" && pe.Zh != "":
			case errors.As(err, &fe) && fe.Message("en") != "" && fe.Message("zh") != "":
			default:
				t.Fatalf("refusal without a bilingual reason: %v", err)
			}
			if len(got.Attempts) != 0 || got.Status != plans.StatusOpen {
				t.Fatalf("refused attempt left %+v", got)
			}
			return
		}
		if len(got.Attempts) != 1 || got.Attempts[0].Outcome != res.Attempt.Outcome || got.Status != res.Task.Status {
			t.Fatalf("accepted attempt: %+v, task %+v", res, got)
		}
		if got.Status == plans.StatusDone && got.Attempts[0].Outcome != followup.OutcomeReached {
			t.Fatalf("done without reaching: %+v", got)
		}
	})
}
