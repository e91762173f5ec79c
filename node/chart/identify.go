package chart

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"carenode/crdt"
	"carenode/node/store"
)

// Identify returns the ids of the patients that identifier names exactly:
// a chart id (a merged-away id names its survivor), a card number or a
// resident ID number, compared without spaces or dashes and with the ID
// number's check character in upper case. It never matches on names or
// phones: a device reading is attached to a patient only when its
// identifier leaves no doubt, so callers treat anything but one id as
// "needs a person" (issue 6, "never guessed onto a patient"). A locked
// service returns ErrLocked.
//
// Card and ID numbers are found by a walk over the opened entries (about a
// millisecond per 100,000 patients here): identifiers in device messages
// are rare enough not to be worth a third index to keep in step.
func (s *Service) Identify(identifier string) ([]string, error) {
	if _, err := s.session(); err != nil {
		return nil, err
	}
	want := normaliseIdentifier(identifier)
	if want == "" {
		return nil, nil
	}
	s.mu.RLock()
	if s.entries == nil {
		s.mu.RUnlock()
		return nil, ErrLocked
	}
	var out []string
	if _, ok := s.entries[identifier]; ok {
		out = append(out, identifier)
	}
	for id, e := range s.entries {
		if id == identifier {
			continue
		}
		if (e.CardNumber != "" && normaliseIdentifier(e.CardNumber) == want) ||
			(e.idNumber != "" && normaliseIdentifier(e.idNumber) == want) {
			out = append(out, id)
		}
	}
	s.mu.RUnlock()
	if len(out) == 0 && crdt.ValidName(identifier) {
		// A chart id merged away: the store follows the merge.
		v, err := s.cfg.Records.Get(Collection, identifier)
		switch {
		case err == nil && v.ID != identifier:
			out = append(out, v.ID)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return nil, fmt.Errorf("identify patient: %w", err)
		}
	}
	return out, nil
}

func normaliseIdentifier(s string) string {
	return strings.ToUpper(strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\t':
			return -1
		}
		return r
	}, strings.TrimSpace(s)))
}

// Contact returns the number to text a patient on (the first phone of the
// chart) and the patient's language for messages ("" when the chart does
// not say; senders then use Chinese). It is for the outbox, which runs
// on the node itself, so it writes no audit event of its own; the outbox
// records each message it sends. A locked service returns ErrLocked; a
// patient with no phone, an error wrapping ErrNoPhone.
func (s *Service) Contact(ctx context.Context, id string) (phone, lang string, err error) {
	if _, err := s.session(); err != nil {
		return "", "", err
	}
	s.mu.RLock()
	e := s.entries[id]
	if e == nil && s.entries != nil {
		if v, gerr := s.cfg.Records.Get(Collection, id); gerr == nil {
			e = s.entries[v.ID]
		}
	}
	locked := s.entries == nil
	var phones []string
	if e != nil {
		phones = e.Phones
	}
	s.mu.RUnlock()
	switch {
	case locked:
		return "", "", ErrLocked
	case e == nil:
		return "", "", fmt.Errorf("contact patient %s: %w", id, ErrNotFound)
	case len(phones) == 0:
		return "", "", fmt.Errorf("contact patient %s: %w", id, ErrNoPhone)
	}
	return phones[0], "", nil
}
