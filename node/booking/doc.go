// Package booking keeps a clinic's appointments: departments, doctors and
// their weekly schedules (with closed days) that make slots, bookings made
// at the desk, the kiosk or through the API, cancelling, moving, check-in,
// no-shows at the end of the day, reminders through the outbox, slot
// recommendations from a patient's habits, the patient's behaviour (missed
// rate, usual doctor and times), and the over-bookings that two nodes
// booking apart leave behind.
//
// # Layout in the store
//
// Collections (the Coll… constants): departments/<id>, doctors/<id>,
// schedules/<random id> and closures/<YYYYMMDD>.<doctor|all> hold the
// catalogue as registers; appointments/<record id> one booking each;
// overbookings/<slot> the desk's "accept this over-booking" as an add-wins
// set of appointment ids. The catalogue names nobody, so a kiosk may hold
// it whole; an appointment names its patient by chart id only.
//
// A slot is not stored: its key, doctor.YYYYMMDD.HHMM in clinic time, is
// derived from the schedules, so two nodes booking one place apart meet on
// one key when they sync.
//
// # How concurrent edits merge
//
// Where and when (slot, start, end, doctor, department) are registers
// written together; two moves made apart leave concurrent values, the
// newest shows and the other is listed in SlotConflict (the fields are
// Important, see Important) until someone moves it again. Everything that
// happens to an appointment is an append-only fact in its "events" list,
// so the history from every node survives, and the status is derived from
// the facts, the same way everywhere: checked in if any node checked the
// patient in (they came, whatever a desk did apart), else cancelled if any
// node cancelled it, else a no-show if a no-show was marked for its current
// slot, else booked. Cancel, check-in and no-show facts have fixed ids
// ("cancel", "checkin", "noshow.<slot>"), so doing them twice, on one node
// or two, is one fact after sync.
//
// # Over-booking
//
// This node never books past a slot's capacity unless asked to (bookings
// and moves are serialised here). Two nodes apart can: both keep their
// booking. Conflicts lists each slot (from today on) holding more live
// bookings than its capacity, ordering its bookings by creation stamp
// (the same on every node) and naming those past capacity; the desk moves
// one (Resolve "move", to a named slot or the earliest free one) or
// accepts them all (Resolve "accept"). The list is a function of synced
// data only, so every node shows the same conflicts and all agree once the
// action syncs.
//
// # Reminders
//
// Booking or moving queues two outbox messages (the day before and two
// hours before) whose Key holds the appointment id and its start
// (ReminderKey), with Expires at the start. A moved appointment gets new
// keys; the outbox asks ReminderWanted before sending and drops reminders
// whose appointment is no longer booked at the time in their key
// (cancelled, moved, attended), so none goes out stale.
//
// The index (by slot, patient, day) is in memory; the store's Watch tells
// it which appointments changed, locally or by sync, and every reader
// reads those first, so a list is current as of the call.
package booking
