package hl7

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// AckCode is MSA-1, the acknowledgment code of original mode.
type AckCode string

// Acknowledgment codes: accepted; an application error (the sender may
// resend, perhaps after a fix); rejected (do not resend as is).
const (
	AA AckCode = "AA"
	AE AckCode = "AE"
	AR AckCode = "AR"
)

// Ack says how to answer a message.
type Ack struct {
	Code AckCode
	// Text is the reason, for AE and AR; it goes in MSA-3 and ERR-8,
	// escaped with the sender's own escape character.
	Text string
	// ErrorCode is the HL7 table 0357 code for ERR-3; empty means
	// ErrorCodeFor's choice for AE and AR, and no ERR segment for AA.
	ErrorCode string
	// ControlID is the ACK's own MSH-10; required.
	ControlID string
	// Time is the ACK's MSH-7; zero leaves it empty.
	Time time.Time
	// Application and Facility name the receiver (this node) in MSH-3/4.
	Application, Facility HD
}

// errorTexts holds HL7 table 0357 as far as an ACK from us uses it.
var errorTexts = map[string]string{
	"0": "Message accepted", "100": "Segment sequence error", "101": "Required field missing",
	"102": "Data type error", "103": "Table value not found", "200": "Unsupported message type",
	"201": "Unsupported event code", "203": "Unsupported version id", "207": "Application internal error",
}

// ErrorCodeFor returns the HL7 table 0357 code that describes a Parse
// error: 100 for a malformed message or segment, 101 for a missing field,
// 102 for a value or time of the wrong form, 103 for an unknown status,
// 200 for a message type we do not take, and 207 for anything else.
func ErrorCodeFor(err error) string {
	switch {
	case errors.Is(err, ErrNotHL7), errors.Is(err, ErrSegment):
		return "100"
	case errors.Is(err, ErrMissing):
		return "101"
	case errors.Is(err, ErrValue), errors.Is(err, ErrTime):
		return "102"
	case errors.Is(err, ErrStatus):
		return "103"
	case errors.Is(err, ErrUnsupported):
		return "200"
	}
	return "207"
}

// defaultEncoding is used to answer a message whose MSH could not be read.
var defaultEncoding = Encoding{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&'}

// BuildACK builds the ACK for a message whose header is h: its MSA-2 echoes
// h.ControlID, it uses the sender's separators and encoding characters, it
// addresses the sender (MSH-5/6 are the sender's MSH-3/4) and echoes its
// event, processing id and version. h may be nil when not even MSH could be
// read; the ACK then uses |^~\& and leaves MSA-2 empty. Segments end in CR.
func BuildACK(h *Header, a Ack) ([]byte, error) {
	if a.Code != AA && a.Code != AE && a.Code != AR {
		return nil, fmt.Errorf("acknowledgment code %q: %w", truncate(string(a.Code), 8), ErrACK)
	}
	if a.ControlID == "" {
		return nil, fmt.Errorf("ACK control id: %w", ErrACK)
	}
	var in Header
	if h != nil {
		in = *h
	}
	e := in.Encoding
	if e.Field == 0 || e.Component == 0 {
		e = defaultEncoding
	}
	f := string([]byte{e.Field})
	hd := func(x HD) string {
		return joinWith(e.Component, e.escape(x.Namespace), e.escape(x.UniversalID), e.escape(x.UniversalIDType))
	}
	event := in.Type.Event
	processing := in.ProcessingID
	if processing == "" {
		processing = "P"
	}
	version := in.Version
	if version == "" {
		version = "2.6"
	}
	ts := ""
	if !a.Time.IsZero() {
		ts = a.Time.Format("20060102150405-0700")
	}
	var b strings.Builder
	b.WriteString(strings.Join([]string{"MSH", e.chars(), hd(a.Application), hd(a.Facility), hd(in.SendingApplication), hd(in.SendingFacility),
		ts, "", joinWith(e.Component, "ACK", e.escape(event), "ACK"), e.escape(a.ControlID), e.escape(processing), e.escape(version)}, f))
	b.WriteByte('\r')
	msa := []string{"MSA", string(a.Code), e.escape(in.ControlID)}
	if a.Text != "" {
		msa = append(msa, e.escape(a.Text))
	}
	b.WriteString(strings.Join(msa, f))
	b.WriteByte('\r')
	code := a.ErrorCode
	if code == "" && a.Code != AA {
		code = "207"
	}
	if code != "" {
		sev := "E"
		if a.Code == AA {
			sev = "I"
		}
		errCode := joinWith(e.Component, e.escape(code), e.escape(errorTexts[code]), "HL70357")
		b.WriteString(strings.Join([]string{"ERR", "", "", errCode, sev, "", "", "", e.escape(a.Text)}, f))
		b.WriteByte('\r')
	}
	return []byte(b.String()), nil
}

// joinWith joins parts with sep and drops trailing empty ones.
func joinWith(sep byte, parts ...string) string {
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, string([]byte{sep}))
}

// AckResult is what an ACK says, as a device or a test reads it.
type AckResult struct {
	Header
	Code      AckCode // MSA-1
	ControlID string  // MSA-2: the control id of the message acknowledged
	Text      string  // MSA-3
	ErrorCode string  // ERR-3, first component
}

// ParseACK reads an ACK (or any message with an MSA segment).
func ParseACK(b []byte) (AckResult, error) {
	b = trimLeadingBlank(b)
	e, err := readEncoding(b)
	if err != nil {
		return AckResult{}, err
	}
	segs, err := splitSegments(b, e)
	if err != nil {
		return AckResult{}, err
	}
	h, err := readHeader(segs[0], e)
	if err != nil {
		return AckResult{}, err
	}
	r := AckResult{Header: h}
	found := false
	for _, s := range segs[1:] {
		switch s.name {
		case "MSA":
			if found {
				continue
			}
			found = true
			r.Code = AckCode(strings.TrimSpace(s.comp(e, 1, 1)))
			r.ControlID = s.comp(e, 2, 1)
			r.Text = s.comp(e, 3, 1)
		case "ERR":
			if r.ErrorCode == "" {
				r.ErrorCode = s.comp(e, 3, 1)
			}
		}
	}
	if !found {
		return r, fmt.Errorf("no MSA segment: %w", ErrACK)
	}
	switch r.Code {
	case AA, AE, AR, "CA", "CE", "CR":
	default:
		return r, fmt.Errorf("MSA-1 %q: %w", truncate(string(r.Code), 8), ErrACK)
	}
	return r, nil
}
