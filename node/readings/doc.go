// Package readings stores what vital-signs devices send, binds each
// reading to a patient only through an explicit binding, and keeps the
// queue of readings waiting for a person to decide (issue 6). The MLLP
// listener, the serial ports and the MQTT broker hand Service.Store every
// message (through devices/readingsink, which maps a devices.Batch to a
// Message: node may not import devices) and acknowledge the device only
// after Store returned, which it does once the message is on disk.
//
// # Records
//
// One record per device message in collection "readings", holding one
// append-only fact: the message (device id, source, format, control id,
// receipt time, device clock and its drift, each mapped observation with
// its LOINC code, UCUM value and unit, the value and unit as received,
// the plausibility flag and the result status, the rows that did not map,
// and the raw bytes). The record id is a hash of the device id, the
// message control id (or, for a line, the device's full time, else the
// receipt time) and what the message says, so a message delivered again —
// an MLLP resend after a lost ACK, an MQTT QoS 1 redelivery, a retried
// Store — lands on the same id and is refused as existing by the store,
// atomically, even when two deliveries race. A device that reuses a
// control id for a new message still gets a new record, because the
// content differs. The id is readable, so it hashes no sealed value (no
// patient identifier, no PID segment), or a thief could test guesses of
// an ID number against it; the one exception is a message with no mapped
// row, whose raw bytes (without PID) are hashed, so someone who could
// guess every byte of such a message could confirm the guess. Readings sync like every other record; two nodes that
// stored the same message (both subscribed to one external broker) wrote
// the same record id and fact id, and merge into one.
//
// Where a reading stands is the register "review": empty while it waits;
// on arrival "bound" (by identifier or by session); later "attached" or
// "discarded" (with a reason) by a staff member. It is a multi-value
// register: two staff members deciding differently on two nodes leave both
// values, and the reading returns to the review queue until someone
// decides again (node/schema.go should declare the field important, see
// Important, so that both decisions show).
//
// Result status C (corrected) and D (deleted) name the row they replace
// by its slot: device, order number (OBR-3, else OBR-2), OBX-3 code and
// OBX-4 sub-id. Nothing stored is changed: when observations are listed,
// one whose slot has a later C row (in a reading not discarded) shows as
// replaced by it, and a later D row retracts it. History stays: with
// history asked for, the replaced rows are listed, marked. A row of a
// message that names no order cannot be corrected this way.
//
// # Binding: never a guess
//
// A reading is attached to a patient on arrival only when
//
//   - the message's patient identifiers (HL7 PID-3) name exactly one patient
//     through Patients.Identify (chart id, card number or ID number), and no
//     open measure-now session of the device names someone else; or
//   - exactly one measure-now session binds the device at the moment the
//     node received the message (the node's clock: device clocks drift),
//     and the identifiers, if any, do not name several patients or a
//     different one.
//
// Anything else — no identifier and no session, an identifier matching no
// one or several, a locked node (which cannot read the numbers Identify
// compares), two sessions at once — goes to the review queue with its
// reason (Reason, in English and Chinese; the reason it had on arrival).
// Staff attach it or discard it with a reason. When the node unlocks,
// readings that waited only because it was locked are bound by the same
// rule (a decision that names nothing as seen, so a staff decision made
// meanwhile elsewhere shows beside it as a conflict). A measure-now session ("measure now" at the desk or
// kiosk) is a record of collection "device-sessions" (device, patient,
// start, end, who), so it syncs; starting one ends the device's sessions
// still open.
//
// # Sealing: a locked node stores too
//
// A raw HL7 message carries the patient's name in PID-5 and identifiers in
// PID-3, and a discard reason is free text. They are sealed with the
// drop box of node/vault: an X25519 key pair derived from the data key,
// whose public half is stored in the clear in collection "readings-keys"
// the first time the node is unlocked (Unlock). Sealing needs only the
// public key, so a locked node — a clinic PC after a power cut, before
// anyone signs in — stores readings too; only an unlocked node opens them.
// A node that has never been unlocked has no public key: Store fails with
// ErrNoDropBox, the device is answered AE (MLLP) or gets no PUBACK (MQTT)
// and sends the reading again later. The observations themselves (codes,
// values, units, times), the device id, the receipt time and the patient's
// chart id once bound stay readable, like vital signs elsewhere in
// carenode (node/DESIGN.md's readable column).
//
// # Index
//
// The review queue, a patient's observations and the device list are
// answered from an index in memory, built at Open from the store and kept
// in step through store.Watch (so readings that sync brings in show up);
// Store itself reads only the measure-now sessions, so it stays one
// durable write per message.
package readings
