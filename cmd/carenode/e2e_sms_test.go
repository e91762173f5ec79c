package main

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"carenode/devices/gsm"
	"carenode/devices/gsm/gsmsim"
	"carenode/internal/ptypair"
	"carenode/node"
	"carenode/node/nodeconf"
	"carenode/node/outbox"
)

// editConfig loads the node's config file, lets edit change it, and writes
// it back rendered, as a person editing the file would leave it.
func editConfig(t *testing.T, dir string, edit func(f *nodeconf.File)) {
	t.Helper()
	f, err := nodeconf.Load(node.ConfigPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	edit(&f)
	if err := f.Validate(); err != nil {
		t.Fatalf("the test's config is invalid: %v", err)
	}
	if err := os.WriteFile(node.ConfigPath(dir), nodeconf.Render(f), 0o644); err != nil {
		t.Fatal(err)
	}
}

// startModem serves a simulated GSM modem on one end of a pseudo-terminal
// pair and returns it with the path of the other end, for the node's
// sender. At cleanup it reports what the modem found wrong.
func startModem(t *testing.T) (sim *gsmsim.Modem, appPath string) {
	t.Helper()
	modemPath, appPath := ptypair.Start(t)
	mp, err := gsm.OpenPort(modemPath, 115200)
	if err != nil {
		t.Fatal(err)
	}
	sim = gsmsim.New()
	simDone := make(chan struct{})
	go func() { defer close(simDone); sim.Serve(mp) }()
	t.Cleanup(func() {
		mp.Close()
		<-simDone
		for _, p := range sim.Problems() {
			t.Errorf("the modem found: %s", p)
		}
	})
	return sim, appPath
}

// TestServeSendsSMSThroughModem: a node started by `carenode serve` with
// [outbox] sender = "gsm" sends an education article queued through the
// API to the phone of the patient, through a GSM modem simulated on the
// far end of a socat pseudo-terminal pair, and the outbox shows it sent.
func TestServeSendsSMSThroughModem(t *testing.T) {
	sim, appPath := startModem(t)

	dir := initNodeAdmin(t, "sms-clinic")
	editConfig(t, dir, func(f *nodeconf.File) {
		f.Outbox.Sender, f.Outbox.ModemPort = nodeconf.SenderGSM, appPath
		// Equal quiet hours switch them off, so the test sends at any
		// time of day; TestOutboxRuntime covers the quiet hours' mapping.
		f.Outbox.QuietStart, f.Outbox.QuietEnd = "00:00", "00:00"
		f.Clinic.TimeZone = "Asia/Urumqi"
	})
	srv := startServe(t, dir)
	admin := srv.login(t, "admin", adminPassword)

	var patient chartOut
	admin.must(t, "POST", "/api/v1/patients", map[string]any{"name": "马秀兰", "sex": "female", "birthDate": "1961-07-02",
		"phones": []string{"13987654321"}, "address": "新疆乌鲁木齐市沙依巴克区"}, http.StatusCreated, &patient)
	admin.must(t, "POST", "/api/v1/patients/"+patient.ID+"/education/hypertension-diet/send", nil, http.StatusCreated, nil)

	type message struct {
		ID, Kind, Status, Via, Patient, LastError string
		Attempts                                  int
	}
	var sent message
	deadline := time.Now().Add(30 * time.Second)
	for sent.Status != "sent" {
		if time.Now().After(deadline) {
			t.Fatalf("the message is not sent after 30 s: %+v\nserve log:\n%s", sent, tail(srv.stderr.String(), 3000))
		}
		time.Sleep(50 * time.Millisecond)
		var box struct{ Messages []message }
		admin.must(t, "GET", "/api/v1/outbox", nil, http.StatusOK, &box)
		if len(box.Messages) > 1 {
			t.Fatalf("the outbox holds %d messages, want 1: %+v", len(box.Messages), box.Messages)
		}
		if len(box.Messages) == 1 {
			sent = box.Messages[0]
		}
		if sent.Status == "failed" {
			t.Fatalf("the message failed: %+v\nserve log:\n%s", sent, tail(srv.stderr.String(), 3000))
		}
	}
	if sent.Kind != "education" || sent.Via != outbox.SenderGSM || sent.Patient != patient.ID || sent.Attempts != 0 {
		// Attempts counts failed attempts.
		t.Errorf("outbox shows %+v, want one education message sent by gsm to %s at the first try", sent, patient.ID)
	}
	got := sim.Messages()
	if len(got) != 1 {
		t.Fatalf("the modem got %d messages, want 1: %+v", len(got), got)
	}
	if m := got[0]; !strings.HasSuffix(m.To, "13987654321") || !strings.Contains(m.Text, "高血压") || m.Coding != gsm.DCSUCS2 {
		t.Errorf("the modem got %+v, want the Chinese hypertension article to 13987654321", m)
	}

	// A graceful stop closes the modem after the node; nothing hangs.
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := srv.wait(t); code != 0 {
		t.Errorf("serve exited %d after SIGTERM\n%s", code, tail(srv.stderr.String(), 2000))
	}
}

// TestServeRejectsBadOutboxConfig: a bad [outbox] or [clinic] value, or a
// modem that cannot be opened, stops serve before it opens the node, with
// a message in English and Chinese naming the key.
func TestServeRejectsBadOutboxConfig(t *testing.T) {
	dir := initNode(t, "sms-bad")
	path := node.ConfigPath(dir)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Each case changes lines of the rendered file, as a person would:
	// pairs of a whole line and its replacement.
	gateway := []string{`sender = ""`, `sender = "gateway"`, `gateway_url = ""`, `gateway_url = "https://sms.example.cn/send"`,
		`gateway_auth = ""`, `gateway_auth = "bearer"`}
	tests := []struct {
		name   string
		lines  []string
		key    string
		config bool // a config error, found when the file is read
	}{
		{"unknown sender", []string{`sender = ""`, `sender = "sms"`}, "outbox.sender", true},
		{"gsm without port", []string{`sender = ""`, `sender = "gsm"`}, "outbox.modem_port", true},
		{"quiet hours", []string{`quiet_start = "20:00"`, `quiet_start = "8pm"`}, "outbox.quiet_start", true},
		{"gateway auth without credentials", gateway, "outbox.gateway_credentials_file", true},
		{"time zone", []string{`time_zone = "Asia/Shanghai"`, `time_zone = "Asia/Beijing"`}, "clinic.time_zone", true},
		{"modem missing", []string{`sender = ""`, `sender = "gsm"`, `modem_port = ""`, `modem_port = "` + filepath.Join(dir, "no-such-tty") + `"`},
			"outbox.modem_port", false},
		{"credentials missing", append(slices.Clone(gateway), `gateway_credentials_file = ""`, `gateway_credentials_file = "sms.token"`),
			"outbox.gateway_credentials_file", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := "\n" + string(good)
			for i := 0; i+1 < len(tc.lines); i += 2 {
				old := "\n" + tc.lines[i] + "\n"
				if !strings.Contains(text, old) {
					t.Fatalf("%q is not a line of the rendered config", tc.lines[i])
				}
				text = strings.Replace(text, old, "\n"+tc.lines[i+1]+"\n", 1)
			}
			text = text[1:]
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			r := run(t, serveArgs(dir)...)
			_, loadErr := nodeconf.Load(path)
			switch {
			case tc.config && !errors.Is(loadErr, nodeconf.ErrInvalidValue):
				t.Fatalf("nodeconf.Load = %v, want an invalid value", loadErr)
			case !tc.config && loadErr != nil:
				t.Fatalf("nodeconf.Load = %v, want the file valid", loadErr)
			}
			want := exitError
			if tc.config {
				want = exitCode(loadErr) // whatever code config errors get
			}
			if r.code == 0 || r.code != want {
				t.Errorf("serve exited %d, want %d", r.code, want)
			}
			if !strings.Contains(r.stderr, tc.key) || !hasHan(r.stderr) || strings.Contains(r.stderr, "panic") {
				t.Errorf("serve's error does not name %s in English and Chinese:\n%s", tc.key, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(dir, "serve.json")); err == nil {
				t.Error("serve started despite the bad config")
			}
		})
	}
	// The node is untouched: with the file put back, it serves.
	if err := os.WriteFile(path, good, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, dir)
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := srv.wait(t); code != 0 {
		t.Errorf("serve exited %d\n%s", code, srv.stderr)
	}
}

// TestOutboxRuntime: the file's sections map onto the outbox's runtime
// config; a default file gives exactly outbox.DefaultConfig in China
// Standard Time, so nodeconf's defaults cannot drift from the outbox's.
func TestOutboxRuntime(t *testing.T) {
	const self = "EH7DDX5BKSRGCD"
	dir := t.TempDir()
	def, err := outboxRuntime(dir, self, nodeconf.Default("A", nodeconf.RoleClinic))
	if err != nil {
		t.Fatal(err)
	}
	want := outbox.DefaultConfig(self)
	if def.Location.String() != "Asia/Shanghai" {
		t.Errorf("default time zone %v", def.Location)
	}
	want.Location = def.Location
	if def != want {
		t.Errorf("default file maps to\n%+v\nwant outbox.DefaultConfig\n%+v", def, want)
	}

	tests := []struct {
		name  string
		edit  func(o *nodeconf.OutboxSection)
		check func(c outbox.Config) bool
	}{
		{"quiet hours and expiry", func(o *nodeconf.OutboxSection) {
			o.QuietStart, o.QuietEnd, o.DefaultExpiry, o.MaxAttempts = "21:30", "06:45", nodeconf.Duration{Duration: 12 * time.Hour}, 3
		}, func(c outbox.Config) bool {
			return c.QuietStart == 21*time.Hour+30*time.Minute && c.QuietEnd == 6*time.Hour+45*time.Minute &&
				c.DefaultExpiry == 12*time.Hour && c.MaxAttempts == 3
		}},
		{"sender node as typed", func(o *nodeconf.OutboxSection) { o.SenderNode = "eh7dd-x5bks-rgcd" },
			func(c outbox.Config) bool { return c.SenderNode == self }},
		{"gsm", func(o *nodeconf.OutboxSection) { o.Sender, o.ModemPort, o.ModemBaud = "gsm", "/dev/ttyUSB3", 9600 },
			func(c outbox.Config) bool {
				return c.Sender.Kind == outbox.SenderGSM && c.Sender.Modem.Port == "/dev/ttyUSB3" && c.Sender.Modem.Baud == 9600 &&
					c.Sender.Modem.Timeout > 0
			}},
		{"gateway paths in the data dir", func(o *nodeconf.OutboxSection) {
			o.Sender, o.GatewayURL, o.GatewayAuth, o.GatewayCredentialsFile, o.GatewayTemplate =
				"gateway", "https://sms.example.cn/send", "basic", "sms.cred", `{"m":{{json .To}}}`
		}, func(c outbox.Config) bool {
			g := c.Sender.Gateway
			return c.Sender.Kind == outbox.SenderGateway && g.URL == "https://sms.example.cn/send" && g.Auth == "basic" &&
				g.CredentialsFile == filepath.Join(dir, "sms.cred") && g.Template == `{"m":{{json .To}}}` && g.Method == "POST"
		}},
		{"absolute file path kept", func(o *nodeconf.OutboxSection) { o.Sender, o.FilePath = "file", "/var/log/sms.jsonl" },
			func(c outbox.Config) bool {
				return c.Sender.Kind == outbox.SenderFile && c.Sender.File.Path == "/var/log/sms.jsonl"
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := nodeconf.Default("A", nodeconf.RoleClinic)
			tc.edit(&f.Outbox)
			if err := f.Validate(); err != nil {
				t.Fatal(err)
			}
			c, err := outboxRuntime(dir, self, f)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("mapped to %+v", c)
			}
		})
	}

	f := nodeconf.Default("A", nodeconf.RoleClinic)
	f.Clinic.TimeZone = "Mars/Olympus_Mons"
	if _, err := outboxRuntime(dir, self, f); !errors.Is(err, nodeconf.ErrInvalidValue) || !strings.Contains(err.Error(), "Mars/Olympus_Mons") {
		t.Errorf("unknown time zone: %v", err)
	}
}

// TestServeQuietHoursInClinicZone: serve counts quiet hours in the
// [clinic] time zone. With quiet hours from an hour ago to an hour ahead
// in Urumqi (UTC+6), a message queued now waits, and the outbox says it
// goes at quiet_end Urumqi time; in Beijing time (the default) or the
// machine's zone it would be outside quiet hours and go at once. The
// sender is the demo file, so this also runs serve with sender = "file".
func TestServeQuietHoursInClinicZone(t *testing.T) {
	urumqi, err := time.LoadLocation("Asia/Urumqi")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(urumqi)
	start, end := now.Add(-time.Hour).Format("15:04"), now.Add(time.Hour).Format("15:04")
	// Urumqi is a whole number of hours from UTC, so the minute boundary
	// is the same in both.
	wantNext := now.Add(time.Hour).Truncate(time.Minute)

	dir := initNodeAdmin(t, "quiet-clinic")
	editConfig(t, dir, func(f *nodeconf.File) {
		f.Clinic.TimeZone = "Asia/Urumqi"
		f.Outbox.Sender, f.Outbox.FilePath = nodeconf.SenderFile, "sms.jsonl"
		f.Outbox.QuietStart, f.Outbox.QuietEnd = start, end
	})
	srv := startServe(t, dir)
	admin := srv.login(t, "admin", adminPassword)
	var patient chartOut
	admin.must(t, "POST", "/api/v1/patients", map[string]any{"name": "艾力·买买提", "sex": "male", "birthDate": "1970-01-20",
		"phones": []string{"13899001122"}}, http.StatusCreated, &patient)
	admin.must(t, "POST", "/api/v1/patients/"+patient.ID+"/education/smoking-cessation/send", nil, http.StatusCreated, nil)

	var box struct {
		Messages []struct {
			Status string    `json:"status"`
			Next   time.Time `json:"next"`
		} `json:"messages"`
	}
	admin.must(t, "GET", "/api/v1/outbox", nil, http.StatusOK, &box)
	if len(box.Messages) != 1 {
		t.Fatalf("the outbox holds %+v, want one message", box.Messages)
	}
	if m := box.Messages[0]; m.Status != "queued" || !m.Next.Equal(wantNext) {
		t.Errorf("quiet hours %s–%s Asia/Urumqi at %s: message %s, next %s; want queued until %s",
			start, end, now.Format("15:04"), m.Status, m.Next.In(urumqi), wantNext)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := srv.wait(t); code != 0 {
		t.Errorf("serve exited %d\n%s", code, tail(srv.stderr.String(), 2000))
	}
	if b, err := os.ReadFile(filepath.Join(dir, "sms.jsonl")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the file sender wrote during quiet hours: %q, %v", b, err)
	}
}
