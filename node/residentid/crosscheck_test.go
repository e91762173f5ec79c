package residentid

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAndCrossCheck(t *testing.T) {
	// 11010519491231002X: GB 11643's example, born 1949-12-31, sequence 002
	// (even: female).
	const id = "11010519491231002X"
	info, err := Parse(id)
	if err != nil {
		t.Fatal(err)
	}
	if info != (Info{Area: "110105", BirthDate: "1949-12-31", Sex: "female"}) {
		t.Errorf("Parse = %+v", info)
	}
	male := withCheck(t, "53252819560620001") // sequence 001: male
	tests := []struct {
		name       string
		id, birth  string
		sex        string
		want       []error
		wantZhPart string
	}{
		{"agrees", id, "1949-12-31", "female", nil, ""},
		{"nothing entered", id, "", "", nil, ""},
		{"other sex not compared", id, "1949-12-31", "unknown", nil, ""},
		{"male agrees", male, "1956-06-20", "male", nil, ""},
		{"birth date differs", id, "1949-12-30", "female", []error{ErrBirthDateMismatch}, "出生日期"},
		{"sex differs", id, "1949-12-31", "male", []error{ErrSexMismatch}, "性别"},
		{"both differ", male, "1956-06-21", "female", []error{ErrBirthDateMismatch, ErrSexMismatch}, "出生日期和性别"},
		{"typo", "11010519491231003X", "1949-12-31", "female", []error{ErrCheck}, "校验位"},
		{"short", "1101051949", "", "", []error{ErrLength}, "18位"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CrossCheck(tc.id, tc.birth, tc.sex)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("err = %v, want %v", err, w)
				}
			}
			if zh := MessageZh(err); !strings.Contains(zh, tc.wantZhPart) {
				t.Errorf("MessageZh = %q, want it to mention %q", zh, tc.wantZhPart)
			}
			if strings.Contains(err.Error(), tc.id) {
				t.Errorf("error quotes the ID number: %v", err)
			}
		})
	}
	if MessageZh(errors.New("other")) != "" {
		t.Error("MessageZh answered for a foreign error")
	}
}
