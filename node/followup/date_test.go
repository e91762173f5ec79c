package followup

import (
	"encoding/json"
	"testing"
)

func TestDate(t *testing.T) {
	for _, s := range []string{"2026-02-30", "2026-2-3", "20260203", "", "2026-02-03T00:00:00Z", "0000-01-01"} {
		if d, err := ParseDate(s); err == nil {
			t.Errorf("ParseDate(%q) = %v", s, d)
		}
	}
	months := []struct {
		from string
		n    int
		want string
	}{
		{"2026-01-31", 1, "2026-02-28"},
		{"2028-01-31", 1, "2028-02-29"},
		{"2024-02-29", 12, "2025-02-28"},
		{"2024-02-29", 48, "2028-02-29"},
		{"2026-03-31", -1, "2026-02-28"},
		{"2026-01-15", -1, "2025-12-15"},
		{"2026-05-31", 13, "2027-06-30"},
		{"2026-12-31", 2, "2027-02-28"},
	}
	for _, tc := range months {
		if got := date(t, tc.from).AddMonths(tc.n).String(); got != tc.want {
			t.Errorf("%s + %d months = %s, want %s", tc.from, tc.n, got, tc.want)
		}
	}
	if got := date(t, "2028-02-28").AddDays(2).String(); got != "2028-03-01" {
		t.Errorf("AddDays: %s", got)
	}
	a, b := date(t, "2026-05-02"), date(t, "2026-05-10")
	if a.Compare(b) != -1 || b.Compare(a) != 1 || a.Compare(a) != 0 || date(t, "2025-12-31").Compare(a) != -1 {
		t.Error("Compare")
	}
	if (Date{2026, 2, 29}).Valid() || !(Date{2028, 2, 29}).Valid() || (Date{}).Valid() {
		t.Error("Valid")
	}
	js, err := json.Marshal(Due{Seq: 1, Date: a, Method: MethodPhone})
	if err != nil || string(js) != `{"seq":1,"due":"2026-05-02","method":"phone"}` {
		t.Errorf("marshal: %s %v", js, err)
	}
	var d Due
	if err := json.Unmarshal(js, &d); err != nil || d.Date != a {
		t.Errorf("unmarshal: %+v %v", d, err)
	}
	if _, err := json.Marshal(Date{}); err == nil {
		t.Error("zero date marshals")
	}
}
