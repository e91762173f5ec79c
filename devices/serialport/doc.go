// Package serialport reads vital-signs devices on serial lines: one Port
// per configured device (path, baud, parity, format), each with its own
// goroutine, reconnect with backoff, and a status for the API and metrics.
//
// A Port opens its line through an Opener: Serial opens a real port with
// github.com/tarm/serial; a test or a demo passes its own (a pseudo-terminal
// path works with Serial too, a file or a buffer with an Opener of its own).
// Line formats are parsed with devices/lineformat, and each line with
// readings is handed to the devices.Sink before the next is read; a line
// device cannot be asked to resend, so a failed Store is retried with
// backoff while the port's own buffer holds what follows. The "hl7" format
// speaks HL7 over MLLP on the line with devices/mllp: the ACK is written
// only after Store returns.
//
// When the port vanishes (a USB adapter unplugged, a pseudo-terminal's
// other side closed) the Port closes it and opens it again, waiting
// MinBackoff, then twice as long each time, up to MaxBackoff.
//
// tarm/serial reports a read timeout as io.EOF. Serial tells an idle line
// from a hung-up one by how fast the EOF came and whether the path still
// exists, and reports only the latter, as ErrGone.
package serialport
