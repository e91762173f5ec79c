package scope

import (
	"fmt"
	"slices"
	"strings"

	"carenode/crdt"
	"carenode/node/chart"
	"carenode/node/nodeconf"
	"carenode/node/staff"
	"carenode/node/store"
	"carenode/sync/session"
	"carenode/sync/trust"
	"carenode/sync/wire"
)

// assigneesSet is the set of a patient record naming the nurses the patient
// is assigned to (node/chart's "assignees").
const assigneesSet = "assignees"

// listPage is how many patient records are read at a time when a nurse's
// assignments are looked up.
const listPage = 500

// Records is what a policy reads of the node's store: the patient records,
// to find a nurse's assignments. node/store's Store implements it.
type Records interface {
	List(coll, after string, limit int) ([]store.RecordView, error)
}

// Policies makes the scope policy of each peer from its certificate.
type Policies struct {
	// Records is this node's store.
	Records Records
}

// For returns the policy for a session with peer: what it may be sent
// depends on the role in its certificate and, for a nurse, its name.
func (p *Policies) For(peer trust.Peer) session.Policy {
	return session.PolicyFunc(func(node crdt.NodeID, s wire.Scope) (wire.Filter, error) {
		return p.filter(peer, s)
	})
}

func refused(peer trust.Peer, s wire.Scope, why string) error {
	return fmt.Errorf("%w: a %s node (%s) may not ask for %s: %s", session.ErrScopeRefused, peer.Role, peer.Name, s, why)
}

func (p *Policies) filter(peer trust.Peer, s wire.Scope) (wire.Filter, error) {
	switch peer.Role {
	case nodeconf.RoleHub, nodeconf.RoleClinic:
		// Full replicas may hold everything, so any narrower scope is
		// theirs for the asking.
		switch s.Kind {
		case wire.ScopeFull:
			return nil, nil
		case wire.ScopeKiosk:
			return KioskFilter, nil
		case wire.ScopeNurse:
			return p.NurseFilter(s.Staff)
		}
	case nodeconf.RoleKiosk:
		if s.Kind != wire.ScopeKiosk {
			return nil, refused(peer, s, "a kiosk holds the kiosk scope only")
		}
		return KioskFilter, nil
	case nodeconf.RoleNurse:
		if s.Kind != wire.ScopeNurse {
			return nil, refused(peer, s, "a nurse laptop holds its nurse's patients only")
		}
		if s.Staff != peer.Name {
			return nil, refused(peer, s, fmt.Sprintf("this laptop was enrolled for nurse %q", peer.Name))
		}
		return p.NurseFilter(s.Staff)
	}
	return nil, refused(peer, s, "unknown role")
}

// shared reports whether a change belongs to a collection every replica
// holds: staff accounts (anyone must be able to sign in anywhere) and
// revocations (every node must refuse a revoked one).
func shared(c crdt.Change) bool {
	return c.Collection == staff.Collection || c.Collection == trust.RevocationCollection
}

// KioskFilter is the kiosk scope: staff, revocations and every patient
// record, nothing else (no audit, no care records).
func KioskFilter(c crdt.Change) bool {
	return shared(c) || c.Collection == chart.Collection
}

// NurseFilter returns the scope of the nurse with this staff name: staff,
// revocations, and the patient records and audit days of the patients
// assigned to the nurse now, as this node's store says.
func (p *Policies) NurseFilter(nurse string) (wire.Filter, error) {
	assigned, err := p.Assigned(nurse)
	if err != nil {
		return nil, err
	}
	return func(c crdt.Change) bool {
		switch c.Collection {
		case chart.Collection:
			return assigned[c.Record]
		case chart.AuditCollection:
			return assigned[AuditPatient(c.Record)]
		}
		return shared(c)
	}, nil
}

// Assigned returns the ids of the patient records assigned to nurse: each
// patient whose assignees set names the nurse, with the ids merged into it
// (their changes show through the survivor).
func (p *Policies) Assigned(nurse string) (map[string]bool, error) {
	out := map[string]bool{}
	after := ""
	for {
		views, err := p.Records.List(chart.Collection, after, listPage)
		if err != nil {
			return nil, fmt.Errorf("sync scope: read assignments: %w", err)
		}
		for _, v := range views {
			if slices.Contains(v.Sets[assigneesSet], nurse) {
				out[v.ID] = true
				for _, m := range v.Merged {
					out[m] = true
				}
			}
		}
		if len(views) < listPage {
			return out, nil
		}
		after = views[len(views)-1].ID
	}
}

// AuditPatient returns the patient of an audit record id
// ("<patient>.<YYYYMMDD>"), or "" when the id has no day.
func AuditPatient(record string) string {
	i := strings.LastIndexByte(record, '.')
	if i <= 0 {
		return ""
	}
	return record[:i]
}
