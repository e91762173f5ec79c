package survey

import (
	"context"
	"fmt"
	"net/url"

	"carenode/crdt"
	"carenode/node/outbox"
)

// Visit is what QueueLink needs to know of a finished visit.
type Visit struct {
	ID      string
	Patient string
}

// LinkKey is the outbox key of a visit's survey link: one link per visit,
// however often (and on however many nodes) it is queued.
func LinkKey(visit string) string { return "survey/" + visit }

// QueueLink queues an SMS with the survey link for a visit, to be sent
// LinkDelay after now. The booking or check-in side calls it when a visit
// ends; calling it again for the same visit queues nothing more.
func (s *Service) QueueLink(ctx context.Context, v Visit) (outbox.Message, error) {
	if s.cfg.Queue == nil {
		return outbox.Message{}, ErrNoQueue
	}
	if !crdt.ValidName(v.ID) || len(v.ID) > MaxVisitLen || !crdt.ValidName(v.Patient) {
		return outbox.Message{}, fmt.Errorf("survey link: visit %q of patient %q: %w", v.ID, v.Patient, ErrBadVisit)
	}
	u, err := url.Parse(s.cfg.LinkURL)
	if err != nil {
		return outbox.Message{}, fmt.Errorf("%w: link URL: %w", ErrConfig, err)
	}
	q := u.Query()
	q.Set("visit", v.ID)
	u.RawQuery = q.Encode()
	link := u.String()
	now := s.cfg.Now().UTC()
	m := outbox.Message{
		Key:     LinkKey(v.ID),
		Patient: v.Patient,
		Kind:    "survey_link",
		Text: map[string]string{
			"zh": "感谢您今天就诊。请花一分钟为本次就诊打分，帮助我们改进服务：" + link,
			"en": "Thank you for your visit today. Please take a minute to rate it and help us improve: " + link,
		},
		NotBefore: now.Add(s.cfg.LinkDelay),
		Expires:   now.Add(s.cfg.LinkExpiry),
		About:     "visits/" + v.ID,
	}
	if err := s.cfg.Queue.Queue(ctx, m); err != nil {
		return outbox.Message{}, fmt.Errorf("queue survey link for visit %s: %w", v.ID, err)
	}
	return m, nil
}
