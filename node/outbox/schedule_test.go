package outbox

import (
	"testing"
	"time"
)

func TestQuietUntil(t *testing.T) {
	sh := time.FixedZone("CST", 8*3600)
	d := func(day, h, m int) time.Time { return time.Date(2026, 3, 10+day, h, m, 0, 0, sh) }
	h := time.Hour
	for _, tc := range []struct {
		name       string
		start, end time.Duration
		t, want    time.Time
	}{
		{"day time is not quiet", 20 * h, 8 * h, d(0, 12, 0), d(0, 12, 0)},
		{"quiet starts at 20:00", 20 * h, 8 * h, d(0, 20, 0), d(1, 8, 0)},
		{"19:59 is not quiet", 20 * h, 8 * h, d(0, 19, 59), d(0, 19, 59)},
		{"after midnight", 20 * h, 8 * h, d(1, 3, 0), d(1, 8, 0)},
		{"ends at 08:00", 20 * h, 8 * h, d(1, 8, 0), d(1, 8, 0)},
		{"a UTC time is judged in clinic time", 20 * h, 8 * h, time.Date(2026, 3, 10, 13, 0, 0, 0, time.UTC), d(1, 8, 0)},
		{"within one day", 12 * h, 14 * h, d(0, 13, 0), d(0, 14, 0)},
		{"before a midday window", 12 * h, 14 * h, d(0, 11, 0), d(0, 11, 0)},
		{"no quiet hours", 8 * h, 8 * h, d(0, 23, 0), d(0, 23, 0)},
		{"half hours", 21*h + 30*time.Minute, 7*h + 30*time.Minute, d(0, 22, 0), d(1, 7, 30)},
	} {
		if got := quietUntil(tc.t, tc.start, tc.end, sh); !got.Equal(tc.want) {
			t.Errorf("%s: quietUntil(%s) = %s, want %s", tc.name, tc.t, got, tc.want)
		}
	}
}

// Quiet hours are wall-clock hours: on the night clocks go forward, the
// end is still 08:00.
func TestQuietUntilAcrossDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	got := quietUntil(time.Date(2026, 3, 7, 22, 0, 0, 0, ny), 20*time.Hour, 8*time.Hour, ny)
	if want := time.Date(2026, 3, 8, 8, 0, 0, 0, ny); !got.Equal(want) || got.Hour() != 8 {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute,
		6: 32 * time.Minute, 7: time.Hour, 50: time.Hour} {
		if got := backoff(n, time.Minute, time.Hour); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
}
