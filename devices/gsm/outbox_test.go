package gsm_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carenode/devices/gsm"
	"carenode/devices/gsm/gsmsim"
	"carenode/node/outbox"
	"carenode/node/store"
	"carenode/node/vault"
)

// The outbox on a real store sends through the modem on a pseudo-terminal:
// a first attempt the network refuses is retried after its backoff, and
// the phone gets the whole long message once.
func TestOutboxSendsThroughTheModem(t *testing.T) {
	sim, svc, now := modemOutbox(t, "+CMS ERROR: 331")
	text := "王先生您好：您的血压随访结果已记录。" + strings.Repeat("请低盐饮食，规律服药，每周测量血压两次。", 4)
	ctx := context.Background()
	if err := svc.Queue(ctx, outbox.Message{Key: "followup/t1/summary", Patient: "p1", Kind: "followup_summary",
		Text: map[string]string{"zh": text}, Expires: now.Add(48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{now, now.Add(30 * time.Second), now.Add(time.Minute), now.Add(2 * time.Minute)} {
		if _, err := svc.Tick(ctx, at); err != nil {
			t.Fatal(err)
		}
	}
	got := sim.Messages()
	if len(got) != 1 || got[0].Text != text || got[0].To != "+8613812345678" || got[0].Parts != 2 {
		t.Fatalf("phone got %+v, want the text once in two parts", got)
	}
	// Sent at 09:01 and expiring 47 h later, rounded down to what the
	// field holds: one day.
	if v := sim.Parts()[0].Validity; v != 24*time.Hour {
		t.Errorf("validity %v: want the time left until it expires, rounded down", v)
	}
	v, err := svc.Get(outbox.RecordID("followup/t1/summary"))
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != outbox.StatusSent || v.Attempts != 1 || v.Via != "gsm" || !strings.HasPrefix(v.Ref, "cmgs:") ||
		!strings.Contains(v.LastError, "331") || strings.Contains(v.LastError, "3118325476") {
		t.Fatalf("view %+v", v)
	}
}

// The network takes the first part of a long message and refuses the
// second; the retry sends both again with the same reference, and the
// phone shows one message.
func TestRetriedLongMessageArrivesOnce(t *testing.T) {
	sim, svc, now := modemOutbox(t, gsmsim.Accept, "+CMS ERROR: 42")
	text := strings.Repeat("您好，请于本周内到社区卫生服务中心复查血压。", 5)
	ctx := context.Background()
	if err := svc.Queue(ctx, outbox.Message{Key: "k", Patient: "p1", Kind: "reminder", Text: map[string]string{"zh": text}}); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{now, now.Add(time.Minute)} {
		if _, err := svc.Tick(ctx, at); err != nil {
			t.Fatal(err)
		}
	}
	if parts := len(sim.Parts()); parts != 3 {
		t.Fatalf("%d parts accepted, want the first part twice and the second once", parts)
	}
	if got := sim.Messages(); len(got) != 1 || got[0].Text != text {
		t.Fatalf("phone shows %+v, want one message", got)
	}
}

// modemOutbox is an outbox on a real store whose sender is a modem on a
// pseudo-terminal, played by gsmsim with script.
func modemOutbox(t *testing.T, script ...string) (*gsmsim.Modem, *outbox.Service, time.Time) {
	t.Helper()
	modemPath, appPath := ptys(t)
	sim := startSim(t, modemPath, script...)
	sender := gsm.NewSender(newTestModem(t, appPath, patient))

	opts := store.DefaultOptions(filepath.Join(t.TempDir(), "carenode.db"), "desk1")
	opts.Create = true
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := outbox.DefaultConfig("desk1")
	cfg.Location = time.FixedZone("CST", 8*3600)
	svc, err := outbox.New(cfg, outbox.Deps{Records: st, Patients: patients{"p1": "+8613812345678"}, Sender: sender,
		Logger: opts.Logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	dk, err := vault.NewDataKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := vault.NewSealer(dk, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc.Unlock(sealer)

	return sim, svc, time.Date(2026, 3, 10, 9, 0, 0, 0, cfg.Location)
}
