package lineformat

import "errors"

// ErrLine means a line does not have the shape of its format.
var ErrLine = errors.New("line does not match the device format")

// ErrValue means a value in a well-formed line is outside what the device
// documents (an SpO2 over 100, a systolic below the diastolic).
var ErrValue = errors.New("value outside what the device documents")

// ErrUnit means a line's unit is not one the reading can be kept in.
var ErrUnit = errors.New("unit not usable for this reading")

// ErrLineTooLong means a line grew past the reader's limit; it is skipped.
var ErrLineTooLong = errors.New("line too long")

// ErrUnknownFormat means no format has the name asked for.
var ErrUnknownFormat = errors.New("no such line format")

// MessageZh returns a Simplified Chinese sentence for an error from this
// package, for staff looking at a device's status; "" if err is not one of
// ours.
func MessageZh(err error) string {
	switch {
	case errors.Is(err, ErrLine):
		return "设备发送的一行数据格式不对，已丢弃"
	case errors.Is(err, ErrValue):
		return "设备发送的数值超出设备说明书规定的范围，已丢弃"
	case errors.Is(err, ErrUnit):
		return "设备发送的单位不能用于该测量项目，已丢弃"
	case errors.Is(err, ErrLineTooLong):
		return "设备发送的一行数据过长，已丢弃"
	case errors.Is(err, ErrUnknownFormat):
		return "配置中的设备数据格式名称不存在"
	}
	return ""
}
