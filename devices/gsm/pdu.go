package gsm

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
)

// Data coding schemes (TP-DCS, 3GPP TS 23.038 § 4): general data coding,
// no message class.
const (
	DCS7Bit = 0x00 // GSM 7-bit default alphabet
	DCS8Bit = 0x04
	DCSUCS2 = 0x08 // UCS-2 (sent as UTF-16BE, so characters beyond the BMP survive)
)

// Part sizes (3GPP TS 23.040 § 9.2.3.24.1): 140 octets of user data, less
// the 6-octet concatenation header in a concatenated message.
const (
	maxSeptets       = 160
	maxSeptetsPart   = 153 // (140-6)*8/7, less the fill bit
	maxUCS2Units     = 70
	maxUCS2UnitsPart = 67
	maxParts         = 255
)

// Submit is an SMS-SUBMIT: what EncodeSubmit takes (To, Text, Ref,
// Validity) and DecodeSubmit returns for one part.
type Submit struct {
	// To is the destination: digits, with a leading + for an international
	// number.
	To string
	// Text is the message (of this part, when decoded).
	Text string
	// DCS is DCS7Bit or DCSUCS2 (EncodeSubmit chooses).
	DCS byte
	// Ref, Total and Seq are the concatenation header: the reference shared
	// by all parts, the number of parts and this part's number from 1.
	// Total is 0 for a message that is not split.
	Ref, Total, Seq byte
	// Validity is the relative validity period; 0 means none (the network's
	// default). Encoding rounds it down to a value the field can hold.
	Validity time.Duration
}

// PDU is one encoded part, ready for AT+CMGS.
type PDU struct {
	// Bytes is the whole PDU: an empty SMSC address (the SIM's default
	// SMSC is used) followed by the TPDU.
	Bytes []byte
	// TPDULen is the length AT+CMGS wants: the PDU without the SMSC part.
	TPDULen int
}

// Hex is the PDU as the modem takes it after the prompt.
func (p PDU) Hex() string { return strings.ToUpper(hex.EncodeToString(p.Bytes)) }

// EncodeSubmit encodes s as one or more SMS-SUBMIT PDUs (3GPP TS 23.040
// § 9.2.2.2): GSM 7-bit when every character is in the default alphabet
// or its extension, UCS-2 otherwise; split into concatenated parts with an
// 8-bit reference header (IEI 0x00) when it does not fit one SMS. An
// extension character's escape pair and a UTF-16 surrogate pair are never
// split across parts.
func EncodeSubmit(s Submit) ([]PDU, error) {
	addr, err := encodeAddress(s.To)
	if err != nil {
		return nil, err
	}
	type chunk struct {
		data  []byte // septets or UTF-16BE octets
		units int
	}
	var chunks []chunk
	dcs := byte(DCS7Bit)
	if sept, ok := septets(s.Text); ok {
		if len(sept) <= maxSeptets {
			chunks = []chunk{{sept, len(sept)}}
		} else {
			for len(sept) > 0 {
				n := min(maxSeptetsPart, len(sept))
				if n < len(sept) && sept[n-1] == escape {
					n-- // keep the escape with its character
				}
				chunks = append(chunks, chunk{sept[:n], n})
				sept = sept[n:]
			}
		}
	} else {
		dcs = DCSUCS2
		units := utf16.Encode([]rune(s.Text))
		if len(units) <= maxUCS2Units {
			chunks = []chunk{{utf16be(units), len(units)}}
		} else {
			for len(units) > 0 {
				n := min(maxUCS2UnitsPart, len(units))
				if n < len(units) && utf16.IsSurrogate(rune(units[n-1])) && units[n-1] < 0xDC00 {
					n-- // a high surrogate stays with its low one
				}
				chunks = append(chunks, chunk{utf16be(units[:n]), n})
				units = units[n:]
			}
		}
	}
	if len(chunks) > maxParts {
		return nil, fmt.Errorf("%w: %d parts", ErrTooLong, len(chunks))
	}
	vp, hasVP := validityOctet(s.Validity)
	out := make([]PDU, 0, len(chunks))
	for i, c := range chunks {
		first := byte(0x01) // SMS-SUBMIT
		if hasVP {
			first |= 0x10 // TP-VPF: relative
		}
		var udh []byte
		if len(chunks) > 1 {
			first |= 0x40 // TP-UDHI
			udh = []byte{0x05, 0x00, 0x03, s.Ref, byte(len(chunks)), byte(i + 1)}
		}
		tpdu := []byte{first, 0x00} // TP-MR 0: the modem numbers messages
		tpdu = append(tpdu, addr...)
		tpdu = append(tpdu, 0x00, dcs) // TP-PID, TP-DCS
		if hasVP {
			tpdu = append(tpdu, vp)
		}
		if dcs == DCS7Bit {
			bits := len(udh) * 8
			fill := (7 - bits%7) % 7
			tpdu = append(tpdu, byte((bits+fill)/7+c.units))
			tpdu = append(tpdu, udh...)
			tpdu = append(tpdu, pack7(c.data, fill)...)
		} else {
			tpdu = append(tpdu, byte(len(udh)+len(c.data)))
			tpdu = append(tpdu, udh...)
			tpdu = append(tpdu, c.data...)
		}
		out = append(out, PDU{Bytes: append([]byte{0x00}, tpdu...), TPDULen: len(tpdu)})
	}
	return out, nil
}

func utf16be(units []uint16) []byte {
	b := make([]byte, 0, 2*len(units))
	for _, u := range units {
		b = append(b, byte(u>>8), byte(u))
	}
	return b
}

// encodeAddress encodes TP-DA: digit count, type of address (0x91
// international with a leading +, 0x81 unknown otherwise), then the
// digits as swapped semi-octets padded with F (3GPP TS 23.040 § 9.1.2.5).
// Spaces, dashes and parentheses people type are dropped.
func encodeAddress(number string) ([]byte, error) {
	toa := byte(0x81)
	digits := make([]byte, 0, len(number))
	for i, r := range number {
		switch {
		case r >= '0' && r <= '9':
			digits = append(digits, byte(r-'0'))
		case r == '+' && i == 0:
			toa = 0x91
		case r == ' ' || r == '-' || r == '(' || r == ')':
		default:
			return nil, fmt.Errorf("%w: a character that is not a digit", ErrNumber)
		}
	}
	if len(digits) == 0 || len(digits) > 20 {
		return nil, fmt.Errorf("%w: %d digits", ErrNumber, len(digits))
	}
	out := []byte{byte(len(digits)), toa}
	for i := 0; i < len(digits); i += 2 {
		lo, hi := digits[i], byte(0xF)
		if i+1 < len(digits) {
			hi = digits[i+1]
		}
		out = append(out, hi<<4|lo)
	}
	return out, nil
}

// validityOctet encodes a relative validity period (3GPP TS 23.040
// § 9.2.3.12.1), rounding down so the network never keeps a message past
// the time given. Under five minutes rounds up to five, the least there is.
func validityOctet(d time.Duration) (byte, bool) {
	switch {
	case d <= 0:
		return 0, false
	case d <= 12*time.Hour:
		return byte(max(d/(5*time.Minute)-1, 0)), true
	case d <= 24*time.Hour:
		return byte(143 + (d-12*time.Hour)/(30*time.Minute)), true
	case d < 30*24*time.Hour:
		return byte(max(166+d/(24*time.Hour), 167)), true
	case d < 5*7*24*time.Hour:
		return 196, true // 30 days
	}
	return byte(min(192+d/(7*24*time.Hour), 255)), true
}

// validityDuration is the period a relative validity octet stands for.
func validityDuration(vp byte) time.Duration {
	v := time.Duration(vp)
	switch {
	case vp <= 143:
		return (v + 1) * 5 * time.Minute
	case vp <= 167:
		return 12*time.Hour + (v-143)*30*time.Minute
	case vp <= 196:
		return (v - 166) * 24 * time.Hour
	}
	return (v - 192) * 7 * 24 * time.Hour
}
