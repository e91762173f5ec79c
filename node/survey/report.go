package survey

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"carenode/node/store"
)

// Report is the satisfaction report for a period.
type Report struct {
	// From and To are the days covered, inclusive (YYYY-MM-DD in the
	// clinic's time zone); empty means unbounded.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Scores are mean scores per department of the visit and month the
	// survey was taken, sorted by department then month.
	Scores []ScoreRow `json:"scores"`
	// Cases count the cases opened in the period per department they were
	// routed to, by state, sorted by department.
	Cases []CaseCount `json:"cases"`
	// Resolution is how long resolved cases opened in the period took.
	Resolution Durations `json:"resolution"`
}

// ScoreRow is one department's month.
type ScoreRow struct {
	Department string `json:"department"`
	Month      string `json:"month"` // YYYY-MM
	Surveys    int    `json:"surveys"`
	// Mean is each dimension's mean score, rounded to two decimals.
	Mean map[string]float64 `json:"mean"`
}

// CaseCount counts one department's cases.
type CaseCount struct {
	Department    string `json:"department"`
	Open          int    `json:"open"`
	Investigating int    `json:"investigating"`
	Resolved      int    `json:"resolved"`
	// Overdue counts the unresolved cases past their deadline.
	Overdue int `json:"overdue"`
}

// Durations summarise resolution times in hours: the median (the middle
// time, or the mean of the two middle ones) and the 90th percentile by
// nearest rank (the time 90% of cases were resolved within).
type Durations struct {
	Count       int     `json:"count"`
	MedianHours float64 `json:"medianHours"`
	P90Hours    float64 `json:"p90Hours"`
}

// Period is a report's range of days; zero times are unbounded.
type Period struct {
	From, To time.Time // days, at midnight in the clinic's time zone
}

// ParsePeriod reads YYYY-MM-DD days (either may be empty) in loc.
func ParsePeriod(from, to string, loc *time.Location) (Period, error) {
	var p Period
	for _, d := range []struct {
		text string
		into *time.Time
	}{{from, &p.From}, {to, &p.To}} {
		if d.text == "" {
			continue
		}
		t, err := time.ParseInLocation(time.DateOnly, d.text, loc)
		if err != nil {
			return Period{}, fmt.Errorf("%w: %q is not a day written YYYY-MM-DD", ErrPeriod, d.text)
		}
		*d.into = t
	}
	if !p.From.IsZero() && !p.To.IsZero() && p.To.Before(p.From) {
		return Period{}, fmt.Errorf("%w: to (%s) is before from (%s)", ErrPeriod, to, from)
	}
	return p, nil
}

// contains reports whether t falls on a day of p.
func (p Period) contains(t time.Time) bool {
	if !p.From.IsZero() && t.Before(p.From) {
		return false
	}
	if !p.To.IsZero() && !t.Before(p.To.AddDate(0, 0, 1)) {
		return false
	}
	return true
}

// Report computes the report for p from the stored surveys and cases.
func (s *Service) Report(ctx context.Context, p Period) (Report, error) {
	loc := s.cfg.Location
	rep := Report{Scores: []ScoreRow{}, Cases: []CaseCount{}}
	if !p.From.IsZero() {
		rep.From = p.From.In(loc).Format(time.DateOnly)
	}
	if !p.To.IsZero() {
		rep.To = p.To.In(loc).Format(time.DateOnly)
	}
	type key struct{ dept, month string }
	type sums struct {
		n   int
		sum map[string]int
	}
	groups := map[key]*sums{}
	only := store.Only{Fields: []string{"department", "scores", "submitted"}}
	err := scanWith(ctx, func(after string) ([]store.RecordView, error) {
		return s.cfg.Records.ListOnly(Collection, after, scanPage, only)
	}, func(v store.RecordView) error {
		sv, err := surveyOf(v)
		if err != nil {
			return err
		}
		if !p.contains(sv.Submitted) {
			return nil
		}
		k := key{sv.Department, sv.Submitted.In(loc).Format("2006-01")}
		g := groups[k]
		if g == nil {
			g = &sums{sum: map[string]int{}}
			groups[k] = g
		}
		g.n++
		for dim, score := range sv.Scores {
			g.sum[dim] += score
		}
		return nil
	})
	if err != nil {
		return Report{}, fmt.Errorf("satisfaction report: %w", err)
	}
	for k, g := range groups {
		row := ScoreRow{Department: k.dept, Month: k.month, Surveys: g.n, Mean: map[string]float64{}}
		for _, dim := range Dimensions() {
			row.Mean[dim] = math.Round(float64(g.sum[dim])/float64(g.n)*100) / 100
		}
		rep.Scores = append(rep.Scores, row)
	}
	slices.SortFunc(rep.Scores, func(a, b ScoreRow) int {
		if c := strings.Compare(a.Department, b.Department); c != 0 {
			return c
		}
		return strings.Compare(a.Month, b.Month)
	})

	counts := map[string]*CaseCount{}
	var hours []float64
	err = s.scan(ctx, CaseCollection, func(v store.RecordView) error {
		c, err := s.caseOf(v)
		if err != nil {
			return err
		}
		if !p.contains(c.Opened) {
			return nil
		}
		cc := counts[c.Department]
		if cc == nil {
			cc = &CaseCount{Department: c.Department}
			counts[c.Department] = cc
		}
		switch c.State {
		case StateOpen:
			cc.Open++
		case StateInvestigating:
			cc.Investigating++
		case StateResolved:
			cc.Resolved++
			hours = append(hours, c.Resolution.At.Sub(c.Opened).Hours())
		}
		if c.Overdue {
			cc.Overdue++
		}
		return nil
	})
	if err != nil {
		return Report{}, fmt.Errorf("case report: %w", err)
	}
	for _, cc := range counts {
		rep.Cases = append(rep.Cases, *cc)
	}
	slices.SortFunc(rep.Cases, func(a, b CaseCount) int { return strings.Compare(a.Department, b.Department) })
	rep.Resolution = summarise(hours)
	return rep, nil
}

// summarise computes the median and 90th percentile of hours.
func summarise(hours []float64) Durations {
	d := Durations{Count: len(hours)}
	if len(hours) == 0 {
		return d
	}
	slices.Sort(hours)
	n := len(hours)
	if n%2 == 1 {
		d.MedianHours = hours[n/2]
	} else {
		d.MedianHours = (hours[n/2-1] + hours[n/2]) / 2
	}
	d.P90Hours = hours[int(math.Ceil(0.9*float64(n)))-1]
	d.MedianHours = math.Round(d.MedianHours*100) / 100
	d.P90Hours = math.Round(d.P90Hours*100) / 100
	return d
}

// ReportDays is Report for days written YYYY-MM-DD (either may be empty)
// in the clinic's time zone.
func (s *Service) ReportDays(ctx context.Context, from, to string) (Report, error) {
	p, err := ParsePeriod(from, to, s.cfg.Location)
	if err != nil {
		return Report{}, err
	}
	return s.Report(ctx, p)
}
