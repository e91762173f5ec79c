package booking

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// SlotKey names a slot: doctor.YYYYMMDD.HHMM in clinic-local time. It is
// derived from the schedule, not stored, so every node names a slot alike
// and two bookings of one place made apart meet on one key after sync.
func SlotKey(doctor string, start time.Time) string {
	return doctor + "." + start.Format("20060102.1504")
}

// ParseSlotKey splits a slot key into its doctor and its local start.
func ParseSlotKey(key string, loc *time.Location) (doctor string, start time.Time, err error) {
	i := strings.IndexByte(key, '.')
	if i < 0 || len(key)-i != len(".20060102.1504") {
		return "", time.Time{}, fmt.Errorf("slot %q: want doctor.YYYYMMDD.HHMM", key)
	}
	doctor = key[:i]
	if !validCode.MatchString(doctor) {
		return "", time.Time{}, fmt.Errorf("slot %q: bad doctor id", key)
	}
	start, err = time.ParseInLocation("20060102.1504", key[i+1:], loc)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("slot %q: %w", key, err)
	}
	return doctor, start, nil
}

// SlotQuery selects slots: [From, To) and, when set, one department or
// doctor.
type SlotQuery struct {
	Department string
	Doctor     string
	From, To   time.Time
	// FreeOnly leaves out full slots and slots that have started.
	FreeOnly bool
}

// slotsIn makes the slots of c between from and to (clinic days), without
// occupancy.
func (s *Service) slotsIn(c *catalog, q SlotQuery) []Slot {
	loc := s.cfg.Location
	from, to := q.From.In(loc), q.To.In(loc)
	day := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
	byKey := map[string]Slot{}
	for ; day.Before(to); day = day.AddDate(0, 0, 1) {
		date := day.Format(time.DateOnly)
		if c.closed[date+"|"] {
			continue
		}
		wd := isoWeekday(day)
		for _, sc := range c.schedules {
			if sc.Weekday != wd || (q.Doctor != "" && sc.Doctor != q.Doctor) || (q.Department != "" && sc.Department != q.Department) ||
				(sc.From != "" && date < sc.From) || (sc.Until != "" && date > sc.Until) || c.closed[date+"|"+sc.Doctor] {
				continue
			}
			begin, _ := parseClock(sc.Start) // checkSchedule passed
			end, _ := parseClock(sc.End)
			for m := begin; m+sc.SlotMinutes <= end; m += sc.SlotMinutes {
				start := time.Date(day.Year(), day.Month(), day.Day(), m/60, m%60, 0, 0, loc)
				if start.Before(from) || !start.Before(to) {
					continue
				}
				key := SlotKey(sc.Doctor, start)
				sl := Slot{Key: key, Doctor: sc.Doctor, Department: sc.Department, Start: start,
					End: start.Add(time.Duration(sc.SlotMinutes) * time.Minute), Capacity: sc.Capacity}
				if old, ok := byKey[key]; ok && old.Capacity >= sl.Capacity {
					continue // two rules make one slot: the larger capacity holds
				}
				byKey[key] = sl
			}
		}
	}
	out := make([]Slot, 0, len(byKey))
	for _, sl := range byKey {
		out = append(out, sl)
	}
	slices.SortFunc(out, func(a, b Slot) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return cmp.Compare(a.Doctor, b.Doctor)
	})
	return out
}

// occupy fills in Booked and Free; s.mu is held for reading.
func (s *Service) occupy(sl *Slot) {
	n := 0
	for id := range s.bySlot[sl.Key] {
		if a := s.appts[id]; a != nil && a.Status != StatusCancelled {
			n++
		}
	}
	sl.Booked, sl.Free = n, max(0, sl.Capacity-n)
}

// Slots lists the slots q selects with their free places, at most
// MaxRange days of them.
func (s *Service) Slots(q SlotQuery, now time.Time) ([]Slot, error) {
	if q.From.IsZero() || q.To.IsZero() {
		return nil, invalid("Give from and to (dates YYYY-MM-DD or times RFC 3339).", "请给出 from 和 to（YYYY-MM-DD 日期或 RFC 3339 时间）。")
	}
	if !q.To.After(q.From) {
		return nil, invalid("to must be after from.", "to 须晚于 from。")
	}
	if q.To.Sub(q.From) > time.Duration(s.cfg.MaxRange)*24*time.Hour {
		return nil, invalid(fmt.Sprintf("List at most %d days of slots at a time.", s.cfg.MaxRange),
			fmt.Sprintf("每次最多查询 %d 天的号源。", s.cfg.MaxRange))
	}
	c, err := s.catalog()
	if err != nil {
		return nil, err
	}
	if err := s.catchUp(); err != nil {
		return nil, err
	}
	return s.occupied(c, q, now), nil
}

func (s *Service) occupied(c *catalog, q SlotQuery, now time.Time) []Slot {
	slots := s.slotsIn(c, q)
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := slots[:0]
	for _, sl := range slots {
		s.occupy(&sl)
		if q.FreeOnly && (sl.Free == 0 || !sl.Start.After(now)) {
			continue
		}
		out = append(out, sl)
	}
	return out
}

// slot finds the slot key names in the schedules.
func (s *Service) slot(c *catalog, key string) (Slot, error) {
	doctor, start, err := ParseSlotKey(key, s.cfg.Location)
	if err != nil {
		return Slot{}, invalid(fmt.Sprintf("%q is not a slot key (doctor.YYYYMMDD.HHMM).", key),
			fmt.Sprintf("“%s”不是号段编号（医生.年月日.时分）。", clip(key)))
	}
	if sl, ok := c.slotAt(doctor, start); ok {
		return sl, nil
	}
	return Slot{}, refuse(ErrNotFound, fmt.Sprintf("No schedule makes slot %s (the doctor does not work then, or the day is closed).", key),
		fmt.Sprintf("号段 %s 不存在（该医生此时不出诊，或当天停诊）。", key))
}

// slotAt is the slot of doctor starting at start, if a schedule in force
// that day makes one there, without making the day's other slots.
func (c *catalog) slotAt(doctor string, start time.Time) (Slot, bool) {
	date := start.Format(time.DateOnly)
	if c.closed[date+"|"] || c.closed[date+"|"+doctor] {
		return Slot{}, false
	}
	wd := isoWeekday(start)
	minute := start.Hour()*60 + start.Minute()
	var out Slot
	found := false
	for _, sc := range c.byDoctor[doctor] {
		if sc.Weekday != wd || (sc.From != "" && date < sc.From) || (sc.Until != "" && date > sc.Until) {
			continue
		}
		begin, _ := parseClock(sc.Start) // checkSchedule passed
		end, _ := parseClock(sc.End)
		if minute < begin || minute+sc.SlotMinutes > end || (minute-begin)%sc.SlotMinutes != 0 || start.Second() != 0 {
			continue
		}
		if found && out.Capacity >= sc.Capacity {
			continue // two rules make one slot: the larger capacity holds, as slotsIn does
		}
		found = true
		out = Slot{Key: SlotKey(doctor, start), Doctor: doctor, Department: sc.Department, Start: start,
			End: start.Add(time.Duration(sc.SlotMinutes) * time.Minute), Capacity: sc.Capacity}
	}
	return out, found
}
