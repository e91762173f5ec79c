package nodeconf

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLoadOutbox: a file with [clinic] and [outbox] loads with the keys
// left out at their defaults, and survives Render.
func TestLoadOutbox(t *testing.T) {
	text := `[node]
name = "Clinic A"
role = "clinic"

[clinic]
time_zone = "Asia/Urumqi"

[outbox]
sender = "gsm"
modem_port = "/dev/ttyUSB2"
quiet_start = "22:00"
quiet_end = "22:00"
`
	got, err := Load(writeConfig(t, text))
	if err != nil {
		t.Fatal(err)
	}
	want := Default("Clinic A", RoleClinic)
	want.Clinic.TimeZone = "Asia/Urumqi"
	want.Outbox.Sender, want.Outbox.ModemPort = SenderGSM, "/dev/ttyUSB2"
	want.Outbox.QuietStart, want.Outbox.QuietEnd = "22:00", "22:00"
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v %+v\nwant %+v %+v", got.Clinic, got.Outbox, want.Clinic, want.Outbox)
	}
	if s, e := got.Outbox.QuietHours(); s != 22*time.Hour || e != 22*time.Hour {
		t.Errorf("QuietHours = %v, %v", s, e)
	}
	loc, err := got.Clinic.Location()
	if err != nil || loc.String() != "Asia/Urumqi" {
		t.Errorf("Location = %v, %v", loc, err)
	}
	again, err := Load(writeConfig(t, string(Render(got))))
	if err != nil || !reflect.DeepEqual(again, got) {
		t.Fatalf("after Render: %+v, %v", again.Outbox, err)
	}

	d := Default("A", RoleHub)
	if d.Clinic.TimeZone != "Asia/Shanghai" || d.Outbox.Sender != SenderNone || d.Outbox.QuietStart != "20:00" ||
		d.Outbox.QuietEnd != "08:00" || d.Outbox.DefaultExpiry.Duration != 72*time.Hour || d.Outbox.MaxAttempts != 8 {
		t.Errorf("defaults: %+v %+v", d.Clinic, d.Outbox)
	}
}

// TestValidateOutbox: each bad [outbox] or [clinic] value is reported
// under its key, in English and in Chinese, and a sender needs its keys.
func TestValidateOutbox(t *testing.T) {
	tests := []struct {
		name string
		edit func(f *File)
		keys []string
	}{
		{"unknown sender", func(f *File) { f.Outbox.Sender = "sms" }, []string{"outbox.sender"}},
		{"gsm without port", func(f *File) { f.Outbox.Sender = SenderGSM }, []string{"outbox.modem_port"}},
		{"gsm blank port", func(f *File) { f.Outbox.Sender, f.Outbox.ModemPort = SenderGSM, "  " }, []string{"outbox.modem_port"}},
		{"gsm odd baud", func(f *File) { f.Outbox.Sender, f.Outbox.ModemPort, f.Outbox.ModemBaud = SenderGSM, "COM3", 115201 },
			[]string{"outbox.modem_baud"}},
		{"port without gsm", func(f *File) { f.Outbox.ModemPort = "/dev/ttyUSB0" }, []string{"outbox.modem_port"}},
		{"gateway without url", func(f *File) { f.Outbox.Sender = SenderGateway }, []string{"outbox.gateway_url"}},
		{"gateway url scheme", func(f *File) { f.Outbox.Sender, f.Outbox.GatewayURL = SenderGateway, "ftp://sms.example.cn/" },
			[]string{"outbox.gateway_url"}},
		{"gateway url password", func(f *File) {
			f.Outbox.Sender, f.Outbox.GatewayURL = SenderGateway, "https://u:secret@sms.example.cn/"
		},
			[]string{"outbox.gateway_url"}},
		{"gateway auth", func(f *File) {
			f.Outbox.Sender, f.Outbox.GatewayURL, f.Outbox.GatewayAuth = SenderGateway, "https://sms.example.cn/", "digest"
		}, []string{"outbox.gateway_auth"}},
		{"gateway auth without credentials", func(f *File) {
			f.Outbox.Sender, f.Outbox.GatewayURL, f.Outbox.GatewayAuth = SenderGateway, "https://sms.example.cn/", AuthBearer
		}, []string{"outbox.gateway_credentials_file"}},
		{"gateway credentials without auth", func(f *File) {
			f.Outbox.Sender, f.Outbox.GatewayURL, f.Outbox.GatewayCredentialsFile = SenderGateway, "https://sms.example.cn/", "sms.cred"
		}, []string{"outbox.gateway_credentials_file"}},
		{"gateway template", func(f *File) {
			f.Outbox.Sender, f.Outbox.GatewayURL, f.Outbox.GatewayTemplate = SenderGateway, "https://sms.example.cn/", `{"to":{{json .To}`
		}, []string{"outbox.gateway_template"}},
		{"gateway keys without gateway", func(f *File) {
			f.Outbox.GatewayURL, f.Outbox.GatewayAuth, f.Outbox.GatewayCredentialsFile, f.Outbox.GatewayTemplate = "https://x.cn/", AuthBasic, "c", "{{.To}}"
		}, []string{"outbox.gateway_url", "outbox.gateway_auth", "outbox.gateway_credentials_file", "outbox.gateway_template"}},
		{"file without path", func(f *File) { f.Outbox.Sender = SenderFile }, []string{"outbox.file_path"}},
		{"path without file", func(f *File) { f.Outbox.Sender, f.Outbox.ModemPort, f.Outbox.FilePath = SenderGSM, "COM3", "sms.jsonl" },
			[]string{"outbox.file_path"}},
		{"sender node", func(f *File) { f.Outbox.SenderNode = "EH7DDX5BKSRGCE" }, []string{"outbox.sender_node"}},
		{"quiet hours", func(f *File) { f.Outbox.QuietStart, f.Outbox.QuietEnd = "8pm", "24:00" },
			[]string{"outbox.quiet_start", "outbox.quiet_end"}},
		{"expiry and attempts", func(f *File) { f.Outbox.DefaultExpiry, f.Outbox.MaxAttempts = Duration{-time.Hour}, 0 },
			[]string{"outbox.default_expiry", "outbox.max_attempts"}},
		{"unknown time zone", func(f *File) { f.Clinic.TimeZone = "Asia/Beijing" }, []string{"clinic.time_zone"}},
		{"empty time zone", func(f *File) { f.Clinic.TimeZone = "" }, []string{"clinic.time_zone"}},
		{"machine's time zone", func(f *File) { f.Clinic.TimeZone = "Local" }, []string{"clinic.time_zone"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := Default("Clinic A", RoleClinic)
			tc.edit(&f)
			wantBilingualProblems(t, f, tc.keys)
		})
	}

	for _, o := range []OutboxSection{
		{Sender: SenderGSM, ModemPort: "COM3"},
		{Sender: SenderGateway, GatewayURL: "http://127.0.0.1:9000/sms"},
		{Sender: SenderGateway, GatewayURL: "https://sms.example.cn/send", GatewayAuth: AuthBearer, GatewayCredentialsFile: "/etc/carenode/sms.token",
			GatewayTemplate: `{"mobile":{{json .To}},"msg":{{json .Text}},"lang":{{json .Lang}}}`},
		{Sender: SenderFile, FilePath: "sms.jsonl", SenderNode: "eh7dd-x5bks-rgcd"},
	} {
		f := Default("Clinic A", RoleClinic)
		def := f.Outbox
		o.QuietStart, o.QuietEnd, o.DefaultExpiry, o.MaxAttempts, o.ModemBaud = def.QuietStart, def.QuietEnd, def.DefaultExpiry, def.MaxAttempts, def.ModemBaud
		f.Outbox = o
		if err := f.Validate(); err != nil {
			t.Errorf("valid outbox %+v: %v", o, err)
		}
	}
}

// TestLoadOutboxErrorBilingual: the error a person sees for a bad value
// names the file, the key and the value, in English and Chinese.
func TestLoadOutboxErrorBilingual(t *testing.T) {
	path := writeConfig(t, "[node]\nname = \"A\"\nrole = \"clinic\"\n[clinic]\ntime_zone = \"Beijing\"\n[outbox]\nsender = \"gsm\"\n")
	_, err := Load(path)
	if !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("Load = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{path, `clinic.time_zone = "Beijing"`, "IANA 时区", `outbox.modem_port = ""`, "时必填"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if keys := problemKeys(err); !slices.Equal(keys, []string{"clinic.time_zone", "outbox.modem_port"}) {
		t.Errorf("problems for %v", keys)
	}
}

func TestParseTimeOfDay(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"00:00", 0, true}, {"08:00", 8 * time.Hour, true}, {"23:59", 23*time.Hour + 59*time.Minute, true},
		{"20:30", 20*time.Hour + 30*time.Minute, true},
		{"24:00", 0, false}, {"12:60", 0, false}, {"8:00", 0, false}, {"+1:00", 0, false}, {"08-00", 0, false},
		{"08:00:00", 0, false}, {"", 0, false}, {"８:00", 0, false}, {"-1:00", 0, false},
	} {
		got, err := ParseTimeOfDay(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseTimeOfDay(%q) = %v, %v", tc.in, got, err)
		}
		if err != nil && !errors.Is(err, ErrInvalidValue) {
			t.Errorf("ParseTimeOfDay(%q): %v does not wrap ErrInvalidValue", tc.in, err)
		}
	}
}

// FuzzParseTimeOfDay: whatever it accepts is a time of day that prints
// back as the same "HH:MM".
func FuzzParseTimeOfDay(f *testing.F) {
	for _, s := range []string{"00:00", "20:00", "23:59", "24:00", "9:5", "ab:cd", "１２:００"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseTimeOfDay(s)
		if err != nil {
			return
		}
		if d < 0 || d >= 24*time.Hour {
			t.Fatalf("%q = %v, outside a day", s, d)
		}
		if back := fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60); back != s {
			t.Fatalf("%q = %v, prints as %q", s, d, back)
		}
	})
}
