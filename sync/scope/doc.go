// Package scope decides what partial replicas (kiosks, nurse laptops) are
// sent, and keeps their marks in node/store.
//
// Policies.For turns the role in a peer's certificate into a session.Policy:
// hubs and clinic desks may ask for any scope; a kiosk only for "kiosk"
// (staff, revocations, appointments and the patients booked today and
// tomorrow, from Policies.Bookings, with the records they were merged into
// and the duplicates merged into those; every patient while there are no
// bookings: what check-in needs to identify a patient and let staff sign in;
// no audit, no care records; of each patient only KioskFields, the other
// mutations trimmed off each change); a nurse laptop only for "nurse:<its
// certificate's name>" (staff and revocations, the follow-up templates, and
// the patient records, audit days, follow-up plans, tasks and alerts and
// appointments of the patients whose "assignees" set names that nurse, read
// from this node's store when the session starts). Everything else is refused: the sender
// enforces the scope, whatever the peer asked. sync/DESIGN.md, "Scope
// policies", gives the reasons.
//
// The policies are session.GrantPolicy: each session's grant also names the
// records that came into the peer's scope since it was last served (Grants,
// kept in a file by FileGrants), which the session sends whole; a scope
// that shrinks sends nothing more of the records that left it.
//
// StoreMarks is a session.Marks over node/store's durable marks, one per
// peer and scope, so a restarted partial replica is not sent again what it
// already holds.
package scope
