package serialport

import "errors"

// ErrConfig means a port's Config is unusable; the error says which field.
var ErrConfig = errors.New("invalid serial port configuration")

// ErrGone means the port was unplugged or hung up while open.
var ErrGone = errors.New("serial port gone")
