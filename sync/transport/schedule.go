package transport

import (
	"context"
	"math/rand/v2"
	"time"

	"carenode/node/identity"
)

// Schedule says how often a node syncs with its hub on its own.
type Schedule struct {
	// Interval is the wait between successful syncs.
	Interval time.Duration
	// MaxBackoff caps the wait after failures, which doubles from
	// Interval with each failure in a row.
	MaxBackoff time.Duration
	// Jitter is the fraction (0..1) by which each wait is randomly
	// lengthened or shortened, so that clinics cut off together do not
	// all call the hub at the same instant when the link returns.
	Jitter float64
}

// DefaultSchedule returns a schedule for a hub reached over a slow link.
func DefaultSchedule() Schedule {
	return Schedule{Interval: time.Minute, MaxBackoff: 30 * time.Minute, Jitter: 0.2}
}

// Delay returns the wait before the next attempt after failures failed
// attempts in a row; r is a uniform random number in [0, 1).
func (s Schedule) Delay(failures int, r float64) time.Duration {
	d := s.Interval
	for i := 0; i < failures && d < s.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, max(s.MaxBackoff, s.Interval))
	return time.Duration(float64(d) * (1 + s.Jitter*(2*r-1)))
}

// Loop syncs with the node want at url at once and then on schedule s until
// ctx ends. Failures are logged and retried with backoff.
func (c *Client) Loop(ctx context.Context, url string, want identity.ID, s Schedule) {
	c.LoopWake(ctx, url, want, s, nil)
}

// LoopWake is Loop that also syncs as soon as wake delivers (a local write
// to pass on), without waiting for the schedule. One loop runs one session
// at a time, so a peer never has two of this loop's sessions in flight; a
// wake during a session starts the next one right after it, when wake is
// buffered. After failures the backoff holds: a wake does not shorten it,
// so a node whose hub is down does not hammer it with every write.
func (c *Client) LoopWake(ctx context.Context, url string, want identity.ID, s Schedule, wake <-chan struct{}) {
	log := c.cfg.Logger.With("subsystem", "sync-schedule", "url", url)
	// One kept connection for the loop's sessions: an idle sync then costs
	// a few hundred bytes instead of a TLS handshake with both certificate
	// chains each time (docs/BENCHMARKS.md, idle-kept). The peer is
	// verified again for every session.
	link := c.Link(url, want)
	defer link.Close()
	failures := 0
	for {
		_, _, err := link.Sync(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			failures++
			log.Warn("scheduled sync failed", "failures", failures, "err", err.Error())
		default:
			failures = 0
		}
		t := time.NewTimer(s.Delay(failures, rand.Float64()))
		w := wake
		if failures > 0 {
			w = nil
		}
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-w:
			t.Stop()
		}
	}
}
