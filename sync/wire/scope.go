package wire

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"carenode/crdt"
)

// ScopeKind says what kind of replica a node is.
type ScopeKind uint8

// The scope kinds. Full replicas (clinic desks, the hub) hold and relay
// everything; the others are partial replicas.
const (
	ScopeFull  ScopeKind = iota + 1 // everything
	ScopeKiosk                      // what self-service check-in needs
	ScopeNurse                      // the patients assigned to one nurse
)

// MaxStaffLen bounds the staff name in a nurse scope.
const MaxStaffLen = 64

// Scope is what a replica holds, and so what it asks its peers for.
// Its text form is "full", "kiosk" or "nurse:<staff name>".
//
// The sender decides what a scope means from its own data (appointments,
// assignments) and the receiver's role in its certificate; it never sends a
// partial replica a change its Filter refuses, whatever the hello asked.
type Scope struct {
	Kind  ScopeKind
	Staff string // the nurse, for ScopeNurse only
}

// Full, Kiosk and Nurse return the scopes.
func Full() Scope               { return Scope{Kind: ScopeFull} }
func Kiosk() Scope              { return Scope{Kind: ScopeKiosk} }
func Nurse(staff string) Scope  { return Scope{Kind: ScopeNurse, Staff: staff} }
func (s Scope) IsFull() bool    { return s.Kind == ScopeFull }
func (s Scope) IsPartial() bool { return !s.IsFull() }

func (s Scope) String() string {
	switch s.Kind {
	case ScopeFull:
		return "full"
	case ScopeKiosk:
		return "kiosk"
	case ScopeNurse:
		return "nurse:" + s.Staff
	}
	return fmt.Sprintf("scope(%d)", s.Kind)
}

// ParseScope parses the text form made by String. A staff name is 1 to
// MaxStaffLen bytes of printable UTF-8.
func ParseScope(text string) (Scope, error) {
	switch {
	case text == "full":
		return Full(), nil
	case text == "kiosk":
		return Kiosk(), nil
	case strings.HasPrefix(text, "nurse:"):
		staff := strings.TrimPrefix(text, "nurse:")
		if staff == "" || len(staff) > MaxStaffLen || !utf8.ValidString(staff) {
			return Scope{}, fmt.Errorf("%w: %q: staff name must be 1 to %d bytes of UTF-8", ErrScope, text, MaxStaffLen)
		}
		for _, r := range staff {
			if !unicode.IsPrint(r) {
				return Scope{}, fmt.Errorf("%w: %q: staff name has a control character", ErrScope, text)
			}
		}
		return Nurse(staff), nil
	}
	return Scope{}, fmt.Errorf("%w: %q: want full, kiosk or nurse:<staff name>", ErrScope, text)
}

// MarshalText implements encoding.TextMarshaler.
func (s Scope) MarshalText() ([]byte, error) {
	if _, err := ParseScope(s.String()); err != nil {
		return nil, err
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Scope) UnmarshalText(b []byte) error {
	p, err := ParseScope(string(b))
	if err != nil {
		return err
	}
	*s = p
	return nil
}

// Filter decides what of a change may be sent to a replica of some scope:
// the change as it is, a copy of it that keeps only the mutations the scope
// may hold (a kiosk holds a few fields of a patient record), or nothing
// (false). A trimmed copy keeps the change's origin, sequence and stamp and
// at least one mutation; a change left with none is not sent. The sender
// applies the filter to every change before it goes into a batch. It must
// not block or modify the change it is given (whose Muts it shares with the
// sender's page), and is called from the session's sending goroutine.
type Filter func(crdt.Change) (crdt.Change, bool)

// OwnOrigin reports whether origin is node's own: the node ID itself or an
// incarnation of it (NODE.suffix, after a restore from backup). This is the
// relay rule's test: a partial replica sends only changes whose origin is its
// own, because it holds other origins' changes with gaps (whatever its scope
// let in), and relaying those would leave its peers' vectors with gaps too.
func OwnOrigin(node, origin crdt.NodeID) bool {
	return origin == node || strings.HasPrefix(string(origin), string(node)+".")
}
