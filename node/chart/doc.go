// Package chart keeps patient charts: it turns the care domain's inputs
// (care.PatientInput and the allergy, diagnosis and medication bodies) into
// store writes, sealing every personal value before it reaches bbolt, opens
// them again for an unlocked node, keeps the in-memory search and duplicate
// indexes, and appends an audit event for every read and change.
//
// # Layout in the store
//
// A patient is one record of the "patients" collection. Each demographic
// field is a register of its own (name, phones, idNumber …) holding JSON;
// the personal ones (layout.go says which) hold vault-sealed JSON bound to
// the collection, record id and field name, so a value copied to another
// record or field does not open. Sex, birth date, marital status, a
// diagnosis code and an allergy's severity stay readable: they name nobody,
// and a locked hub can still count by them.
//
// Allergies, diagnoses and medications are add-wins sets of element ids; an
// element's own fields are registers named kind.<id>.field
// ("allergy.0q3…7.severity"). An allergy added on a nurse's laptop survives
// a removal made elsewhere that did not see it, and its severity edited on
// two nodes at once is a conflict (care.ImportantFields), never a coin toss.
//
// A merge (crdt MutMerge) joins the duplicate into the survivor: every
// register value, set element and fact of both is kept, so an allergy or
// diagnosis of the merged-away record cannot be lost (the failure OpenMRS
// users report). Important fields whose merged values differ once opened
// become conflicts for the desk to resolve; values equal once opened (the
// same name sealed twice) are not shown as conflicts. Sealed values that
// came from the merged-away record are opened with that record's id.
//
// # Locking and the indexes
//
// The service starts locked: every call returns ErrLocked until Unlock hands
// it the data key's Sealer (after a staff sign-in or a kiosk key file).
// Unlock reads every patient, opens the indexed fields on all CPUs and
// builds search.Index and dedup.Index in memory; nothing derived from a
// personal value is ever written to disk. Lock drops them. Local writes
// update the indexes at once; changes from peers through Refresh.
//
// # Audit
//
// Every chart read, change, merge and audit read appends an AuditEvent fact
// (who, role, action, patient, node, time, fields touched) to the record
// <patient>.<YYYYMMDD> of the "audit" collection: a record per day keeps each
// write small however long a chart's history grows, and facts merge by
// union, so audits sync like other data and are never edited. A read whose
// audit event cannot be stored is refused.
//
// # Nurse laptops
//
// With Config.NurseLaptop a nurse sees, searches and edits only patients
// whose "assignees" set names them; other roles are not restricted.
package chart
