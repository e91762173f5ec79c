// Package gsm sends SMS through a GSM modem on a serial port: the AT
// command exchange (3GPP TS 27.005: AT+CMGF=0 for PDU mode, AT+CMGS with
// its "> " prompt, +CMGS / OK / ERROR / +CMS ERROR answers, each awaited
// with a timeout) and the SMS-SUBMIT PDU (3GPP TS 23.040 § 9.2.2.2).
//
// Text goes in the GSM 7-bit default alphabet and its extension table
// (3GPP TS 23.038 § 6.2.1) when every character is in them, and in UCS-2
// (as UTF-16BE, so characters beyond the BMP survive) otherwise, which
// means any Chinese text. A text longer than one SMS (160 septets, or 70
// UTF-16 units) is split into parts of 153 septets or 67 units, each with
// a concatenation header (IEI 0x00, 8-bit reference, TS 23.040
// § 9.2.3.24.1) so the phone joins them; an escape pair or a surrogate
// pair is never split. The reference is derived from the outbox message
// id, so a retry of the same message reuses it. The relative validity
// period is the time left until the message expires, rounded down, so a
// network holding it for a switched-off phone drops a stale reminder.
//
// It is written by hand: no maintained Go library encodes SMS PDUs or
// speaks to modems (the few on GitHub are unmaintained and lack UCS-2 or
// concatenation), and the format is small and fixed by the specifications
// named above. DecodeSubmit, the inverse, lets the tests' simulated modem
// check every PDU; it is fuzzed (FuzzDecodeSubmit).
//
// A Modem works on any io.ReadWriter; OpenPort opens a real port, or a
// pseudo-terminal, with tarm/serial, turning its read-timeout EOF into
// waiting. Sender adapts a Modem to outbox.Sender. Errors a retry cannot
// cure (a +CMS ERROR for an unassigned or barred number, a number that is
// not one) have Permanent() true; so does ErrUnconfirmed, a PDU written
// with no answer from the network: the message may have gone, and the
// outbox leaves a second try to a person rather than send twice. Errors
// and logs name commands, never the PDU, which holds the number and text.
package gsm
