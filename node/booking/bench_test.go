package booking

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"carenode/node/store"
)

// benchClinic is a store with 20 doctors (Monday to Friday, 08:00-17:00,
// 15-minute slots of two places) and n appointments filling their slots
// from Monday 2 November 2026 on, written in batches as sync would bring
// them in.
func benchClinic(b *testing.B, n int) (*store.Store, Config, time.Time) {
	b.Helper()
	opts := store.DefaultOptions(filepath.Join(b.TempDir(), "bench.db"), "bench")
	opts.Create, opts.NoSync = true, true
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	cfg := DefaultConfig()
	cfg.Records, cfg.Node, cfg.Logger = st, "bench", opts.Logger
	svc, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	ctx := context.Background()
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, cfg.Location)
	if _, err := svc.PutDepartment(ctx, Department{ID: "internal", NameZh: "内科", NameEn: "Internal medicine"}); err != nil {
		b.Fatal(err)
	}
	for d := range 20 {
		doc := fmt.Sprintf("doc%02d", d)
		if _, err := svc.PutDoctor(ctx, Doctor{ID: doc, NameZh: "医生", NameEn: "Doctor", Department: "internal"}); err != nil {
			b.Fatal(err)
		}
		for wd := 1; wd <= 5; wd++ {
			if _, err := svc.AddSchedule(ctx, Schedule{Doctor: doc, Weekday: wd, Start: "08:00", End: "17:00", SlotMinutes: 15, Capacity: 2}, start); err != nil {
				b.Fatal(err)
			}
		}
	}
	c, err := svc.catalog()
	if err != nil {
		b.Fatal(err)
	}
	slots := svc.slotsIn(c, SlotQuery{From: start, To: start.AddDate(1, 0, 0)})
	var batch []store.WriteRequest
	for i := range n {
		sl := slots[i/2]
		id := fmt.Sprintf("a%07d", i)
		edits := append(placeEdits(sl), set("patient", fmt.Sprintf("p%06d", i%40000)), set("channel", ChannelDesk),
			set("bookedBy", "desk"), event(Event{ID: "booked", Kind: EventBooked, At: start, By: "desk", Channel: ChannelDesk, Slot: sl.Key}))
		batch = append(batch, store.WriteRequest{Collection: CollAppointments, Record: id, Create: true, Edits: edits})
		if len(batch) == 1000 || i == n-1 {
			if _, err := st.WriteAll(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return st, cfg, start
}

// BenchmarkBooking measures, with 100,000 appointments: opening the
// service (reading them all into the index), the kiosk scope for two
// days, a week of a department's slots, the over-booking list, and one
// day's list. Figures: docs/BENCHMARKS.md.
func BenchmarkBooking(b *testing.B) {
	const n = 100_000
	_, cfg, start := benchClinic(b, n)
	b.Run("open", func(b *testing.B) {
		for b.Loop() {
			svc, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			svc.Close()
		}
	})
	svc, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	day := start.AddDate(0, 0, 30)
	b.Run("PatientsBooked-2days", func(b *testing.B) {
		for b.Loop() {
			got, err := svc.PatientsBooked(day, day.AddDate(0, 0, 2))
			if err != nil || len(got) == 0 {
				b.Fatal(len(got), err)
			}
		}
	})
	b.Run("Slots-week-department", func(b *testing.B) {
		for b.Loop() {
			got, err := svc.Slots(SlotQuery{Department: "internal", From: day, To: day.AddDate(0, 0, 7)}, start)
			if err != nil || len(got) == 0 {
				b.Fatal(len(got), err)
			}
		}
	})
	b.Run("Conflicts", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.Conflicts(start); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Appointments-day", func(b *testing.B) {
		q := ListQuery{Day: day.Format(time.DateOnly)}
		for b.Loop() {
			got, err := svc.Appointments(q)
			if err != nil || len(got) == 0 {
				b.Fatal(len(got), err)
			}
		}
	})
}
