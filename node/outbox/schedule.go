package outbox

import "time"

// quietUntil returns t if t is outside the quiet hours [start, end) in loc,
// otherwise the moment they end. start after end spans midnight; equal
// values mean no quiet hours. Times of day are wall-clock times, so a
// quiet end of 08:00 is 08:00 on either side of a DST change.
func quietUntil(t time.Time, start, end time.Duration, loc *time.Location) time.Time {
	if start == end {
		return t
	}
	lt := t.In(loc)
	y, m, d := lt.Date()
	at := func(day int, off time.Duration) time.Time {
		h, mi := int(off/time.Hour), int(off%time.Hour/time.Minute)
		return time.Date(y, m, d+day, h, mi, 0, 0, loc)
	}
	tod := time.Duration(lt.Hour())*time.Hour + time.Duration(lt.Minute())*time.Minute +
		time.Duration(lt.Second())*time.Second + time.Duration(lt.Nanosecond())
	if start < end { // e.g. 12:00–14:00, within one day
		if tod >= start && tod < end {
			return at(0, end)
		}
		return t
	}
	switch { // spans midnight, e.g. 20:00–08:00
	case tod >= start:
		return at(1, end)
	case tod < end:
		return at(0, end)
	}
	return t
}

// backoff is the wait after the n-th failed attempt (n ≥ 1): min doubled
// n-1 times, capped at max.
func backoff(n int, min, max time.Duration) time.Duration {
	d := min
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d
}
