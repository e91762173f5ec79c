package followup

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func monthly(count int, methods ...string) Template {
	return Template{ID: "m", Method: MethodPhone, Schedule: Timing{Repeat: &Repeat{Unit: "month", Every: 1, Count: count, Methods: methods}}}
}

func TestSchedule(t *testing.T) {
	post := template(t, "post-surgery")
	hyp := template(t, "hypertension")
	weekly := Template{Method: MethodSMS, Schedule: Timing{Repeat: &Repeat{Unit: "week", Every: 2, Count: 3}}}
	daily := Template{Method: MethodSMS, Schedule: Timing{Repeat: &Repeat{Unit: "day", Every: 1}}}
	mixed := Template{Method: MethodPhone, Schedule: Timing{Offsets: []Offset{{Days: 0}, {Days: 30, Method: MethodHomeVisit}}}}
	tests := []struct {
		name         string
		t            Template
		start, until string
		want         string // dates, with the method where it is not phone
	}{
		{"post-surgery", post, "2026-05-02", "2026-12-31", "1:2026-05-03 2:2026-05-05 3:2026-05-09 4:2026-05-16"},
		{"post-surgery across a year end", post, "2026-12-25", "2027-12-31", "1:2026-12-26 2:2026-12-28 3:2027-01-01 4:2027-01-08"},
		{"horizon cuts offsets", post, "2026-05-02", "2026-05-09", "1:2026-05-03 2:2026-05-05 3:2026-05-09"},
		{"horizon before first", post, "2026-05-02", "2026-05-02", ""},
		{"until before start", post, "2026-05-02", "2026-05-01", ""},
		{"offset 0 and method", mixed, "2026-05-02", "2026-12-31", "1:2026-05-02 2:2026-06-01/home_visit"},
		{"month end clamps, from the start each time", monthly(5), "2026-01-31", "2027-01-01", "1:2026-02-28 2:2026-03-31 3:2026-04-30 4:2026-05-31 5:2026-06-30"},
		{"leap year February", monthly(2), "2028-01-30", "2028-12-31", "1:2028-02-29 2:2028-03-30"},
		{"29 February start", monthly(0), "2024-02-29", "2024-06-30", "1:2024-03-29 2:2024-04-29 3:2024-05-29 4:2024-06-29"},
		{"29 February a year on", Template{Method: MethodPhone, Schedule: Timing{Repeat: &Repeat{Unit: "month", Every: 12}}}, "2024-02-29", "2028-03-01", "1:2025-02-28 2:2026-02-28 3:2027-02-28 4:2028-02-29"},
		{"count limits", monthly(2), "2026-05-02", "2030-01-01", "1:2026-06-02 2:2026-07-02"},
		{"open-ended stops at until", monthly(0), "2026-05-02", "2026-08-02", "1:2026-06-02 2:2026-07-02 3:2026-08-02"},
		{"every 2 weeks", weekly, "2026-05-02", "2030-01-01", "1:2026-05-16/sms 2:2026-05-30/sms 3:2026-06-13/sms"},
		{"daily", daily, "2026-02-27", "2026-03-01", "1:2026-02-28/sms 2:2026-03-01/sms"},
		{"method cycle", hyp, "2026-05-02", "2026-09-30", "1:2026-06-02/home_visit 2:2026-07-02 3:2026-08-02 4:2026-09-02/home_visit"},
		{"near year 9999", monthly(0), "9999-10-15", "9999-12-31", "1:9999-11-15 2:9999-12-15"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := show(Schedule(tc.t, date(t, tc.start), date(t, tc.until)))
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	if got := Schedule(post, Date{2026, 2, 30}, date(t, "2026-12-31")); got != nil {
		t.Errorf("invalid start gives %v", got)
	}
	if got := Schedule(Template{}, date(t, "2026-01-01"), date(t, "2026-12-31")); got != nil {
		t.Errorf("empty template gives %v", got)
	}
	if got := Schedule(daily, date(t, "2026-01-01"), date(t, "9999-12-31")); len(got) != MaxDue {
		t.Errorf("daily to 9999 gives %d dates, want MaxDue", len(got))
	}
}

func show(ds []Due) string {
	s := ""
	for i, d := range ds {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%d:%s", d.Seq, d.Date)
		if d.Method != MethodPhone {
			s += "/" + d.Method
		}
	}
	return s
}

// TestScheduleNationalNorm: the national standard asks at least four
// face-to-face follow-ups a year for hypertension and type 2 diabetes.
// For every start date over six years (three Februaries of 29 days among
// them) and every 12-month window beginning on any day of the first two
// years of the plan, the shipped monthly schedules have at least 11
// contacts and at least 4 home visits in the window.
func TestScheduleNationalNorm(t *testing.T) {
	for _, id := range []string{"hypertension", "diabetes-t2"} {
		x := template(t, id)
		for start := date(t, "2023-01-01"); start.Compare(date(t, "2028-12-31")) <= 0; start = start.AddDays(1) {
			dues := Schedule(x, start, start.AddMonths(40))
			for w := start; w.Compare(start.AddMonths(24)) < 0; w = w.AddDays(1) {
				// The window is [w, end): twelve calendar months, the one
				// from 29 February ending before 1 March.
				end := DateOf(time.Date(w.Year+1, w.Month, w.Day, 12, 0, 0, 0, time.UTC))
				all, visits := 0, 0
				for _, d := range dues {
					if d.Date.Compare(w) >= 0 && d.Date.Compare(end) < 0 {
						all++
						if d.Method == MethodHomeVisit {
							visits++
						}
					}
				}
				if all < 11 || visits < 4 {
					t.Fatalf("%s started %s: %d contacts, %d home visits in %s to %s", id, start, all, visits, w, end)
				}
			}
		}
	}
}

// TestScheduleHorizonPrefix: a longer horizon only adds contacts, with the
// same numbers, so the store can extend a plan without renumbering tasks.
func TestScheduleHorizonPrefix(t *testing.T) {
	x := template(t, "hypertension")
	start := date(t, "2024-01-31")
	long := Schedule(x, start, date(t, "2027-01-01"))
	for u := start; u.Compare(date(t, "2027-01-01")) <= 0; u = u.AddDays(1) {
		short := Schedule(x, start, u)
		if !slices.Equal(short, long[:len(short)]) {
			t.Fatalf("until %s: %v is not a prefix", u, short)
		}
		for i, d := range short {
			if d.Seq != i+1 || d.Date.Compare(u) > 0 || (i > 0 && d.Date.Compare(short[i-1].Date) <= 0) {
				t.Fatalf("until %s: bad due %d %+v", u, i, d)
			}
		}
	}
}

func TestTriggered(t *testing.T) {
	custom, err := LoadTemplate(vary(t, `{"id":"after-stroke","triggers":[{"event":"discharge","from":"I60","to":"I64"},{"event":"discharge","procedure":"thrombectomy"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	any, err := LoadTemplate(vary(t, `{"id":"any-discharge","triggers":[{"event":"discharge"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	all := append(DefaultTemplates(), custom, any)
	tests := []struct {
		e    Event
		want []string
	}{
		{Event{Kind: EventDiagnosis, Code: "I10"}, []string{"hypertension"}},
		{Event{Kind: EventDiagnosis, Code: "i11.9"}, []string{"hypertension"}},
		{Event{Kind: EventDiagnosis, Code: "Ｉ１５"}, []string{"hypertension"}},
		{Event{Kind: EventDiagnosis, Code: "I1A.0"}, []string{"hypertension"}},
		{Event{Kind: EventDiagnosis, Code: "I16.0"}, nil},
		{Event{Kind: EventDiagnosis, Code: "I09"}, nil},
		{Event{Kind: EventDiagnosis, Code: "E11.65"}, []string{"diabetes-t2"}},
		{Event{Kind: EventDiagnosis, Code: "E14"}, []string{"diabetes-t2"}},
		{Event{Kind: EventDiagnosis, Code: "E10.9"}, nil}, // type 1 is not the type 2 programme
		{Event{Kind: EventDiagnosis, Code: "高血压"}, nil},
		{Event{Kind: EventDiagnosis, Code: ""}, nil},
		{Event{Kind: EventProcedure, Procedure: "surgery"}, []string{"post-surgery"}},
		{Event{Kind: EventProcedure, Procedure: "endoscopy"}, nil},
		{Event{Kind: EventDischarge, Code: "I63.9"}, []string{"after-stroke", "any-discharge"}},
		{Event{Kind: EventDischarge, Procedure: "thrombectomy"}, []string{"after-stroke", "any-discharge"}},
		{Event{Kind: EventDischarge, Code: "J18.9"}, []string{"any-discharge"}},
		{Event{Kind: EventDischarge, Code: "I10"}, []string{"any-discharge"}}, // a discharge is not a new diagnosis
		{Event{Kind: "admission", Code: "I10"}, nil},
	}
	for _, tc := range tests {
		var got []string
		for _, x := range Triggered(all, tc.e) {
			got = append(got, x.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%+v starts %v, want %v", tc.e, got, tc.want)
		}
	}
}
