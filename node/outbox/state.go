package outbox

import "time"

// Status is where a message stands.
type Status string

// The statuses. queued: waiting to be sent (due now, later, or after a
// failed attempt's backoff); sending: an attempt is claimed and not ended;
// sent: a modem or gateway accepted it; failed: the sending node gave up
// (a retry sends it again); expired: not sent before it expired and never
// will be; cancelled: staff cancelled it.
const (
	StatusQueued    Status = "queued"
	StatusSending   Status = "sending"
	StatusSent      Status = "sent"
	StatusFailed    Status = "failed"
	StatusExpired   Status = "expired"
	StatusCancelled Status = "cancelled"
)

// Statuses lists every status, for filters and metrics.
var Statuses = []Status{StatusQueued, StatusSending, StatusSent, StatusFailed, StatusExpired, StatusCancelled}

// state is a message's status as its joined history says. It depends only
// on the facts and the time, so every node that holds the same facts shows
// the same status at the same moment.
type state struct {
	status Status
	// attempts counts failed attempts since the last retry.
	attempts  int
	lastError string
	lastCode  string
	lastFail  time.Time
	reason    string // of the first cancel
	reasonBy  string
	sentAt    time.Time
	ref       string
	via       string
	to        []byte   // sealed number of the latest attempt
	open      []string // start events with no end, oldest first
	openNode  string   // the node of the latest open start
}

// evaluate folds m's events (in stamp order) into its state at now.
//
// Precedence: sent (a message cannot be unsent, so a cancel or failure
// concurrent with a success loses), cancelled, sending, failed, expired,
// queued. A retry forgets the failures ordered before it.
func evaluate(m *stored, now time.Time) state {
	var st state
	ended := map[string]bool{}
	var sent, cancelled, final bool
	for _, e := range m.events {
		switch e.Type {
		case evSent, evFailed:
			ended[e.Attempt] = true
		}
	}
	for _, e := range m.events {
		switch e.Type {
		case evStart:
			st.to, st.via = e.To, e.Via
			if !ended[e.id] {
				st.open = append(st.open, e.id)
				st.openNode = e.Node
			}
		case evSent:
			if !sent {
				sent, st.sentAt, st.ref = true, e.At, e.Ref
				if e.Via != "" {
					st.via = e.Via
				}
			}
		case evFailed:
			st.attempts++
			st.lastError, st.lastCode, st.lastFail = e.Error, e.Code, e.At
			final = final || e.Final
		case evRetry:
			st.attempts, st.lastFail, final = 0, time.Time{}, false
		case evCancel:
			if !cancelled {
				st.reason, st.reasonBy = e.Code, e.By
			}
			cancelled = true
		}
	}
	switch {
	case sent:
		st.status = StatusSent
	case cancelled:
		st.status = StatusCancelled
	case len(st.open) > 0:
		st.status = StatusSending
	case final:
		st.status = StatusFailed
	case !m.expires.IsZero() && !now.Before(m.expires):
		st.status = StatusExpired
	default:
		st.status = StatusQueued
	}
	return st
}

// due is when a queued message may next be attempted, before quiet hours:
// its NotBefore, or the end of the backoff after its last failure.
func (st state) due(m *stored, cfg *Config) time.Time {
	t := m.notBefore
	if st.attempts > 0 {
		if r := st.lastFail.Add(backoff(st.attempts, cfg.MinBackoff, cfg.MaxBackoff)); r.After(t) {
			t = r
		}
	}
	return t
}

// Codes of failures and cancels, stored in events and shown in View with
// a sentence in each language.
const (
	CodeSend       = "send_failed" // the modem or gateway refused or did not answer
	CodeNoContact  = "no_phone"    // the patient has no phone number
	CodeContact    = "chart_error" // the chart could not be read
	CodeUnreadable = "unreadable"  // the stored text does not open
	CodeInDoubt    = "in_doubt"    // the node stopped mid-send; outcome unknown
	CodeUnwanted   = "not_wanted"  // what the message is about changed
	CodeStaff      = "staff"       // a staff member cancelled it
)

// codeText is each code in English and Chinese.
var codeText = map[string][2]string{
	CodeSend:       {"The SMS could not be sent.", "短信发送失败。"},
	CodeNoContact:  {"The patient has no phone number.", "患者没有登记电话号码。"},
	CodeContact:    {"The patient's phone number could not be read.", "无法读取患者的电话号码。"},
	CodeUnreadable: {"The stored message text cannot be read.", "消息内容无法读取。"},
	CodeInDoubt:    {"The node stopped while sending: the SMS may or may not have gone out. Retry to send it again.", "发送过程中本机中断，短信可能已发出也可能未发出；如需再次发送请重试。"},
	CodeUnwanted:   {"No longer wanted: the appointment or task it was about changed.", "已不需要发送：相关预约或任务已变更。"},
	CodeStaff:      {"Cancelled by staff.", "已由工作人员取消。"},
}
