package residentid

import (
	"errors"
	"fmt"
)

// Info is what an ID number says about its holder.
type Info struct {
	Area      string // six-digit administrative area code
	BirthDate string // YYYY-MM-DD
	Sex       string // "male" or "female"
}

// Parse validates id and returns what it encodes.
func Parse(id string) (Info, error) {
	if err := Validate(id); err != nil {
		return Info{}, err
	}
	sex := "female"
	if (id[16]-'0')%2 == 1 {
		sex = "male"
	}
	return Info{Area: id[:6], BirthDate: id[6:10] + "-" + id[10:12] + "-" + id[12:14], Sex: sex}, nil
}

// CrossCheck validates id and compares it with the birth date (YYYY-MM-DD)
// and sex ("male", "female"; "other" and "unknown" are not compared) that
// were entered. Empty birthDate or sex is not compared. Both mismatches are
// reported together.
func CrossCheck(id, birthDate, sex string) (Info, error) {
	info, err := Parse(id)
	if err != nil {
		return info, err
	}
	var errs []error
	if birthDate != "" && birthDate != info.BirthDate {
		errs = append(errs, fmt.Errorf("ID number: %w (the number says %s, the form says %s)", ErrBirthDateMismatch, info.BirthDate, birthDate))
	}
	if (sex == "male" || sex == "female") && sex != info.Sex {
		errs = append(errs, fmt.Errorf("ID number: %w (the number says %s, the form says %s)", ErrSexMismatch, info.Sex, sex))
	}
	return info, errors.Join(errs...)
}

// MessageZh returns a Simplified Chinese message for an error from this
// package, for a clerk at the front desk; "" if err is not one of ours.
func MessageZh(err error) string {
	switch {
	case errors.Is(err, ErrLength):
		return "身份证号码应为18位"
	case errors.Is(err, ErrChar):
		return "身份证号码只能包含数字，最后一位可以是大写字母X"
	case errors.Is(err, ErrBirthDate):
		return "身份证号码中的出生日期无效"
	case errors.Is(err, ErrCheck):
		return "身份证号码校验位不符，请核对是否输错"
	case errors.Is(err, ErrBirthDateMismatch) && errors.Is(err, ErrSexMismatch):
		return "身份证号码中的出生日期和性别与填写的不一致"
	case errors.Is(err, ErrBirthDateMismatch):
		return "身份证号码中的出生日期与填写的出生日期不一致"
	case errors.Is(err, ErrSexMismatch):
		return "身份证号码中的性别与填写的性别不一致"
	}
	return ""
}
