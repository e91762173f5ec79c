package followup

import "carenode/node/icd10"

// MaxDue caps what one Schedule call returns. The store asks for a
// horizon of months, not centuries; the cap only keeps a horizon typed as
// 9999-12-31 from building a huge list.
const MaxDue = 1000

// Due is one contact a plan calls for.
type Due struct {
	// Seq numbers the plan's contacts from 1, whatever the horizon: the
	// store can key a task by plan and Seq, so two nodes that schedule the
	// same plan make the same tasks, and extending the horizon adds tasks
	// without renumbering.
	Seq    int    `json:"seq"`
	Date   Date   `json:"due"`
	Method string `json:"method"`
}

// Schedule returns the contacts of t's plan started on start that fall
// on or before until, in date order; nil when there are none (until
// before the first one, an invalid date, or a template not from
// LoadTemplate). It reads no clock: the same arguments always give the
// same list.
//
// An offset of n days is due n days after start. A repeat of every k
// months is due on start's day of the month k, 2k, 3k … months later,
// each counted from start, or the last day of a shorter month: a plan
// started on 31 January is due 28 (or 29) February, 31 March, 30 April;
// one started on 29 February is due on 28 February in common years and
// on 29 February in leap years. Weeks are 7 days. A repeat's count limits
// the contacts; open-ended plans are limited by until (and MaxDue).
func Schedule(t Template, start, until Date) []Due {
	if !start.Valid() || !until.Valid() || until.Compare(start) < 0 {
		return nil
	}
	var out []Due
	if len(t.Schedule.Offsets) > 0 {
		for i, o := range t.Schedule.Offsets {
			d := start.AddDays(o.Days)
			if d.Compare(until) > 0 || !d.Valid() {
				break
			}
			m := o.Method
			if m == "" {
				m = t.Method
			}
			out = append(out, Due{Seq: i + 1, Date: d, Method: m})
		}
		return out
	}
	r := t.Schedule.Repeat
	if r == nil || r.Every < 1 {
		return nil
	}
	for k := 1; r.Count <= 0 || k <= r.Count; k++ {
		var d Date
		switch r.Unit {
		case "day":
			d = start.AddDays(k * r.Every)
		case "week":
			d = start.AddDays(7 * k * r.Every)
		case "month":
			d = start.AddMonths(k * r.Every)
		default:
			return nil
		}
		if d.Compare(until) > 0 || !d.Valid() || len(out) == MaxDue {
			break
		}
		m := t.Method
		if len(r.Methods) > 0 {
			m = r.Methods[(k-1)%len(r.Methods)]
		}
		out = append(out, Due{Seq: k, Date: d, Method: m})
	}
	return out
}

// Event is something that may start a plan.
type Event struct {
	Kind string // an Event… constant
	// Code is the ICD-10 code of a diagnosis, or the discharge diagnosis
	// (optional), in any form icd10 accepts (i10, E11.9).
	Code string
	// Procedure is the kind of a procedure ("surgery"), or of the
	// procedure behind a discharge (optional).
	Procedure string
}

// Triggered returns the templates that e starts, in the order given; nil
// when none. A diagnosis starts a template with a diagnosis trigger whose
// range holds the code (subcodes included, I11.9 in I10–I15); a procedure
// one with a procedure trigger of the same kind; a discharge one with a
// discharge trigger whose range (when it has one) holds the discharge
// diagnosis and whose kind (when it has one) is the procedure's. A
// template is returned once however many of its triggers match. Malformed
// codes match nothing.
func Triggered(templates []Template, e Event) []Template {
	var out []Template
	for _, t := range templates {
		for _, tr := range t.Triggers {
			if tr.matches(e) {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

func (tr Trigger) matches(e Event) bool {
	if tr.Event != e.Kind {
		return false
	}
	switch e.Kind {
	case EventDiagnosis:
		return tr.From != "" && icd10.InRange(e.Code, tr.From, tr.To)
	case EventProcedure:
		return tr.Procedure != "" && tr.Procedure == e.Procedure
	case EventDischarge:
		if tr.From != "" && !icd10.InRange(e.Code, tr.From, tr.To) {
			return false
		}
		return tr.Procedure == "" || tr.Procedure == e.Procedure
	}
	return false
}
