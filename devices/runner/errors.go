package runner

import (
	"errors"

	"carenode/devices/lineformat"
	"carenode/devices/mqtt"
	"carenode/devices/serialport"
)

// ErrConfig means a Config is unusable; the error says what.
var ErrConfig = errors.New("invalid device configuration")

// ErrPasswordFile means the external broker's password file cannot be
// read or holds no password.
var ErrPasswordFile = errors.New("cannot read the MQTT password file")

// MessageZh returns a Simplified Chinese sentence for an error from Start
// or FromFile, for the CLI; "" if there is none. The English sentence is
// err.Error().
func MessageZh(err error) string {
	switch {
	case errors.Is(err, lineformat.ErrUnknownFormat):
		return lineformat.MessageZh(err)
	case errors.Is(err, ErrPasswordFile):
		return "无法读取 MQTT 密码文件，或文件第一行为空"
	case errors.Is(err, serialport.ErrConfig), errors.Is(err, ErrConfig):
		return "设备配置无效"
	case errors.Is(err, mqtt.ErrConfig):
		return "MQTT 配置无效"
	}
	if zh := lineformat.MessageZh(err); zh != "" {
		return zh
	}
	return mqtt.MessageZh(err)
}
