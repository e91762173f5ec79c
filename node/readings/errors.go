package readings

import "errors"

// ErrNoDropBox means this node has never been unlocked, so it has no drop
// box key to seal a device's raw message with: the reading is refused (the
// device is told AE, or gets no PUBACK) and the device sends it again
// later. A staff sign-in, or a kiosk key file, ends this once for good.
var ErrNoDropBox = errors.New("node has never been unlocked: no key to seal device messages with yet")

// ErrNotFound means no reading (or session) has the id asked for.
var ErrNotFound = errors.New("no such reading")

// ErrNoPatient means the patient named for an attach or a measure-now
// session matches no patient on this node.
var ErrNoPatient = errors.New("no patient matches")

// ErrAmbiguous means the patient named matches more than one patient; name
// the chart id instead.
var ErrAmbiguous = errors.New("more than one patient matches")

// ErrBadRequest means an argument breaks a rule (empty reason, session
// length out of range, bad device id); a *BadRequest says which, in both
// languages.
var ErrBadRequest = errors.New("bad request")

// BadRequest is an argument that breaks a rule, said in English and
// Simplified Chinese. It matches ErrBadRequest.
type BadRequest struct{ En, Zh string }

func (e *BadRequest) Error() string { return e.En }

// Is makes errors.Is(err, ErrBadRequest) true.
func (e *BadRequest) Is(target error) bool { return target == ErrBadRequest }

func badRequest(en, zh string) error { return &BadRequest{En: en, Zh: zh} }

// ErrLocked means the node is locked: what was asked needs the data key
// (opening a raw message, or identifying a patient).
var ErrLocked = errors.New("node is locked")

// ErrDamaged means a stored reading could not be decoded.
var ErrDamaged = errors.New("stored reading is damaged")
