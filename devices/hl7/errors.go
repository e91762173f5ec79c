package hl7

import "errors"

// ErrNotHL7 means the bytes do not start with an MSH segment whose field
// separator and encoding characters can be read.
var ErrNotHL7 = errors.New("not an HL7 v2 message")

// ErrSegment means a segment is malformed (a bad segment name) or out of
// place (an OBX before any OBR).
var ErrSegment = errors.New("malformed or misplaced segment")

// ErrUnsupported means the message is well formed but not an ORU^R01.
var ErrUnsupported = errors.New("unsupported message type")

// ErrMissing means a required field is empty.
var ErrMissing = errors.New("required field missing")

// ErrValue means a field's content does not match its data type.
var ErrValue = errors.New("value does not match its data type")

// ErrTime means a field that holds an HL7 date/time (DTM) is malformed.
var ErrTime = errors.New("malformed HL7 date/time")

// ErrStatus means an observation result status (OBX-11) is not one of HL7
// table 0085.
var ErrStatus = errors.New("unknown observation result status")

// ErrFrameTooLarge means an MLLP frame grew past the reader's limit. The
// reader skips to the next start block; it can be read again.
var ErrFrameTooLarge = errors.New("MLLP frame too large")

// ErrFrameTruncated means a new start block arrived before the end of the
// frame being read (the sender restarted). The partial frame is dropped;
// the reader can be read again.
var ErrFrameTruncated = errors.New("MLLP frame cut short by a new start block")

// ErrFrameByte means a message to be framed contains an MLLP block
// character (0x0B or 0x1C), which would corrupt the framing.
var ErrFrameByte = errors.New("message contains an MLLP block character")

// ErrACK means an ACK cannot be built (an unknown acknowledgment code or no
// control id) or read back.
var ErrACK = errors.New("cannot build or read ACK")

// MessageZh returns a Simplified Chinese sentence for an error from this
// package, for staff looking at a device's status; "" if err is not one of
// ours.
func MessageZh(err error) string {
	switch {
	case errors.Is(err, ErrNotHL7):
		return "设备发送的数据不是HL7消息"
	case errors.Is(err, ErrSegment):
		return "HL7消息中的段格式错误或顺序不对"
	case errors.Is(err, ErrUnsupported):
		return "不支持这种HL7消息类型，只接收ORU^R01检查结果"
	case errors.Is(err, ErrMissing):
		return "HL7消息缺少必填字段"
	case errors.Is(err, ErrTime):
		return "HL7消息中的日期时间格式错误"
	case errors.Is(err, ErrStatus):
		return "HL7消息中的结果状态无法识别"
	case errors.Is(err, ErrValue):
		return "HL7消息中的数值与其数据类型不符"
	case errors.Is(err, ErrFrameTooLarge):
		return "设备发送的MLLP数据帧过大，已丢弃"
	case errors.Is(err, ErrFrameTruncated):
		return "设备发送的MLLP数据帧不完整，已丢弃"
	case errors.Is(err, ErrFrameByte):
		return "消息中含有MLLP控制字符，无法发送"
	case errors.Is(err, ErrACK):
		return "无法生成或读取HL7确认消息"
	}
	return ""
}
