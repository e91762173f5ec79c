package plans

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"carenode/crdt"
	"carenode/node/chart"
	"carenode/node/followup"
	"carenode/node/store"
)

// Alert tells a doctor about an abnormal or worsening answer, or a
// supervisor about a patient lost to follow-up.
type Alert struct {
	ID        string             `json:"id"`
	Kind      string             `json:"kind"` // finding or lost
	Patient   string             `json:"patient"`
	Plan      string             `json:"plan"`
	Task      string             `json:"task"`
	To        string             `json:"to"`
	Level     string             `json:"level"` // abnormal, urgent (findings) or lost
	Raised    time.Time          `json:"raised"`
	Reason    followup.Text      `json:"reason"`
	Findings  []followup.Finding `json:"findings,omitempty"`
	Worsening []followup.Change  `json:"worsening,omitempty"`
	// Acknowledged once any node has acknowledged it. Acks lists every
	// acknowledgment, oldest first: two made on two nodes while apart
	// are both kept, with their actions.
	Acknowledged bool  `json:"acknowledged"`
	Acks         []Ack `json:"acks,omitempty"`
}

// Ack is one acknowledgment, with the action taken.
type Ack struct {
	ID     string    `json:"id"`
	By     string    `json:"by"`
	Role   string    `json:"role,omitempty"`
	Action string    `json:"action"`
	At     time.Time `json:"at"`
}

// MaxAction caps an acknowledgment's action text.
const MaxAction = 1000

// findingAlert builds the alert for an attempt's abnormal or worse
// answers, to the plan's doctor (the supervisor when it has none).
func (s *Service) findingAlert(t *taskEntry, p *planEntry, attempt string, res followup.Result, worse []followup.Change, now time.Time) store.WriteRequest {
	to := p.doctor
	if to == "" {
		to = s.cfg.Supervisor
	}
	level := followup.LevelAbnormal
	if res.Urgent() {
		level = followup.LevelUrgent
	}
	var en, zh []string
	for _, f := range res.Findings {
		en, zh = append(en, f.Reason.En), append(zh, f.Reason.Zh)
	}
	for _, c := range worse {
		en, zh = append(en, c.Reason.En), append(zh, c.Reason.Zh)
	}
	edits := []store.Edit{set(fKind, AlertFinding), set(fPatient, t.patient), set(fPlan, t.plan), set(fTask, t.id),
		set("attempt", attempt), set(fTo, to), set(fLevel, level), set(fRaised, now.UTC().Format(time.RFC3339Nano)),
		set(fReason, followup.Text{En: strings.Join(en, "; "), Zh: strings.Join(zh, "；")})}
	if len(res.Findings) > 0 {
		edits = append(edits, set(fFindings, res.Findings))
	}
	if len(worse) > 0 {
		edits = append(edits, set(fChanges, worse))
	}
	// The id starts with the patient's, as every follow-up id does, so a
	// sync scope can tell whose it is from the id alone.
	return store.WriteRequest{Collection: AlertsCollection, Record: t.patient + "." + store.NewShortID(), Create: true, Edits: edits}
}

// lostAlert builds the lost-to-follow-up alert of t, to the supervisor.
func (s *Service) lostAlert(t *taskEntry, p *planEntry) store.WriteRequest {
	now := s.cfg.Now()
	reason := followup.Text{
		En: "Lost to follow-up: every step of escalation failed for task " + t.id + " (due " + t.due.String() + "). The task stays open.",
		Zh: "失访：任务" + t.id + "（到期日" + t.due.String() + "）各级升级联系均未成功，任务保持未完成。",
	}
	plan := t.plan
	if p != nil {
		plan = p.id
	}
	return store.WriteRequest{Collection: AlertsCollection, Record: lostAlertID(t.id), Create: true, Edits: []store.Edit{
		set(fKind, AlertLost), set(fPatient, t.patient), set(fPlan, plan), set(fTask, t.id), set(fTo, s.cfg.Supervisor),
		set(fLevel, AlertLost), set(fRaised, now.UTC().Format(time.RFC3339Nano)), set(fReason, reason)}}
}

// Alerts returns the alerts addressed to to (every alert when to is ""),
// unacknowledged first, then newest first, at most limit (0: 200).
func (s *Service) Alerts(to string, limit int) ([]Alert, error) {
	if limit <= 0 {
		limit = 200
	}
	s.idx.mu.RLock()
	var es []alertEntry
	for _, a := range s.idx.alerts {
		if to == "" || a.to == to {
			es = append(es, *a)
		}
	}
	s.idx.mu.RUnlock()
	slices.SortFunc(es, func(a, b alertEntry) int {
		if a.acked != b.acked {
			if !a.acked {
				return -1
			}
			return 1
		}
		if c := strings.Compare(b.raised, a.raised); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	if len(es) > limit {
		es = es[:limit]
	}
	out := make([]Alert, 0, len(es))
	for _, e := range es {
		a, err := s.Alert(e.id)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// Alert returns one alert.
func (s *Service) Alert(id string) (Alert, error) {
	v, err := s.cfg.Records.Get(AlertsCollection, id)
	if err != nil {
		s.idx.mu.RLock()
		_, known := s.idx.alerts[id]
		s.idx.mu.RUnlock()
		if !known {
			return Alert{}, notFound("alert", "提醒")
		}
		return Alert{}, err
	}
	a := Alert{ID: v.ID, Kind: str(v.View, fKind), Patient: str(v.View, fPatient), Plan: str(v.View, fPlan),
		Task: str(v.View, fTask), To: str(v.View, fTo), Level: str(v.View, fLevel)}
	a.Raised, _ = time.Parse(time.RFC3339Nano, str(v.View, fRaised))
	if f, ok := v.Fields[fReason]; ok {
		_ = decodeJSON(f.Value, &a.Reason)
	}
	if f, ok := v.Fields[fFindings]; ok {
		_ = decodeJSON(f.Value, &a.Findings)
	}
	if f, ok := v.Fields[fChanges]; ok {
		_ = decodeJSON(f.Value, &a.Worsening)
	}
	a.Acks = acks(v.View)
	a.Acknowledged = len(v.Sets[fAcked]) > 0
	return a, nil
}

// acks are oldest first: facts come by stamp, then id.
func acks(v crdt.View) []Ack { return facts[Ack](v, fAcks) }

// Ack acknowledges an alert and records the action taken. An alert this
// node already shows acknowledged is refused (ErrAcked); one acknowledged
// on two nodes while apart keeps both acknowledgments.
func (s *Service) Ack(ctx context.Context, a chart.Actor, id, action string) (Alert, error) {
	action = strings.TrimSpace(action)
	if action == "" || utf8.RuneCountInString(action) > MaxAction || !utf8.ValidString(action) {
		return Alert{}, &Error{Kind: ErrInvalid, Code: "action_required",
			En: "Record the action taken (1 to 1000 characters).", Zh: "请记录所采取的处理措施（1至1000个字符）。",
			Problems: []Problem{{Field: "action", Code: "action_required", En: "Record the action taken.", Zh: "请记录处理措施。"}}}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idx.mu.RLock()
	e, ok := s.idx.alerts[id]
	acked := ok && e.acked
	s.idx.mu.RUnlock()
	if !ok {
		return Alert{}, notFound("alert", "提醒")
	}
	if acked {
		return Alert{}, newErr(ErrAcked, "already_acknowledged", "This alert is already acknowledged; its action is recorded.",
			"该提醒已被确认，处理措施已记录。")
	}
	now := s.cfg.Now()
	ackID := attemptID(now)
	k := Ack{ID: ackID, By: actorName(a), Role: string(a.Role), Action: action, At: now.UTC()}
	req := store.WriteRequest{Collection: AlertsCollection, Record: id, MustExist: true, Edits: []store.Edit{
		{Kind: crdt.MutFact, Field: fAcks, FactID: ackID, Value: jsonValue(k)},
		{Kind: crdt.MutAdd, Field: fAcked, Elem: ackID},
	}}
	if err := s.writeAll(ctx, []store.WriteRequest{req}); err != nil {
		return Alert{}, err
	}
	s.log.Info("alert acknowledged", "alert", id, "by", a.Name)
	return s.Alert(id)
}

// UnacknowledgedAlerts counts the alerts nobody has acknowledged, for
// metrics.
func (s *Service) UnacknowledgedAlerts() int {
	s.idx.mu.RLock()
	defer s.idx.mu.RUnlock()
	return s.idx.unacked
}
