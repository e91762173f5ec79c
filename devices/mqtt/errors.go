package mqtt

import "errors"

// ErrConfig means a Config is unusable; the error says which field.
var ErrConfig = errors.New("invalid MQTT broker configuration")

// ErrPayload means a payload is neither HL7 nor the JSON reading document.
var ErrPayload = errors.New("unreadable MQTT reading payload")
