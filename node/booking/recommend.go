package booking

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Reason says why a slot is recommended, in both languages.
type Reason struct {
	Code string `json:"code"` // usual_doctor, usual_weekday, usual_time, earliest, earliest_with_doctor, no_history
	En   string `json:"en"`
	Zh   string `json:"zh"`
}

// Recommendation is a slot offered to a patient with the reasons for it.
type Recommendation struct {
	Slot    Slot     `json:"slot"`
	Reasons []Reason `json:"reasons"`
}

var weekdayZh = [...]string{"", "周一", "周二", "周三", "周四", "周五", "周六", "周日"}
var periodZh = map[string]string{PeriodMorning: "上午", PeriodAfternoon: "下午", PeriodEvening: "晚上"}

// Recommend offers up to three free slots within the horizon, in
// department when given: the earliest that fits the patient's habits (their
// usual doctor, weekday and time of day), the earliest with their usual
// doctor, and the earliest of all; each says why.
func (s *Service) Recommend(patient, department string, now time.Time) ([]Recommendation, error) {
	id, err := s.patient(patient)
	if err != nil {
		return nil, err
	}
	b, err := s.Behaviour(id, now)
	if err != nil {
		return nil, err
	}
	c, err := s.catalog()
	if err != nil {
		return nil, err
	}
	if department != "" {
		if _, ok := c.departments[department]; !ok {
			return nil, refuse(ErrNotFound, fmt.Sprintf("There is no department %q.", department), fmt.Sprintf("没有科室“%s”。", clip(department)))
		}
	}
	if err := s.catchUp(); err != nil {
		return nil, err
	}
	free := s.occupied(c, SlotQuery{Department: department, From: now, To: now.AddDate(0, 0, s.cfg.Horizon), FreeOnly: true}, now)
	doc := c.doctors[b.UsualDoctor]
	docZh, docEn := doc.NameZh, doc.NameEn
	if docZh == "" {
		docZh, docEn = b.UsualDoctor, b.UsualDoctor
	}
	usualDoctor := func(sl Slot) bool { return b.UsualDoctor != "" && sl.Doctor == b.UsualDoctor }
	usualDay := func(sl Slot) bool { return slices.Contains(b.UsualWeekdays, isoWeekday(sl.Start)) }
	usualTime := func(sl Slot) bool { return b.UsualPeriod != "" && periodOf(sl.Start) == b.UsualPeriod }
	habits := func(sl Slot) []Reason {
		var rs []Reason
		if usualDoctor(sl) {
			rs = append(rs, Reason{Code: "usual_doctor", En: "Dr " + docEn + " is the doctor this patient usually sees.",
				Zh: "患者通常看" + docZh + "医生。"})
		}
		if usualDay(sl) {
			var en, zh []string
			for _, d := range b.UsualWeekdays {
				en = append(en, time.Weekday(d%7).String())
				zh = append(zh, weekdayZh[d])
			}
			rs = append(rs, Reason{Code: "usual_weekday", En: "The patient usually comes on " + strings.Join(en, " or ") + ".",
				Zh: "患者通常在" + strings.Join(zh, "或") + "就诊。"})
		}
		if usualTime(sl) {
			rs = append(rs, Reason{Code: "usual_time", En: "The patient usually comes in the " + b.UsualPeriod + ".",
				Zh: "患者通常" + periodZh[b.UsualPeriod] + "就诊。"})
		}
		return rs
	}
	var out []Recommendation
	offer := func(sl Slot, extra ...Reason) {
		rs := append(habits(sl), extra...)
		for i := range out {
			if out[i].Slot.Key == sl.Key {
				for _, r := range rs {
					if !slices.ContainsFunc(out[i].Reasons, func(o Reason) bool { return o.Code == r.Code }) {
						out[i].Reasons = append(out[i].Reasons, r)
					}
				}
				return
			}
		}
		out = append(out, Recommendation{Slot: sl, Reasons: rs})
	}
	if b.UsualDoctor != "" {
		if i := slices.IndexFunc(free, func(sl Slot) bool { return usualDoctor(sl) && usualDay(sl) && usualTime(sl) }); i >= 0 {
			offer(free[i])
		}
		if i := slices.IndexFunc(free, usualDoctor); i >= 0 {
			offer(free[i], Reason{Code: "earliest_with_doctor", En: "The earliest free slot with Dr " + docEn + ".",
				Zh: docZh + "医生最早的空号段。"})
		}
	}
	if len(free) > 0 {
		rs := []Reason{{Code: "earliest", En: "The earliest free slot.", Zh: "最早的空号段。"}}
		if b.UsualDoctor == "" {
			rs = append([]Reason{{Code: "no_history", En: "The patient has no appointment history yet.", Zh: "患者尚无预约记录。"}}, rs...)
		}
		offer(free[0], rs...)
	}
	return out, nil
}
