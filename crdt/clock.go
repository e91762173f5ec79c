package crdt

import (
	"math"
	"time"
)

// DefaultMaxSkew is how far ahead of local time a remote stamp may pull the
// local clock. A peer whose clock is set a year ahead must not drag every
// node's stamps a year into the future.
const DefaultMaxSkew = 10 * time.Minute

// Clock is a hybrid logical clock. It reads no clock itself: every call is
// given the current wall time in milliseconds. A Clock is not safe for
// concurrent use; the store serialises calls through its committer.
type Clock struct {
	node      NodeID
	maxSkewMs int64
	last      Stamp
}

// SkewEvent reports a remote stamp that was further ahead of local time than
// the clock allows. The change carrying it is still kept; only the local
// clock refused to follow it all the way.
type SkewEvent struct {
	Remote  Stamp         // the stamp as received
	LocalMs int64         // local wall time when it was observed
	Ahead   time.Duration // how far Remote was ahead of LocalMs
}

// NewClock returns a clock for node. maxSkew <= 0 means DefaultMaxSkew.
func NewClock(node NodeID, maxSkew time.Duration) *Clock {
	if maxSkew <= 0 {
		maxSkew = DefaultMaxSkew
	}
	return &Clock{node: node, maxSkewMs: maxSkew.Milliseconds(), last: Stamp{Node: node}}
}

// Restore sets the clock's last reading, e.g. from the store at start, so a
// restarted node never issues a stamp at or below one it issued before, even
// if the wall clock went backwards meanwhile.
func (c *Clock) Restore(last Stamp) {
	if c.last.Less(Stamp{Wall: last.Wall, Logical: last.Logical, Node: c.node}) {
		c.last = Stamp{Wall: last.Wall, Logical: last.Logical, Node: c.node}
	}
}

// Last returns the most recent stamp issued or observed.
func (c *Clock) Last() Stamp { return c.last }

// Now returns a new stamp, greater than every stamp this clock issued or
// observed before.
func (c *Clock) Now(wallMs int64) Stamp {
	if wallMs > c.last.Wall {
		c.last = Stamp{Wall: wallMs, Node: c.node}
	} else {
		c.last.Logical++
		if c.last.Logical == 0 { // counter wrapped: borrow a millisecond
			c.last.Wall++
		}
	}
	return c.last
}

// Observe folds a remote stamp into the clock so later local stamps sort
// after it. If remote is more than the allowed skew ahead of wallMs, the clock
// moves only to wallMs+skew and a SkewEvent is returned with ok true.
func (c *Clock) Observe(remote Stamp, wallMs int64) (ev SkewEvent, ok bool) {
	bound := addSat(wallMs, c.maxSkewMs)
	rw, rl := remote.Wall, remote.Logical
	if rw > bound {
		ev = SkewEvent{Remote: remote, LocalMs: wallMs, Ahead: msDuration(addSat(rw, -wallMs))}
		ok = true
		rw, rl = bound, 0
	}
	next := Stamp{Wall: max(c.last.Wall, rw, wallMs), Node: c.node}
	var logical uint64 // wide, so a counter at its limit is seen, not wrapped
	switch {
	case next.Wall == c.last.Wall && next.Wall == rw:
		logical = uint64(max(c.last.Logical, rl)) + 1
	case next.Wall == c.last.Wall:
		logical = uint64(c.last.Logical) + 1
	case next.Wall == rw:
		logical = uint64(rl) + 1
	}
	if logical > math.MaxUint32 { // counter full: borrow a millisecond
		next.Wall++
		logical = 0
	}
	next.Logical = uint32(logical)
	c.last = next
	return ev, ok
}

// addSat returns a+b, saturating instead of wrapping: a hostile stamp with a
// wall time near the int64 limit must not turn the skew bound negative.
func addSat(a, b int64) int64 {
	switch {
	case b > 0 && a > math.MaxInt64-b:
		return math.MaxInt64
	case b < 0 && a < math.MinInt64-b:
		return math.MinInt64
	}
	return a + b
}

// msDuration converts milliseconds to a Duration, saturating at the largest
// Duration (about 292 years).
func msDuration(ms int64) time.Duration {
	const limit = int64(math.MaxInt64 / time.Millisecond)
	switch {
	case ms > limit:
		return math.MaxInt64
	case ms < -limit:
		return math.MinInt64
	}
	return time.Duration(ms) * time.Millisecond
}
