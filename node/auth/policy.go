package auth

import (
	"fmt"
	"strings"
)

// Role is what a staff account (or a kiosk device account) is for.
type Role string

// The roles.
const (
	RoleAdmin  Role = "admin"
	RoleDoctor Role = "doctor"
	RoleNurse  Role = "nurse"
	RoleDesk   Role = "desk"
	RoleKiosk  Role = "kiosk"
)

// Roles lists every role in a stable order.
func Roles() []Role { return []Role{RoleAdmin, RoleDoctor, RoleNurse, RoleDesk, RoleKiosk} }

// ParseRole parses a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if string(r) == s {
			return r, nil
		}
	}
	names := make([]string, 0, 5)
	for _, r := range Roles() {
		names = append(names, string(r))
	}
	return "", fmt.Errorf("role %q: %w; want one of %s", s, ErrBadRole, strings.Join(names, ", "))
}

// Permission names one kind of action an API route performs.
type Permission string

// The permissions API routes require.
const (
	PermRecordsRead   Permission = "records.read"   // generic record API, change feed
	PermRecordsWrite  Permission = "records.write"  // generic record API writes, applying changes
	PermPatientRead   Permission = "patient.read"   // read a chart
	PermPatientSearch Permission = "patient.search" // find a patient
	PermPatientWrite  Permission = "patient.write"  // register, edit demographics, allergies, diagnoses
	PermPatientMerge  Permission = "patient.merge"  // merge duplicates, resolve conflicts
	PermPatientAssign Permission = "patient.assign" // assign patients to home-visit nurses
	PermPatientImport Permission = "patient.import" // import a clinic's roster
	PermPatientExport Permission = "patient.export" // export every chart
	PermCheckIn       Permission = "checkin"        // identify and check in (kiosk)
	PermVitalsWrite   Permission = "vitals.write"   // record vital signs
	PermUsersManage   Permission = "users.manage"   // add staff, change roles
	PermAuditRead     Permission = "audit.read"     // read the audit trail
	PermBackup        Permission = "backup"         // take a hot backup

	PermReadingsReview  Permission = "readings.review"  // attach or discard device readings waiting for a patient; measure-now sessions
	PermDevicesManage   Permission = "devices.manage"   // approve devices asking to join, see ports and devices
	PermAppointmentBook Permission = "appointment.book" // book, cancel, reschedule, check in
	PermScheduleManage  Permission = "schedule.manage"  // departments, doctors, schedules; over-booking conflicts
	PermFollowupRead    Permission = "followup.read"    // plans, tasks, work lists, alerts
	PermFollowupWrite   Permission = "followup.write"   // attempts, rescheduling, plans by hand, pause and end
	PermTemplatesManage Permission = "templates.manage" // follow-up templates and the education library
	PermAlertsAck       Permission = "alerts.ack"       // acknowledge an alert and record the action
	PermSurveySubmit    Permission = "survey.submit"    // submit a satisfaction survey
	PermCasesManage     Permission = "cases.manage"     // feedback cases: investigate, resolve
	PermReportsRead     Permission = "reports.read"     // satisfaction and follow-up reports
	PermOutboxRead      Permission = "outbox.read"      // see queued messages and their status
	PermOutboxManage    Permission = "outbox.manage"    // retry, cancel messages; senders
)

// policy is the one place that says which role may do what. A kiosk may
// identify patients and check them in, nothing more; it never reads a
// whole chart.
func policy(r Role) []Permission {
	switch r {
	case RoleAdmin:
		return []Permission{PermRecordsRead, PermRecordsWrite, PermPatientRead, PermPatientSearch, PermPatientWrite,
			PermPatientMerge, PermPatientAssign, PermPatientImport, PermPatientExport, PermCheckIn, PermVitalsWrite, PermUsersManage,
			PermAuditRead, PermBackup, PermReadingsReview, PermDevicesManage, PermAppointmentBook, PermScheduleManage,
			PermFollowupRead, PermFollowupWrite, PermTemplatesManage, PermAlertsAck, PermSurveySubmit, PermCasesManage,
			PermReportsRead, PermOutboxRead, PermOutboxManage}
	case RoleDoctor:
		return []Permission{PermPatientRead, PermPatientSearch, PermPatientWrite, PermPatientMerge, PermPatientAssign, PermCheckIn, PermVitalsWrite,
			PermReadingsReview, PermAppointmentBook, PermFollowupRead, PermFollowupWrite, PermAlertsAck, PermSurveySubmit,
			PermCasesManage, PermReportsRead, PermOutboxRead}
	case RoleNurse:
		return []Permission{PermPatientRead, PermPatientSearch, PermPatientWrite, PermCheckIn, PermVitalsWrite,
			PermReadingsReview, PermAppointmentBook, PermFollowupRead, PermFollowupWrite, PermSurveySubmit, PermOutboxRead}
	case RoleDesk:
		return []Permission{PermPatientRead, PermPatientSearch, PermPatientWrite, PermPatientMerge, PermPatientAssign, PermPatientImport, PermCheckIn,
			PermReadingsReview, PermAppointmentBook, PermScheduleManage, PermFollowupRead, PermSurveySubmit, PermCasesManage,
			PermOutboxRead}
	case RoleKiosk:
		return []Permission{PermCheckIn, PermVitalsWrite, PermAppointmentBook, PermSurveySubmit}
	}
	return nil
}

// Can reports whether role r may perform p.
func (r Role) Can(p Permission) bool {
	for _, q := range policy(r) {
		if q == p {
			return true
		}
	}
	return false
}
