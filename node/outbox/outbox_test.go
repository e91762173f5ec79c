package outbox_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"carenode/node/outbox"
	"carenode/node/store"
	"carenode/node/vault"
)

func TestQueueIsIdempotentByKey(t *testing.T) {
	b := newBox(t, "nodeA")
	m := reminder("reminder/a1/day-before", "p1")
	b.queue(t, m)
	m2 := m
	m2.Text = map[string]string{"zh": "另一条"}
	b.queue(t, m2)
	page, err := b.svc.List(outbox.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) != 1 {
		t.Fatalf("queued one key twice, got %d messages", len(page.Messages))
	}
	b.tick(t, at(0, 9, 0))
	sent := b.sender.Sent()
	if len(sent) != 1 || sent[0].Text != m.Text["zh"] {
		t.Fatalf("sent %+v, want the first text once", sent)
	}
}

func TestQueueRefusesBadMessages(t *testing.T) {
	b := newBox(t, "nodeA")
	good := reminder("k", "p1")
	for _, tc := range []struct {
		name string
		edit func(m *outbox.Message)
	}{
		{"no key", func(m *outbox.Message) { m.Key = "" }},
		{"long key", func(m *outbox.Message) { m.Key = strings.Repeat("k", outbox.MaxKeyLen+1) }},
		{"no patient", func(m *outbox.Message) { m.Patient = "" }},
		{"patient with a slash", func(m *outbox.Message) { m.Patient = "a/b" }},
		{"no kind", func(m *outbox.Message) { m.Kind = "" }},
		{"no text", func(m *outbox.Message) { m.Text = nil }},
		{"blank text", func(m *outbox.Message) { m.Text = map[string]string{"zh": "  "} }},
		{"unknown language", func(m *outbox.Message) { m.Text = map[string]string{"fr": "bonjour"} }},
		{"too long", func(m *outbox.Message) { m.Text = map[string]string{"zh": strings.Repeat("长", outbox.MaxTextLen+1)} }},
		{"bad UTF-8", func(m *outbox.Message) { m.Text = map[string]string{"en": "a\xffb"} }},
		{"expires before notBefore", func(m *outbox.Message) {
			m.NotBefore, m.Expires = at(1, 9, 0), at(0, 9, 0)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := good
			m.Text = map[string]string{"zh": "好"}
			tc.edit(&m)
			err := b.svc.Queue(context.Background(), m)
			if !errors.Is(err, outbox.ErrInvalid) {
				t.Fatalf("err %v, want ErrInvalid", err)
			}
		})
	}
	st, err := b.store.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Records[outbox.Collection] != 0 {
		t.Fatalf("bad messages stored %d records", st.Records[outbox.Collection])
	}
}

func TestLockedNodeNeitherQueuesNorSends(t *testing.T) {
	b := newBox(t, "nodeA")
	b.queue(t, reminder("k1", "p1"))
	b.svc.Lock()
	if err := b.svc.Queue(context.Background(), reminder("k2", "p1")); !errors.Is(err, outbox.ErrLocked) {
		t.Fatalf("queue while locked: %v, want ErrLocked", err)
	}
	if rep := b.tick(t, at(0, 9, 0)); rep.Locked != 1 || rep.Sent != 0 {
		t.Fatalf("locked tick %+v, want one held back", rep)
	}
	if err := b.svc.Unlock(newSealer(t)); err != nil {
		t.Fatal(err)
	}
	if rep := b.tick(t, at(0, 9, 0)); rep.Sent != 1 {
		t.Fatalf("unlocked tick %+v, want one sent", rep)
	}
}

// The text and the number are personal data: neither may reach the store
// (record state or change log) in the clear.
func TestTextAndNumberAreSealed(t *testing.T) {
	b := newBox(t, "nodeA")
	m := reminder("k1", "p1")
	b.queue(t, m)
	b.tick(t, at(0, 9, 0))
	v, err := b.store.Get(outbox.Collection, outbox.RecordID("k1"))
	if err != nil {
		t.Fatal(err)
	}
	if !vault.IsSealed(v.Fields["text"].Value) {
		t.Fatal("text is not sealed")
	}
	page, err := b.store.ChangesAfter(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	for _, c := range page.Changes {
		for _, mu := range c.Muts {
			all.Write(mu.Value)
		}
	}
	for _, secret := range []string{m.Text["zh"], m.Text["en"], "13812345678", "12345678"} {
		if bytes.Contains(all.Bytes(), []byte(secret)) {
			t.Errorf("the change log holds %q in the clear", secret)
		}
	}
	if !bytes.Contains(all.Bytes(), []byte(`"sent"`)) {
		t.Fatal("the change log has no sent event: the check above looked at nothing")
	}
	if got := b.get(t, "k1").To; got != "138****5678" {
		t.Fatalf("list shows number %q, want it masked", got)
	}
}

func TestSendsInThePatientsLanguage(t *testing.T) {
	b := newBox(t, "nodeA")
	b.queue(t, reminder("zh", "p1"))
	b.queue(t, reminder("en", "p2"))
	onlyZh := reminder("only-zh", "p2")
	onlyZh.Text = map[string]string{"zh": "仅中文"}
	b.queue(t, onlyZh)
	if rep := b.tick(t, at(0, 9, 0)); rep.Sent != 3 {
		t.Fatalf("tick %+v, want 3 sent", rep)
	}
	got := map[string]outbox.SMS{}
	for _, s := range b.sender.Sent() {
		got[s.ID] = s
	}
	for key, want := range map[string][2]string{
		"zh":      {"13812345678", "您明天上午9点在内科有预约，请准时就诊。"},
		"en":      {"+8613900001111", "You have an appointment tomorrow at 9:00."},
		"only-zh": {"+8613900001111", "仅中文"},
	} {
		s := got[outbox.RecordID(key)]
		if s.To != want[0] || s.Text != want[1] {
			t.Errorf("%s: sent %+v, want to %s text %s", key, s, want[0], want[1])
		}
	}
	if rep := b.tick(t, at(0, 9, 5)); rep.Sent != 0 {
		t.Fatalf("second tick sent again: %+v", rep)
	}
	if v := b.get(t, "zh"); v.Status != outbox.StatusSent || v.Ref == "" || v.Via != "test" {
		t.Fatalf("view %+v, want sent with a ref", v)
	}
}

func TestQuietHours(t *testing.T) {
	b := newBox(t, "nodeA")
	b.clock.Set(at(0, 21, 0))
	b.queue(t, reminder("k", "p1"))
	if v := b.get(t, "k"); !v.Next.Equal(at(1, 8, 0)) {
		t.Fatalf("next %v, want 08:00 the next morning", v.Next)
	}
	for _, now := range []time.Time{at(0, 21, 0), at(0, 23, 59), at(1, 0, 0), at(1, 7, 59)} {
		if rep := b.tick(t, now); rep.Sent != 0 || rep.Waiting != 1 {
			t.Fatalf("at %s: %+v, want waiting", now.Format("15:04"), rep)
		}
	}
	if rep := b.tick(t, at(1, 8, 0)); rep.Sent != 1 {
		t.Fatalf("at 08:00: %+v, want sent", rep)
	}
}

func TestExpiredMessagesAreNeverSent(t *testing.T) {
	b := newBox(t, "nodeA")
	b.clock.Set(at(0, 19, 0))
	// Due at 19:30 for an appointment at 21:00: quiet hours hold it, and
	// by morning the appointment has passed.
	m := reminder("late", "p1")
	m.NotBefore, m.Expires = at(0, 20, 30), at(0, 21, 0)
	b.queue(t, m)
	noExpiry := reminder("default", "p1")
	noExpiry.NotBefore = at(0, 20, 30)
	b.queue(t, noExpiry)
	if v := b.get(t, "default"); !v.Expires.Equal(at(0, 20, 30).Add(72 * time.Hour)) {
		t.Fatalf("default expiry %v, want 72 h after it is due", v.Expires)
	}
	if v := b.get(t, "late"); !v.Next.IsZero() {
		t.Fatalf("next %v: it expires before quiet hours end, so it has no next attempt", v.Next)
	}
	b.tick(t, at(1, 8, 0))
	sent := b.sender.Sent()
	if len(sent) != 1 || sent[0].ID != outbox.RecordID("default") {
		t.Fatalf("sent %+v, want only the message without an early expiry", sent)
	}
	if v := b.get(t, "late"); v.Status != outbox.StatusExpired {
		t.Fatalf("status %s, want expired", v.Status)
	}
	if _, err := b.svc.Retry(context.Background(), outbox.RecordID("late"), "desk1"); !errors.Is(err, outbox.ErrState) {
		t.Fatalf("retry of an expired message: %v, want ErrState", err)
	}
}

func TestBackoffThenFailedThenRetry(t *testing.T) {
	b := newBox(t, "nodeA", func(c *outbox.Config, _ *outbox.Deps) { c.MaxAttempts = 3 })
	b.queue(t, reminder("k", "p1"))
	b.sender.failNext(errModem, errModem, errModem)
	steps := []struct {
		now      time.Time
		sent     int
		failed   int
		status   outbox.Status
		attempts int
		next     time.Time
	}{
		{at(0, 9, 0), 0, 1, outbox.StatusQueued, 1, at(0, 9, 1)},
		{at(0, 9, 0).Add(59 * time.Second), 0, 0, outbox.StatusQueued, 1, at(0, 9, 1)},
		{at(0, 9, 1), 0, 1, outbox.StatusQueued, 2, at(0, 9, 3)},
		{at(0, 9, 2), 0, 0, outbox.StatusQueued, 2, at(0, 9, 3)},
		{at(0, 9, 3), 0, 1, outbox.StatusFailed, 3, time.Time{}},
		{at(0, 10, 0), 0, 0, outbox.StatusFailed, 3, time.Time{}},
	}
	for i, s := range steps {
		rep := b.tick(t, s.now)
		v := b.get(t, "k")
		if rep.Sent != s.sent || rep.Failed != s.failed || v.Status != s.status || v.Attempts != s.attempts || !v.Next.Equal(s.next) {
			t.Fatalf("step %d at %s: tick %+v, view %s attempts %d next %v; want sent %d failed %d, %s, %d, %v",
				i, s.now.Format("15:04:05"), rep, v.Status, v.Attempts, v.Next, s.sent, s.failed, s.status, s.attempts, s.next)
		}
		if s.failed > 0 && !strings.Contains(v.LastError, "no network") {
			t.Fatalf("last error %q", v.LastError)
		}
	}
	v, err := b.svc.Retry(context.Background(), outbox.RecordID("k"), "desk1")
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != outbox.StatusQueued || v.Attempts != 0 {
		t.Fatalf("after retry %+v, want queued with no attempts", v)
	}
	if rep := b.tick(t, at(0, 10, 0)); rep.Sent != 1 {
		t.Fatalf("after retry tick %+v, want sent", rep)
	}
}

func TestPermanentFailuresAreNotRetried(t *testing.T) {
	b := newBox(t, "nodeA")
	b.queue(t, reminder("rejected", "p1"))
	b.queue(t, reminder("no-phone", "nobody"))
	b.sender.failNext(outbox.Permanent(errors.New("+CMS ERROR: 1 unassigned number")))
	rep := b.tick(t, at(0, 9, 0))
	if rep.Failed != 2 {
		t.Fatalf("tick %+v, want two failures", rep)
	}
	for key, why := range map[string][2]string{"rejected": {"unassigned", outbox.CodeSend}, "no-phone": {"no phone", outbox.CodeNoContact}} {
		v := b.get(t, key)
		if v.Status != outbox.StatusFailed || !strings.Contains(v.LastError, why[0]) || v.Problem == nil || v.Problem.Code != why[1] {
			t.Errorf("%s: %+v, want failed for %q", key, v, why)
		}
	}
	if rep := b.tick(t, at(0, 12, 0)); rep.Sent+rep.Failed != 0 {
		t.Fatalf("later tick tried again: %+v", rep)
	}
}

func TestCancel(t *testing.T) {
	b := newBox(t, "nodeA")
	b.queue(t, reminder("c", "p1"))
	b.queue(t, reminder("s", "p1"))
	if _, err := b.svc.Cancel(context.Background(), outbox.RecordID("c"), "desk1"); err != nil {
		t.Fatal(err)
	}
	// Twice is fine: it is cancelled either way.
	if v, err := b.svc.Cancel(context.Background(), outbox.RecordID("c"), "desk1"); err != nil || v.Status != outbox.StatusCancelled ||
		v.Problem == nil || v.Problem.Code != outbox.CodeStaff || v.Problem.By != "desk1" || v.Problem.Zh == "" {
		t.Fatalf("second cancel: %+v %v", v, err)
	}
	b.tick(t, at(0, 9, 0))
	if sent := b.sender.Sent(); len(sent) != 1 || sent[0].ID != outbox.RecordID("s") {
		t.Fatalf("sent %+v, want only the message not cancelled", sent)
	}
	if _, err := b.svc.Cancel(context.Background(), outbox.RecordID("s"), "desk1"); !errors.Is(err, outbox.ErrState) {
		t.Fatalf("cancel of a sent message: %v, want ErrState", err)
	}
	if _, err := b.svc.Retry(context.Background(), outbox.RecordID("c"), "desk1"); !errors.Is(err, outbox.ErrState) {
		t.Fatalf("retry of a cancelled message: %v, want ErrState", err)
	}
	if _, err := b.svc.Cancel(context.Background(), "mnope", "desk1"); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("cancel of no message: %v, want ErrNotFound", err)
	}
}

// crashAfterStart is a store that loses every write after an attempt's
// start event, as a node that loses power mid-send does.
type crashAfterStart struct {
	*store.Store
	crashed bool
}

func (c *crashAfterStart) Write(ctx context.Context, req store.WriteRequest) (store.WriteResult, error) {
	if c.crashed {
		return store.WriteResult{}, store.ErrClosed
	}
	res, err := c.Store.Write(ctx, req)
	for _, e := range req.Edits {
		if e.Field == "events" && bytes.Contains(e.Value, []byte(`"type":"start"`)) {
			c.crashed = true
		}
	}
	return res, err
}

func TestInterruptedSendIsNotRepeated(t *testing.T) {
	b := newBox(t, "nodeA")
	b.queue(t, reminder("k", "p1"))
	crashing := &crashAfterStart{Store: b.store}
	cfg := outbox.DefaultConfig("nodeA")
	cfg.Location = shanghai
	dying, err := outbox.New(cfg, outbox.Deps{Records: crashing, Patients: b.patients, Sender: b.sender, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer dying.Close()
	dying.Unlock(newSealer(t))
	if _, err := dying.Tick(context.Background(), at(0, 9, 0)); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("tick on the dying node: %v", err)
	}
	if n := len(b.sender.Sent()); n != 1 {
		t.Fatalf("the dying node sent %d", n)
	}
	// The node restarts (b's service never saw that send): the attempt's
	// outcome is unknown, so it is failed, not sent a second time.
	if v := b.get(t, "k"); v.Status != outbox.StatusSending {
		t.Fatalf("status %s, want sending", v.Status)
	}
	rep := b.tick(t, at(0, 9, 10))
	if rep.InDoubt != 1 || rep.Sent != 0 || len(b.sender.Sent()) != 1 {
		t.Fatalf("restart tick %+v, sends %d: want one in doubt, nothing sent again", rep, len(b.sender.Sent()))
	}
	if v := b.get(t, "k"); v.Status != outbox.StatusFailed || !strings.Contains(v.LastError, "unknown") ||
		v.Problem == nil || v.Problem.Code != outbox.CodeInDoubt {
		t.Fatalf("view %+v, want failed with outcome unknown", v)
	}
	if rep := b.tick(t, at(0, 11, 0)); rep.Sent != 0 {
		t.Fatalf("sent again by itself: %+v", rep)
	}
}

func TestCounts(t *testing.T) {
	b := newBox(t, "nodeA")
	for _, k := range []string{"a", "b", "c", "d"} {
		b.queue(t, reminder(k, "p1"))
	}
	if _, err := b.svc.Cancel(context.Background(), outbox.RecordID("d"), "x"); err != nil {
		t.Fatal(err)
	}
	b.sender.failNext(nil, outbox.Permanent(errors.New("rejected")))
	b.tick(t, at(0, 9, 0)) // a sent, b failed, c sent
	got, err := b.svc.Counts()
	if err != nil {
		t.Fatal(err)
	}
	want := map[outbox.Status]int{outbox.StatusSent: 2, outbox.StatusFailed: 1, outbox.StatusCancelled: 1,
		outbox.StatusQueued: 0, outbox.StatusSending: 0, outbox.StatusExpired: 0}
	for st, n := range want {
		if got[st] != n {
			t.Errorf("%s: %d, want %d (all %v)", st, got[st], n, got)
		}
	}
	page, err := b.svc.List(outbox.Query{Status: outbox.StatusSent})
	if err != nil || len(page.Messages) != 2 {
		t.Fatalf("list sent: %d %v", len(page.Messages), err)
	}
	page, err = b.svc.List(outbox.Query{Patient: "p2"})
	if err != nil || len(page.Messages) != 0 {
		t.Fatalf("list p2: %d %v", len(page.Messages), err)
	}
	page, err = b.svc.List(outbox.Query{Limit: 3})
	if err != nil || len(page.Messages) != 3 || page.Next == "" {
		t.Fatalf("first page: %d next %q %v", len(page.Messages), page.Next, err)
	}
	rest, err := b.svc.List(outbox.Query{After: page.Next, Limit: 3})
	if err != nil || len(rest.Messages) != 1 || rest.Next != "" {
		t.Fatalf("second page: %d next %q %v", len(rest.Messages), rest.Next, err)
	}
	if _, err := b.svc.List(outbox.Query{Status: "lost"}); !errors.Is(err, outbox.ErrInvalid) {
		t.Fatalf("unknown status filter: %v", err)
	}
}

func TestRunSendsWhenAMessageIsQueued(t *testing.T) {
	b := newBox(t, "nodeA", func(c *outbox.Config, _ *outbox.Deps) { c.Interval = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.svc.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	b.queue(t, reminder("k", "p1"))
	// Run ticks every hour; only the store's notice can make it send now.
	deadline := time.After(30 * time.Second)
	for len(b.sender.Sent()) == 0 {
		select {
		case <-deadline:
			t.Fatal("Run did not send the queued message")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// A node restarted with messages waiting finds them by its first scan.
func TestRestartedOutboxFindsWaitingMessages(t *testing.T) {
	b := newBox(t, "nodeA")
	b.clock.Set(at(0, 22, 0))
	b.queue(t, reminder("night", "p1"))
	b.tick(t, at(0, 22, 0)) // quiet hours: waits
	b.svc.Close()
	cfg := outbox.DefaultConfig("nodeA")
	cfg.Location = shanghai
	again, err := outbox.New(cfg, outbox.Deps{Records: b.store, Patients: b.patients, Sender: b.sender, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	again.Unlock(newSealer(t))
	rep, err := again.Tick(context.Background(), at(1, 8, 0))
	if err != nil || rep.Sent != 1 {
		t.Fatalf("restarted tick %+v %v, want the waiting message sent", rep, err)
	}
}

// A reminder whose appointment moved while it waited is cancelled at send
// time, not sent; the question sees the message as it was queued.
func TestUnwantedMessagesAreCancelledNotSent(t *testing.T) {
	var asked []outbox.Message
	b := newBox(t, "nodeA", func(_ *outbox.Config, d *outbox.Deps) {
		d.Wanted = func(m outbox.Message) bool {
			asked = append(asked, m)
			return m.Key != "reminder/moved"
		}
	})
	b.queue(t, reminder("reminder/moved", "p1"))
	b.queue(t, reminder("reminder/kept", "p1"))
	rep := b.tick(t, at(0, 9, 0))
	if rep.Sent != 1 || rep.Unwanted != 1 {
		t.Fatalf("tick %+v, want one sent, one unwanted", rep)
	}
	v := b.get(t, "reminder/moved")
	if v.Status != outbox.StatusCancelled || v.Problem == nil || v.Problem.Code != outbox.CodeUnwanted {
		t.Fatalf("view %+v, want cancelled as no longer wanted", v)
	}
	for _, m := range asked {
		if m.Patient != "p1" || m.About != "appointments/a1" || m.Text["zh"] == "" {
			t.Fatalf("asked about %+v: want the message as queued", m)
		}
	}
	if c, err := b.svc.Cancel(context.Background(), outbox.RecordID("reminder/kept"), "desk1"); !errors.Is(err, outbox.ErrState) {
		t.Fatalf("cancel sent: %+v %v", c, err)
	}
}
