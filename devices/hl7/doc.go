// Package hl7 reads the HL7 v2 ORU^R01 messages that vital-signs monitors
// and personal-health gateways send (IHE PCD-01, Continua WAN), frames them
// with MLLP, and builds the ACK that answers them. It does no I/O of its
// own: MLLP works on an io.Reader and an io.Writer, Parse on bytes.
//
// The parser is small and tolerant about syntax and strict about data:
//
//   - the field separator and the encoding characters are read from MSH,
//     never assumed; a sender that declares fewer than four has no such
//     separator;
//   - segments may end in CR (the standard, and what a device on a wire
//     sends), LF or CRLF (what files and some gateways use); blank lines are
//     skipped, unknown and Z segments are kept raw and otherwise ignored;
//   - escape sequences \F\ \S\ \T\ \R\ \E\, \Xhh…\ and \.br\ are decoded;
//     unknown or unfinished ones are kept as they were written;
//   - a value that is not what its type says (an NM that is not a number, a
//     malformed HL7 time, an unknown result status) is an error naming the
//     segment and field, and Parse still returns the header so the sender
//     can be told why (see BuildACK). Nothing is guessed.
//
// Parse returns a Message: the header (MSH-10 control id, sending
// application and facility, MSH-7 time), the patient identifiers of each
// PID-3, the devices named in OBX-18, and the observation groups, one per
// OBR, each with its OBX rows: code (system, code, text) from OBX-3, a typed
// value (NM, SN, ST, CWE/CE, DTM, NA), units from OBX-6, reference range,
// result status, the observation time from OBX-14, else OBR-7, else MSH-7,
// and the raw segment bytes. Rows with an empty OBX-2 are structure only
// (the device, a blood-pressure group). Observation.Reading maps a row to a
// vitals.Reading with its LOINC code and UCUM unit.
//
// Patient names and other demographics are not read: a reading is bound to
// a patient by identifier only, and what is not read cannot leak into a
// log. Errors quote segment names, field numbers and values, never PID.
package hl7
