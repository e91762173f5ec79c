package textnorm

import (
	"strings"
	"testing"
)

func TestNameKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"张三", "张三"},
		{"买买提·艾力", "买买提艾力"},
		{"阿依古丽 • 买买提", "阿依古丽买买提"},
		{"张　三", "张三"},               // ideographic space
		{"ｊｏｈｎ．ｓｍｉｔｈ", "johnsmith"}, // full width, full-width dot
		{"", ""},
	}
	for _, tc := range tests {
		if got := NameKey(tc.in); got != tc.want {
			t.Errorf("NameKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := strings.Map(FoldWidth, "１３８Ｘｘ"); got != "138Xx" {
		t.Errorf("FoldWidth = %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { NameKey("欧阳娜娜") }); n != 0 {
		t.Errorf("NameKey of a plain name allocates %v times", n)
	}
}
