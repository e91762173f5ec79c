package survey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"carenode/crdt"
	"carenode/node/care"
	"carenode/node/store"
	"carenode/node/vault"
)

// Case states, in the order a case moves through them.
const (
	StateOpen          = "open"
	StateInvestigating = "investigating"
	StateResolved      = "resolved"
)

// Actions recorded in a case's history.
const (
	ActionInvestigate = "investigate"
	ActionResolve     = "resolve"
)

// rank orders the states: a case shows the highest any event reached.
func rank(state string) int {
	switch state {
	case StateInvestigating:
		return 1
	case StateResolved:
		return 2
	}
	return 0
}

// stateAfter is the state an action moves a case to.
func stateAfter(action string) string {
	switch action {
	case ActionInvestigate:
		return StateInvestigating
	case ActionResolve:
		return StateResolved
	}
	return StateOpen
}

// CaseID is the id of the case a low score on dim of visit opens.
func CaseID(visit, dim string) string { return visit + "." + dim }

// Event is one step in a case's history.
type Event struct {
	ID     string    `json:"id"`
	Action string    `json:"action"`
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	// Response is a resolution's answer to the patient (shown only on an
	// unlocked node).
	Response string `json:"response,omitempty"`
}

// eventValue is an event as stored: the response sealed.
type eventValue struct {
	Action   string    `json:"action"`
	At       time.Time `json:"at"`
	By       string    `json:"by"`
	Response []byte    `json:"response,omitempty"`
}

// Case is a feedback case as readers see it.
type Case struct {
	ID        string `json:"id"`
	Visit     string `json:"visit"`
	Dimension string `json:"dimension"`
	Score     int    `json:"score"`
	// Department is the department the case is routed to;
	// VisitDepartment the department of the visit surveyed.
	Department      string    `json:"department"`
	VisitDepartment string    `json:"visitDepartment"`
	Doctor          string    `json:"doctor"`
	Channel         string    `json:"channel"`
	State           string    `json:"state"`
	Opened          time.Time `json:"opened"`
	Deadline        time.Time `json:"deadline"`
	// Overdue: not resolved and past its deadline.
	Overdue bool `json:"overdue"`
	// Resolution is the resolving event (the earliest by stamp when two
	// nodes resolved the case while apart); nil until resolved.
	Resolution *Event `json:"resolution,omitempty"`
	// History lists every event in stamp order, including concurrent ones
	// that did not decide the state.
	History []Event `json:"history"`
	// Comment is the survey's comment, for the staff answering the case;
	// shown only on an unlocked node.
	Comment string `json:"comment,omitempty"`
}

// CaseFilter selects cases; empty fields select all.
type CaseFilter struct {
	State      string
	Department string
}

// Validate checks the filter's values.
func (f CaseFilter) Validate() error {
	var ps []care.Problem
	switch f.State {
	case "", StateOpen, StateInvestigating, StateResolved:
	default:
		ps = append(ps, care.Problem{Field: "state", Code: care.CodeNotInList,
			En: "The state must be open, investigating or resolved.", Zh: "状态须为 open（待处理）、investigating（处理中）或 resolved（已解决）。"})
	}
	if f.Department != "" && !crdt.ValidName(f.Department) {
		ps = append(ps, care.Problem{Field: "department", Code: care.CodeBadChar,
			En: "A department id holds only letters, digits, '_', '-' and '.'.", Zh: "科室编号只能包含字母、数字、“_”、“-”和“.”。"})
	}
	if len(ps) > 0 {
		return &care.ValidationError{Problems: ps}
	}
	return nil
}

// Cases lists the cases f selects: unresolved first, the nearest deadline
// first among them, then resolved ones newest first.
func (s *Service) Cases(ctx context.Context, f CaseFilter) ([]Case, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	out := []Case{}
	err := s.scan(ctx, CaseCollection, func(v store.RecordView) error {
		c, err := s.caseOf(v)
		if err != nil {
			return err
		}
		if (f.State == "" || c.State == f.State) && (f.Department == "" || c.Department == f.Department) {
			if err := s.addComment(&c); err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Case) int {
		ar, br := a.State == StateResolved, b.State == StateResolved
		switch {
		case ar != br && !ar:
			return -1
		case ar != br:
			return 1
		case !ar:
			if c := a.Deadline.Compare(b.Deadline); c != 0 {
				return c
			}
		default:
			if c := b.Resolution.At.Compare(a.Resolution.At); c != 0 {
				return c
			}
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Case returns one case.
func (s *Service) Case(id string) (Case, error) {
	v, err := s.cfg.Records.Get(CaseCollection, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && v.Deleted) {
		return Case{}, fmt.Errorf("case %s: %w", id, ErrNoCase)
	}
	if err != nil {
		return Case{}, fmt.Errorf("read case %s: %w", id, err)
	}
	c, err := s.caseOf(v)
	if err != nil {
		return Case{}, err
	}
	if err := s.addComment(&c); err != nil {
		return Case{}, err
	}
	return c, nil
}

// addComment fills in the comment of the case's survey on an unlocked node.
func (s *Service) addComment(c *Case) error {
	if s.session() == nil {
		return nil
	}
	sv, err := s.Get(c.Visit)
	if errors.Is(err, store.ErrNotFound) {
		return nil // the case synced in before its survey
	}
	if err != nil {
		return err
	}
	c.Comment = sv.Comment
	return nil
}

// Investigate moves an open case to investigating.
func (s *Service) Investigate(ctx context.Context, by, id string) (Case, error) {
	return s.act(ctx, by, id, ActionInvestigate, "")
}

// Resolve resolves a case with the response given to the patient. It may
// skip investigating: a small complaint is often answered at once.
func (s *Service) Resolve(ctx context.Context, by, id, response string) (Case, error) {
	response = strings.TrimSpace(response)
	switch n := utf8.RuneCountInString(response); {
	case response == "":
		return Case{}, &care.ValidationError{Problems: []care.Problem{{Field: "response", Code: care.CodeRequired,
			En: "Say how the complaint was answered: a case is resolved with a response.", Zh: "请填写处理答复：结案须附答复。"}}}
	case n > MaxResponseRunes:
		return Case{}, &care.ValidationError{Problems: []care.Problem{{Field: "response", Code: care.CodeTooLong,
			En: fmt.Sprintf("The response is %d characters long; at most %d fit.", n, MaxResponseRunes),
			Zh: fmt.Sprintf("答复有 %d 个字，最多 %d 个字。", n, MaxResponseRunes)}}}
	case !printable(response):
		return Case{}, &care.ValidationError{Problems: []care.Problem{{Field: "response", Code: care.CodeBadChar,
			En: "The response holds control characters or broken text.", Zh: "答复中含有控制字符或乱码。"}}}
	}
	return s.act(ctx, by, id, ActionResolve, response)
}

// act appends an event after checking the transition against the state
// this node sees. Two nodes apart may both act; the merge rule in doc.go
// decides what readers see then.
func (s *Service) act(ctx context.Context, by, id, action, response string) (Case, error) {
	c, err := s.Case(id)
	if err != nil {
		return Case{}, err
	}
	if rank(stateAfter(action)) <= rank(c.State) {
		return Case{}, fmt.Errorf("%s case %s, which is %s: %w", action, id, c.State, ErrTransition)
	}
	factID := store.NewShortID()
	ev := eventValue{Action: action, At: s.cfg.Now().UTC(), By: by}
	if response != "" {
		sealer := s.session()
		if sealer == nil {
			return Case{}, fmt.Errorf("seal response of case %s: %w", id, ErrLocked)
		}
		plain, _ := json.Marshal(response)
		if ev.Response, err = sealer.Seal(plain, responseAAD(id, factID)); err != nil {
			return Case{}, fmt.Errorf("seal response of case %s: %w", id, err)
		}
	}
	val, err := json.Marshal(ev)
	if err != nil {
		return Case{}, err
	}
	_, err = s.cfg.Records.Write(ctx, store.WriteRequest{Collection: CaseCollection, Record: id, MustExist: true,
		Edits: []store.Edit{{Kind: crdt.MutFact, Field: "events", FactID: factID, Value: val}}})
	if err != nil {
		return Case{}, fmt.Errorf("%s case %s: %w", action, id, err)
	}
	s.log.Info("case "+action, "case", id, "by", by)
	return s.Case(id)
}

func responseAAD(caseID, factID string) []byte {
	return vault.FieldAAD(CaseCollection, caseID, "events."+factID+".response")
}

// caseOf reads a case record and derives its state from its events.
func (s *Service) caseOf(v store.RecordView) (Case, error) {
	c := Case{ID: v.ID, History: []Event{}}
	err := readFields(v, map[string]any{"visit": &c.Visit, "dimension": &c.Dimension, "score": &c.Score,
		"department": &c.Department, "visitDepartment": &c.VisitDepartment, "doctor": &c.Doctor, "channel": &c.Channel,
		"opened": &c.Opened, "deadline": &c.Deadline})
	if err != nil {
		return Case{}, fmt.Errorf("read case %s: %w", v.ID, err)
	}
	sealer := s.session()
	c.State = StateOpen
	// Facts come sorted by stamp, so the first resolve seen is the earliest.
	for _, f := range v.Facts["events"] {
		var ev eventValue
		if err := json.Unmarshal(f.Value, &ev); err != nil {
			// A malformed event from a peer must not hide the case: show
			// the case without it and say so in the log.
			s.log.Warn("unreadable case event", "case", v.ID, "event", f.ID, "err", err)
			continue
		}
		e := Event{ID: f.ID, Action: ev.Action, At: ev.At, By: ev.By}
		if len(ev.Response) > 0 && sealer != nil {
			plain, err := sealer.Open(ev.Response, responseAAD(v.ID, f.ID))
			if err == nil {
				err = json.Unmarshal(plain, &e.Response)
			}
			if err != nil {
				return Case{}, fmt.Errorf("open response %s of case %s: %w", f.ID, v.ID, err)
			}
		}
		c.History = append(c.History, e)
		if st := stateAfter(ev.Action); rank(st) > rank(c.State) {
			c.State = st
		}
		if ev.Action == ActionResolve && c.Resolution == nil {
			c.Resolution = &c.History[len(c.History)-1]
		}
	}
	if c.Resolution != nil {
		r := *c.Resolution // History may grow and move; keep a copy
		c.Resolution = &r
	}
	c.Overdue = c.State != StateResolved && s.cfg.Now().After(c.Deadline)
	return c, nil
}

// scan calls fn for every live record of coll, a page at a time.
func (s *Service) scan(ctx context.Context, coll string, fn func(store.RecordView) error) error {
	return scanWith(ctx, func(after string) ([]store.RecordView, error) {
		return s.cfg.Records.List(coll, after, scanPage)
	}, fn)
}

const scanPage = 500

func scanWith(ctx context.Context, page func(after string) ([]store.RecordView, error), fn func(store.RecordView) error) error {
	after := ""
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		vs, err := page(after)
		if err != nil {
			return err
		}
		for _, v := range vs {
			if v.Deleted {
				continue
			}
			if err := fn(v); err != nil {
				return err
			}
		}
		if len(vs) < scanPage {
			return nil
		}
		after = vs[len(vs)-1].Asked
	}
}

// jsonEdits makes register writes of JSON values. Every field is written,
// empty ones too, so that when two nodes write the same record while
// apart, the newer write wins every register and readers never see half
// of one and half of the other.
func jsonEdits(fields map[string]any) ([]store.Edit, error) {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	var out []store.Edit
	for _, k := range names {
		b, err := json.Marshal(fields[k])
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", k, err)
		}
		out = append(out, store.Edit{Kind: crdt.MutSet, Field: k, Value: b, SeenCurrent: true})
	}
	return out, nil
}

// readFields decodes the named registers that are present.
func readFields(v store.RecordView, into map[string]any) error {
	for name, dst := range into {
		f, ok := v.Fields[name]
		if !ok || len(f.Value) == 0 {
			continue
		}
		if err := json.Unmarshal(f.Value, dst); err != nil {
			return fmt.Errorf("field %s: %w", name, err)
		}
	}
	return nil
}
