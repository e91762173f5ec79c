package scope

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"carenode/crdt"
	"carenode/node/chart"
	"carenode/node/nodeconf"
	"carenode/node/plans"
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
// to find a nurse's assignments and the survivors of booked patients that
// were merged. node/store's Store implements it.
type Records interface {
	List(coll, after string, limit int) ([]store.RecordView, error)
	// Get follows merges: the view's ID is the survivor, Merged the ids
	// merged into it; store.ErrNotFound when there is no such record.
	Get(coll, id string) (store.RecordView, error)
}

// AppointmentCollection is the collection of appointment records
// (node/booking's), which a kiosk holds for check-in.
const AppointmentCollection = "appointments"

// Bookings tells which patients have an appointment: node/booking
// implements it.
type Bookings interface {
	// PatientsBooked returns the ids of the patients with a booked
	// appointment starting in [from, to).
	PatientsBooked(from, to time.Time) (map[string]bool, error)
	// AppointmentsOf returns the ids of the appointments, cancelled or
	// not, booked under these patient ids.
	AppointmentsOf(patients map[string]bool) (map[string]bool, error)
}

// Policies makes the scope policy of each peer from its certificate.
type Policies struct {
	// Records is this node's store.
	Records Records
	// Bookings narrows the kiosk scope to the patients booked today and
	// tomorrow, and gives a nurse laptop the appointments of its
	// patients; nil sends a kiosk every patient record and a nurse no
	// appointment.
	Bookings Bookings
	// Now and Location give the clinic's day; nil means time.Now and
	// time.Local.
	Now      func() time.Time
	Location *time.Location
	// Grants remembers, per peer and scope, which records the peer was
	// last served, so that records coming into its scope are sent whole;
	// nil keeps them in memory (after a restart every record in scope is
	// then fresh once: sent again, and skipped by the peer as held).
	Grants Grants

	mem MemGrants
}

// For returns the policy for a session with peer: what it may be sent
// depends on the role in its certificate and, for a nurse, its name.
func (p *Policies) For(peer trust.Peer) session.Policy {
	return peerPolicy{p: p, peer: peer}
}

// peerPolicy is the policy of one peer.
type peerPolicy struct {
	p    *Policies
	peer trust.Peer
}

var _ session.GrantPolicy = peerPolicy{}

// Filter returns what the peer may be sent.
func (pp peerPolicy) Filter(node crdt.NodeID, s wire.Scope) (wire.Filter, error) {
	sc, err := pp.p.resolve(pp.peer, s)
	return sc.filter, err
}

// Grant returns what the peer may be sent and which of its records came
// into its scope since it was last served. The filter and the records
// remembered as served come from one reading of the data, so a record
// cannot be remembered as served without having been in the filter.
//
// Records that have left the scope are forgotten at once, before the
// session runs: the session's filter leaves their changes out and moves
// the peer's mark past them, so should the session then fail (and the
// served records not be remembered), a record coming back later must
// still count as fresh and be sent whole. Forgetting early is safe: a
// record sent whole again is skipped as held. With nothing fresh the
// grant has no Fresh at all, and the session does not scan the log for it.
func (pp peerPolicy) Grant(node crdt.NodeID, s wire.Scope) (session.Grant, error) {
	sc, err := pp.p.resolve(pp.peer, s)
	if err != nil || sc.patients == nil {
		return session.Grant{Filter: sc.filter}, err
	}
	g := pp.p.grants()
	key := MarkKey(node, s)
	old, err := g.Granted(key)
	if err != nil {
		return session.Grant{}, fmt.Errorf("sync scope: %w", err)
	}
	cur := sc.granted()
	kept := make(map[string]bool, len(old))
	for id := range old {
		if cur[id] {
			kept[id] = true
		}
	}
	if len(kept) < len(old) {
		if err := g.SetGranted(key, kept); err != nil {
			return session.Grant{}, fmt.Errorf("sync scope: %w", err)
		}
	}
	fresh := map[string]bool{}
	for id := range cur {
		if !kept[id] {
			fresh[id] = true
		}
	}
	grant := session.Grant{Filter: sc.filter, Served: func() error { return g.SetGranted(key, cur) }}
	if len(fresh) > 0 {
		grant.Fresh = func(c crdt.Change) bool {
			if c.Collection == AppointmentCollection && sc.appointments != nil {
				// By its own id: an appointment booked for a patient
				// already served comes into scope too.
				return fresh[grantedAppointment(c.Record)]
			}
			p, ok := patientOf(c)
			return ok && fresh[p]
		}
	}
	return grant, nil
}

func (p *Policies) grants() Grants {
	if p.Grants != nil {
		return p.Grants
	}
	return &p.mem
}

// scoped is a scope resolved against this node's data.
type scoped struct {
	filter wire.Filter // nil: everything
	// patients are the patient records a scope of chosen patients (a
	// nurse's, a kiosk's with bookings) sees now; nil for other scopes.
	patients map[string]bool
	// appointments are the appointments a nurse's scope sees now (of
	// its patients); nil for other scopes.
	appointments map[string]bool
}

// grantedAppointment is how an appointment is remembered among the records
// granted to a peer: a patient id cannot hold "/" (crdt.ValidName).
func grantedAppointment(id string) string { return AppointmentCollection + "/" + id }

// granted returns what the scope is remembered to have served: its
// patients and its appointments.
func (sc scoped) granted() map[string]bool {
	if len(sc.appointments) == 0 {
		return sc.patients
	}
	out := maps.Clone(sc.patients)
	for id := range sc.appointments {
		out[grantedAppointment(id)] = true
	}
	return out
}

// Booked returns the patients with an appointment today or tomorrow, in
// the clinic's local time.
func (p *Policies) Booked() (map[string]bool, error) {
	now, loc := time.Now, time.Local
	if p.Now != nil {
		now = p.Now
	}
	if p.Location != nil {
		loc = p.Location
	}
	t := now().In(loc)
	from := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	m, err := p.Bookings.PatientsBooked(from, from.AddDate(0, 0, 2))
	if err != nil {
		return nil, fmt.Errorf("sync scope: read appointments: %w", err)
	}
	if m == nil {
		m = map[string]bool{}
	}
	return m, nil
}

// kiosk resolves the kiosk scope.
func (p *Policies) kiosk() (scoped, error) {
	if p.Bookings == nil {
		return scoped{filter: KioskFilter()}, nil
	}
	booked, err := p.Booked()
	if err != nil {
		return scoped{}, err
	}
	if booked, err = p.withMerges(booked); err != nil {
		return scoped{}, err
	}
	return scoped{patients: booked, filter: kioskFilter(booked)}, nil
}

// withMerges returns the booked patients with, for each, the record it was
// merged into and every record merged into that one: an appointment keeps
// the id it was booked under, and a patient merged since must still be
// found at the kiosk, under the survivor, with all its names and numbers.
func (p *Policies) withMerges(booked map[string]bool) (map[string]bool, error) {
	if p.Records == nil {
		return booked, nil
	}
	out := make(map[string]bool, len(booked))
	for id := range booked {
		out[id] = true
		v, err := p.Records.Get(chart.Collection, id)
		if errors.Is(err, store.ErrNotFound) {
			continue // booked before the patient record reached this node
		}
		if err != nil {
			return nil, fmt.Errorf("sync scope: read booked patient %s: %w", id, err)
		}
		out[v.ID] = true
		for _, m := range v.Merged {
			out[m] = true
		}
	}
	return out, nil
}

// nurse resolves the scope of the nurse with this staff name.
func (p *Policies) nurse(name string) (scoped, error) {
	assigned, err := p.Assigned(name)
	if err != nil {
		return scoped{}, err
	}
	appts := map[string]bool{}
	if p.Bookings != nil {
		if appts, err = p.Bookings.AppointmentsOf(assigned); err != nil {
			return scoped{}, fmt.Errorf("sync scope: read appointments of nurse %s's patients: %w", name, err)
		}
	}
	return scoped{patients: assigned, appointments: appts, filter: nurseFilter(assigned, appts)}, nil
}

func refused(peer trust.Peer, s wire.Scope, why string) error {
	return fmt.Errorf("%w: a %s node (%s) may not ask for %s: %s", session.ErrScopeRefused, peer.Role, peer.Name, s, why)
}

// resolve checks that peer may ask for scope s and reads what s holds now.
func (p *Policies) resolve(peer trust.Peer, s wire.Scope) (scoped, error) {
	switch peer.Role {
	case nodeconf.RoleHub, nodeconf.RoleClinic:
		// Full replicas may hold everything, so any narrower scope is
		// theirs for the asking.
		switch s.Kind {
		case wire.ScopeFull:
			return scoped{}, nil
		case wire.ScopeKiosk:
			return p.kiosk()
		case wire.ScopeNurse:
			return p.nurse(s.Staff)
		}
	case nodeconf.RoleKiosk:
		if s.Kind != wire.ScopeKiosk {
			return scoped{}, refused(peer, s, "a kiosk holds the kiosk scope only")
		}
		return p.kiosk()
	case nodeconf.RoleNurse:
		if s.Kind != wire.ScopeNurse {
			return scoped{}, refused(peer, s, "a nurse laptop holds its nurse's patients only")
		}
		if s.Staff != peer.Name {
			return scoped{}, refused(peer, s, fmt.Sprintf("this laptop was enrolled for nurse %q", peer.Name))
		}
		return p.nurse(s.Staff)
	}
	return scoped{}, refused(peer, s, "unknown role")
}

// shared reports whether a change belongs to a collection every replica
// holds: staff accounts (anyone must be able to sign in anywhere) and
// revocations (every node must refuse a revoked one).
func shared(c crdt.Change) bool {
	return c.Collection == staff.Collection || c.Collection == trust.RevocationCollection
}

// KioskFields returns the registers of a patient record (node/chart's
// names) a kiosk holds: what self-service check-in shows and matches on.
//
//   - name: shown for the patient to confirm ("Is this you?");
//   - sex, birthDate: shown too, and "phone + birth date" is one way to
//     identify (readable on every node anyway);
//   - idNumber: a patient without a card identifies with it
//     (../shared/DESIGN.md, "card / ID number / phone + birth date"); it
//     is sealed like the rest;
//   - phones: that identification, and the SMS confirming a check-in;
//   - cardNumber: to match a scanned patient card.
//
// Everything else stays off the kiosk: address, occupation, marital
// status, emergency contacts, medical and family history, notes, and every
// set (allergies, diagnoses, medications with their element registers,
// assignees, tags). An unattended kiosk is the node most likely to be
// stolen with its key file, and what that file opens must be no more than
// what it holds.
func KioskFields() []string {
	return []string{"name", "sex", "birthDate", "idNumber", "phones", "cardNumber"}
}

// KioskFilter returns the kiosk scope without bookings: staff, revocations
// and every patient record, trimmed to KioskFields, nothing else (no audit,
// no care records). With Policies.Bookings a kiosk gets instead the
// patients booked today and tomorrow, trimmed the same way, and the
// appointment records.
func KioskFilter() wire.Filter { return kioskFilter(nil) }

// kioskFilter is the kiosk scope over the booked patients (nil: every
// patient, and no appointments).
func kioskFilter(booked map[string]bool) wire.Filter {
	fields := map[string]bool{}
	for _, f := range KioskFields() {
		fields[f] = true
	}
	return func(c crdt.Change) (crdt.Change, bool) {
		switch c.Collection {
		case chart.Collection:
			if booked != nil && !booked[c.Record] {
				return crdt.Change{}, false
			}
			return trimPatient(c, fields)
		case AppointmentCollection:
			return c, booked != nil
		}
		return c, shared(c)
	}
}

// trimPatient returns c with only the mutations a kiosk holds: writes of
// the registers in fields and what concerns the whole record (create,
// delete, restore, merge: a duplicate merged away must show as merged on
// the kiosk too). False when none is left. c's own Muts are not modified.
func trimPatient(c crdt.Change, fields map[string]bool) (crdt.Change, bool) {
	holds := func(m *crdt.Mutation) bool {
		switch m.Kind {
		case crdt.MutSet:
			return fields[m.Field]
		case crdt.MutDelete, crdt.MutRestore, crdt.MutMerge, crdt.MutTouch:
			return true
		}
		return false // set adds and removes, facts: none is a kiosk's
	}
	n := 0
	for i := range c.Muts {
		if holds(&c.Muts[i]) {
			n++
		}
	}
	switch n {
	case len(c.Muts):
		return c, true
	case 0:
		return crdt.Change{}, false
	}
	muts := make([]crdt.Mutation, 0, n)
	for i := range c.Muts {
		if holds(&c.Muts[i]) {
			muts = append(muts, c.Muts[i])
		}
	}
	c.Muts = muts
	return c, true
}

// NurseFilter returns the scope of the nurse with this staff name: staff,
// revocations, and the patient records, audit days, follow-up records and
// appointments of the patients assigned to the nurse now, as this node's
// store says.
func (p *Policies) NurseFilter(nurse string) (wire.Filter, error) {
	sc, err := p.nurse(nurse)
	return sc.filter, err
}

// nurseFilter is the nurse scope over the assigned patients: their charts
// and audit days, their follow-up plans, tasks and alerts (whose ids start
// with the patient's, plans.PatientOf) and their appointments (appts, by
// id: an appointment's id does not name its patient), with every follow-up
// template, so a nurse works her list offline, can tell a patient when the
// clinic expects them, and her attempts come back.
func nurseFilter(assigned, appts map[string]bool) wire.Filter {
	return func(c crdt.Change) (crdt.Change, bool) {
		if p, ok := patientOf(c); ok {
			return c, assigned[p]
		}
		switch c.Collection {
		case plans.TemplatesCollection, plans.VersionsCollection:
			return c, true
		case AppointmentCollection:
			return c, appts[c.Record]
		}
		return c, shared(c)
	}
}

// patientOf returns the patient a change belongs to, for the collections
// a scope of chosen patients holds per patient: the chart, its audit days,
// and its follow-up plans, tasks and alerts. The filters keep those of the
// patients in scope, and a patient coming into scope brings all of them
// (Grant's Fresh), whatever the scope then trims.
func patientOf(c crdt.Change) (string, bool) {
	switch c.Collection {
	case chart.Collection:
		return c.Record, true
	case chart.AuditCollection:
		return AuditPatient(c.Record), true
	case plans.PlansCollection, plans.TasksCollection, plans.AlertsCollection:
		return plans.PatientOf(c.Collection, c.Record), true
	}
	return "", false
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
