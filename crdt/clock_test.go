package crdt

import (
	"math"
	"testing"
	"time"
)

const t0 = int64(1_750_000_000_000) // a wall time in ms, mid-2025

func TestClockNowMonotonic(t *testing.T) {
	// Each step feeds a wall time and expects the stamp the clock issues.
	steps := []struct {
		name string
		wall int64
		want Stamp
	}{
		{"first reading", t0, st(t0, 0, "A")},
		{"same millisecond counts up", t0, st(t0, 1, "A")},
		{"and again", t0, st(t0, 2, "A")},
		{"wall moves on, counter resets", t0 + 5, st(t0+5, 0, "A")},
		{"wall went backwards: keep wall, count up", t0 - 1000, st(t0+5, 1, "A")},
		{"still behind", t0 + 4, st(t0+5, 2, "A")},
		{"caught up", t0 + 6, st(t0+6, 0, "A")},
	}
	c := NewClock("A", 0)
	prev := c.Last()
	for _, s := range steps {
		got := c.Now(s.wall)
		if got != s.want {
			t.Fatalf("%s: Now(%d) = %v, want %v", s.name, s.wall, got, s.want)
		}
		if !prev.Less(got) {
			t.Fatalf("%s: %v does not follow %v", s.name, got, prev)
		}
		if c.Last() != got {
			t.Fatalf("%s: Last() = %v, want %v", s.name, c.Last(), got)
		}
		prev = got
	}
}

func TestClockLogicalWrapBorrowsMillisecond(t *testing.T) {
	c := NewClock("A", 0)
	c.Restore(st(t0, math.MaxUint32, "A"))
	if got, want := c.Now(t0), st(t0+1, 0, "A"); got != want {
		t.Fatalf("Now after counter at max = %v, want %v", got, want)
	}
}

func TestClockObserve(t *testing.T) {
	hour := time.Hour.Milliseconds()
	skew := DefaultMaxSkew.Milliseconds()
	tests := []struct {
		name     string
		last     Stamp // clock state before (zero: fresh)
		remote   Stamp
		wall     int64
		want     Stamp // clock's Last after Observe
		skewed   bool
		ahead    time.Duration
		maxAhead time.Duration // tolerance on ahead
	}{
		// Regression: Observe took a legitimate counter of 0 (local wall
		// ahead of both stamps) for a wrapped counter and moved the clock a
		// millisecond into the future on every such call.
		{name: "remote behind local wall: wall wins, counter 0",
			remote: st(t0-50, 7, "B"), wall: t0, want: st(t0, 0, "A")},
		{name: "counter full on observe: borrow a millisecond",
			last: st(t0, math.MaxUint32, "A"), remote: st(t0, 1, "B"), wall: t0, want: st(t0+1, 0, "A")},
		{name: "remote counter full",
			remote: st(t0, math.MaxUint32, "B"), wall: t0 - 5, want: st(t0+1, 0, "A")},
		{name: "remote ahead within skew: follow it",
			remote: st(t0+60_000, 3, "B"), wall: t0, want: st(t0+60_000, 4, "A")},
		{name: "remote same wall as last: max counter + 1",
			last: st(t0, 5, "A"), remote: st(t0, 9, "B"), wall: t0 - 10, want: st(t0, 10, "A")},
		{name: "remote same wall, lower counter",
			last: st(t0, 5, "A"), remote: st(t0, 2, "B"), wall: t0, want: st(t0, 6, "A")},
		{name: "last ahead of both",
			last: st(t0+100, 1, "A"), remote: st(t0+50, 9, "B"), wall: t0, want: st(t0+100, 2, "A")},
		{name: "exactly at the skew bound is allowed",
			remote: st(t0+skew, 0, "B"), wall: t0, want: st(t0+skew, 1, "A")},
		{name: "one hour ahead: clamp to now+skew and report",
			remote: st(t0+hour, 42, "B"), wall: t0, want: st(t0+skew, 1, "A"),
			skewed: true, ahead: time.Hour},
		{name: "absurdly far ahead: no overflow",
			remote: st(math.MaxInt64, math.MaxUint32, "B"), wall: t0, want: st(t0+skew, 1, "A"),
			skewed: true, ahead: time.Duration(math.MaxInt64)},
		{name: "far ahead but local clock already beyond the bound",
			last: st(t0+2*skew, 3, "A"), remote: st(t0+hour, 0, "B"), wall: t0, want: st(t0+2*skew, 4, "A"),
			skewed: true, ahead: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClock("A", 0)
			if !tt.last.IsZero() {
				c.Restore(tt.last)
			}
			ev, ok := c.Observe(tt.remote, tt.wall)
			if got := c.Last(); got != tt.want {
				t.Errorf("Last() = %v, want %v", got, tt.want)
			}
			if ok != tt.skewed {
				t.Fatalf("skew reported = %v, want %v", ok, tt.skewed)
			}
			if ok {
				if ev.Remote != tt.remote || ev.LocalMs != tt.wall {
					t.Errorf("event = %+v, want remote %v local %d", ev, tt.remote, tt.wall)
				}
				if ev.Ahead != tt.ahead {
					t.Errorf("Ahead = %v, want %v", ev.Ahead, tt.ahead)
				}
			}
			// The next local stamp follows the observed one unless the
			// remote was clamped, and never exceeds now+skew through Observe.
			next := c.Now(tt.wall)
			if !ok && !tt.remote.Less(next) {
				t.Errorf("next local stamp %v does not follow remote %v", next, tt.remote)
			}
			if ok && next.Wall > max(tt.last.Wall, tt.wall+skew) {
				t.Errorf("next local stamp %v beyond now+skew", next)
			}
		})
	}
}

func TestClockSkewOneHourDefault(t *testing.T) {
	// The case DESIGN.md names: a peer one hour ahead, default 10 min bound.
	c := NewClock("A", 0)
	now := t0
	ev, ok := c.Observe(st(now+time.Hour.Milliseconds(), 0, "B"), now)
	if !ok {
		t.Fatal("no SkewEvent for a stamp one hour ahead")
	}
	if d := ev.Ahead - time.Hour; d < -time.Second || d > time.Second {
		t.Errorf("Ahead = %v, want about 1h", ev.Ahead)
	}
	if limit := now + (10 * time.Minute).Milliseconds(); c.Last().Wall > limit {
		t.Errorf("clock moved to %d, beyond now+10min = %d", c.Last().Wall, limit)
	}
	if got := c.Now(now); got.Wall > now+(10*time.Minute).Milliseconds() {
		t.Errorf("next stamp %v beyond now+10min", got)
	}
}

func TestClockCustomSkew(t *testing.T) {
	c := NewClock("A", time.Second)
	if _, ok := c.Observe(st(t0+1000, 0, "B"), t0); ok {
		t.Error("1 s ahead reported with a 1 s bound")
	}
	if _, ok := c.Observe(st(t0+1001, 0, "B"), t0); !ok {
		t.Error("1.001 s ahead not reported with a 1 s bound")
	}
}

func TestClockRestore(t *testing.T) {
	tests := []struct {
		name    string
		restore Stamp
		wall    int64 // wall time at restart; may be behind what was issued
		want    Stamp // first stamp after restart
	}{
		{"wall clock went backwards an hour", st(t0, 4, "A"), t0 - 3_600_000, st(t0, 5, "A")},
		{"wall clock equal", st(t0, 4, "A"), t0, st(t0, 5, "A")},
		{"wall clock ahead", st(t0, 4, "A"), t0 + 1, st(t0+1, 0, "A")},
		{"stamp saved with another node id is re-owned", st(t0, 4, "Z"), t0 - 1, st(t0, 5, "A")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClock("A", 0)
			c.Restore(tt.restore)
			if got := c.Now(tt.wall); got != tt.want {
				t.Errorf("Now(%d) after Restore(%v) = %v, want %v", tt.wall, tt.restore, got, tt.want)
			}
		})
	}
	// Restore never moves the clock backwards.
	c := NewClock("A", 0)
	c.Now(t0 + 10)
	c.Restore(st(t0, 0, "A"))
	if got := c.Now(t0); got != st(t0+10, 1, "A") {
		t.Errorf("Restore of an older stamp moved the clock back: next = %v", got)
	}
}
