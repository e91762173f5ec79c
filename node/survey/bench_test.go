package survey_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"carenode/internal/testclock"
	"carenode/node/store"
	"carenode/node/survey"
)

// BenchmarkReport measures a satisfaction report over a year of a busy
// clinic's surveys (n surveys over 12 months and 4 departments, one in
// five opening cases), computed by scanning the records.
func BenchmarkReport(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("surveys=%d", n), func(b *testing.B) {
			c := testclock.New(time.Date(2025, time.January, 1, 9, 0, 0, 0, time.UTC))
			opts := store.DefaultOptions(filepath.Join(b.TempDir(), "carenode.db"), "bench")
			opts.Create, opts.NoSync, opts.Now = true, true, c.Now
			opts.Logger = slog.New(slog.DiscardHandler)
			st, err := store.Open(opts)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			cfg := survey.DefaultConfig(st)
			cfg.Now, cfg.Location, cfg.Logger = c.Now, time.UTC, slog.New(slog.DiscardHandler)
			svc, err := survey.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			depts := []string{"internal-medicine", "surgery", "pediatrics", "gynecology"}
			step := 365 * 24 * time.Hour / time.Duration(n)
			for i := range n {
				c.Advance(step)
				in := input(fmt.Sprintf("v%06d", i), scores(4, 5, 3+i%3, 3, 4))
				if i%5 == 0 {
					in.Scores[survey.DimWaiting] = 1 + i%2
				}
				in.Department = depts[i%len(depts)]
				if _, err := svc.Submit(ctx, "kiosk", in); err != nil {
					b.Fatal(err)
				}
				if i%10 == 0 {
					if _, err := svc.Investigate(ctx, "desk", survey.CaseID(in.Visit, survey.DimWaiting)); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ResetTimer()
			for b.Loop() {
				rep, err := svc.Report(ctx, survey.Period{})
				if err != nil {
					b.Fatal(err)
				}
				total := 0
				for _, r := range rep.Scores {
					total += r.Surveys
				}
				if total != n {
					b.Fatalf("the report counts %d surveys, want %d", total, n)
				}
			}
		})
	}
}
