package survey

import "errors"

// Errors callers tell apart. Validation problems come back as
// *care.ValidationError, with sentences in both languages.
var (
	// ErrLocked: a comment or a response must be sealed (or opened), and
	// the node's data key is not in memory.
	ErrLocked = errors.New("node is locked: sign in to unlock patient data")
	// ErrAnswered: the visit already has a survey on this node.
	ErrAnswered = errors.New("this visit already has a survey")
	// ErrNoCase: no case has this id.
	ErrNoCase = errors.New("no such feedback case")
	// ErrTransition: the case's state does not allow the action (a
	// resolved case cannot be investigated or resolved again).
	ErrTransition = errors.New("the case's state does not allow this")
	// ErrNoQueue: the service has no outbox to queue a survey link in.
	ErrNoQueue = errors.New("no outbox configured")
	// ErrRouting: a routing table cannot be used.
	ErrRouting = errors.New("invalid routing table")
	// ErrPeriod: a report's from or to cannot be read.
	ErrPeriod = errors.New("bad report period")
	// ErrBadVisit: a visit or patient id is malformed.
	ErrBadVisit = errors.New("malformed visit or patient id")
	// ErrConfig: the service's configuration is unusable.
	ErrConfig = errors.New("invalid survey configuration")
)
