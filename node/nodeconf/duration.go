package nodeconf

import (
	"fmt"
	"strconv"
	"time"
)

// Duration is a time.Duration written in the file as a string such as
// "30s" or "10m".
//
// It is a struct rather than a named int64 so that a bare number in the
// file ("read_timeout = 30") is rejected instead of being decoded as 30
// nanoseconds.
type Duration struct {
	time.Duration
}

// String returns the duration in the largest unit that expresses it
// exactly ("10m", not "10m0s"), which is how a person would write it.
func (d Duration) String() string {
	units := []struct {
		size   time.Duration
		suffix string
	}{
		{time.Hour, "h"},
		{time.Minute, "m"},
		{time.Second, "s"},
		{time.Millisecond, "ms"},
	}
	for _, u := range units {
		if d.Duration != 0 && d.Duration%u.size == 0 {
			return strconv.FormatInt(int64(d.Duration/u.size), 10) + u.suffix
		}
	}
	return d.Duration.String()
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler, accepting what
// time.ParseDuration accepts.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("%w: %q is not a duration; write a number and a unit, like \"30s\", \"10m\" or \"1h\"",
			ErrInvalidValue, text)
	}
	d.Duration = v
	return nil
}
