package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"carenode/node/store"
	"carenode/node/vault"
)

// View is a message as the API lists it. It holds no text and only a
// masked number.
type View struct {
	ID       string `json:"id"`
	Key      string `json:"key"`
	Patient  string `json:"patient"`
	Kind     string `json:"kind"`
	About    string `json:"about,omitempty"`
	Status   Status `json:"status"`
	Attempts int    `json:"attempts"`
	// Problem says, in English and Chinese, why the last attempt failed or
	// why the message was cancelled; LastError is the technical detail
	// (the modem's or gateway's answer).
	Problem   *Problem `json:"problem,omitempty"`
	LastError string   `json:"lastError,omitempty"`
	// Sender is the node responsible for sending it.
	Sender    string    `json:"sender"`
	Queued    time.Time `json:"queued"`
	NotBefore time.Time `json:"notBefore,omitzero"`
	Expires   time.Time `json:"expires,omitzero"`
	// Next is when a queued message is next tried, after backoff and quiet
	// hours.
	Next   time.Time `json:"next,omitzero"`
	SentAt time.Time `json:"sentAt,omitzero"`
	Ref    string    `json:"ref,omitempty"`
	// Via is the sender of the latest attempt: gsm, gateway or file.
	Via string `json:"via,omitempty"`
	// To is the number of the latest attempt with its middle masked;
	// empty while the node is locked.
	To string `json:"to,omitempty"`
}

func (s *Service) view(m *stored, now time.Time, sealer *vault.Sealer) View {
	st := evaluate(m, now)
	v := View{ID: m.id, Key: m.key, Patient: m.patient, Kind: m.kind, About: m.about, Status: st.status,
		Attempts: st.attempts, LastError: st.lastError, Sender: m.responsible(), Queued: m.queued,
		NotBefore: m.notBefore, Expires: m.expires, SentAt: st.sentAt, Ref: st.ref, Via: st.via}
	switch {
	case st.status == StatusCancelled:
		code := st.reason
		if code == "" {
			code = CodeStaff
		}
		v.Problem = problem(code, st.reasonBy)
	case st.lastCode != "" && st.status != StatusSent:
		v.Problem = problem(st.lastCode, "")
	}
	if st.status == StatusQueued {
		next := st.due(m, &s.cfg)
		if next.Before(now) {
			next = now
		}
		v.Next = quietUntil(next, s.cfg.QuietStart, s.cfg.QuietEnd, s.cfg.Location)
		if !v.Expires.IsZero() && !v.Next.Before(v.Expires) {
			v.Next = time.Time{} // it will expire first
		}
	}
	if sealer != nil && len(st.to) > 0 {
		if p, err := sealer.Open(st.to, vault.FieldAAD(Collection, m.id, "to")); err == nil {
			v.To = MaskPhone(string(p))
		}
	}
	return v
}

// Problem is why a message failed or was cancelled, for people.
type Problem struct {
	Code string `json:"code"`
	En   string `json:"en"`
	Zh   string `json:"zh"`
	// By is the staff member who cancelled.
	By string `json:"by,omitempty"`
}

func problem(code, by string) *Problem {
	t, ok := codeText[code]
	if !ok {
		t = [2]string{"Unknown reason (" + code + ").", "原因未知（" + code + "）。"}
	}
	return &Problem{Code: code, En: t[0], Zh: t[1], By: by}
}

// Query filters List.
type Query struct {
	// Status and Patient keep only matching messages when set.
	Status  Status
	Patient string
	// After is the id to continue after (Page.Next); Limit caps the page.
	After string
	Limit int
}

// Page is one page of messages in id order.
type Page struct {
	Messages []View `json:"messages"`
	// Next is the After of the following page; empty on the last.
	Next string `json:"next,omitempty"`
}

// List returns messages matching q in id order. It reads the collection
// from q.After until the page is full, so a filter that matches few
// messages reads many: fine for a clinic's outbox (thousands), and the
// place for an index if a hub ever lists a county's.
func (s *Service) List(q Query) (Page, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Status != "" && !validStatus(q.Status) {
		return Page{}, fmt.Errorf("%w: status %q: want one of queued, sending, sent, failed, expired, cancelled", ErrInvalid, q.Status)
	}
	now, sealer := s.deps.Now(), s.session()
	out := Page{Messages: []View{}}
	after := q.After
	for {
		recs, err := s.deps.Records.List(Collection, after, listPage)
		if err != nil {
			return Page{}, fmt.Errorf("list outbox: %w", err)
		}
		for _, r := range recs {
			after = r.Asked
			m, err := decodeStored(r)
			if err != nil {
				s.log.Warn("unreadable message", logMessage, r.ID, logErr, err)
				continue
			}
			if q.Patient != "" && m.patient != q.Patient {
				continue
			}
			v := s.view(m, now, sealer)
			if q.Status != "" && v.Status != q.Status {
				continue
			}
			out.Messages = append(out.Messages, v)
			if len(out.Messages) == q.Limit {
				out.Next = r.Asked
				return out, nil
			}
		}
		if len(recs) < listPage {
			return out, nil
		}
	}
}

func validStatus(st Status) bool {
	for _, x := range Statuses {
		if x == st {
			return true
		}
	}
	return false
}

// Get returns one message.
func (s *Service) Get(id string) (View, error) {
	m, err := s.read(id)
	if err != nil {
		return View{}, err
	}
	return s.view(m, s.deps.Now(), s.session()), nil
}

func (s *Service) read(id string) (*stored, error) {
	v, err := s.deps.Records.Get(Collection, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && v.Deleted) {
		return nil, fmt.Errorf("message %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read message %s: %w", id, err)
	}
	return decodeStored(v)
}

// Retry asks the sending node to try a failed (or waiting) message again
// at once, forgetting its earlier failures. by is the staff member.
func (s *Service) Retry(ctx context.Context, id, by string) (View, error) {
	return s.act(ctx, id, by, evRetry, StatusFailed, StatusQueued)
}

// Cancel stops a message from being sent. A message already being sent
// may still go out: the send and the cancel are both kept, and sent wins.
// Cancelling a cancelled message changes nothing.
func (s *Service) Cancel(ctx context.Context, id, by string) (View, error) {
	return s.act(ctx, id, by, evCancel, StatusFailed, StatusQueued)
}

func (s *Service) act(ctx context.Context, id, by, typ string, allowed ...Status) (View, error) {
	m, err := s.read(id)
	if err != nil {
		return View{}, err
	}
	now := s.deps.Now()
	st := evaluate(m, now)
	if typ == evCancel && st.status == StatusCancelled {
		return s.view(m, now, s.session()), nil
	}
	ok := false
	for _, a := range allowed {
		ok = ok || st.status == a
	}
	if !ok {
		return View{}, &StateError{Status: st.status, Action: typ}
	}
	e := event{Type: typ, At: now, Node: s.cfg.Node, By: by}
	if typ == evCancel {
		e.Code = CodeStaff
	}
	if err := s.appendEvent(ctx, id, e); err != nil {
		return View{}, err
	}
	return s.Get(id)
}

// StateError says a message's status does not allow an action. It wraps
// ErrState.
type StateError struct {
	Status Status
	Action string // retry or cancel
}

func (e *StateError) Error() string {
	return fmt.Sprintf("cannot %s a message that is %s", e.Action, e.Status)
}

func (e *StateError) Unwrap() error { return ErrState }

// Counts returns how many messages are in each status now (every status
// is present), for metrics. It reads every message.
func (s *Service) Counts() (map[Status]int, error) {
	out := make(map[Status]int, len(Statuses))
	for _, st := range Statuses {
		out[st] = 0
	}
	now := s.deps.Now()
	after := ""
	for {
		recs, err := s.deps.Records.List(Collection, after, listPage)
		if err != nil {
			return nil, fmt.Errorf("count outbox: %w", err)
		}
		for _, r := range recs {
			after = r.Asked
			m, err := decodeStored(r)
			if err != nil {
				continue
			}
			out[evaluate(m, now).status]++
		}
		if len(recs) < listPage {
			return out, nil
		}
	}
}
