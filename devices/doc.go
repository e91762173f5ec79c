// Package devices is where readings from vital-signs devices meet the node:
// it declares Sink, the one thing the device front ends (devices/serialport,
// devices/mllp) need from the node, and Batch, what they hand to it.
//
// The rule every front end keeps: a device is told a reading was received
// (an HL7 ACK with AA, later an MQTT PUBACK) only after Sink.Store has
// returned nil, which the node does only once the batch is durably stored.
// A Store that fails is answered with AE, so the device keeps the reading
// and sends it again; the node makes that resend harmless by keying on
// device, control id and value (issue 6, "exactly once in effect").
//
// The parsers and the mapping to LOINC and UCUM are the pure packages
// devices/hl7, devices/lineformat and devices/vitals; this package and its
// front ends add the I/O.
package devices
