package gsm

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"unicode/utf16"
)

// DecodeSubmitHex decodes a PDU written in hex, as a modem receives it.
func DecodeSubmitHex(h string) (Submit, error) {
	b, err := hex.DecodeString(strings.TrimSpace(h))
	if err != nil {
		return Submit{}, fmt.Errorf("%w: not hex: %v", ErrPDU, err)
	}
	return DecodeSubmit(b)
}

// DecodeSubmit decodes an SMS-SUBMIT PDU (SMSC address first, as AT+CMGS
// takes it): the destination, the text, the concatenation header (8- or
// 16-bit reference) and a relative validity period. It is what the modem
// simulator in the tests uses to check what the sender wrote, and it
// never panics on any input (FuzzDecodeSubmit).
func DecodeSubmit(b []byte) (Submit, error) {
	var s Submit
	bad := func(format string, args ...any) (Submit, error) {
		return Submit{}, fmt.Errorf("%w: %s", ErrPDU, fmt.Sprintf(format, args...))
	}
	r := reader{b: b}
	sca := int(r.byte())
	r.skip(sca)
	first := r.byte()
	if first&0x03 != 0x01 {
		return bad("message type %d is not SMS-SUBMIT", first&0x03)
	}
	r.byte() // TP-MR
	n := int(r.byte())
	toa := r.byte()
	digits := r.take((n + 1) / 2)
	if r.bad {
		return bad("truncated before the address ends")
	}
	if n == 0 || n > 20 {
		return bad("address of %d digits", n)
	}
	var to strings.Builder
	if toa&0x70 == 0x10 {
		to.WriteByte('+')
	}
	for i := 0; i < n; i++ {
		d := digits[i/2]
		if i%2 == 1 {
			d >>= 4
		}
		d &= 0x0F
		if d > 9 {
			return bad("address digit %X", d)
		}
		to.WriteByte('0' + d)
	}
	s.To = to.String()
	r.byte() // TP-PID
	s.DCS = r.byte()
	switch first & 0x18 { // TP-VPF
	case 0x10:
		s.Validity = validityDuration(r.byte())
	case 0x08, 0x18:
		r.skip(7) // enhanced or absolute: kept unread
	}
	udl := int(r.byte())
	ud := r.rest()
	if r.bad {
		return bad("truncated before the user data")
	}
	udhi := first&0x40 != 0
	var udh []byte
	if udhi {
		if len(ud) == 0 || int(ud[0])+1 > len(ud) {
			return bad("user data header longer than the user data")
		}
		udh = ud[1 : 1+int(ud[0])]
		if err := s.concat(udh); err != nil {
			return Submit{}, err
		}
	}
	switch alphabet(s.DCS) {
	case DCS7Bit:
		if udl > 160 {
			return bad("%d septets", udl)
		}
		bits := 0
		if udhi {
			bits = (1 + len(udh)) * 8
		}
		fill := (7 - bits%7) % 7
		skip := (bits + fill) / 7
		if skip > udl {
			return bad("header longer than the %d septets", udl)
		}
		sept, ok := unpack7(ud[bits/8:], fill, udl-skip)
		if !ok {
			return bad("%d septets announced, fewer sent", udl)
		}
		s.Text = fromSeptets(sept)
	case DCSUCS2:
		if udl > len(ud) || udl > 140 {
			return bad("%d octets announced, %d sent", udl, len(ud))
		}
		data := ud[:udl]
		if udhi {
			data = data[min(1+len(udh), len(data)):]
		}
		if len(data)%2 != 0 {
			return bad("UCS-2 text of an odd number of octets")
		}
		units := make([]uint16, len(data)/2)
		for i := range units {
			units[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
		}
		s.Text = string(utf16.Decode(units))
	default:
		return bad("data coding 0x%02X is neither GSM 7-bit nor UCS-2", s.DCS)
	}
	return s, nil
}

// alphabet returns the character set of a general data coding scheme.
func alphabet(dcs byte) byte {
	if dcs&0xC0 != 0 {
		return 0xFF // other coding groups are not ours to send
	}
	return dcs & 0x0C
}

// concat reads the concatenation element of a user data header.
func (s *Submit) concat(udh []byte) error {
	for i := 0; i+1 < len(udh); {
		iei, l := udh[i], int(udh[i+1])
		if i+2+l > len(udh) {
			return fmt.Errorf("%w: header element %d overruns the header", ErrPDU, iei)
		}
		v := udh[i+2 : i+2+l]
		switch {
		case iei == 0x00 && l == 3:
			s.Ref, s.Total, s.Seq = v[0], v[1], v[2]
		case iei == 0x08 && l == 4:
			s.Ref, s.Total, s.Seq = v[1], v[2], v[3]
		}
		i += 2 + l
	}
	if s.Total != 0 && (s.Seq == 0 || s.Seq > s.Total) {
		return fmt.Errorf("%w: part %d of %d", ErrPDU, s.Seq, s.Total)
	}
	return nil
}

// Join puts decoded parts back together as a phone does: parts with the
// same reference, in order of their numbers. It returns an error if a part
// is missing, repeated, or from another message.
func Join(parts []Submit) (string, error) {
	if len(parts) == 1 && parts[0].Total == 0 {
		return parts[0].Text, nil
	}
	if len(parts) == 0 {
		return "", fmt.Errorf("%w: no parts", ErrPDU)
	}
	ps := append([]Submit(nil), parts...)
	sort.Slice(ps, func(i, j int) bool { return ps[i].Seq < ps[j].Seq })
	var b strings.Builder
	for i, p := range ps {
		if p.Ref != ps[0].Ref || p.To != ps[0].To || int(p.Total) != len(ps) || int(p.Seq) != i+1 {
			return "", fmt.Errorf("%w: parts do not make one message (part %d: ref %d, %d of %d)", ErrPDU, i, p.Ref, p.Seq, p.Total)
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

// reader reads octets and notes a short read instead of panicking.
type reader struct {
	b   []byte
	i   int
	bad bool
}

func (r *reader) byte() byte {
	if r.i >= len(r.b) {
		r.bad = true
		return 0
	}
	r.i++
	return r.b[r.i-1]
}

func (r *reader) take(n int) []byte {
	if n < 0 || r.i+n > len(r.b) {
		r.bad = true
		r.i = len(r.b)
		return make([]byte, max(n, 0))
	}
	r.i += n
	return r.b[r.i-n : r.i]
}

func (r *reader) skip(n int) { r.take(n) }

func (r *reader) rest() []byte { return r.b[min(r.i, len(r.b)):] }
