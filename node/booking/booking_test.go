package booking_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/node/booking"
	"carenode/node/care"
	"carenode/node/chart"
	"carenode/node/store"
)

func TestSlots(t *testing.T) {
	n := newNode(t, "clinic1")
	n.setUp(t, 0)
	day := func(d string) time.Time { return at(d, "00:00") }
	for _, tc := range []struct {
		name             string
		q                booking.SlotQuery
		count            int
		first, last      string
		capFirst, closed bool
	}{
		{"Monday, internal medicine", booking.SlotQuery{Department: "internal", From: day("2026-11-23"), To: day("2026-11-24")}, 18, "li.20261123.0800", "li.20261123.1140", false, false},
		{"Monday, Dr Wang", booking.SlotQuery{Doctor: "wang", From: day("2026-11-23"), To: day("2026-11-24")}, 6, "wang.20261123.0800", "wang.20261123.1030", false, false},
		{"Tuesday afternoon, Dr Wang", booking.SlotQuery{Doctor: "wang", From: at("2026-11-24", "12:00"), To: day("2026-11-25")}, 6, "wang.20261124.1400", "wang.20261124.1630", false, false},
		{"a week of surgery", booking.SlotQuery{Department: "surgery", From: day("2026-11-23"), To: day("2026-11-30")}, 2, "zhao.20261126.0900", "zhao.20261126.1000", false, false},
		{"the weekend", booking.SlotQuery{From: day("2026-11-28"), To: day("2026-11-30")}, 0, "", "", false, false},
		{"a clinic holiday", booking.SlotQuery{From: day("2026-12-31"), To: day("2027-01-01")}, 0, "", "", false, true},
		{"the day before it", booking.SlotQuery{From: day("2026-12-30"), To: day("2026-12-31")}, 18, "li.20261230.0800", "li.20261230.1140", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slots, err := n.svc.Slots(tc.q, monday)
			if err != nil {
				t.Fatal(err)
			}
			if len(slots) != tc.count {
				t.Fatalf("%d slots, want %d", len(slots), tc.count)
			}
			if tc.count == 0 {
				return
			}
			if slots[0].Key != tc.first || slots[len(slots)-1].Key != tc.last {
				t.Errorf("slots %s … %s, want %s … %s", slots[0].Key, slots[len(slots)-1].Key, tc.first, tc.last)
			}
			for _, sl := range slots {
				if sl.Free != sl.Capacity || sl.Booked != 0 || !sl.End.After(sl.Start) || sl.Start.Location().String() != "Asia/Shanghai" {
					t.Errorf("slot %+v", sl)
				}
			}
		})
	}
	if _, err := n.svc.Slots(booking.SlotQuery{From: day("2026-11-23"), To: day("2027-03-01")}, monday); err == nil {
		t.Error("a listing of over three months was not refused")
	}
}

func TestCatalogueRefusesBadInput(t *testing.T) {
	n := newNode(t, "clinic1")
	n.setUp(t, 0)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"department id with a dot", func() error {
			_, err := n.svc.PutDepartment(ctx, booking.Department{ID: "a.b", NameZh: "甲", NameEn: "A"})
			return err
		}()},
		{"department without an English name", func() error {
			_, err := n.svc.PutDepartment(ctx, booking.Department{ID: "eye", NameZh: "眼科"})
			return err
		}()},
		{"doctor in no department", func() error {
			_, err := n.svc.PutDoctor(ctx, booking.Doctor{ID: "sun", NameZh: "孙", NameEn: "Sun", Department: "nowhere"})
			return err
		}()},
		{"schedule on weekday 8", func() error {
			_, err := n.svc.AddSchedule(ctx, booking.Schedule{Doctor: "wang", Weekday: 8, Start: "08:00", End: "09:00", SlotMinutes: 15, Capacity: 1}, monday)
			return err
		}()},
		{"schedule ending before it starts", func() error {
			_, err := n.svc.AddSchedule(ctx, booking.Schedule{Doctor: "wang", Weekday: 6, Start: "10:00", End: "09:00", SlotMinutes: 15, Capacity: 1}, monday)
			return err
		}()},
		{"schedule at 25:00", func() error {
			_, err := n.svc.AddSchedule(ctx, booking.Schedule{Doctor: "wang", Weekday: 6, Start: "08:00", End: "25:00", SlotMinutes: 15, Capacity: 1}, monday)
			return err
		}()},
		{"schedule with no capacity", func() error {
			_, err := n.svc.AddSchedule(ctx, booking.Schedule{Doctor: "wang", Weekday: 6, Start: "08:00", End: "09:00", SlotMinutes: 15}, monday)
			return err
		}()},
		{"closure on 2026-02-30", func() error {
			_, err := n.svc.PutClosure(ctx, booking.Closure{Date: "2026-02-30", Active: true})
			return err
		}()},
	} {
		if tc.err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		var be *booking.Error
		if !errors.As(tc.err, &be) || be.Zh == "" || be.En == "" {
			t.Errorf("%s: %v is not a bilingual refusal", tc.name, tc.err)
		}
	}
	// Nothing refused was stored.
	sch, err := n.svc.Schedules()
	if err != nil {
		t.Fatal(err)
	}
	if len(sch) != 10 {
		t.Errorf("%d schedules, want the 10 of testdata/clinic.json", len(sch))
	}
}

func TestBookCancelMoveKeepHistory(t *testing.T) {
	n := newNode(t, "clinic1")
	n.setUp(t, 4)
	ctx := context.Background()
	slot := "wang.20261125.0830" // Wednesday, two places
	a1 := book(t, n, "p01", slot, monday)
	if a1.Status != booking.StatusBooked || a1.Channel != booking.ChannelDesk || a1.BookedBy != "desk1" ||
		!a1.Start.Equal(at("2026-11-25", "08:30")) || !a1.End.Equal(at("2026-11-25", "09:00")) || a1.Department != "internal" {
		t.Fatalf("booked %+v", a1)
	}
	a2, err := n.svc.Book(ctx, kiosk, booking.BookInput{Patient: "p02", Slot: slot, Channel: booking.ChannelAPI}, monday)
	if err != nil {
		t.Fatal(err)
	}
	if a2.Channel != booking.ChannelKiosk {
		t.Errorf("a kiosk's booking recorded channel %q", a2.Channel)
	}
	_, err = n.svc.Book(ctx, desk, booking.BookInput{Patient: "p03", Slot: slot}, monday)
	wantErr(t, err, booking.ErrFull)
	_, err = n.svc.Book(ctx, desk, booking.BookInput{Patient: "p01", Slot: slot, Overbook: true}, monday)
	wantErr(t, err, booking.ErrState) // p01 is already in it
	for _, bad := range []booking.BookInput{
		{Patient: "nobody", Slot: slot},
		{Patient: "p03", Slot: "wang.20261128.0830"}, // Saturday: no schedule
		{Patient: "p03", Slot: "wang.2026112.0830"},
		{Patient: "p03", Slot: "li.20261123.0640"}, // not on the grid
		{Patient: "p03", Slot: slot, Channel: "fax"},
	} {
		if _, err := n.svc.Book(ctx, desk, bad, monday); err == nil {
			t.Errorf("booking %+v accepted", bad)
		}
	}
	_, err = n.svc.Book(ctx, desk, booking.BookInput{Patient: "p03", Slot: "li.20261123.0800"}, at("2026-11-23", "08:05"))
	wantErr(t, err, booking.ErrInvalid) // already begun
	over, err := n.svc.Book(ctx, desk, booking.BookInput{Patient: "p03", Slot: slot, Overbook: true}, monday)
	if err != nil {
		t.Fatalf("the desk could not over-book on purpose: %v", err)
	}

	// Cancelling frees a place.
	if _, err := n.svc.Cancel(ctx, desk, over.ID, "患者改期", monday); err != nil {
		t.Fatal(err)
	}
	_, err = n.svc.Cancel(ctx, desk, over.ID, "", monday)
	wantErr(t, err, booking.ErrState)
	if _, err := n.svc.Cancel(ctx, desk, over.ID+"x", "", monday); err == nil {
		t.Error("cancelled an appointment that does not exist")
	}
	slots, err := n.svc.Slots(booking.SlotQuery{Doctor: "wang", From: at("2026-11-25", "08:30"), To: at("2026-11-25", "09:00")}, monday)
	if err != nil || len(slots) != 1 || slots[0].Booked != 2 || slots[0].Free != 0 {
		t.Fatalf("slot after a cancel: %+v %v", slots, err)
	}

	// Moving keeps the history, and the old slot gets the place back.
	moved, err := n.svc.Reschedule(ctx, desk, a1.ID, booking.RescheduleInput{Slot: "li.20261126.0900", Reason: "想看李医生"}, monday.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if moved.Doctor != "li" || moved.Slot != "li.20261126.0900" || !moved.Start.Equal(at("2026-11-26", "09:00")) || moved.Status != booking.StatusBooked {
		t.Fatalf("moved %+v", moved)
	}
	kinds := []string{}
	for _, e := range moved.History {
		kinds = append(kinds, e.Kind)
	}
	if !slices.Equal(kinds, []string{booking.EventBooked, booking.EventRescheduled}) || moved.History[1].From != slot || moved.History[1].Reason != "想看李医生" {
		t.Errorf("history %+v", moved.History)
	}
	_, err = n.svc.Reschedule(ctx, desk, over.ID, booking.RescheduleInput{Slot: "li.20261126.0920"}, monday)
	wantErr(t, err, booking.ErrState) // cancelled
	slots, _ = n.svc.Slots(booking.SlotQuery{Doctor: "wang", From: at("2026-11-25", "08:30"), To: at("2026-11-25", "09:00")}, monday)
	if slots[0].Booked != 1 {
		t.Errorf("old slot still counts the moved booking: %+v", slots[0])
	}

	list, err := n.svc.Appointments(booking.ListQuery{Patient: "p01"})
	if err != nil || len(list) != 1 || list[0].ID != a1.ID {
		t.Fatalf("p01's appointments: %+v %v", list, err)
	}
	list, err = n.svc.Appointments(booking.ListQuery{Day: "2026-11-25"})
	if err != nil || len(list) != 2 { // a2 and the cancelled one
		t.Fatalf("Wednesday: %+v %v", list, err)
	}
	list, _ = n.svc.Appointments(booking.ListQuery{Day: "2026-11-25", Status: booking.StatusBooked})
	if len(list) != 1 || list[0].ID != a2.ID {
		t.Errorf("Wednesday, booked: %+v", list)
	}

	// A fresh service on the same store reads the same state back.
	again := startNode(t, n.store, n.id)
	got, err := again.svc.Appointment(a1.ID)
	if err != nil || got.Slot != moved.Slot || len(got.History) != 2 {
		t.Errorf("after restart: %+v %v", got, err)
	}
}

func TestCheckIn(t *testing.T) {
	n := newNode(t, "clinic1")
	n.setUp(t, 3)
	ctx := context.Background()
	a := book(t, n, "p01", "wang.20261125.0830", monday)
	b := book(t, n, "p02", "wang.20261125.0900", monday)
	c := book(t, n, "p03", "wang.20261125.0930", monday)
	if _, err := n.svc.Cancel(ctx, desk, c.ID, "", monday); err != nil {
		t.Fatal(err)
	}
	_, err := n.svc.CheckIn(ctx, kiosk, a.ID, at("2026-11-24", "08:00"))
	wantErr(t, err, booking.ErrState) // the day before
	wed := at("2026-11-25", "08:10")
	got, err := n.svc.CheckIn(ctx, kiosk, a.ID, wed)
	if err != nil || got.Status != booking.StatusCheckedIn {
		t.Fatalf("check in: %+v %v", got, err)
	}
	if e := got.History[len(got.History)-1]; e.Kind != booking.EventCheckedIn || e.Channel != booking.ChannelKiosk || !e.At.Equal(wed) {
		t.Errorf("check-in event %+v", e)
	}
	if again, err := n.svc.CheckIn(ctx, kiosk, a.ID, wed); err != nil || len(again.History) != len(got.History) {
		t.Errorf("a second tap: %+v %v", again, err)
	}
	got, err = n.svc.CheckInPatient(ctx, kiosk, "p02", wed)
	if err != nil || got.ID != b.ID || got.Status != booking.StatusCheckedIn {
		t.Fatalf("check in by patient: %+v %v", got, err)
	}
	_, err = n.svc.CheckInPatient(ctx, kiosk, "p03", wed)
	wantErr(t, err, booking.ErrNotFound) // cancelled: nothing today
	_, err = n.svc.CheckIn(ctx, kiosk, c.ID, wed)
	wantErr(t, err, booking.ErrState)
}

func TestNoShows(t *testing.T) {
	n := newNode(t, "clinic1")
	n.setUp(t, 3)
	ctx := context.Background()
	a := book(t, n, "p01", "wang.20261125.0830", monday)
	b := book(t, n, "p02", "wang.20261125.0900", monday)
	c := book(t, n, "p03", "wang.20261127.0900", monday) // Friday
	if _, err := n.svc.CheckIn(ctx, desk, b.ID, at("2026-11-25", "08:55")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		now  time.Time
		want int
	}{
		{at("2026-11-25", "23:59"), 0}, // the day has not ended
		{at("2026-11-26", "00:00"), 1},
		{at("2026-11-26", "00:10"), 0}, // idempotent
		{at("2026-11-27", "12:00"), 0}, // Friday's has not ended
		{at("2026-11-28", "06:00"), 1},
	} {
		got, err := n.svc.MarkNoShows(ctx, tc.now)
		if err != nil || got != tc.want {
			t.Errorf("at %s: marked %d (%v), want %d", tc.now, got, err, tc.want)
		}
	}
	for id, want := range map[string]booking.Status{a.ID: booking.StatusNoShow, b.ID: booking.StatusCheckedIn, c.ID: booking.StatusNoShow} {
		got, err := n.svc.Appointment(id)
		if err != nil || got.Status != want {
			t.Errorf("%s: %s %v, want %s", id, got.Status, err, want)
		}
	}
	// A no-show cannot be moved or checked in afterwards.
	_, err := n.svc.Reschedule(ctx, desk, a.ID, booking.RescheduleInput{Slot: "wang.20261130.0800"}, at("2026-11-28", "06:00"))
	wantErr(t, err, booking.ErrState)
}

func TestRemindersAreKeyedExpireAndGoStale(t *testing.T) {
	n := newNode(t, "clinic1")
	n.setUp(t, 2)
	ctx := context.Background()
	a := book(t, n, "p01", "wang.20261125.0830", monday)
	start := at("2026-11-25", "08:30")
	dayKey := booking.ReminderKey(a.ID, start, booking.ReminderDayBefore)
	twoKey := booking.ReminderKey(a.ID, start, booking.ReminderTwoHours)
	if len(n.queue.msgs) != 2 {
		t.Fatalf("queued %v", n.queue.msgs)
	}
	for key, notBefore := range map[string]time.Time{dayKey: start.Add(-24 * time.Hour), twoKey: start.Add(-2 * time.Hour)} {
		m, ok := n.queue.msgs[key]
		if !ok {
			t.Fatalf("no message %s in %v", key, n.queue.msgs)
		}
		if m.Patient != "p01" || m.Kind != "reminder" || !m.NotBefore.Equal(notBefore) || !m.Expires.Equal(start) ||
			m.About != "appointments/"+a.ID || !strings.Contains(m.Text["zh"], "王建国") || !strings.Contains(m.Text["zh"], "08:30") ||
			!strings.Contains(m.Text["en"], "Wang Jianguo") || !strings.Contains(m.Text["zh"], "青山卫生院") {
			t.Errorf("message %+v", m)
		}
		if !n.svc.ReminderWanted(m) {
			t.Errorf("%s not wanted while booked", key)
		}
	}
	// Moving queues new keys; the old ones are stale.
	moved, err := n.svc.Reschedule(ctx, desk, a.ID, booking.RescheduleInput{Slot: "wang.20261127.1000"}, monday)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.queue.msgs) != 4 {
		t.Fatalf("after a move: %d messages", len(n.queue.msgs))
	}
	if n.svc.ReminderWanted(n.queue.msgs[dayKey]) || n.svc.ReminderWanted(n.queue.msgs[twoKey]) {
		t.Error("the old time's reminders are still wanted")
	}
	newKey := booking.ReminderKey(a.ID, moved.Start, booking.ReminderTwoHours)
	if !n.svc.ReminderWanted(n.queue.msgs[newKey]) {
		t.Error("the new time's reminder is not wanted")
	}
	if _, err := n.svc.Cancel(ctx, desk, a.ID, "", monday); err != nil {
		t.Fatal(err)
	}
	if n.svc.ReminderWanted(n.queue.msgs[newKey]) {
		t.Error("a cancelled appointment's reminder is still wanted")
	}
	// Booked less than a day ahead: only the two-hour reminder; less than
	// two hours: none.
	b := book(t, n, "p02", "li.20261123.1000", monday)
	if _, ok := n.queue.msgs[booking.ReminderKey(b.ID, b.Start, booking.ReminderTwoHours)]; !ok || len(n.queue.msgs) != 5 {
		t.Errorf("same-day booking queued %d", len(n.queue.msgs))
	}
	book(t, n, "p02", "li.20261123.1100", at("2026-11-23", "09:30"))
	if len(n.queue.msgs) != 5 {
		t.Errorf("a booking 90 minutes ahead queued a reminder")
	}
}

func TestBehaviourAndRecommendation(t *testing.T) {
	n := newNode(t, "clinic1")
	n.setUp(t, 3)
	ctx := context.Background()
	// p01 came to Dr Wang on three Monday mornings, once to Dr Li on a
	// Wednesday, and missed once.
	history := []struct {
		slot, day string
		come      bool
	}{
		{"wang.20261102.0800", "2026-11-02", true},
		{"wang.20261109.0900", "2026-11-09", true},
		{"li.20261111.0800", "2026-11-11", true},
		{"wang.20261116.0830", "2026-11-16", false},
		{"wang.20261120.0830", "2026-11-20", true}, // a Friday
	}
	for _, h := range history {
		bookedAt := at(h.day, "07:00").AddDate(0, 0, -3)
		a := book(t, n, "p01", h.slot, bookedAt)
		if h.come {
			if _, err := n.svc.CheckIn(ctx, desk, a.ID, at(h.day, "07:50")); err != nil {
				t.Fatal(err)
			}
		}
	}
	cancelled := book(t, n, "p01", "li.20261124.0800", at("2026-11-16", "09:00"))
	if _, err := n.svc.Cancel(ctx, desk, cancelled.ID, "", at("2026-11-16", "09:00")); err != nil {
		t.Fatal(err)
	}
	if _, err := n.svc.MarkNoShows(ctx, monday); err != nil {
		t.Fatal(err)
	}
	b, err := n.svc.Behaviour("p01", monday)
	if err != nil {
		t.Fatal(err)
	}
	want := booking.Behaviour{Patient: "p01", Attended: 4, Missed: 1, Cancelled: 1, MissedRate: 0.2,
		MissedDates: []string{"2026-11-16"}, UsualDoctor: "wang", UsualWeekdays: []int{1}, UsualPeriod: booking.PeriodMorning}
	if !equalJSON(b, want) {
		t.Errorf("behaviour\n got %+v\nwant %+v", b, want)
	}
	// The chart's auto-tag rule reads the missed dates.
	missed, err := n.svc.MissedAppointments("p01")
	if err != nil || !slices.Equal(missed, []string{"2026-11-16"}) {
		t.Errorf("missed appointments %v %v", missed, err)
	}
	rules := []care.TagRule{{Tag: "often-missed", TagZh: "易失约", Kind: care.KindMissedAppointments, Args: care.RuleArgs{Count: 1, Days: 30}}}
	if tags := care.Evaluate(rules, care.PatientFacts{BirthDate: "1950-01-01", MissedAppointments: missed}, monday); !slices.Equal(tags, []string{"often-missed"}) {
		t.Errorf("auto-tags %v", tags)
	}

	// Fill Dr Wang's first Monday slots so the habit-fitting one is later.
	for _, s := range []string{"wang.20261123.0800", "wang.20261123.0830"} {
		book(t, n, "p02", s, monday)
		book(t, n, "p03", s, monday)
	}
	recs, err := n.svc.Recommend("p01", "internal", monday)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{}
	for _, r := range recs {
		keys = append(keys, r.Slot.Key)
		for _, why := range r.Reasons {
			if why.En == "" || why.Zh == "" {
				t.Errorf("reason without both languages: %+v", why)
			}
		}
	}
	// Best fit and earliest with Dr Wang are one slot (Monday 09:00); the
	// earliest of all is Dr Li's 08:00 today.
	if !slices.Equal(keys, []string{"wang.20261123.0900", "li.20261123.0800"}) {
		t.Fatalf("recommended %v", keys)
	}
	if got := codes(recs[0]); !slices.Equal(got, []string{"usual_doctor", "usual_weekday", "usual_time", "earliest_with_doctor"}) {
		t.Errorf("first reasons %v", got)
	}
	if got := codes(recs[1]); !slices.Equal(got, []string{"usual_weekday", "usual_time", "earliest"}) {
		t.Errorf("second reasons %v", got)
	}
	// On Tuesday afternoon the earliest with Dr Wang (and of all) is his
	// Tuesday clinic, but the habit fit is next Monday morning.
	recs, err = n.svc.Recommend("p01", "", at("2026-11-24", "12:00"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Slot.Key != "wang.20261130.0800" || recs[1].Slot.Key != "wang.20261124.1400" ||
		!slices.Equal(codes(recs[1]), []string{"usual_doctor", "earliest_with_doctor", "earliest"}) {
		t.Errorf("Tuesday recommendations %+v", recs)
	}

	// No history: the earliest slot, saying so.
	addPatient(t, n.store, "p09")
	recs, err = n.svc.Recommend("p09", "surgery", monday)
	if err != nil || len(recs) != 1 || recs[0].Slot.Key != "zhao.20261126.0900" || !slices.Equal(codes(recs[0]), []string{"no_history", "earliest"}) {
		t.Errorf("no history: %+v %v", recs, err)
	}
	_, err = n.svc.Recommend("nobody", "", monday)
	wantErr(t, err, booking.ErrNotFound)
}

func codes(r booking.Recommendation) []string {
	var out []string
	for _, why := range r.Reasons {
		out = append(out, why.Code)
	}
	return out
}

func TestPatientsBooked(t *testing.T) {
	n := newNode(t, "clinic1")
	n.setUp(t, 5)
	ctx := context.Background()
	book(t, n, "p01", "li.20261123.0800", monday) // today
	book(t, n, "p02", "li.20261124.1140", monday) // tomorrow, last slot
	book(t, n, "p03", "li.20261125.0800", monday) // the day after
	c := book(t, n, "p04", "li.20261123.0820", monday)
	if _, err := n.svc.Cancel(ctx, desk, c.ID, "", monday); err != nil {
		t.Fatal(err)
	}
	book(t, n, "p05", "wang.20261123.0800", monday)
	if _, err := n.svc.MarkNoShows(ctx, at("2026-11-24", "00:01")); err != nil { // p05 and p01 missed Monday
		t.Fatal(err)
	}
	today := at("2026-11-23", "00:00")
	got, err := n.svc.PatientsBooked(today, today.AddDate(0, 0, 2))
	if err != nil {
		t.Fatal(err)
	}
	if !equalJSON(got, map[string]bool{"p01": true, "p02": true, "p05": true}) {
		t.Errorf("today and tomorrow: %v", got)
	}
	got, _ = n.svc.PatientsBooked(at("2026-11-24", "11:40"), at("2026-11-24", "11:41"))
	if !equalJSON(got, map[string]bool{"p02": true}) {
		t.Errorf("one minute: %v", got)
	}
}

// TestAppointmentsOf: every appointment of the patients asked for, past,
// future and cancelled alike (what a nurse laptop holds), none of others.
func TestAppointmentsOf(t *testing.T) {
	n := newNode(t, "clinic1")
	n.setUp(t, 4)
	a1 := book(t, n, "p01", "li.20261123.0800", monday)
	a2 := book(t, n, "p01", "li.20261125.0800", monday)
	a3 := book(t, n, "p02", "li.20261123.0820", monday)
	if _, err := n.svc.Cancel(context.Background(), desk, a3.ID, "", monday); err != nil {
		t.Fatal(err)
	}
	book(t, n, "p03", "wang.20261123.0800", monday)
	got, err := n.svc.AppointmentsOf(map[string]bool{"p01": true, "p02": true, "p09": true})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]bool{a1.ID: true, a2.ID: true, a3.ID: true}; !equalJSON(got, want) {
		t.Errorf("appointments of p01, p02 and p09: %v, want %v", got, want)
	}
	if got, err := n.svc.AppointmentsOf(nil); err != nil || len(got) != 0 {
		t.Errorf("appointments of no one: %v %v", got, err)
	}
}

func TestMergedPatientKeepsTheirAppointments(t *testing.T) {
	n := newNode(t, "clinic1")
	n.setUp(t, 2)
	ctx := context.Background()
	// p02 was registered twice; its history sits under both ids.
	old := book(t, n, "p02", "wang.20261125.0830", monday)
	if _, err := n.svc.CheckIn(ctx, desk, old.ID, at("2026-11-25", "08:20")); err != nil {
		t.Fatal(err)
	}
	if _, err := n.store.Write(ctx, store.WriteRequest{Collection: chart.Collection, Record: "p02",
		Edits: []store.Edit{{Kind: crdt.MutMerge, Into: "p01"}}}); err != nil {
		t.Fatal(err)
	}
	// Booking the merged-away id books the survivor.
	a := book(t, n, "p02", "wang.20261130.0800", at("2026-11-26", "09:00"))
	if a.Patient != "p01" {
		t.Errorf("booked for %s, want the survivor p01", a.Patient)
	}
	b, err := n.svc.Behaviour("p01", at("2026-11-26", "09:00"))
	if err != nil || b.Attended != 1 || b.Upcoming != 1 || b.UsualDoctor != "wang" {
		t.Errorf("behaviour of the survivor: %+v %v", b, err)
	}
	got, err := n.svc.CheckInPatient(ctx, kiosk, "p01", at("2026-11-30", "07:45"))
	if err != nil || got.ID != a.ID {
		t.Errorf("check in the survivor: %+v %v", got, err)
	}
}

func TestRunMarksNoShowsUntilStopped(t *testing.T) {
	n := newNode(t, "clinic1")
	n.setUp(t, 1)
	a := book(t, n, "p01", "wang.20261125.0830", monday)
	cfg := booking.DefaultConfig()
	cfg.Records, cfg.Node = n.store, "clinic1"
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Now = func() time.Time { return at("2026-11-26", "01:00") }
	svc, err := booking.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	written := make(chan struct{}, 1)
	stop := n.store.Watch(func(ch []store.Changed) {
		for _, c := range ch {
			if c.Collection == booking.CollAppointments && c.Record == a.ID {
				select {
				case written <- struct{}{}:
				default:
				}
			}
		}
	})
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.Run(ctx, time.Hour); close(done) }()
	// The first pass runs at once.
	select {
	case <-written:
	case <-time.After(time.Minute): // a hang guard, not a timing target
		t.Fatal("Run wrote nothing")
	}
	cancel()
	<-done
	got, err := n.svc.Appointment(a.ID)
	if err != nil || got.Status != booking.StatusNoShow {
		t.Errorf("after Run: %+v %v", got, err)
	}
}

func TestOneNodeNeverOverBooksUnderConcurrentRequests(t *testing.T) {
	n := newNode(t, "clinic1")
	n.setUp(t, 8)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = n.svc.Book(context.Background(), kiosk, booking.BookInput{Patient: patientID(i + 1), Slot: "zhao.20261126.0900"}, monday)
		})
	}
	wg.Wait()
	ok, full := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, booking.ErrFull):
			full++
		default:
			t.Errorf("unexpected %v", err)
		}
	}
	if ok != 1 || full != 7 {
		t.Errorf("%d booked, %d refused as full; want 1 and 7", ok, full)
	}
	if cs, err := n.svc.Conflicts(monday); err != nil || len(cs) != 0 {
		t.Errorf("conflicts %+v %v", cs, err)
	}
}
