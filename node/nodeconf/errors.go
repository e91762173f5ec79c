package nodeconf

import (
	"errors"
	"fmt"
)

// ErrConfigExists means WriteNew found a file already at the config path.
var ErrConfigExists = errors.New("config file already exists; refusing to overwrite it")

// ErrUnknownKey means the config file holds a key or section this version
// of carenode does not know, usually a typo.
var ErrUnknownKey = errors.New("unknown key")

// ErrUnknownRole means a role name is not one of the roles in Roles.
var ErrUnknownRole = errors.New("unknown role")

// ErrInvalidValue is wrapped by every problem Validate reports; each such
// problem is a *ValueError.
var ErrInvalidValue = errors.New("invalid value")

// ValueError reports one invalid value in a config file.
type ValueError struct {
	// Key is the dotted TOML key, such as "http.listen".
	Key string
	// Value is the bad value as it would be written in TOML, such as
	// `"abc"` or `0`.
	Value string
	// Allowed says what the value must be, as a phrase that follows the
	// key and value, such as `must be a positive duration, like "30s"`.
	Allowed string
	// AllowedZh is Allowed in Simplified Chinese, when there is one.
	AllowedZh string
	// Err is the underlying cause, if any.
	Err error
}

// Message returns the problem for a person reading lang ("zh" or "en", as
// care.Lang returns): in Chinese when there is a Chinese sentence and lang
// is "zh", in English otherwise.
func (e *ValueError) Message(lang string) string {
	if lang == "zh" && e.AllowedZh != "" {
		return fmt.Sprintf("%s = %s：%s", e.Key, e.Value, e.AllowedZh)
	}
	return e.Error()
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("%s = %s: %s", e.Key, e.Value, e.Allowed)
}

// Is makes every ValueError match ErrInvalidValue.
func (e *ValueError) Is(target error) bool { return target == ErrInvalidValue }

func (e *ValueError) Unwrap() error { return e.Err }
