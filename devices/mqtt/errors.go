package mqtt

import (
	"errors"

	"carenode/node/auth"
)

// ErrConfig means a Config is unusable; the error says which field.
var ErrConfig = errors.New("invalid MQTT broker configuration")

// ErrPayload means a payload is neither HL7 nor the JSON reading document.
var ErrPayload = errors.New("unreadable MQTT reading payload")

// ErrDeviceID means a device id is not 1 to 64 ASCII letters, digits, '_',
// '-' or '.'.
var ErrDeviceID = errors.New("invalid device id")

// ErrNoAccount means no device account has the id asked for.
var ErrNoAccount = errors.New("no such device account")

// ErrNoRequest means no device with the id asked for has asked to join.
var ErrNoRequest = errors.New("no such device asking to join")

// ErrNotAdoptable means Approve was asked to keep the password the device
// offered, but none usable was kept (too short, or never offered).
var ErrNotAdoptable = errors.New("the device offered no password that can be kept; give it one")

// MessageZh returns a Simplified Chinese sentence for an error from this
// package (or a weak device password), for the API and the CLI; "" if err
// is not one of ours. The English sentence is err.Error().
func MessageZh(err error) string {
	switch {
	case errors.Is(err, ErrDeviceID):
		return "设备编号只能由 1 到 64 个英文字母、数字、下划线、连字符或点组成"
	case errors.Is(err, ErrNoAccount):
		return "没有该设备的账号"
	case errors.Is(err, ErrNoRequest):
		return "该设备没有申请接入"
	case errors.Is(err, ErrNotAdoptable):
		return "该设备提供的密码无法沿用（过短或未提供），请为设备设置新密码"
	case errors.Is(err, auth.ErrWeakPassword):
		return "设备密码太短，至少需要 8 个字符"
	case errors.Is(err, ErrPayload):
		return "MQTT 消息内容既不是 HL7 也不是约定的 JSON 格式，已原样保存"
	case errors.Is(err, ErrConfig):
		return "MQTT 配置无效"
	}
	return ""
}
