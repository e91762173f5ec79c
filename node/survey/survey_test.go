package survey_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"carenode/node/care"
	"carenode/node/store"
	"carenode/node/survey"
)

// problemsOf returns "field:code" of each problem of a validation error.
func problemsOf(t testing.TB, err error) []string {
	t.Helper()
	if err == nil {
		return []string{}
	}
	var ve *care.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a validation error, got %v", err)
	}
	out := []string{}
	for _, p := range ve.Problems {
		if p.En == "" || p.Zh == "" {
			t.Errorf("problem %+v lacks a sentence in one language", p)
		}
		out = append(out, p.Field+":"+p.Code)
	}
	return out
}

func TestDecodeAndValidate(t *testing.T) {
	raw, err := os.ReadFile("testdata/validate.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name     string          `json:"name"`
		Body     json.RawMessage `json:"body"`
		Problems []string        `json:"problems"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	routing, err := survey.ShippedRouting()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			in, err := survey.Decode(tc.Body)
			if err == nil {
				err = in.Validate(routing)
			}
			if got := problemsOf(t, err); !slices.Equal(got, tc.Problems) {
				t.Errorf("problems %v, want %v", got, tc.Problems)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	raw, err := os.ReadFile("testdata/validate.json")
	if err != nil {
		f.Fatal(err)
	}
	var cases []struct {
		Body json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		f.Add([]byte(c.Body))
	}
	f.Add([]byte(`{"scores":{"skill":1e400}}`))
	f.Add([]byte(`{"visit":"v1"} {}`))
	routing, err := survey.ShippedRouting()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := survey.Decode(body)
		if err == nil {
			err = in.Validate(routing)
		}
		if err == nil {
			// Whatever passes is a survey the store can hold: ids that are
			// record names, every score 1-5.
			for _, dim := range survey.Dimensions() {
				if s := in.Scores[dim]; s < 1 || s > 5 {
					t.Fatalf("accepted score %d for %s", s, dim)
				}
			}
			if len(in.Scores) != len(survey.Dimensions()) || len(survey.CaseID(in.Visit, survey.DimEnvironment)) > 64 {
				t.Fatalf("accepted %+v", in)
			}
			return
		}
		var ve *care.ValidationError
		if !errors.As(err, &ve) || len(ve.Problems) == 0 {
			t.Fatalf("error %v is not a validation error with problems", err)
		}
	})
}

func TestSubmitOpensRoutedCases(t *testing.T) {
	n := newNode(t, "clinic1", newSealer(t))
	ctx := context.Background()
	in := input("visit-1", scores(2, 4, 5, 2, 1))
	in.Comment = "等了两个小时，医生也没仔细听。"
	res, err := n.svc.Submit(ctx, "kiosk1", in)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range res.Cases {
		got[c.Dimension] = c.Department
		if c.State != survey.StateOpen || !c.Deadline.Equal(testStart.Add(7*24*time.Hour)) {
			t.Errorf("case %+v: want open with a deadline a week on", c)
		}
	}
	want := map[string]string{"skill": "internal-medicine", "cost": "billing", "waiting": "outpatient-office"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cases routed %v, want %v", got, want)
	}
	stored, err := n.svc.Cases(ctx, survey.CaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 3 {
		t.Fatalf("stored %d cases, want 3", len(stored))
	}
	for _, c := range stored {
		if c.Comment != in.Comment {
			t.Errorf("case %s shows comment %q on an unlocked node", c.ID, c.Comment)
		}
	}
	for _, f := range []struct {
		filter survey.CaseFilter
		want   []string
	}{
		{survey.CaseFilter{Department: "billing"}, []string{"visit-1.cost"}},
		{survey.CaseFilter{Department: "internal-medicine", State: survey.StateOpen}, []string{"visit-1.skill"}},
		{survey.CaseFilter{State: survey.StateResolved}, nil},
	} {
		cs, err := n.svc.Cases(ctx, f.filter)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range cs {
			ids = append(ids, c.ID)
		}
		if !slices.Equal(ids, f.want) {
			t.Errorf("cases %+v: %v, want %v", f.filter, ids, f.want)
		}
	}

	// The comment is sealed at rest: the record holds no trace of it, and
	// a locked node shows only that there is one.
	v, err := n.st.Get(survey.Collection, "visit-1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(v.Fields["comment"].Value), "两个小时") || len(v.Fields["comment"].Value) == 0 {
		t.Errorf("comment stored as %q", v.Fields["comment"].Value)
	}
	sv, err := n.svc.Get("visit-1")
	if err != nil || sv.Comment != in.Comment {
		t.Errorf("unlocked: comment %q, %v", sv.Comment, err)
	}
	n.svc.Lock()
	sv, err = n.svc.Get("visit-1")
	if err != nil || sv.Comment != "" || !sv.HasComment || sv.Scores[survey.DimWaiting] != 1 {
		t.Errorf("locked: %+v, %v", sv, err)
	}
	if c, err := n.svc.Case("visit-1.waiting"); err != nil || c.Comment != "" {
		t.Errorf("locked: case %+v, %v", c, err)
	}

	// Locked, a comment cannot be sealed: nothing is stored.
	in2 := input("visit-2", scores(1, 1, 1, 1, 1))
	in2.Comment = "差"
	if _, err := n.svc.Submit(ctx, "kiosk1", in2); !errors.Is(err, survey.ErrLocked) {
		t.Fatalf("comment on a locked node: %v", err)
	}
	if _, err := n.st.Get(survey.CaseCollection, "visit-2.skill"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused survey left a case: %v", err)
	}
	// Without a comment a locked kiosk still takes surveys.
	if _, err := n.svc.Submit(ctx, "kiosk1", input("visit-2", scores(5, 5, 5, 5, 5))); err != nil {
		t.Fatal(err)
	}
	// A visit is surveyed once.
	if _, err := n.svc.Submit(ctx, "kiosk1", input("visit-2", scores(1, 1, 1, 1, 1))); !errors.Is(err, survey.ErrAnswered) {
		t.Fatalf("second survey of a visit: %v", err)
	}
	if cs, _ := n.svc.Cases(ctx, survey.CaseFilter{}); len(cs) != 3 {
		t.Errorf("the refused second survey opened cases: %d", len(cs))
	}
}

func TestCaseTransitions(t *testing.T) {
	n := newNode(t, "clinic1", newSealer(t))
	ctx := context.Background()
	if _, err := n.svc.Submit(ctx, "kiosk1", input("v1", scores(5, 5, 1, 5, 5))); err != nil {
		t.Fatal(err)
	}
	id := survey.CaseID("v1", survey.DimEnvironment)
	steps := []struct {
		name     string
		do       func() (survey.Case, error)
		wantErr  error
		problems []string
		state    string
	}{
		{"unknown case", func() (survey.Case, error) { return n.svc.Investigate(ctx, "li", "nope.cost") }, survey.ErrNoCase, nil, ""},
		{"investigate", func() (survey.Case, error) { return n.svc.Investigate(ctx, "li", id) }, nil, nil, survey.StateInvestigating},
		{"investigate twice", func() (survey.Case, error) { return n.svc.Investigate(ctx, "li", id) }, survey.ErrTransition, nil, ""},
		{"resolve without a response", func() (survey.Case, error) { return n.svc.Resolve(ctx, "li", id, "  ") }, nil, []string{"response:required"}, ""},
		{"resolve", func() (survey.Case, error) {
			return n.svc.Resolve(ctx, "li", id, "候诊区已加装座椅和风扇。")
		}, nil, nil, survey.StateResolved},
		{"resolve again", func() (survey.Case, error) { return n.svc.Resolve(ctx, "li", id, "again") }, survey.ErrTransition, nil, ""},
		{"investigate a resolved case", func() (survey.Case, error) { return n.svc.Investigate(ctx, "li", id) }, survey.ErrTransition, nil, ""},
	}
	for _, s := range steps {
		n.clock.Advance(time.Hour)
		c, err := s.do()
		switch {
		case s.problems != nil:
			if got := problemsOf(t, err); !slices.Equal(got, s.problems) {
				t.Errorf("%s: problems %v, want %v", s.name, got, s.problems)
			}
		case s.wantErr != nil:
			if !errors.Is(err, s.wantErr) {
				t.Errorf("%s: error %v, want %v", s.name, err, s.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", s.name, err)
		case c.State != s.state:
			t.Errorf("%s: state %s, want %s", s.name, c.State, s.state)
		}
	}
	c, err := n.svc.Case(id)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.History) != 2 || c.Resolution == nil || c.Resolution.Response != "候诊区已加装座椅和风扇。" || c.Resolution.By != "li" {
		t.Errorf("case after the steps: %+v", c)
	}
	// Resolved three hours after opening (steps 2..5 each an hour on).
	if got := c.Resolution.At.Sub(c.Opened); got != 5*time.Hour {
		t.Errorf("resolved after %v", got)
	}
}

func TestCaseOverdue(t *testing.T) {
	n := newNode(t, "clinic1", nil)
	ctx := context.Background()
	if _, err := n.svc.Submit(ctx, "kiosk1", input("v1", scores(5, 5, 5, 5, 2))); err != nil {
		t.Fatal(err)
	}
	n.clock.Advance(7*24*time.Hour - time.Minute)
	if c, _ := n.svc.Case("v1.waiting"); c.Overdue {
		t.Error("overdue before its deadline")
	}
	n.clock.Advance(2 * time.Minute)
	if c, _ := n.svc.Case("v1.waiting"); !c.Overdue {
		t.Error("not overdue after its deadline")
	}
	if _, err := n.svc.Resolve(ctx, "li", "v1.waiting", "x"); !errors.Is(err, survey.ErrLocked) {
		t.Errorf("a response on a locked node: %v", err)
	}
}

// TestCaseMergeAcrossNodes: the state machine's merge rule, through two
// stores exchanging changes as sync does.
func TestCaseMergeAcrossNodes(t *testing.T) {
	ctx := context.Background()
	sealer := newSealer(t)
	a, b := newNode(t, "desk", sealer), newNode(t, "office", sealer)
	if _, err := a.svc.Submit(ctx, "kiosk1", input("v1", scores(1, 1, 5, 5, 5))); err != nil {
		t.Fatal(err)
	}
	syncBoth(t, a, b)

	// Apart: the desk resolves the skill case while the office moves it to
	// investigating later by its clock. Resolved wins everywhere.
	a.clock.Advance(time.Hour)
	if _, err := a.svc.Resolve(ctx, "desk-li", "v1.skill", "已向患者解释诊疗方案。"); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(2 * time.Hour)
	if _, err := b.svc.Investigate(ctx, "office-wang", "v1.skill"); err != nil {
		t.Fatal(err)
	}
	// Apart: both resolve the attitude case with different responses.
	a.clock.Advance(time.Hour)
	if _, err := a.svc.Resolve(ctx, "desk-li", "v1.attitude", "desk answer"); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(time.Hour)
	if _, err := b.svc.Resolve(ctx, "office-wang", "v1.attitude", "office answer"); err != nil {
		t.Fatal(err)
	}
	syncBoth(t, a, b)

	for _, n := range []*node{a, b} {
		skill, err := n.svc.Case("v1.skill")
		if err != nil {
			t.Fatal(err)
		}
		if skill.State != survey.StateResolved || len(skill.History) != 2 || skill.Resolution.By != "desk-li" {
			t.Errorf("skill case after sync: %+v", skill)
		}
		att, err := n.svc.Case("v1.attitude")
		if err != nil {
			t.Fatal(err)
		}
		// The desk's resolution has the earlier stamp (an hour earlier
		// clock): it decides; the office's answer stays in the history.
		if att.State != survey.StateResolved || att.Resolution.Response != "desk answer" || len(att.History) != 2 ||
			att.History[1].Response != "office answer" {
			t.Errorf("attitude case after sync: %+v", att)
		}
	}
	ca, _ := a.svc.Cases(ctx, survey.CaseFilter{})
	cb, _ := b.svc.Cases(ctx, survey.CaseFilter{})
	if !reflect.DeepEqual(ca, cb) {
		t.Errorf("the nodes disagree:\n%+v\n%+v", ca, cb)
	}
}

// TestSameVisitSurveyedOnTwoNodes: a visit surveyed at the kiosk and over
// the phone while the nodes are apart counts once, with one case per
// dimension, the same on both.
func TestSameVisitSurveyedOnTwoNodes(t *testing.T) {
	ctx := context.Background()
	sealer := newSealer(t)
	a, b := newNode(t, "kiosk", sealer), newNode(t, "desk", sealer)
	kiosk := input("v1", scores(5, 5, 5, 5, 1))
	kiosk.Comment, kiosk.Patient = "等太久", "p-kiosk"
	if _, err := a.svc.Submit(ctx, "kiosk1", kiosk); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(time.Minute)
	ph := input("v1", scores(5, 5, 5, 2, 2))
	ph.Channel = survey.ChannelPhone
	if _, err := b.svc.Submit(ctx, "desk-li", ph); err != nil {
		t.Fatal(err)
	}
	syncBoth(t, a, b)
	for _, n := range []*node{a, b} {
		sv, err := n.svc.Get("v1")
		if err != nil {
			t.Fatal(err)
		}
		// The later survey wins whole: none of the kiosk's fields (its
		// comment, its patient) shows through.
		if sv.Channel != survey.ChannelPhone || sv.Scores[survey.DimCost] != 2 || sv.HasComment || sv.Patient != "p1" {
			t.Errorf("survey shown: %+v, want the later phone survey", sv)
		}
		cs, err := n.svc.Cases(ctx, survey.CaseFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range cs {
			ids = append(ids, c.ID)
		}
		slices.Sort(ids)
		if !slices.Equal(ids, []string{"v1.cost", "v1.waiting"}) {
			t.Errorf("cases %v", ids)
		}
		rep, err := n.svc.Report(ctx, survey.Period{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Scores) != 1 || rep.Scores[0].Surveys != 1 {
			t.Errorf("report counts the visit %+v", rep.Scores)
		}
	}
}

func TestReport(t *testing.T) {
	n := newNode(t, "clinic1", newSealer(t))
	ctx := context.Background()
	type sv struct {
		at    time.Time
		visit string
		dept  string
		sc    map[string]int
	}
	feb := time.Date(2026, time.February, 10, 9, 0, 0, 0, time.UTC)
	mar := time.Date(2026, time.March, 3, 9, 0, 0, 0, time.UTC)
	for _, s := range []sv{
		{feb, "f1", "internal-medicine", scores(5, 4, 3, 2, 1)},
		{feb.Add(time.Hour), "f2", "internal-medicine", scores(4, 4, 4, 4, 4)},
		{feb.Add(2 * time.Hour), "f3", "surgery", scores(3, 3, 3, 3, 3)},
		{mar, "m1", "internal-medicine", scores(1, 5, 5, 5, 5)},
		{mar.Add(time.Hour), "m2", "internal-medicine", scores(2, 5, 5, 5, 5)},
		{mar.Add(2 * time.Hour), "m3", "internal-medicine", scores(2, 5, 5, 5, 5)},
	} {
		n.clock.Set(s.at)
		in := input(s.visit, s.sc)
		in.Department = s.dept
		if _, err := n.svc.Submit(ctx, "kiosk1", in); err != nil {
			t.Fatal(err)
		}
	}
	// Resolve cases after known times: f1.cost after 10 h, f1.waiting after
	// 30 h, m1.skill after 50 h; investigate m2.skill; leave m3.skill open.
	for _, r := range []struct {
		id    string
		after time.Duration
		from  time.Time
	}{{"f1.cost", 10 * time.Hour, feb}, {"f1.waiting", 30 * time.Hour, feb}, {"m1.skill", 50 * time.Hour, mar}} {
		n.clock.Set(r.from.Add(r.after))
		if _, err := n.svc.Resolve(ctx, "li", r.id, "done"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.svc.Investigate(ctx, "li", "m2.skill"); err != nil {
		t.Fatal(err)
	}
	n.clock.Set(mar.AddDate(0, 0, 20)) // m2 and m3 are past their deadline

	rep, err := n.svc.Report(ctx, survey.Period{})
	if err != nil {
		t.Fatal(err)
	}
	wantScores := []survey.ScoreRow{
		{Department: "internal-medicine", Month: "2026-02", Surveys: 2, Mean: map[string]float64{"skill": 4.5, "attitude": 4, "environment": 3.5, "cost": 3, "waiting": 2.5}},
		{Department: "internal-medicine", Month: "2026-03", Surveys: 3, Mean: map[string]float64{"skill": 1.67, "attitude": 5, "environment": 5, "cost": 5, "waiting": 5}},
		{Department: "surgery", Month: "2026-02", Surveys: 1, Mean: map[string]float64{"skill": 3, "attitude": 3, "environment": 3, "cost": 3, "waiting": 3}},
	}
	if !reflect.DeepEqual(rep.Scores, wantScores) {
		t.Errorf("scores\n got %+v\nwant %+v", rep.Scores, wantScores)
	}
	wantCases := []survey.CaseCount{
		{Department: "billing", Resolved: 1},
		{Department: "internal-medicine", Open: 1, Investigating: 1, Resolved: 1, Overdue: 2},
		{Department: "outpatient-office", Resolved: 1},
	}
	if !reflect.DeepEqual(rep.Cases, wantCases) {
		t.Errorf("cases\n got %+v\nwant %+v", rep.Cases, wantCases)
	}
	if want := (survey.Durations{Count: 3, MedianHours: 30, P90Hours: 50}); rep.Resolution != want {
		t.Errorf("resolution %+v, want %+v", rep.Resolution, want)
	}

	// March only.
	p, err := survey.ParsePeriod("2026-03-01", "2026-03-31", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	rep, err = n.svc.Report(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Scores) != 1 || rep.Scores[0].Month != "2026-03" || rep.Resolution.Count != 1 || len(rep.Cases) != 1 {
		t.Errorf("March report: %+v", rep)
	}
	// The last day is included whole.
	p, _ = survey.ParsePeriod("2026-02-01", "2026-02-10", time.UTC)
	if rep, _ = n.svc.Report(ctx, p); len(rep.Scores) != 2 {
		t.Errorf("report to 2026-02-10 misses that day: %+v", rep.Scores)
	}
	for _, bad := range [][2]string{{"2026-3-1", ""}, {"", "yesterday"}, {"2026-03-02", "2026-03-01"}} {
		if _, err := survey.ParsePeriod(bad[0], bad[1], time.UTC); !errors.Is(err, survey.ErrPeriod) {
			t.Errorf("period %v: %v", bad, err)
		}
	}
}

func TestPercentiles(t *testing.T) {
	n := newNode(t, "clinic1", newSealer(t))
	ctx := context.Background()
	// Ten cases resolved after 1..10 hours: median 5.5, p90 9.
	for i := 1; i <= 10; i++ {
		n.clock.Set(testStart)
		v := fmt.Sprintf("v%02d", i)
		if _, err := n.svc.Submit(ctx, "kiosk1", input(v, scores(5, 5, 5, 5, 1))); err != nil {
			t.Fatal(err)
		}
		n.clock.Set(testStart.Add(time.Duration(i) * time.Hour))
		if _, err := n.svc.Resolve(ctx, "li", v+".waiting", "ok"); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := n.svc.Report(ctx, survey.Period{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (survey.Durations{Count: 10, MedianHours: 5.5, P90Hours: 9}); rep.Resolution != want {
		t.Errorf("resolution %+v, want %+v", rep.Resolution, want)
	}
}

func TestQueueLink(t *testing.T) {
	n := newNode(t, "clinic1", nil)
	ctx := context.Background()
	m, err := n.svc.QueueLink(ctx, survey.Visit{ID: "appt-7", Patient: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Key != "survey/appt-7" || m.Kind != "survey_link" || m.Patient != "p1" || !m.NotBefore.Equal(testStart.Add(time.Hour)) ||
		!m.Expires.Equal(testStart.Add(72*time.Hour)) || !strings.Contains(m.Text["zh"], "visit=appt-7") ||
		!strings.Contains(m.Text["en"], "visit=appt-7") {
		t.Errorf("queued %+v", m)
	}
	if _, err := n.svc.QueueLink(ctx, survey.Visit{ID: "appt-7", Patient: "p1"}); err != nil {
		t.Fatal(err)
	}
	if len(n.queue.keys) != 1 {
		t.Errorf("queued %v", n.queue.keys)
	}
	if _, err := n.svc.QueueLink(ctx, survey.Visit{ID: "a b", Patient: "p1"}); !errors.Is(err, survey.ErrBadVisit) {
		t.Errorf("bad visit id: %v", err)
	}
}

func TestRouting(t *testing.T) {
	good := `{"departments":{"front":{"zh":"前台","en":"Front desk"}},"dimensions":{
		"skill":{"department":"@visit","zh":"a","en":"a"},"attitude":{"department":"@visit","zh":"a","en":"a"},
		"environment":{"department":"front","zh":"a","en":"a"},"cost":{"department":"front","zh":"a","en":"a"},
		"waiting":{"department":"front","zh":"a","en":"a"}}}`
	r, err := survey.ParseRouting([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if r.Department(survey.DimCost, "surgery") != "front" || r.Department(survey.DimSkill, "surgery") != "surgery" {
		t.Error("routing table misroutes")
	}
	for name, bad := range map[string]string{
		"missing dimension":  strings.Replace(good, `"waiting"`, `"parking"`, 1),
		"unknown department": strings.Replace(good, `"department":"front","zh":"a","en":"a"},"cost"`, `"department":"back","zh":"a","en":"a"},"cost"`, 1),
		"no english name":    strings.Replace(good, `"en":"Front desk"`, `"en":""`, 1),
		"unknown field":      strings.Replace(good, `"departments"`, `"depts":{},"departments"`, 1),
		"bad department id":  strings.Replace(strings.ReplaceAll(good, `"front"`, `"front desk"`), "", "", 1),
		"not json":           "routing",
	} {
		if _, err := survey.ParseRouting([]byte(bad)); !errors.Is(err, survey.ErrRouting) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := survey.ShippedRouting(); err != nil {
		t.Errorf("shipped routing: %v", err)
	}
}
