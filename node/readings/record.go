package readings

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	"strconv"
	"time"
)

// Collections and fields this package writes. Their names are stored and
// synced; never rename them.
const (
	// Collection holds one record per device message.
	Collection = "readings"
	// SessionCollection holds measure-now sessions.
	SessionCollection = "device-sessions"
	// KeyCollection holds the drop box's public key, record keyRecord.
	KeyCollection = "readings-keys"

	keyRecord   = "dropbox"
	fieldKey    = "key"     // register: vault.DropBoxKey text
	factList    = "msg"     // fact list of a reading: its one message
	factID      = "m"       // the message's fact id
	fieldReview = "review"  // register: where the reading went (decision JSON)
	aadRaw      = "raw"     // drop-box aad field names
	aadIDs      = "ids"     //
	aadReason   = "reason"  //
	sessDevice  = "device"  // session registers
	sessPatient = "patient" //
	sessStart   = "start"   // RFC 3339, UTC
	sessEnd     = "end"     //
	sessBy      = "by"      //
)

// message is the fact a reading record holds: what one device message
// carried, written once when it arrives and never changed. Personal parts
// (the raw bytes, which carry PID-5 names; the PID-3 identifiers) are
// sealed to the drop box; the rest is clinical data readable by a locked
// node, as vital signs are everywhere else in carenode.
type message struct {
	V           int        `json:"v"`
	Device      string     `json:"device"`
	Source      string     `json:"source,omitempty"`
	Format      string     `json:"format"`
	ControlID   string     `json:"controlId,omitempty"`
	Received    time.Time  `json:"received"`
	DeviceTime  *time.Time `json:"deviceTime,omitempty"`
	DeviceClock string     `json:"deviceClock,omitempty"`
	// DriftSeconds is the node's receipt time less the device's clock;
	// ClockDrift says it is beyond the limit (10 minutes by default).
	DriftSeconds int64         `json:"driftSeconds,omitempty"`
	ClockDrift   bool          `json:"clockDrift,omitempty"`
	Observations []observation `json:"observations"`
	// Retracts are the slots of rows with result status D: the earlier
	// observations they name are withdrawn.
	Retracts []string `json:"retracts,omitempty"`
	Unmapped []string `json:"unmapped,omitempty"`
	// Queued is why the reading waited for review when it arrived; empty
	// when it was bound at once.
	Queued string `json:"queued,omitempty"`
	// Identifiers counts the PID-3 identifiers sealed in IDs.
	Identifiers int    `json:"identifiers,omitempty"`
	Raw         []byte `json:"raw"`
	IDs         []byte `json:"ids,omitempty"`
	// RawChunks > 0 says the raw bytes were too large for one value: they
	// are the facts "0", "1", … of list "raw", each sealed, and Raw is
	// empty.
	RawChunks int `json:"rawChunks,omitempty"`
}

// rawChunk is the most raw bytes sealed into one value: a stored value
// may not exceed crdt.MaxValueLen (1 MiB), and an MLLP frame may be that
// large before base64 and sealing add to it.
const rawChunk = 256 << 10

// rawList is the fact list of a large message's raw chunks.
const rawList = "raw"

const messageVersion = 1

// observation is one mapped row of a message.
type observation struct {
	Ref         string     `json:"ref"`
	Kind        string     `json:"kind"`
	Name        string     `json:"name,omitempty"`
	NameZh      string     `json:"nameZh,omitempty"`
	LOINC       string     `json:"loinc"`
	Value       float64    `json:"value"`
	Unit        string     `json:"unit"`
	RawValue    string     `json:"rawValue"`
	RawUnit     string     `json:"rawUnit"`
	Implausible bool       `json:"implausible,omitempty"`
	Time        *time.Time `json:"time,omitempty"`
	Status      string     `json:"status,omitempty"`
	// Slot names "this code of this order from this device": a later row
	// with status C in the same slot replaces this one, D retracts it.
	// Empty when the message names no order (a correction then cannot
	// name this row).
	Slot string `json:"slot,omitempty"`
}

// decision is one value of a reading's review register: the reading was
// bound on arrival ("bound", by "identifier" or "session"), or a staff
// member attached or discarded it. Two concurrent decisions stay side by
// side (a multi-value register) and put the reading back in the review
// queue until someone decides again having seen both.
type decision struct {
	State   string    `json:"state"`
	Patient string    `json:"patient,omitempty"`
	By      string    `json:"by"`
	Session string    `json:"session,omitempty"`
	At      time.Time `json:"at"`
	// Reason is a discard's reason, typed by staff: free text that may
	// name a person, so it is sealed to the drop box like a note.
	Reason []byte `json:"reason,omitempty"`
}

// Decision states.
const (
	StateBound     = "bound"     // on arrival, by identifier or session
	StateAttached  = "attached"  // by a staff member
	StateDiscarded = "discarded" // by a staff member, with a reason
	StateWaiting   = "waiting"   // no decision yet (not stored)
	StateConflict  = "conflict"  // concurrent decisions (not stored)
)

// maxMessageBytes bounds a stored message fact we agree to decode: what a
// peer sends is outside input.
const maxMessageBytes = 4 << 20

func decodeMessage(b []byte) (message, error) {
	var m message
	if len(b) > maxMessageBytes {
		return m, fmt.Errorf("%w: message of %d bytes", ErrDamaged, len(b))
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	if m.V != messageVersion {
		return m, fmt.Errorf("%w: message format %d, this build reads %d", ErrDamaged, m.V, messageVersion)
	}
	for _, o := range m.Observations {
		if math.IsNaN(o.Value) || math.IsInf(o.Value, 0) {
			return m, fmt.Errorf("%w: observation %s is not a number", ErrDamaged, o.Ref)
		}
	}
	return m, nil
}

func decodeDecision(b []byte) (decision, error) {
	var d decision
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("%w: review decision: %v", ErrDamaged, err)
	}
	switch d.State {
	case StateBound, StateAttached:
		if d.Patient == "" {
			return d, fmt.Errorf("%w: %s decision names no patient", ErrDamaged, d.State)
		}
	case StateDiscarded:
	default:
		return d, fmt.Errorf("%w: review state %q", ErrDamaged, d.State)
	}
	return d, nil
}

// keyWriter feeds length-prefixed strings to a hash, so that no two
// different sequences hash the same bytes.
type keyWriter struct{ h hash.Hash }

func (w keyWriter) str(s string) {
	var n [binary.MaxVarintLen64]byte
	w.h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
	w.h.Write([]byte(s))
}

func (w keyWriter) bytes(b []byte) { w.str(string(b)) }

// recordID is a reading's id: the same device message, delivered again,
// gets the same id, so storing it again adds nothing ("exactly once in
// effect"). It hashes the device id, then
//
//   - the message control id (HL7 MSH-10, the JSON "id"), when there is one;
//   - else the device's full date and time, when it gives one;
//   - else the node's receipt time: a line device with no clock cannot
//     resend, and a Store retried after a failure keeps its batch and so
//     its receipt time,
//
// and then the content (valueHash), so that a device that reuses a control
// id for a new message (a restarted counter, a sample id left as shipped)
// does not have its new readings taken for a resend.
//
// The id is readable, so it must not let a thief confirm a guess of a
// sealed value: the patient identifiers and PID segments are left out of
// the hash (a guessed ID number could otherwise be checked against it).
func recordID(b *Message) string {
	h := sha256.New()
	w := keyWriter{h}
	w.str("carenode reading v1")
	w.str(b.DeviceID)
	switch {
	case b.ControlID != "":
		w.str("control")
		w.str(b.ControlID)
	case !b.DeviceTime.IsZero():
		w.str("device-time")
		w.str(b.DeviceTime.UTC().Format(time.RFC3339Nano))
	default:
		w.str("received")
		w.str(b.Received.UTC().Format(time.RFC3339Nano))
	}
	w.bytes(valueHash(b))
	return "rd-" + hex.EncodeToString(h.Sum(nil)[:20])
}

// valueHash hashes what a message says: its format, each mapped row (where
// it is, code, value and unit as received, status, time) and the
// retracted slots. A message with no mapped row (an unreadable payload,
// codes the table does not know) hashes its raw bytes instead, without
// any PID segment. A resend that differs only in framing or in MSH-7
// hashes the same.
func valueHash(b *Message) []byte {
	h := sha256.New()
	w := keyWriter{h}
	w.str(b.Format)
	for _, o := range b.Observations {
		w.str(o.Ref)
		w.str(o.LOINC)
		w.str(o.RawValue)
		w.str(o.RawUnit)
		w.str(o.Status)
		w.str(strconv.FormatInt(o.Time.UnixNano(), 10))
	}
	for _, r := range b.Retracts {
		w.str("D " + r)
	}
	if len(b.Observations) == 0 && len(b.Retracts) == 0 {
		for _, line := range bytes.FieldsFunc(b.Raw, func(r rune) bool { return r == '\r' || r == '\n' }) {
			if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("PID")) {
				w.bytes(line)
			}
		}
	}
	return h.Sum(nil)
}
