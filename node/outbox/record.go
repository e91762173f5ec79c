package outbox

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"carenode/node/store"
)

// Collection is the store collection of queued messages.
const Collection = "outbox"

// The record's registers, set and fact list. Stored names: never rename.
const (
	fieldKey       = "key"
	fieldPatient   = "patient"
	fieldKind      = "kind"
	fieldAbout     = "about"
	fieldNotBefore = "notBefore"
	fieldExpires   = "expires"
	fieldQueued    = "queued"
	fieldText      = "text" // vault-sealed JSON map lang -> text
	setSenders     = "senders"
	factEvents     = "events"
)

// RecordID is the record id of the message with key: the same on every
// node, so two nodes queueing one key make one record once they sync.
func RecordID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "m" + hex.EncodeToString(sum[:16])
}

// Event types, stored in the events fact list.
const (
	evStart  = "start"  // the sending node claims an attempt, before it sends
	evSent   = "sent"   // the attempt was accepted by the modem or gateway
	evFailed = "failed" // the attempt failed
	evRetry  = "retry"  // staff asked for another try
	evCancel = "cancel" // staff cancelled the message
)

// event is one fact of a message's history. Facts are append-only and
// merge by union, so two nodes' histories join without loss, and the
// status is a function of the joined facts (state), the same everywhere.
type event struct {
	Type string    `json:"type"`
	At   time.Time `json:"at"`
	// Node made the event.
	Node string `json:"node"`
	// Attempt is the fact id of the start event a sent or failed event ends.
	Attempt string `json:"attempt,omitempty"`
	// By is the staff member who retried or cancelled.
	By string `json:"by,omitempty"`
	// Code says why an attempt failed or a message was cancelled (the
	// Code… constants); Error is the detail, in English.
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
	// Final marks a failure after which the sending node tries no more:
	// the error was permanent, the attempts ran out, or the outcome of an
	// interrupted send is unknown. Written by the sender so every node
	// shows the same status whatever its own MaxAttempts.
	Final bool `json:"final,omitempty"`
	// Ref is the modem's or gateway's reference for a sent message.
	Ref string `json:"ref,omitempty"`
	// Via is the sender kind of an attempt (gsm, gateway, file).
	Via string `json:"via,omitempty"`
	// To is the number an attempt went to, sealed (a start event).
	To []byte `json:"to,omitempty"`
}

// stored is a message as read back from its record.
type stored struct {
	id        string
	key       string
	patient   string
	kind      string
	about     string
	notBefore time.Time
	expires   time.Time
	queued    time.Time
	text      []byte // sealed
	senders   []string
	events    []storedEvent // in stamp order
}

type storedEvent struct {
	id string
	event
}

// responsible is the node that sends the message: the least node id of its
// senders set. Two nodes that queued one key while apart may each have
// added themselves; after sync every node picks the same one.
func (m *stored) responsible() string {
	if len(m.senders) == 0 {
		return ""
	}
	return slices.Min(m.senders)
}

func decodeStored(v store.RecordView) (*stored, error) {
	m := &stored{id: v.ID, senders: v.Sets[setSenders]}
	str := func(field string, dst *string) error {
		f, ok := v.Fields[field]
		if !ok {
			return nil
		}
		return json.Unmarshal(f.Value, dst)
	}
	tm := func(field string, dst *time.Time) error {
		f, ok := v.Fields[field]
		if !ok {
			return nil
		}
		return json.Unmarshal(f.Value, dst)
	}
	for _, err := range []error{str(fieldKey, &m.key), str(fieldPatient, &m.patient), str(fieldKind, &m.kind),
		str(fieldAbout, &m.about), tm(fieldNotBefore, &m.notBefore), tm(fieldExpires, &m.expires), tm(fieldQueued, &m.queued)} {
		if err != nil {
			return nil, fmt.Errorf("message %s: %w: %v", v.ID, ErrDamaged, err)
		}
	}
	if f, ok := v.Fields[fieldText]; ok {
		m.text = f.Value
	}
	for _, f := range v.Facts[factEvents] {
		var e event
		if err := json.Unmarshal(f.Value, &e); err != nil {
			return nil, fmt.Errorf("message %s event %s: %w: %v", v.ID, f.ID, ErrDamaged, err)
		}
		m.events = append(m.events, storedEvent{id: f.ID, event: e})
	}
	return m, nil
}

// message is the stored message as services queued it.
func (m *stored) message(texts map[string]string) Message {
	return Message{Key: m.key, Patient: m.patient, Kind: m.kind, Text: texts, NotBefore: m.notBefore, Expires: m.expires,
		About: m.about}
}
