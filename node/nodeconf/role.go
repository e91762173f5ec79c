package nodeconf

import (
	"fmt"
	"strings"
)

// Role says what job a node does.
type Role string

// The roles a node can have.
const (
	RoleClinic Role = "clinic"
	RoleKiosk  Role = "kiosk"
	RoleNurse  Role = "nurse"
	RoleHub    Role = "hub"
)

// Roles returns every valid role, in the order help texts list them.
func Roles() []Role {
	return []Role{RoleClinic, RoleKiosk, RoleNurse, RoleHub}
}

// ParseRole returns the role named s. Matching is exact, so the value a
// program compares against is the value the person wrote. The error wraps
// ErrUnknownRole and lists the valid roles.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("%w %q (valid roles: %s)", ErrUnknownRole, s, roleList())
}

// roleList returns the valid roles separated by commas.
func roleList() string {
	names := make([]string, 0, len(Roles()))
	for _, r := range Roles() {
		names = append(names, string(r))
	}
	return strings.Join(names, ", ")
}
