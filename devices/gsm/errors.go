package gsm

import (
	"errors"
	"fmt"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrNumber means a phone number cannot be addressed (no digits, a
	// character that is not a digit, more than 20 digits).
	ErrNumber = errors.New("invalid phone number")
	// ErrTooLong means a text needs more than 255 parts.
	ErrTooLong = errors.New("text too long for one concatenated SMS")
	// ErrPDU means bytes are not a well-formed SMS-SUBMIT PDU.
	ErrPDU = errors.New("malformed SMS PDU")
	// ErrTimeout means the modem did not answer in time.
	ErrTimeout = errors.New("modem did not answer in time")
	// ErrModem means the modem answered ERROR.
	ErrModem = errors.New("modem answered ERROR")
	// ErrUnconfirmed means a message was handed to the modem and no answer
	// came: the network may or may not have it. It is permanent for the
	// outbox, which leaves a second try to a person rather than risk
	// sending twice.
	ErrUnconfirmed = errors.New("modem took the message but did not confirm it")
	// ErrClosed means the line to the modem is closed or gone.
	ErrClosed = errors.New("modem line closed")
)

// CMSError is a "+CMS ERROR: n" answer: the network or the modem refused
// the message (3GPP TS 27.005 § 3.2.5).
type CMSError struct{ Code int }

func (e *CMSError) Error() string {
	if text, ok := cmsText[e.Code]; ok {
		return fmt.Sprintf("+CMS ERROR: %d (%s)", e.Code, text)
	}
	return fmt.Sprintf("+CMS ERROR: %d", e.Code)
}

// Permanent reports whether sending again cannot help: the number is
// unknown or barred, or the PDU itself is refused. Network trouble (no
// service, timeouts, SMSC unknown) is worth retrying.
func (e *CMSError) Permanent() bool { return permanentCMS[e.Code] }

var permanentCMS = map[int]bool{1: true, 8: true, 10: true, 21: true, 28: true, 29: true, 30: true, 304: true, 305: true}

var cmsText = map[int]string{
	1: "unassigned number", 8: "operator determined barring", 10: "call barred", 21: "short message rejected",
	28: "unidentified subscriber", 29: "facility rejected", 30: "unknown subscriber", 38: "network out of order",
	41: "temporary failure", 42: "congestion", 304: "invalid PDU mode parameter", 305: "invalid text mode parameter",
	310: "SIM not inserted", 311: "SIM PIN required", 322: "memory full", 330: "SMSC address unknown",
	331: "no network service", 332: "network timeout", 500: "unknown error",
}

// permanentErr marks an error the outbox must not retry (duck-typed: the
// outbox looks for a Permanent() bool method).
type permanentErr struct{ error }

func (p permanentErr) Unwrap() error   { return p.error }
func (p permanentErr) Permanent() bool { return true }
