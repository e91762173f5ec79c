package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"carenode/crdt"
	"carenode/node/store"
	"carenode/node/vault"
)

// TickReport says what one Tick did.
type TickReport struct {
	Sent, Failed int
	// Waiting counts messages this node must send that are not due yet
	// (NotBefore, backoff or quiet hours).
	Waiting int
	// Locked counts due messages held back because the node is locked.
	Locked int
	// InDoubt counts sends found interrupted (the node stopped between
	// claiming an attempt and recording its end); they are marked failed.
	InDoubt int
	// Unwanted counts messages cancelled because Deps.Wanted said so.
	Unwanted int
}

// Run sends due messages until ctx ends: at every Interval and whenever a
// message is queued, synced in, retried or the node unlocks.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		if _, err := s.Tick(ctx, s.deps.Now()); err != nil && ctx.Err() == nil {
			s.log.Warn("outbox tick failed", logErr, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.wake:
		}
	}
}

// Tick sends every message this node is responsible for that is due at
// now, one after another, and returns what it did. Run calls it; tests
// call it with the time they want.
func (s *Service) Tick(ctx context.Context, now time.Time) (TickReport, error) {
	s.tickMu.Lock()
	defer s.tickMu.Unlock()
	var rep TickReport
	ids, err := s.pendingIDs(now)
	if err != nil {
		return rep, err
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		if err := s.tickOne(ctx, id, now, &rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// pendingIDs returns the messages that may need this node, loading the
// index on first use and folding in what changed since.
func (s *Service) pendingIDs(now time.Time) ([]string, error) {
	s.idxMu.Lock()
	loaded := s.loaded
	s.idxMu.Unlock()
	if !loaded {
		var found []string
		after := ""
		for {
			page, err := s.deps.Records.List(Collection, after, listPage)
			if err != nil {
				return nil, fmt.Errorf("load outbox: %w", err)
			}
			for _, v := range page {
				m, err := decodeStored(v)
				if err != nil {
					s.log.Warn("unreadable message", logMessage, v.ID, logErr, err)
					continue
				}
				if s.mayNeedUs(m, evaluate(m, now)) {
					found = append(found, v.ID)
				}
			}
			if len(page) < listPage {
				break
			}
			after = page[len(page)-1].Asked
		}
		s.idxMu.Lock()
		for _, id := range found {
			s.pending[id] = true
		}
		s.loaded = true
		s.idxMu.Unlock()
	}
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	for id := range s.dirty {
		s.pending[id] = true
	}
	clear(s.dirty)
	ids := make([]string, 0, len(s.pending))
	for id := range s.pending {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// mayNeedUs reports whether the message could still need an action of
// this node: it is ours to send and not finished.
func (s *Service) mayNeedUs(m *stored, st state) bool {
	if m.responsible() != s.cfg.Node {
		return false
	}
	switch st.status {
	case StatusQueued, StatusSending:
		return true
	}
	return false
}

func (s *Service) drop(id string) {
	s.idxMu.Lock()
	delete(s.pending, id)
	s.idxMu.Unlock()
}

func (s *Service) tickOne(ctx context.Context, id string, now time.Time, rep *TickReport) error {
	v, err := s.deps.Records.Get(Collection, id)
	if errors.Is(err, store.ErrNotFound) {
		s.drop(id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read message %s: %w", id, err)
	}
	m, err := decodeStored(v)
	if err != nil {
		s.log.Warn("unreadable message", logMessage, id, logErr, err)
		s.drop(id)
		return nil
	}
	if v.Deleted {
		s.drop(id)
		return nil
	}
	st := evaluate(m, now)
	if !s.mayNeedUs(m, st) {
		s.drop(id)
		return nil
	}
	if st.status == StatusSending {
		// A start of ours with no end that no send of this process is
		// running: the node stopped mid-send. Whether the network took
		// it is unknown, so it is not sent again by itself (that could
		// send it twice); it is failed for a person to retry.
		for _, a := range st.open {
			if s.inflight[a] || !s.startedByUs(m, a) {
				continue
			}
			rep.InDoubt++
			err := s.appendEvent(ctx, id, event{Type: evFailed, At: now, Node: s.cfg.Node, Attempt: a, Final: true,
				Code: CodeInDoubt, Error: "outcome unknown: the node stopped while sending; retry to send it again"})
			if err != nil {
				return err
			}
		}
		return nil
	}
	if s.deps.Sender == nil {
		rep.Waiting++
		return nil
	}
	if now.Before(st.due(m, &s.cfg)) || !quietUntil(now, s.cfg.QuietStart, s.cfg.QuietEnd, s.cfg.Location).Equal(now) {
		rep.Waiting++
		return nil
	}
	sealer := s.session()
	if sealer == nil {
		rep.Locked++
		return nil
	}
	return s.send(ctx, sealer, m, st, now, rep)
}

func (s *Service) startedByUs(m *stored, attempt string) bool {
	for _, e := range m.events {
		if e.id == attempt {
			return e.Node == s.cfg.Node
		}
	}
	return false
}

// send makes one attempt: it resolves the number, claims the attempt with
// a durable start event, sends, and records the end.
func (s *Service) send(ctx context.Context, sealer *vault.Sealer, m *stored, st state, now time.Time, rep *TickReport) error {
	fail := func(code, msg string, final bool) error {
		rep.Failed++
		final = final || st.attempts+1 >= s.cfg.MaxAttempts
		return s.appendEvent(ctx, m.id, event{Type: evFailed, At: now, Node: s.cfg.Node, Code: code, Error: clip(msg), Final: final})
	}
	plain, err := sealer.Open(m.text, vault.FieldAAD(Collection, m.id, fieldText))
	if errors.Is(err, vault.ErrLocked) {
		rep.Locked++
		return nil
	}
	var texts map[string]string
	if err == nil {
		err = json.Unmarshal(plain, &texts)
	}
	if err != nil {
		s.log.Warn("message text does not open", logMessage, m.id, logErr, err)
		return fail(CodeUnreadable, "the message text cannot be read: "+err.Error(), true)
	}
	if s.deps.Wanted != nil && !s.deps.Wanted(m.message(texts)) {
		rep.Unwanted++
		s.log.Info("message no longer wanted", logMessage, m.id)
		return s.appendEvent(ctx, m.id, event{Type: evCancel, At: now, Node: s.cfg.Node, By: "outbox",
			Code: CodeUnwanted, Error: "no longer wanted: what it is about changed"})
	}
	phone, lang, err := s.deps.Patients.Contact(ctx, m.patient)
	if err != nil {
		if errors.Is(err, ErrNoContact) {
			return fail(CodeNoContact, "the patient has no phone number", true)
		}
		return fail(CodeContact, "reading the patient's phone number: "+err.Error(), false)
	}
	text, lang := pickText(texts, lang)
	to, err := sealer.Seal([]byte(phone), vault.FieldAAD(Collection, m.id, "to"))
	if err != nil {
		return fmt.Errorf("seal number of %s: %w", m.id, err)
	}
	start := store.NewShortID()
	kind := s.deps.Sender.Kind()
	if err := s.appendEventID(ctx, m.id, start, event{Type: evStart, At: now, Node: s.cfg.Node, Via: kind, To: to}); err != nil {
		return err // not claimed: nothing was sent
	}
	s.inflight[start] = true
	defer delete(s.inflight, start)
	sctx, cancel := context.WithTimeout(ctx, s.cfg.SendTimeout)
	ref, err := s.deps.Sender.Send(sctx, SMS{ID: m.id, To: phone, Text: text, Lang: lang, Validity: validity(m, now)})
	cancel()
	// The end is recorded even when ctx ended during the send.
	wctx := context.WithoutCancel(ctx)
	if err != nil {
		rep.Failed++
		// The history is not sealed: the error must not carry the number
		// or the text, should a sender echo them.
		msg := strings.ReplaceAll(strings.ReplaceAll(err.Error(), phone, MaskPhone(phone)), text, "(text)")
		msg = clip(msg)
		final := IsPermanent(err) || st.attempts+1 >= s.cfg.MaxAttempts
		s.log.Info("send failed", logMessage, m.id, logErr, msg, "final", final)
		return s.appendEvent(wctx, m.id, event{Type: evFailed, At: now, Node: s.cfg.Node, Attempt: start, Via: kind,
			Code: CodeSend, Error: msg, Final: final})
	}
	rep.Sent++
	s.log.Info("sent", logMessage, m.id, "via", kind)
	return s.appendEvent(wctx, m.id, event{Type: evSent, At: now, Node: s.cfg.Node, Attempt: start, Via: kind, Ref: clip(ref)})
}

func validity(m *stored, now time.Time) time.Duration {
	if m.expires.IsZero() {
		return 0
	}
	return m.expires.Sub(now)
}

func clip(s string) string {
	if len(s) <= maxErrorLen {
		return s
	}
	cut := maxErrorLen
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

func (s *Service) appendEvent(ctx context.Context, id string, e event) error {
	return s.appendEventID(ctx, id, store.NewShortID(), e)
}

func (s *Service) appendEventID(ctx context.Context, id, factID string, e event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode %s event of %s: %w", e.Type, id, err)
	}
	_, err = s.deps.Records.Write(ctx, store.WriteRequest{Collection: Collection, Record: id, MustExist: true,
		Edits: []store.Edit{{Kind: crdt.MutFact, Field: factEvents, FactID: factID, Value: b}}})
	if err != nil {
		return fmt.Errorf("record %s event of %s: %w", e.Type, id, err)
	}
	return nil
}
