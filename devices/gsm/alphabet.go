package gsm

// The GSM 7-bit default alphabet and its extension table, 3GPP TS 23.038
// § 6.2.1. Index is the septet; an extension character is sent as the
// escape septet 0x1B followed by its code.
var basic = [128]rune{
	'@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
	'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', 0x1B, 'Æ', 'æ', 'ß', 'É',
	' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
	'¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
	'¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
}

const escape = 0x1B

var extension = map[byte]rune{
	0x0A: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2F: '\\', 0x3C: '[', 0x3D: '~', 0x3E: ']', 0x40: '|', 0x65: '€',
}

// Reverse tables, computed once from the tables above.
var (
	toBasic = func() map[rune]byte {
		m := make(map[rune]byte, len(basic))
		for i, r := range basic {
			if i != escape {
				m[r] = byte(i)
			}
		}
		return m
	}()
	toExtension = func() map[rune]byte {
		m := make(map[rune]byte, len(extension))
		for c, r := range extension {
			m[r] = c
		}
		return m
	}()
)

// septets returns text in the default alphabet, one septet per byte, or
// false when a character is not in it (the text must go as UCS-2).
func septets(text string) ([]byte, bool) {
	out := make([]byte, 0, len(text))
	for _, r := range text {
		if c, ok := toBasic[r]; ok {
			out = append(out, c)
		} else if c, ok := toExtension[r]; ok {
			out = append(out, escape, c)
		} else {
			return nil, false
		}
	}
	return out, true
}

// fromSeptets is the inverse of septets. An escape before an unknown code
// shows the code's basic character, as the spec asks of a receiver; a
// trailing escape shows a space.
func fromSeptets(s []byte) string {
	out := make([]rune, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i] & 0x7F
		if c == escape {
			if i+1 == len(s) {
				out = append(out, ' ')
				break
			}
			i++
			if r, ok := extension[s[i]&0x7F]; ok {
				out = append(out, r)
			} else {
				out = append(out, basic[s[i]&0x7F])
			}
			continue
		}
		out = append(out, basic[c])
	}
	return string(out)
}

// pack7 packs septets into octets, starting fill bits into the first octet
// (the padding after a user data header), least significant bit first.
func pack7(s []byte, fill int) []byte {
	bits := fill + 7*len(s)
	out := make([]byte, (bits+7)/8)
	pos := fill
	for _, c := range s {
		for i := 0; i < 7; i++ {
			if c&(1<<i) != 0 {
				out[pos/8] |= 1 << (pos % 8)
			}
			pos++
		}
	}
	return out
}

// unpack7 reads n septets from b after fill bits. ok is false when b is
// too short.
func unpack7(b []byte, fill, n int) ([]byte, bool) {
	if fill+7*n > 8*len(b) {
		return nil, false
	}
	out := make([]byte, n)
	pos := fill
	for k := range out {
		var c byte
		for i := 0; i < 7; i++ {
			if b[pos/8]&(1<<(pos%8)) != 0 {
				c |= 1 << i
			}
			pos++
		}
		out[k] = c
	}
	return out, true
}
