package gsm_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"carenode/devices/gsm"
	"carenode/devices/gsm/gsmsim"
	"carenode/internal/ptypair"
	"carenode/node/outbox"
)

// ptys returns the modem's end and the application's end of a linked
// pseudo-terminal pair.
func ptys(t *testing.T) (modem, app string) { return ptypair.Start(t) }

// startSim runs a simulated modem on path until the test ends.
func startSim(t *testing.T, path string, script ...string) *gsmsim.Modem {
	t.Helper()
	p, err := gsm.OpenPort(path, 115200)
	if err != nil {
		t.Fatal(err)
	}
	sim := gsmsim.New(script...)
	done := make(chan struct{})
	go func() { defer close(done); sim.Serve(p) }()
	t.Cleanup(func() {
		p.Close()
		<-done
		for _, pr := range sim.Problems() {
			t.Errorf("the modem found: %s", pr)
		}
	})
	return sim
}

// patient waits long for answers: every byte goes through socat, and a
// loaded machine under -race can hold an answer up for a good part of a
// second. Only a test that expects a timeout sets short ones.
var patient = gsm.Config{Timeout: 10 * time.Second, SendTimeout: 10 * time.Second}

func newTestModem(t *testing.T, path string, cfg gsm.Config) *gsm.Modem {
	t.Helper()
	rw, err := gsm.OpenPort(path, 115200)
	if err != nil {
		t.Fatal(err)
	}
	m := gsm.New(rw, cfg)
	t.Cleanup(func() { m.Close() })
	return m
}

func TestSendThroughSimulatedModem(t *testing.T) {
	modemPath, appPath := ptys(t)
	sim := startSim(t, modemPath)
	m := newTestModem(t, appPath, patient)
	long := strings.Repeat("请按时服用降压药，每日测量血压并记录。", 8) // 152 characters: three UCS-2 parts
	sends := []struct{ to, text string }{
		{"+8613812345678", "Reminder: follow-up visit tomorrow 9:00 {Dr. Wang}"},
		{"13900001111", "您明天上午9点在内科有预约。"},
		{"13900001111", long},
	}
	for _, s := range sends {
		refs, err := m.Send(context.Background(), s.to, s.text, 7, 0)
		if err != nil {
			t.Fatalf("send %q: %v", s.text, err)
		}
		if len(refs) == 0 {
			t.Fatal("no references")
		}
	}
	got := sim.Messages()
	if len(got) != len(sends) {
		t.Fatalf("modem got %d messages, want %d", len(got), len(sends))
	}
	for i, s := range sends {
		if got[i].To != s.to || got[i].Text != s.text {
			t.Errorf("message %d: modem got %q for %s, want %q for %s", i, got[i].Text, got[i].To, s.text, s.to)
		}
	}
	if got[0].Coding != gsm.DCS7Bit || got[1].Coding != gsm.DCSUCS2 || got[2].Parts != 3 {
		t.Errorf("coding: %+v", got)
	}
	if parts := sim.Parts(); parts[len(parts)-1].Ref != 7 {
		t.Errorf("concatenation reference %d, want 7", parts[len(parts)-1].Ref)
	}
	if cmds := strings.Join(sim.Commands()[:4], " "); cmds != "AT ATE0 AT+CMEE=1 AT+CMGF=0" {
		t.Errorf("set-up commands %q", cmds)
	}
}

func TestModemErrors(t *testing.T) {
	modemPath, appPath := ptys(t)
	startSim(t, modemPath, "+CMS ERROR: 331", "+CMS ERROR: 1", "ERROR", gsmsim.NoPrompt, gsmsim.Silent, gsmsim.Accept)
	// Two steps wait out a timeout (no prompt, no answer after the PDU);
	// every other answer must come within it, so it cannot be tiny.
	m := newTestModem(t, appPath, gsm.Config{Timeout: 2 * time.Second, SendTimeout: 2 * time.Second})
	send := func() error {
		_, err := m.Send(context.Background(), "13812345678", "test", 1, 0)
		return err
	}
	var cms *gsm.CMSError
	err := send()
	if !errors.As(err, &cms) || cms.Code != 331 || outbox.IsPermanent(err) {
		t.Errorf("no network service: %v, want a CMS error to retry", err)
	}
	err = send()
	if !errors.As(err, &cms) || cms.Code != 1 || !outbox.IsPermanent(err) || !strings.Contains(err.Error(), "unassigned") {
		t.Errorf("unassigned number: %v, want a permanent CMS error", err)
	}
	if err := send(); !errors.Is(err, gsm.ErrModem) || outbox.IsPermanent(err) {
		t.Errorf("ERROR: %v", err)
	}
	if err := send(); !errors.Is(err, gsm.ErrTimeout) || outbox.IsPermanent(err) {
		t.Errorf("no prompt: %v, want a timeout to retry (nothing was sent)", err)
	}
	if err := send(); !errors.Is(err, gsm.ErrUnconfirmed) || !outbox.IsPermanent(err) {
		t.Errorf("no answer after the PDU: %v, want unconfirmed, not retried by itself", err)
	}
	if err := send(); err != nil {
		t.Errorf("the modem recovers: %v", err)
	}
	if _, err := m.Send(context.Background(), "138-ABC", "x", 1, 0); !errors.Is(err, gsm.ErrNumber) || !outbox.IsPermanent(err) {
		t.Errorf("bad number: %v", err)
	}
}

// patients is the chart as the outbox sees it.
type patients map[string]string

func (p patients) Contact(_ context.Context, id string) (string, string, error) {
	phone, ok := p[id]
	if !ok {
		return "", "", outbox.ErrNoContact
	}
	return phone, "zh", nil
}
