package chart

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"carenode/crdt"
	"carenode/node/store"
)

// AuditEvent is one read or change of a chart: an append-only fact in the
// audit collection, synced like every other change. It holds no personal
// data of the patient (the id is random), so it is not sealed.
type AuditEvent struct {
	ID      string   `json:"id"`
	At      string   `json:"at"` // RFC 3339, UTC, milliseconds
	Who     string   `json:"who"`
	Role    string   `json:"role"`
	Action  string   `json:"action"` // read, register, update, resolve, allergy.add, merge …
	Patient string   `json:"patient"`
	Node    string   `json:"node"`
	Fields  []string `json:"fields,omitempty"` // what a change touched
}

// auditRecord names the audit record of a patient on a day: one record per
// day keeps each audit write small however long a chart's history grows.
func auditRecord(patient string, at time.Time) string {
	return patient + "." + at.UTC().Format("20060102")
}

// audit appends an event. Callers refuse to show a chart whose read could
// not be recorded.
func (s *Service) audit(ctx context.Context, a Actor, patient, action string, fields []string) error {
	req, err := s.auditRequest(a, patient, action, fields)
	if err != nil {
		return err
	}
	if _, err = s.cfg.Records.Write(ctx, req); err != nil {
		return fmt.Errorf("record audit event for patient %s: %w", patient, err)
	}
	return nil
}

// auditRequest is the store write that appends an audit event.
func (s *Service) auditRequest(a Actor, patient, action string, fields []string) (store.WriteRequest, error) {
	now := s.cfg.Now()
	ev := AuditEvent{ID: store.NewShortID(), At: now.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Who: a.Name,
		Role: string(a.Role), Action: action, Patient: patient, Node: s.cfg.Node, Fields: fields}
	b, err := json.Marshal(ev)
	if err != nil {
		return store.WriteRequest{}, fmt.Errorf("encode audit event: %w", err)
	}
	return store.WriteRequest{Collection: AuditCollection, Record: auditRecord(patient, now),
		Edits: []store.Edit{{Kind: crdt.MutFact, Field: factAudit, FactID: ev.ID, Value: b}}}, nil
}

// Audit returns the audit trail of a patient, oldest first, including the
// trails of the records merged into it. Reading the trail is itself audited.
func (s *Service) Audit(ctx context.Context, a Actor, id string) ([]AuditEvent, error) {
	if _, err := s.session(); err != nil {
		return nil, err
	}
	if !crdt.ValidName(id) {
		return nil, ErrNotFound
	}
	v, err := s.cfg.Records.Get(Collection, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("read patient %s: %w", id, err)
	}
	var out []AuditEvent
	for _, pid := range append([]string{v.ID}, v.Merged...) {
		after := pid + "."
		for {
			views, err := s.cfg.Records.List(AuditCollection, after, 100)
			if err != nil {
				return nil, fmt.Errorf("read audit of %s: %w", pid, err)
			}
			done := len(views) < 100
			for _, rv := range views {
				if !strings.HasPrefix(rv.ID, pid+".") {
					done = true
					break
				}
				for _, f := range rv.Facts[factAudit] {
					var ev AuditEvent
					if err := json.Unmarshal(f.Value, &ev); err != nil {
						return nil, fmt.Errorf("audit event %s of %s: %w", f.ID, pid, err)
					}
					out = append(out, ev)
				}
				after = rv.ID
			}
			if done {
				break
			}
		}
	}
	slices.SortStableFunc(out, func(x, y AuditEvent) int {
		if c := strings.Compare(x.At, y.At); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	if err := s.audit(ctx, a, v.ID, "audit.read", nil); err != nil {
		return nil, err
	}
	return out, nil
}

// newCardNumber returns 15 random digits and a Luhn check digit.
func newCardNumber() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(900_000_000_000_000))
	if err != nil {
		return "", fmt.Errorf("card number: %w", err)
	}
	body := fmt.Sprintf("%015d", n.Int64()+100_000_000_000_000)
	return body + string(rune('0'+luhn(body))), nil
}

// luhn returns the Luhn check digit of digits.
func luhn(digits string) int {
	sum := 0
	double := true // the check digit will be appended on the right
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return (10 - sum%10) % 10
}
