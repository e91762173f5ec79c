package booking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"carenode/crdt"
	"carenode/node/store"
)

// validCode is the form of department and doctor ids: short, lower case,
// no dots (a slot key joins a doctor id, a date and a time with dots).
var validCode = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

func codeProblem(what, whatZh, id string) error {
	if validCode.MatchString(id) {
		return nil
	}
	return invalid(fmt.Sprintf("A %s id is 1-40 lower-case letters, digits, '_' or '-', starting with a letter or digit; %q is not.", what, id),
		fmt.Sprintf("%s编号须为 1-40 位小写字母、数字、“_”或“-”，且以字母或数字开头；“%s”不符合。", whatZh, clip(id)))
}

func clip(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		return string([]rune(s)[:40]) + "…"
	}
	return s
}

func nameProblem(zhName, enName string) error {
	for _, n := range []string{zhName, enName} {
		if strings.TrimSpace(n) == "" || utf8.RuneCountInString(n) > 100 || !utf8.ValidString(n) {
			return invalid("Give a name in Chinese (nameZh) and in English (nameEn), each 1-100 characters.",
				"请填写中文名称（nameZh）和英文名称（nameEn），各 1-100 个字符。")
		}
	}
	return nil
}

// set is a register write of v's JSON that replaces what this node holds.
func set(field string, v any) store.Edit {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("booking: marshal %s: %v", field, err)) // only strings, ints and bools are written
	}
	return store.Edit{Kind: crdt.MutSet, Field: field, Value: b, SeenCurrent: true}
}

// PutDepartment adds a department or renames one.
func (s *Service) PutDepartment(ctx context.Context, d Department) (Department, error) {
	if err := codeProblem("department", "科室", d.ID); err != nil {
		return Department{}, err
	}
	if err := nameProblem(d.NameZh, d.NameEn); err != nil {
		return Department{}, err
	}
	_, err := s.cfg.Records.Write(ctx, store.WriteRequest{Collection: CollDepartments, Record: d.ID,
		Edits: []store.Edit{set("nameZh", d.NameZh), set("nameEn", d.NameEn)}})
	if err != nil {
		return Department{}, fmt.Errorf("save department %s: %w", d.ID, err)
	}
	return d, nil
}

// PutDoctor adds a doctor or changes their name or department.
func (s *Service) PutDoctor(ctx context.Context, d Doctor) (Doctor, error) {
	if err := codeProblem("doctor", "医生", d.ID); err != nil {
		return Doctor{}, err
	}
	if err := nameProblem(d.NameZh, d.NameEn); err != nil {
		return Doctor{}, err
	}
	if _, err := s.department(d.Department); err != nil {
		return Doctor{}, err
	}
	_, err := s.cfg.Records.Write(ctx, store.WriteRequest{Collection: CollDoctors, Record: d.ID,
		Edits: []store.Edit{set("nameZh", d.NameZh), set("nameEn", d.NameEn), set("department", d.Department)}})
	if err != nil {
		return Doctor{}, fmt.Errorf("save doctor %s: %w", d.ID, err)
	}
	return d, nil
}

func (s *Service) department(id string) (Department, error) {
	v, err := s.cfg.Records.Get(CollDepartments, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && v.Deleted) {
		return Department{}, refuse(ErrNotFound, fmt.Sprintf("There is no department %q.", id), fmt.Sprintf("没有科室“%s”。", clip(id)))
	}
	if err != nil {
		return Department{}, fmt.Errorf("read department %s: %w", id, err)
	}
	return Department{ID: v.ID, NameZh: text(v, "nameZh"), NameEn: text(v, "nameEn")}, nil
}

func (s *Service) doctor(id string) (Doctor, error) {
	v, err := s.cfg.Records.Get(CollDoctors, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && v.Deleted) {
		return Doctor{}, refuse(ErrNotFound, fmt.Sprintf("There is no doctor %q.", id), fmt.Sprintf("没有医生“%s”。", clip(id)))
	}
	if err != nil {
		return Doctor{}, fmt.Errorf("read doctor %s: %w", id, err)
	}
	return doctorOf(v), nil
}

func doctorOf(v store.RecordView) Doctor {
	return Doctor{ID: v.ID, NameZh: text(v, "nameZh"), NameEn: text(v, "nameEn"), Department: text(v, "department")}
}

// text reads a string register; a value that is not a JSON string (from a
// peer that wrote nonsense) reads as "".
func text(v store.RecordView, field string) string {
	var out string
	if f, ok := v.Fields[field]; ok {
		_ = json.Unmarshal(f.Value, &out)
	}
	return out
}

func number(v store.RecordView, field string) int {
	var out int
	if f, ok := v.Fields[field]; ok {
		_ = json.Unmarshal(f.Value, &out)
	}
	return out
}

// AddSchedule adds a weekly rule.
func (s *Service) AddSchedule(ctx context.Context, in Schedule, now time.Time) (Schedule, error) {
	doc, err := s.doctor(in.Doctor)
	if err != nil {
		return Schedule{}, err
	}
	if in.Department == "" {
		in.Department = doc.Department
	}
	if _, err := s.department(in.Department); err != nil {
		return Schedule{}, err
	}
	if err := checkSchedule(in); err != nil {
		return Schedule{}, err
	}
	in.ID = store.NewRecordID(now)
	edits := []store.Edit{set("doctor", in.Doctor), set("department", in.Department), set("weekday", in.Weekday),
		set("start", in.Start), set("end", in.End), set("slotMinutes", in.SlotMinutes), set("capacity", in.Capacity)}
	if in.From != "" {
		edits = append(edits, set("from", in.From))
	}
	if in.Until != "" {
		edits = append(edits, set("until", in.Until))
	}
	if _, err := s.cfg.Records.Write(ctx, store.WriteRequest{Collection: CollSchedules, Record: in.ID, Create: true, Edits: edits}); err != nil {
		return Schedule{}, fmt.Errorf("save schedule: %w", err)
	}
	return in, nil
}

func checkSchedule(in Schedule) error {
	if in.Weekday < 1 || in.Weekday > 7 {
		return invalid("weekday is 1 (Monday) to 7 (Sunday).", "weekday 取 1（周一）至 7（周日）。")
	}
	start, err1 := parseClock(in.Start)
	end, err2 := parseClock(in.End)
	if err1 != nil || err2 != nil {
		return invalid("start and end are times of day written HH:MM, as 08:00.", "start 和 end 须为 HH:MM 格式的时间，如 08:00。")
	}
	if in.SlotMinutes < 5 || in.SlotMinutes > 240 {
		return invalid("slotMinutes is 5 to 240.", "slotMinutes 取 5 至 240。")
	}
	if end-start < in.SlotMinutes {
		return invalid("end must be at least one slot after start.", "结束时间须比开始时间至少晚一个号段。")
	}
	if in.Capacity < 1 || in.Capacity > 200 {
		return invalid("capacity (patients per slot) is 1 to 200.", "capacity（每个号段的人数）取 1 至 200。")
	}
	for _, d := range []string{in.From, in.Until} {
		if d == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return invalid("from and until are dates written YYYY-MM-DD.", "from 和 until 须为 YYYY-MM-DD 格式的日期。")
		}
	}
	if in.From != "" && in.Until != "" && in.Until < in.From {
		return invalid("until is before from.", "until 早于 from。")
	}
	return nil
}

// parseClock reads "HH:MM" (00:00-23:59, or 24:00 as an end) as minutes
// after midnight.
func parseClock(s string) (int, error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("time %q: want HH:MM", s)
	}
	h, m := 0, 0
	for i, c := range []byte(s) {
		if i == 2 {
			continue
		}
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("time %q: want HH:MM", s)
		}
		if i < 2 {
			h = h*10 + int(c-'0')
		} else {
			m = m*10 + int(c-'0')
		}
	}
	if m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("time %q: no such time of day", s)
	}
	return h*60 + m, nil
}

// RemoveSchedule ends a weekly rule. Appointments already booked in its
// slots stay booked.
func (s *Service) RemoveSchedule(ctx context.Context, id string) error {
	if !crdt.ValidName(id) {
		return refuse(ErrNotFound, "There is no such schedule.", "没有该排班。")
	}
	_, err := s.cfg.Records.Write(ctx, store.WriteRequest{Collection: CollSchedules, Record: id, MustExist: true,
		Edits: []store.Edit{{Kind: crdt.MutDelete}}})
	if errors.Is(err, store.ErrNotFound) {
		return refuse(ErrNotFound, "There is no such schedule.", "没有该排班。")
	}
	if err != nil {
		return fmt.Errorf("remove schedule %s: %w", id, err)
	}
	return nil
}

// PutClosure closes a day for the clinic (Doctor empty) or one doctor, or
// with Active false opens it again.
func (s *Service) PutClosure(ctx context.Context, c Closure) (Closure, error) {
	day, err := time.Parse(time.DateOnly, c.Date)
	if err != nil {
		return Closure{}, invalid("date is written YYYY-MM-DD.", "date 须为 YYYY-MM-DD 格式。")
	}
	who := "all"
	if c.Doctor != "" {
		if _, err := s.doctor(c.Doctor); err != nil {
			return Closure{}, err
		}
		who = c.Doctor
	}
	if utf8.RuneCountInString(c.Reason) > 200 {
		return Closure{}, invalid("reason is at most 200 characters.", "reason 最多 200 个字符。")
	}
	id := day.Format("20060102") + "." + who
	_, err = s.cfg.Records.Write(ctx, store.WriteRequest{Collection: CollClosures, Record: id,
		Edits: []store.Edit{set("date", c.Date), set("doctor", c.Doctor), set("reason", c.Reason), set("active", c.Active)}})
	if err != nil {
		return Closure{}, fmt.Errorf("save closure %s: %w", id, err)
	}
	return c, nil
}

// catalog is the departments, doctors, schedules and closures at one
// moment: what slots are made from.
type catalog struct {
	departments map[string]Department
	doctors     map[string]Doctor
	schedules   []Schedule
	byDoctor    map[string][]Schedule
	closed      map[string]bool // "YYYY-MM-DD" + "|" + doctor ("" for the whole clinic)
	closures    []Closure
}

func (s *Service) listAll(coll string, fn func(store.RecordView)) error {
	after := ""
	for {
		page, err := s.cfg.Records.List(coll, after, 1000)
		if err != nil {
			return fmt.Errorf("list %s: %w", coll, err)
		}
		for _, v := range page {
			if !v.Deleted {
				fn(v)
			}
		}
		if len(page) < 1000 {
			return nil
		}
		after = page[len(page)-1].Asked
	}
}

func (s *Service) catalog() (*catalog, error) {
	c := &catalog{departments: map[string]Department{}, doctors: map[string]Doctor{}, closed: map[string]bool{}}
	err := errors.Join(
		s.listAll(CollDepartments, func(v store.RecordView) {
			c.departments[v.ID] = Department{ID: v.ID, NameZh: text(v, "nameZh"), NameEn: text(v, "nameEn")}
		}),
		s.listAll(CollDoctors, func(v store.RecordView) { c.doctors[v.ID] = doctorOf(v) }),
		s.listAll(CollSchedules, func(v store.RecordView) {
			sc := Schedule{ID: v.ID, Doctor: text(v, "doctor"), Department: text(v, "department"), Weekday: number(v, "weekday"),
				Start: text(v, "start"), End: text(v, "end"), SlotMinutes: number(v, "slotMinutes"), Capacity: number(v, "capacity"),
				From: text(v, "from"), Until: text(v, "until")}
			if checkSchedule(sc) == nil { // a peer's nonsense makes no slots
				c.schedules = append(c.schedules, sc)
			}
		}),
		s.listAll(CollClosures, func(v store.RecordView) {
			var active bool
			if f, ok := v.Fields["active"]; ok {
				_ = json.Unmarshal(f.Value, &active)
			}
			cl := Closure{Date: text(v, "date"), Doctor: text(v, "doctor"), Reason: text(v, "reason"), Active: active}
			c.closures = append(c.closures, cl)
			if active {
				c.closed[cl.Date+"|"+cl.Doctor] = true
			}
		}))
	if err != nil {
		return nil, err
	}
	slices.SortFunc(c.schedules, func(a, b Schedule) int {
		return strings.Compare(a.Doctor+"|"+string(rune('0'+a.Weekday))+a.Start+a.ID, b.Doctor+"|"+string(rune('0'+b.Weekday))+b.Start+b.ID)
	})
	c.byDoctor = map[string][]Schedule{}
	for _, sc := range c.schedules {
		c.byDoctor[sc.Doctor] = append(c.byDoctor[sc.Doctor], sc)
	}
	return c, nil
}

// Departments lists the departments by id.
func (s *Service) Departments() ([]Department, error) {
	c, err := s.catalog()
	if err != nil {
		return nil, err
	}
	return sortedValues(c.departments, func(d Department) string { return d.ID }), nil
}

// Doctors lists the doctors by id.
func (s *Service) Doctors() ([]Doctor, error) {
	c, err := s.catalog()
	if err != nil {
		return nil, err
	}
	return sortedValues(c.doctors, func(d Doctor) string { return d.ID }), nil
}

// Schedules lists the weekly rules by doctor, weekday and start.
func (s *Service) Schedules() ([]Schedule, error) {
	c, err := s.catalog()
	if err != nil {
		return nil, err
	}
	return c.schedules, nil
}

// Closures lists the closed days, lifted ones included, by date.
func (s *Service) Closures() ([]Closure, error) {
	c, err := s.catalog()
	if err != nil {
		return nil, err
	}
	slices.SortFunc(c.closures, func(a, b Closure) int { return strings.Compare(a.Date+"|"+a.Doctor, b.Date+"|"+b.Doctor) })
	return c.closures, nil
}

func sortedValues[V any](m map[string]V, key func(V) string) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b V) int { return strings.Compare(key(a), key(b)) })
	return out
}
