package chart_test

import (
	"context"
	"errors"
	"testing"
	"unicode/utf8"

	"carenode/node/care"
	"carenode/node/chart"
)

// FuzzUpdate lays outside bytes (a PATCH body) over a stored chart: the
// service must answer with a chart or an error a clerk can read, never
// panic, and a refused body must leave the chart as it was.
func FuzzUpdate(f *testing.F) {
	for _, s := range []string{
		`{"address":"云南省昆明市"}`,
		`{"phones":["138 0013 8000","0871-61234567"]}`,
		`{"name":"欧阳 娜娜","sex":"女","maritalStatus":"已婚"}`,
		`{"emergencyContacts":[{"name":"李四","phone":"13912345678"}]}`,
		`{"phones":null}`, `{"birthDate":"1990-02-30"}`, `{"idNumber":"12345"}`, `{"name":5}`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	n := newNode(f, "fuzz1", newSealer(f), chart.Config{})
	r := register(f, n.svc, care.PatientInput{Name: "张三", Sex: "male", BirthDate: "1980-01-01", Phones: []string{"13800138000"}})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, body []byte) {
		before, err := n.svc.Get(ctx, admin, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		p, err := n.svc.Update(ctx, desk, r.ID, body, "")
		if err != nil {
			var ve *care.ValidationError
			if !errors.As(err, &ve) && !errors.Is(err, chart.ErrBadRequest) {
				t.Fatalf("Update(%q) = %v (%T), want a validation error", body, err, err)
			}
			after, _ := n.svc.Get(ctx, admin, r.ID)
			if after.Version != before.Version {
				t.Fatalf("refused body %q changed the chart", body)
			}
			return
		}
		if p.Name == "" || !utf8.ValidString(p.Name) {
			t.Fatalf("Update(%q) stored name %q", body, p.Name)
		}
		if err := p.PatientInput.Validate(testToday.AddDate(1, 0, 0)); err != nil {
			t.Fatalf("Update(%q) stored an invalid chart: %v", body, err)
		}
	})
}

// FuzzSearch: any query returns quickly with charts the index holds, and
// never panics.
func FuzzSearch(f *testing.F) {
	for _, s := range []string{"张三", "zhangsan", "zs", "5678", "13812345678", "110101195003150013", "z", "", "张 三", "zhang'san", "\xff"} {
		f.Add(s)
	}
	n := newNode(f, "fuzz1", newSealer(f), chart.Config{})
	ids := map[string]bool{}
	for _, name := range []string{"张三", "张三丰", "欧阳娜娜", "曾小贤"} {
		ids[register(f, n.svc, care.PatientInput{Name: name, Sex: "male", BirthDate: "1980-01-01"}).ID] = true
	}
	f.Fuzz(func(t *testing.T, q string) {
		res, err := n.svc.Search(desk, q, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range res {
			if !ids[s.ID] {
				t.Fatalf("Search(%q) returned unknown id %s", q, s.ID)
			}
		}
	})
}
