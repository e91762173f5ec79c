package readings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"carenode/crdt"
	"carenode/node/store"
	"carenode/node/vault"
)

// MaxReasonLen bounds a discard reason, in bytes.
const MaxReasonLen = 1000

// Attach binds reading id to the patient that patient names (a chart id,
// card number or ID number matching exactly one patient), as staff member
// by decided. It replaces every decision the node holds, so it also
// settles concurrent decisions and moves a reading bound to the wrong
// patient. Errors: ErrNotFound, ErrNoPatient, ErrAmbiguous, or the
// Patients error (a locked node).
func (s *Service) Attach(ctx context.Context, id, patient, by string) (Reading, error) {
	p, err := s.identify(patient)
	if err != nil {
		return Reading{}, err
	}
	return s.decide(ctx, id, decision{State: StateAttached, Patient: p, By: by, At: s.cfg.Now().UTC()})
}

// Discard takes reading id out of the review queue (or off a patient) as
// staff member by decided, keeping reason, sealed, with it. The reading
// itself stays stored.
func (s *Service) Discard(ctx context.Context, id, reason, by string) (Reading, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return Reading{}, badRequest("say why the reading is discarded", "请填写丢弃原因。")
	case len(reason) > MaxReasonLen || !utf8.ValidString(reason):
		return Reading{}, badRequest(fmt.Sprintf("the reason must be text of at most %d bytes", MaxReasonLen),
			fmt.Sprintf("丢弃原因不能超过 %d 字节。", MaxReasonLen))
	}
	pub, _ := s.keys()
	sealed, err := pub.Seal([]byte(reason), vault.FieldAAD(Collection, id, aadReason), s.cfg.Rand)
	if err != nil {
		return Reading{}, fmt.Errorf("discard reading %s: seal reason: %w", id, err)
	}
	return s.decide(ctx, id, decision{State: StateDiscarded, By: by, At: s.cfg.Now().UTC(), Reason: sealed})
}

func (s *Service) decide(ctx context.Context, id string, d decision) (Reading, error) {
	if !crdt.ValidName(id) {
		return Reading{}, fmt.Errorf("reading %q: %w", id, ErrNotFound)
	}
	val, err := json.Marshal(d)
	if err != nil {
		return Reading{}, err
	}
	_, err = s.cfg.Records.Write(ctx, store.WriteRequest{Collection: Collection, Record: id, MustExist: true,
		Edits: []store.Edit{{Kind: crdt.MutSet, Field: fieldReview, Value: val, SeenCurrent: true}}})
	if errors.Is(err, store.ErrNotFound) {
		return Reading{}, fmt.Errorf("reading %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Reading{}, fmt.Errorf("%s reading %s: %w", d.State, id, err)
	}
	s.log.Info("reading reviewed", "reading", id, "state", d.State, "patient", d.Patient, "by", d.By)
	return s.Reading(id)
}

// identify resolves what staff typed to exactly one patient id.
func (s *Service) identify(patient string) (string, error) {
	patient = strings.TrimSpace(patient)
	if patient == "" {
		return "", badRequest("name the patient: chart id, card number or ID number", "请填写患者：档案号、就诊卡号或身份证号。")
	}
	if s.cfg.Patients == nil {
		return "", ErrLocked
	}
	ids, err := s.cfg.Patients.Identify(patient)
	if err != nil {
		return "", err
	}
	switch len(ids) {
	case 0:
		return "", ErrNoPatient
	case 1:
		return ids[0], nil
	}
	return "", ErrAmbiguous
}

// maxDeviceLen bounds a device id taken from a URL.
const maxDeviceLen = 200

func checkDevice(device string) error {
	if device == "" || len(device) > maxDeviceLen || !utf8.ValidString(device) ||
		strings.IndexFunc(device, unicode.IsControl) >= 0 {
		return badRequest(fmt.Sprintf("a device id is 1 to %d characters of text", maxDeviceLen),
			fmt.Sprintf("设备编号须为 1 至 %d 个字符。", maxDeviceLen))
	}
	return nil
}

// StartSession binds device to the patient that patient names for the
// next length (the default when 0): readings the node receives from the
// device meanwhile belong to that patient. Sessions of the device still
// open end now — the next patient has stepped up. Both are records, so
// they sync; two nodes binding one device at once leave both sessions
// open, and readings in their overlap go to review.
func (s *Service) StartSession(ctx context.Context, device, patient string, length time.Duration, by string) (Session, error) {
	if err := checkDevice(device); err != nil {
		return Session{}, err
	}
	if length == 0 {
		length = s.cfg.Session
	}
	if length < time.Minute || length > s.cfg.MaxSession {
		m := int(s.cfg.MaxSession / time.Minute)
		return Session{}, badRequest(fmt.Sprintf("a measure-now session lasts 1 to %d minutes", m),
			fmt.Sprintf("测量会话时长须为 1 至 %d 分钟。", m))
	}
	p, err := s.identify(patient)
	if err != nil {
		return Session{}, err
	}
	now := s.cfg.Now().UTC()
	sess := Session{ID: store.NewRecordID(now), Device: device, Patient: p, By: by, Start: now, End: now.Add(length)}
	open, err := s.Sessions(device)
	if err != nil {
		return Session{}, err
	}
	reqs := []store.WriteRequest{{Collection: SessionCollection, Record: sess.ID, Create: true, Edits: []store.Edit{
		setString(sessDevice, device), setString(sessPatient, p), setString(sessBy, by),
		setString(sessStart, now.Format(time.RFC3339Nano)), setString(sessEnd, sess.End.Format(time.RFC3339Nano)),
	}}}
	for _, o := range open {
		end := now
		if o.Start.After(now) {
			end = o.Start
		}
		reqs = append(reqs, store.WriteRequest{Collection: SessionCollection, Record: o.ID, MustExist: true,
			Edits: []store.Edit{setString(sessEnd, end.Format(time.RFC3339Nano))}})
	}
	if _, err := s.cfg.Records.WriteAll(ctx, reqs); err != nil {
		return Session{}, fmt.Errorf("start measure-now session for %s: %w", device, err)
	}
	s.log.Info("measure-now session", "device", device, "patient", p, "until", sess.End, "by", by, "ended", len(open))
	return sess, nil
}

// EndSession ends session id of device now.
func (s *Service) EndSession(ctx context.Context, device, id string) error {
	open, err := s.Sessions(device)
	if err != nil {
		return err
	}
	for _, o := range open {
		if o.ID != id {
			continue
		}
		end := s.cfg.Now().UTC()
		if o.Start.After(end) {
			end = o.Start
		}
		_, err := s.cfg.Records.Write(ctx, store.WriteRequest{Collection: SessionCollection, Record: id, MustExist: true,
			Edits: []store.Edit{setString(sessEnd, end.Format(time.RFC3339Nano))}})
		if err != nil {
			return fmt.Errorf("end measure-now session %s: %w", id, err)
		}
		return nil
	}
	return fmt.Errorf("session %s of device %s: %w", id, device, ErrNotFound)
}

func setString(field, v string) store.Edit {
	b, _ := json.Marshal(v)
	return store.Edit{Kind: crdt.MutSet, Field: field, Value: b, SeenCurrent: true}
}
