package survey

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"carenode/crdt"
)

// The five dimensions a survey scores, in the order forms show them.
const (
	DimSkill       = "skill"
	DimAttitude    = "attitude"
	DimEnvironment = "environment"
	DimCost        = "cost"
	DimWaiting     = "waiting"
)

// Dimensions lists the dimensions in form order.
func Dimensions() []string {
	return []string{DimSkill, DimAttitude, DimEnvironment, DimCost, DimWaiting}
}

// VisitDepartment in a routing table means "the department of the visit".
const VisitDepartment = "@visit"

//go:embed routing.json
var shippedRouting []byte

// Names is a text in both languages.
type Names struct {
	Zh string `json:"zh"`
	En string `json:"en"`
}

// Route says who answers a low score on one dimension.
type Route struct {
	// Department is a department id, or VisitDepartment.
	Department string `json:"department"`
	Names
}

// Routing is a routing table: dimension -> department.
type Routing struct {
	About       string           `json:"about,omitempty"`
	Departments map[string]Names `json:"departments"`
	Dimensions  map[string]Route `json:"dimensions"`
}

// ShippedRouting returns the routing table built into the binary.
func ShippedRouting() (*Routing, error) { return ParseRouting(shippedRouting) }

// ParseRouting reads and checks a routing table: every dimension routed,
// to VisitDepartment or a department the table names, and nothing else.
func ParseRouting(b []byte) (*Routing, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Routing
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRouting, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrRouting)
	}
	for id, n := range r.Departments {
		if !validDepartment(id) {
			return nil, fmt.Errorf("%w: department id %q: use 1-64 letters, digits, '_', '-' or '.'", ErrRouting, id)
		}
		if strings.TrimSpace(n.Zh) == "" || strings.TrimSpace(n.En) == "" {
			return nil, fmt.Errorf("%w: department %q needs a Chinese and an English name", ErrRouting, id)
		}
	}
	for dim := range r.Dimensions {
		if !slices.Contains(Dimensions(), dim) {
			return nil, fmt.Errorf("%w: unknown dimension %q; the dimensions are %s", ErrRouting, dim, strings.Join(Dimensions(), ", "))
		}
	}
	for _, dim := range Dimensions() {
		rt, ok := r.Dimensions[dim]
		if !ok {
			return nil, fmt.Errorf("%w: dimension %q is not routed", ErrRouting, dim)
		}
		if _, known := r.Departments[rt.Department]; rt.Department != VisitDepartment && !known {
			return nil, fmt.Errorf("%w: dimension %q goes to department %q, which the table does not name", ErrRouting, dim, rt.Department)
		}
		if strings.TrimSpace(rt.Zh) == "" || strings.TrimSpace(rt.En) == "" {
			return nil, fmt.Errorf("%w: dimension %q needs a Chinese and an English name", ErrRouting, dim)
		}
	}
	return &r, nil
}

// Department returns the department that answers a low score on dim for a
// visit to visitDept.
func (r *Routing) Department(dim, visitDept string) string {
	d := r.Dimensions[dim].Department
	if d == VisitDepartment {
		return visitDept
	}
	return d
}

// validDepartment reports whether id may name a department: the same
// names as record ids (the booking side's departments are records).
func validDepartment(id string) bool { return crdt.ValidName(id) }
