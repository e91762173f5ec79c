package booking

import (
	"context"
	"fmt"
	"strings"
	"time"

	"carenode/node/outbox"
)

// Reminder kinds, the last part of a reminder's Key.
const (
	ReminderDayBefore = "day-before"
	ReminderTwoHours  = "2h-before"
)

// ReminderKey is the outbox Key of one reminder:
// reminder/<appointment>/<local start YYYYMMDDHHMM>/<kind>. The start is in
// the key so that a moved appointment's reminders are new messages, and the
// old ones can be told apart as stale (ReminderWanted); queueing the same
// key twice, on one node or two, adds nothing.
func ReminderKey(appointment string, start time.Time, kind string) string {
	return "reminder/" + appointment + "/" + start.Format("200601021504") + "/" + kind
}

// remind queues the reminders still ahead for ap: the day before (24 hours
// ahead) and two hours before, each expiring at the appointment's start so
// that a gateway that reconnects late never sends a stale one. A failure
// to queue does not undo the booking; it is logged.
func (s *Service) remind(ctx context.Context, ap *Appointment, now time.Time) {
	if s.cfg.Outbox == nil {
		return
	}
	doctorZh, doctorEn, deptZh, deptEn := ap.Doctor, ap.Doctor, ap.Department, ap.Department
	if d, err := s.doctor(ap.Doctor); err == nil {
		doctorZh, doctorEn = d.NameZh, d.NameEn
	}
	if d, err := s.department(ap.Department); err == nil {
		deptZh, deptEn = d.NameZh, d.NameEn
	}
	start := ap.Start.In(s.cfg.Location)
	weekZh := [...]string{"日", "一", "二", "三", "四", "五", "六"}[start.Weekday()]
	for _, r := range []struct {
		kind   string
		before time.Duration
		zh, en string
	}{
		{ReminderDayBefore, 24 * time.Hour,
			fmt.Sprintf("【%s】提醒：您明天（%d月%d日 周%s）%s 预约了%s%s医生，请提前15分钟到达并携带就诊卡。如需改约或取消，请联系诊所。",
				s.cfg.ClinicZh, start.Month(), start.Day(), weekZh, start.Format("15:04"), deptZh, doctorZh),
			fmt.Sprintf("Reminder from %s: you have an appointment with Dr %s (%s) tomorrow, %s at %s. Please come 15 minutes early with your clinic card. To change or cancel, call the clinic.",
				s.cfg.ClinicEn, doctorEn, deptEn, start.Format("Mon 2 Jan"), start.Format("15:04"))},
		{ReminderTwoHours, 2 * time.Hour,
			fmt.Sprintf("【%s】提醒：您今天 %s 预约了%s%s医生，请按时就诊。", s.cfg.ClinicZh, start.Format("15:04"), deptZh, doctorZh),
			fmt.Sprintf("Reminder from %s: your appointment with Dr %s (%s) is today at %s.", s.cfg.ClinicEn, doctorEn, deptEn, start.Format("15:04"))},
	} {
		at := start.Add(-r.before)
		if !now.Before(at) {
			continue // booked too late for this one
		}
		m := outbox.Message{Key: ReminderKey(ap.ID, start, r.kind), Patient: ap.Patient, Kind: "reminder",
			Text: map[string]string{"zh": r.zh, "en": r.en}, NotBefore: at, Expires: start, About: CollAppointments + "/" + ap.ID}
		if err := s.cfg.Outbox.Queue(ctx, m); err != nil {
			s.log.Warn("queue appointment reminder", "appointment", ap.ID, "key", m.Key, "err", err)
		}
	}
}

// ReminderWanted tells the outbox, just before it sends, whether a message
// is still wanted: a reminder (Key "reminder/…", made by ReminderKey) is
// wanted only while its appointment is booked at the time in its key, so
// the reminders of a cancelled, moved, attended or missed appointment are
// dropped, on whichever node sends them, once the change has synced there.
// Messages that are not appointment reminders are always wanted.
func (s *Service) ReminderWanted(m outbox.Message) bool {
	rest, ok := strings.CutPrefix(m.Key, "reminder/")
	if !ok {
		return true
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return false
	}
	ap, err := s.Appointment(parts[0])
	if err != nil {
		return false
	}
	return ap.Status == StatusBooked && ap.Start.In(s.cfg.Location).Format("200601021504") == parts[1]
}
