package outbox

import "errors"

// Sentinel errors. Functions wrap them with context; test with errors.Is.
var (
	// ErrConfig means a Config cannot be used; the wrapping error names the
	// setting and why.
	ErrConfig = errors.New("invalid outbox config")
	// ErrInvalid means a queued message breaks a rule (no key, no text …).
	ErrInvalid = errors.New("invalid message")
	// ErrLocked means the node holds no data key: message text cannot be
	// sealed (Queue) or opened (sending). Queue is idempotent by Key, so a
	// service may simply queue again after the node unlocks.
	ErrLocked = errors.New("outbox is locked: sign in to unlock patient data")
	// ErrNotFound means no message has the id.
	ErrNotFound = errors.New("no such message")
	// ErrState means the message's status does not allow the action (retry
	// a sent message, cancel an expired one); the wrapping error says which.
	ErrState = errors.New("message status does not allow this")
	// ErrNoContact is what a Patients implementation wraps when the patient
	// does not exist or has no phone number: the message fails at once,
	// without retries.
	ErrNoContact = errors.New("patient has no phone number")
	// ErrDamaged means a stored message cannot be read (a field that is not
	// the JSON it should be, text that does not open).
	ErrDamaged = errors.New("stored message is damaged")
)

// permanent marks an error a retry cannot cure.
type permanent struct{ err error }

func (p permanent) Error() string   { return p.err.Error() }
func (p permanent) Unwrap() error   { return p.err }
func (p permanent) Permanent() bool { return true }

// Permanent wraps err so that the outbox does not retry the send: a number
// the network rejects, a message the gateway refuses as malformed. Senders
// outside this package may instead return any error with a method
// Permanent() bool that returns true.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err, or an error it wraps, says a retry
// cannot help.
func IsPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}
