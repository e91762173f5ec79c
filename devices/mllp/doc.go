// Package mllp answers devices that send HL7 v2 ORU^R01 over MLLP: on any
// byte stream (Session, used by devices/serialport for monitors on a serial
// line) and on TCP (Server, for monitors and gateways on the network).
//
// Each frame is parsed with devices/hl7, turned into a devices.Batch and
// handed to a devices.Sink; the ACK is written only after Store returns.
// It says AA when the batch was stored, AE with the reason when Store
// failed (the device keeps the message and resends it), and AR with the
// reason when the message cannot be read (resending it unchanged will not
// help). MSA-2 echoes MSH-10. Nothing is acknowledged that was not stored.
//
// The TCP server bounds what a peer can cost: a maximum frame size, a
// maximum number of connections (more are closed at once), a read timeout
// for each frame and a write timeout for each ACK.
package mllp
