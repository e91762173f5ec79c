package icd10

import (
	"errors"
	"fmt"
	"strings"
)

// ErrMalformed means the text cannot be an ICD-10 code at all, whatever the
// table holds: a typo in the shape, not an unknown disease.
var ErrMalformed = errors.New("not an ICD-10 code: must be a letter, two digits, optionally a dot and up to four more characters")

// ErrUnknown means the text has the shape of a code but the table has no such
// code.
var ErrUnknown = errors.New("no such ICD-10 code")

// ErrTable means the embedded code table could not be read. It is a build
// defect, never the user's input; a test keeps it from shipping.
var ErrTable = errors.New("ICD-10 code table is damaged")

// Error is what Lookup returns for input it refuses: the text as typed and
// one of ErrMalformed or ErrUnknown. errors.Is sees the sentinel.
type Error struct {
	Input string
	Err   error
}

func (e *Error) Error() string { return fmt.Sprintf("icd10: %q: %s", e.Input, e.Err) }

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }

// MessageEn is the English sentence a front-desk clerk can act on.
func (e *Error) MessageEn() string { return describe(e.Input, e.Err, false) }

// MessageZh is the same sentence in Simplified Chinese.
func (e *Error) MessageZh() string { return describe(e.Input, e.Err, true) }

// Describe turns an error from this package into a sentence for the person
// at the desk, in Simplified Chinese when lang starts with "zh" (as in an
// Accept-Language value such as "zh-CN") and in English otherwise. Errors
// from elsewhere get err.Error().
func Describe(err error, lang string) string {
	if err == nil {
		return ""
	}
	zh := strings.HasPrefix(strings.ToLower(strings.TrimSpace(lang)), "zh")
	var e *Error
	if errors.As(err, &e) {
		return describe(e.Input, e.Err, zh)
	}
	switch {
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrUnknown), errors.Is(err, ErrTable):
		return describe("", err, zh)
	}
	return err.Error()
}

func describe(input string, err error, zh bool) string {
	// Echo what was typed, but as valid text and not a pasted page of it.
	shown := strings.ToValidUTF8(strings.TrimSpace(input), "\uFFFD")
	if r := []rune(shown); len(r) > 24 {
		shown = string(r[:24]) + "…"
	}
	switch {
	case errors.Is(err, ErrMalformed) && shown == "":
		if zh {
			return "请输入ICD-10编码，例如 E11.9。"
		}
		return "Enter an ICD-10 code, for example E11.9."
	case errors.Is(err, ErrMalformed):
		if zh {
			return fmt.Sprintf("“%s”不是ICD-10编码：编码应为1个字母加2位数字，可再加小数点和最多4位字符，例如 E11.9。", shown)
		}
		return fmt.Sprintf("%q is not an ICD-10 code: a code is a letter and two digits, optionally a dot and up to four more characters, for example E11.9.", shown)
	case errors.Is(err, ErrUnknown) && shown == "":
		if zh {
			return "编码表中没有这个ICD-10编码。请核对编码，或按疾病名称查找。"
		}
		return "There is no such ICD-10 code in the code table. Check the code, or search by the name of the disease."
	case errors.Is(err, ErrUnknown):
		if zh {
			return fmt.Sprintf("编码表中没有ICD-10编码“%s”。请核对编码，或按疾病名称查找。", shown)
		}
		return fmt.Sprintf("There is no ICD-10 code %q in the code table. Check the code, or search by the name of the disease.", shown)
	case errors.Is(err, ErrTable):
		if zh {
			return "ICD-10编码表无法读取，请联系系统管理员。"
		}
		return "The ICD-10 code table cannot be read; tell the system administrator."
	}
	return err.Error()
}
