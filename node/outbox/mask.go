package outbox

// MaskPhone hides the middle of a phone number, as lists show it: the
// first three and last four characters stay (138****5678), enough to tell
// a family's numbers apart at the desk; short numbers keep only their last
// two.
func MaskPhone(phone string) string {
	r := []rune(phone)
	n := len(r)
	switch {
	case n == 0:
		return ""
	case n >= 10:
		return string(r[:3]) + stars(n-7) + string(r[n-4:])
	case n > 4:
		return stars(n-2) + string(r[n-2:])
	}
	return stars(n)
}

func stars(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '*'
	}
	return string(b)
}
