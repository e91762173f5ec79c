package nodeconf

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"carenode/node/identity"
)

// The values of the [outbox] section's sender key. They equal the sender
// kinds of node/outbox, which nodeconf does not import: a config file
// parser should not pull in the store and the vault.
const (
	SenderNone    = ""
	SenderGSM     = "gsm"
	SenderGateway = "gateway"
	SenderFile    = "file"
)

// Gateway authentication schemes (gateway_auth).
const (
	AuthNone   = ""
	AuthBasic  = "basic"
	AuthBearer = "bearer"
)

// DefaultTimeZone is the clinic's time zone when the file names none:
// carenode is made for clinics in China.
const DefaultTimeZone = "Asia/Shanghai"

// OutboxSection is the [outbox] section: how the node sends SMS to
// patients (reminders, summaries, survey links, education).
type OutboxSection struct {
	// Sender is how this node sends: SenderNone, SenderGSM,
	// SenderGateway or SenderFile.
	Sender string `toml:"sender"`
	// SenderNode is the ID of the node that sends the clinic's messages;
	// "" means the node that queued each message sends it.
	SenderNode string `toml:"sender_node"`
	// QuietStart and QuietEnd are "HH:MM" in the clinic's time zone;
	// nothing is sent between them. Equal values mean no quiet hours.
	QuietStart string `toml:"quiet_start"`
	QuietEnd   string `toml:"quiet_end"`
	// DefaultExpiry is how long after it is due a message is still sent.
	DefaultExpiry Duration `toml:"default_expiry"`
	// MaxAttempts is how many failed attempts mark a message failed.
	MaxAttempts int `toml:"max_attempts"`
	// ModemPort and ModemBaud are the GSM modem's serial line.
	ModemPort string `toml:"modem_port"`
	ModemBaud int    `toml:"modem_baud"`
	// GatewayURL receives one request per message.
	GatewayURL string `toml:"gateway_url"`
	// GatewayAuth is AuthNone, AuthBasic or AuthBearer.
	GatewayAuth string `toml:"gateway_auth"`
	// GatewayCredentialsFile holds "user:password" (basic) or a token
	// (bearer) on its first line; relative to the data directory.
	GatewayCredentialsFile string `toml:"gateway_credentials_file"`
	// GatewayTemplate is the request body as a Go text/template; ""
	// means the outbox's default JSON body.
	GatewayTemplate string `toml:"gateway_template"`
	// FilePath is the JSON-lines file of the demo sender, relative to
	// the data directory.
	FilePath string `toml:"file_path"`
}

// ClinicSection is the [clinic] section: facts about the clinic that
// every service uses.
type ClinicSection struct {
	// TimeZone is an IANA name such as "Asia/Shanghai": quiet hours,
	// appointment days, ages and report months are counted in it.
	TimeZone string `toml:"time_zone"`
}

// Senders returns the values the sender key may have, "" (none) first.
func Senders() []string { return []string{SenderNone, SenderGSM, SenderGateway, SenderFile} }

func defaultOutbox() OutboxSection {
	// The same values as outbox.DefaultConfig, written here because
	// nodeconf does not import the outbox; a test in cmd/carenode checks
	// that a default file maps to the outbox's defaults.
	return OutboxSection{QuietStart: "20:00", QuietEnd: "08:00", DefaultExpiry: Duration{72 * time.Hour},
		MaxAttempts: 8, ModemBaud: 115200}
}

func defaultClinic() ClinicSection { return ClinicSection{TimeZone: DefaultTimeZone} }

// ParseTimeOfDay reads "HH:MM" (00:00 to 23:59) as the time since
// midnight.
func ParseTimeOfDay(s string) (time.Duration, error) {
	digits := len(s) == 5 && s[2] == ':'
	for i := 0; digits && i < 5; i++ {
		digits = i == 2 || '0' <= s[i] && s[i] <= '9'
	}
	var hh, mm int
	if digits {
		hh, mm = int(s[0]-'0')*10+int(s[1]-'0'), int(s[3]-'0')*10+int(s[4]-'0')
	}
	if !digits || hh > 23 || mm > 59 {
		return 0, fmt.Errorf("%w: %q is not a time of day from \"00:00\" to \"23:59\"", ErrInvalidValue, s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// QuietHours returns quiet_start and quiet_end as times since midnight.
// Call it on a validated section; a bad value reads as midnight.
func (o OutboxSection) QuietHours() (start, end time.Duration) {
	start, _ = ParseTimeOfDay(o.QuietStart)
	end, _ = ParseTimeOfDay(o.QuietEnd)
	return start, end
}

// Location loads the clinic's time zone. Call it on a validated section.
func (c ClinicSection) Location() (*time.Location, error) {
	if c.TimeZone == "" || c.TimeZone == "Local" {
		// time.LoadLocation reads "" as UTC and "Local" as the machine's
		// zone: neither is a clinic's, and both change silently with the
		// machine.
		return nil, fmt.Errorf("%w: clinic.time_zone %q: want an IANA name such as %q", ErrInvalidValue, c.TimeZone, DefaultTimeZone)
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("%w: clinic.time_zone %q: %w", ErrInvalidValue, c.TimeZone, err)
	}
	return loc, nil
}

// problems returns one *ValueError, in English and Chinese, for each
// invalid key of the section.
func (c ClinicSection) problems() []error {
	if _, err := c.Location(); err != nil {
		return []error{&ValueError{Key: "clinic.time_zone", Value: quote(c.TimeZone),
			Allowed:   `must be a time zone name from the IANA database, like "Asia/Shanghai" or "Asia/Urumqi"`,
			AllowedZh: `须为 IANA 时区名称，如 "Asia/Shanghai"（北京时间）或 "Asia/Urumqi"`, Err: err}}
	}
	return nil
}

// problems returns one *ValueError, in English and Chinese, for each
// invalid key of the section.
func (o OutboxSection) problems() []error {
	var errs []error
	add := func(key, value, allowed, allowedZh string) {
		errs = append(errs, &ValueError{Key: "outbox." + key, Value: value, Allowed: allowed, AllowedZh: allowedZh})
	}
	if !slices.Contains(Senders(), o.Sender) {
		add("sender", quote(o.Sender), `must be "gsm" (a modem on a serial port), "gateway" (an HTTP SMS gateway), "file" (a file, for demos) or "" (this node sends nothing)`,
			`须为 "gsm"（串口上的 GSM 调制解调器）、"gateway"（HTTP 短信网关）、"file"（写入文件，用于演示）或 ""（本节点不发送）`)
	}
	if o.SenderNode != "" {
		if _, err := identity.ParseID(o.SenderNode); err != nil {
			errs = append(errs, &ValueError{Key: "outbox.sender_node", Value: quote(o.SenderNode),
				Allowed:   `must be a node ID as carenode status shows it, like "EH7DD-X5BKS-RGCD", or "" for the node that queues each message`,
				AllowedZh: `须为节点 ID（carenode status 显示的那样，如 "EH7DD-X5BKS-RGCD"），或 "" 表示由排队的节点发送`, Err: err})
		}
	}
	for _, q := range []struct{ key, v string }{{"quiet_start", o.QuietStart}, {"quiet_end", o.QuietEnd}} {
		if _, err := ParseTimeOfDay(q.v); err != nil {
			add(q.key, quote(q.v), `must be a time of day "HH:MM" from "00:00" to "23:59"`, `须为“时:分”格式的时间，从 "00:00" 到 "23:59"`)
		}
	}
	if o.DefaultExpiry.Duration <= 0 {
		add("default_expiry", quote(o.DefaultExpiry.String()), `must be a positive duration, like "72h"`, `须为正的时长，如 "72h"`)
	}
	if o.MaxAttempts < 1 {
		add("max_attempts", strconv.Itoa(o.MaxAttempts), "must be a whole number of at least 1, like 8", "须为不小于 1 的整数，如 8")
	}
	if !slices.Contains(Bauds(), o.ModemBaud) {
		var list []string
		for _, b := range Bauds() {
			list = append(list, strconv.Itoa(b))
		}
		add("modem_baud", strconv.Itoa(o.ModemBaud), "must be one of "+strings.Join(list, ", "), "须为以下之一："+strings.Join(list, "、"))
	}

	// Each sender needs its keys; a key of a sender not chosen is a
	// mistake too (most likely sender was forgotten), since otherwise the
	// clinic believes it sends SMS while nothing goes out.
	need := func(key, v, example, exampleZh string) {
		if strings.TrimSpace(v) == "" {
			add(key, quote(v), fmt.Sprintf("required with sender = %s: %s", quote(o.Sender), example),
				fmt.Sprintf("sender = %s 时必填：%s", quote(o.Sender), exampleZh))
		}
	}
	unused := func(sender, key, v string) {
		if v != "" && o.Sender != sender {
			add(key, quote(v), fmt.Sprintf("is used only with sender = %s, but sender is %s", quote(sender), quote(o.Sender)),
				fmt.Sprintf("仅在 sender = %s 时使用，而 sender 为 %s", quote(sender), quote(o.Sender)))
		}
	}
	switch o.Sender {
	case SenderGSM:
		need("modem_port", o.ModemPort, `the modem's serial port, like "/dev/ttyUSB0" or "COM3"`, `调制解调器的串口，如 "/dev/ttyUSB0" 或 "COM3"`)
	case SenderGateway:
		if u, err := url.Parse(o.GatewayURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("gateway_url", quote(o.GatewayURL), `must be an http:// or https:// URL, like "https://sms.example.cn/send"`,
				`须为 http:// 或 https:// 开头的地址，如 "https://sms.example.cn/send"`)
		} else if u.User != nil {
			add("gateway_url", quote(u.Redacted()), "must not hold a user name or password: use gateway_auth and gateway_credentials_file",
				"地址中不能包含用户名或密码，请使用 gateway_auth 和 gateway_credentials_file")
		}
		switch o.GatewayAuth {
		case AuthNone:
			if o.GatewayCredentialsFile != "" {
				add("gateway_credentials_file", quote(o.GatewayCredentialsFile), `needs gateway_auth = "basic" or "bearer"`,
					`需要同时设置 gateway_auth = "basic" 或 "bearer"`)
			}
		case AuthBasic, AuthBearer:
			need("gateway_credentials_file", o.GatewayCredentialsFile, `a file whose first line is "user:password" (basic) or the token (bearer)`,
				`第一行为“用户名:密码”（basic）或令牌（bearer）的文件`)
		default:
			add("gateway_auth", quote(o.GatewayAuth), `must be "basic", "bearer" or "" (none)`, `须为 "basic"、"bearer" 或 ""（不认证）`)
		}
		if o.GatewayTemplate != "" {
			if err := checkGatewayTemplate(o.GatewayTemplate); err != nil {
				errs = append(errs, &ValueError{Key: "outbox.gateway_template", Value: quote(o.GatewayTemplate),
					Allowed:   "must be a Go text/template using .To, .Text, .ID, .Lang and json (" + err.Error() + ")",
					AllowedZh: "须为 Go text/template 模板，可用 .To、.Text、.ID、.Lang 和 json（" + err.Error() + "）", Err: err})
			}
		}
	case SenderFile:
		need("file_path", o.FilePath, `a file name, like "sms.jsonl" (relative to the data directory)`, `文件名，如 "sms.jsonl"（相对于数据目录）`)
	}
	unused(SenderGSM, "modem_port", o.ModemPort)
	for _, k := range []struct{ key, v string }{{"gateway_url", o.GatewayURL}, {"gateway_auth", o.GatewayAuth},
		{"gateway_credentials_file", o.GatewayCredentialsFile}, {"gateway_template", o.GatewayTemplate}} {
		unused(SenderGateway, k.key, k.v)
	}
	unused(SenderFile, "file_path", o.FilePath)
	return errs
}

// checkGatewayTemplate parses a gateway body template as the outbox
// does, so a typo is reported under its key when the file is read rather
// than when the node starts.
func checkGatewayTemplate(text string) error {
	_, err := template.New("gateway_template").Funcs(template.FuncMap{"json": func(any) (string, error) { return "", nil }}).Parse(text)
	return err
}
