package testclock

import (
	"sync"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	start := time.Date(2026, time.November, 23, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		move func(c *Clock)
		want time.Time
	}{
		{"stands still", func(*Clock) {}, start},
		{"advance", func(c *Clock) { c.Advance(90 * time.Minute) }, start.Add(90 * time.Minute)},
		{"advance twice", func(c *Clock) { c.Advance(time.Hour); c.Advance(time.Second) }, start.Add(time.Hour + time.Second)},
		{"advance backwards", func(c *Clock) { c.Advance(-24 * time.Hour) }, start.Add(-24 * time.Hour)},
		{"set", func(c *Clock) { c.Set(start.AddDate(0, 1, 0)) }, start.AddDate(0, 1, 0)},
		{"set then advance", func(c *Clock) { c.Set(start.AddDate(1, 0, 0)); c.Advance(time.Minute) }, start.AddDate(1, 0, 0).Add(time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(start)
			tc.move(c)
			if got := c.Now(); !got.Equal(tc.want) {
				t.Errorf("Now() = %s, want %s", got, tc.want)
			}
			if got := c.Now(); !got.Equal(tc.want) {
				t.Errorf("second Now() = %s, want %s: reading moved the clock", got, tc.want)
			}
		})
	}
}

func TestZeroClock(t *testing.T) {
	var c Clock
	if got := c.Now(); !got.IsZero() {
		t.Errorf("zero Clock reads %s", got)
	}
	c.Advance(time.Second)
	if got, want := c.Now(), (time.Time{}).Add(time.Second); !got.Equal(want) {
		t.Errorf("after Advance: %s, want %s", got, want)
	}
}

func TestClockLocation(t *testing.T) {
	loc := time.FixedZone("CST", 8*60*60)
	c := New(time.Date(2026, time.November, 23, 8, 0, 0, 0, loc))
	c.Advance(time.Hour)
	if got := c.Now(); got.Location() != loc || got.Hour() != 9 {
		t.Errorf("Now() = %s, want 09:00 in %s", got, loc)
	}
}

func TestClockConcurrent(t *testing.T) {
	c := New(time.Time{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				c.Advance(time.Millisecond)
				_ = c.Now()
			}
		}()
	}
	wg.Wait()
	if got, want := c.Now(), (time.Time{}).Add(8*time.Second); !got.Equal(want) {
		t.Errorf("after concurrent advances: %s, want %s", got, want)
	}
}
