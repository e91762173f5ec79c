package vitals

import "errors"

// ErrValue means a value is not a plain decimal number (an optional sign,
// digits, an optional decimal point): no exponents, no "NaN", nothing
// guessed from a partly numeric text.
var ErrValue = errors.New("not a decimal number")

// ErrUnit means a unit is unknown or cannot be converted to the unit the
// kind of reading is kept in (kilograms for a body temperature, say).
var ErrUnit = errors.New("unit not known for this kind of reading")

// ErrUnmapped means a device code has no entry in the mapping table, so the
// observation has no LOINC code.
var ErrUnmapped = errors.New("no LOINC mapping for this code")

// ErrNotMeasurement means the kind is a grouping (the blood-pressure panel)
// and carries no value of its own.
var ErrNotMeasurement = errors.New("a grouping, not a measurement")

// MessageZh returns a Simplified Chinese sentence for an error from this
// package, for staff reading a device's status; "" if err is not one of
// ours.
func MessageZh(err error) string {
	switch {
	case errors.Is(err, ErrValue):
		return "设备发送的数值不是有效的数字"
	case errors.Is(err, ErrUnit):
		return "设备发送的单位无法识别或与测量项目不符"
	case errors.Is(err, ErrUnmapped):
		return "设备发送的测量项目代码没有对应的LOINC编码"
	case errors.Is(err, ErrNotMeasurement):
		return "这是一组测量的标题，本身没有数值"
	}
	return ""
}
