package outbox

import (
	"fmt"
	"net/url"
	"strings"
	"text/template"
	"time"
)

// Sender kinds a Config may name.
const (
	SenderNone    = ""        // this node sends nothing (messages wait for the sending node)
	SenderGSM     = "gsm"     // a GSM modem on a serial port (devices/gsm)
	SenderGateway = "gateway" // an HTTP SMS gateway (Gateway)
	SenderFile    = "file"    // a JSON-lines file, for demos (FileSender)
)

// Config is the outbox's runtime configuration. Start from DefaultConfig.
type Config struct {
	// Node is this node's ID.
	Node string
	// SenderNode is the node that sends the clinic's SMS (the one with the
	// modem or the gateway). Every message queued anywhere names it, so
	// exactly one node sends; empty means the node that queues the message
	// sends it (see the package doc for what that costs).
	SenderNode string
	// QuietStart and QuietEnd are times of day (offsets from local
	// midnight) between which nothing is sent; a message due then waits
	// until QuietEnd. QuietStart after QuietEnd spans midnight (the default,
	// 20:00–08:00). Equal values mean no quiet hours.
	QuietStart, QuietEnd time.Duration
	// Location is the clinic's time zone for quiet hours; nil means
	// time.Local.
	Location *time.Location
	// DefaultExpiry is how long after it is due a message without Expires
	// is still worth sending.
	DefaultExpiry time.Duration
	// MinBackoff is the wait after the first failed attempt; each further
	// failure doubles it, up to MaxBackoff. After MaxAttempts failures the
	// message is failed until someone retries it.
	MinBackoff, MaxBackoff time.Duration
	MaxAttempts            int
	// Interval is how often Run looks for due messages when nothing wakes
	// it sooner (a queued or synced message wakes it at once).
	Interval time.Duration
	// SendTimeout bounds one send (all parts of a long message).
	SendTimeout time.Duration
	// Sender says how this node sends, when it is a sending node.
	Sender SenderConfig
}

// SenderConfig chooses and configures the sender.
type SenderConfig struct {
	// Kind is SenderNone, SenderGSM, SenderGateway or SenderFile.
	Kind    string
	Modem   ModemConfig
	Gateway GatewayConfig
	File    FileConfig
}

// ModemConfig is where the GSM modem is. devices/gsm opens it; the outbox
// only validates it, since node code may not import devices.
type ModemConfig struct {
	// Port is the serial device (/dev/ttyUSB0, COM3).
	Port string
	// Baud is the line speed; 115200 suits most USB modems.
	Baud int
	// Timeout bounds the wait for each answer of the modem; a send waits
	// up to the outbox's SendTimeout.
	Timeout time.Duration
}

// GatewayConfig configures an HTTP SMS gateway.
type GatewayConfig struct {
	// URL receives one request per message.
	URL string
	// Method is POST unless set.
	Method string
	// CredentialsFile holds the credentials on its first line: "user:password"
	// for Auth "basic", a token for "bearer". Kept out of the config file so
	// the config can be shared and shown.
	CredentialsFile string
	// Auth is "basic", "bearer" or "" (none).
	Auth string
	// Template renders the request body with text/template from
	// GatewayData (.To, .Text, .ID, .Lang); the function json writes a
	// value as JSON. Empty means DefaultGatewayTemplate.
	Template string
	// ContentType of the body; application/json unless set.
	ContentType string
	// Timeout bounds one request.
	Timeout time.Duration
}

// FileConfig configures the demo file sender.
type FileConfig struct {
	// Path of the JSON-lines file messages are appended to.
	Path string
}

// DefaultGatewayTemplate is the gateway body when the config names none.
const DefaultGatewayTemplate = `{"to":{{json .To}},"text":{{json .Text}},"id":{{json .ID}}}`

// DefaultConfig returns the defaults for node: quiet hours 20:00–08:00,
// three days' expiry, backoff from one minute to an hour, eight attempts.
func DefaultConfig(node string) Config {
	return Config{
		Node:          node,
		QuietStart:    20 * time.Hour,
		QuietEnd:      8 * time.Hour,
		DefaultExpiry: 72 * time.Hour,
		MinBackoff:    time.Minute,
		MaxBackoff:    time.Hour,
		MaxAttempts:   8,
		Interval:      30 * time.Second,
		SendTimeout:   2 * time.Minute,
		Sender: SenderConfig{
			Modem:   ModemConfig{Baud: 115200, Timeout: 10 * time.Second},
			Gateway: GatewayConfig{Method: "POST", ContentType: "application/json", Timeout: 30 * time.Second},
		},
	}
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	day := 24 * time.Hour
	switch {
	case c.Node == "":
		return bad("node: this node's ID is required")
	case c.QuietStart < 0 || c.QuietStart >= day:
		return bad("quiet start %v: want a time of day from 00:00 to 23:59", c.QuietStart)
	case c.QuietEnd < 0 || c.QuietEnd >= day:
		return bad("quiet end %v: want a time of day from 00:00 to 23:59", c.QuietEnd)
	case c.DefaultExpiry <= 0:
		return bad("default expiry %v: want a positive duration", c.DefaultExpiry)
	case c.MinBackoff <= 0:
		return bad("min backoff %v: want a positive duration", c.MinBackoff)
	case c.MaxBackoff < c.MinBackoff:
		return bad("max backoff %v is below min backoff %v", c.MaxBackoff, c.MinBackoff)
	case c.MaxAttempts < 1:
		return bad("max attempts %d: want at least 1", c.MaxAttempts)
	case c.Interval <= 0:
		return bad("interval %v: want a positive duration", c.Interval)
	case c.SendTimeout <= 0:
		return bad("send timeout %v: want a positive duration", c.SendTimeout)
	}
	return c.Sender.validate(bad)
}

func (s SenderConfig) validate(bad func(string, ...any) error) error {
	switch s.Kind {
	case SenderNone:
	case SenderGSM:
		if s.Modem.Port == "" {
			return bad("sender gsm: modem port is required (e.g. /dev/ttyUSB0)")
		}
		if s.Modem.Baud <= 0 {
			return bad("sender gsm: baud %d: want a positive line speed such as 115200", s.Modem.Baud)
		}
		if s.Modem.Timeout <= 0 {
			return bad("sender gsm: timeout %v: want a positive duration", s.Modem.Timeout)
		}
	case SenderGateway:
		g := s.Gateway
		u, err := url.Parse(g.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("sender gateway: url %q: want an http:// or https:// URL", g.URL)
		}
		switch strings.ToUpper(g.Method) {
		case "", "POST", "PUT", "GET":
		default:
			return bad("sender gateway: method %q: want POST, PUT or GET", g.Method)
		}
		switch g.Auth {
		case "":
		case "basic", "bearer":
			if g.CredentialsFile == "" {
				return bad("sender gateway: auth %s needs a credentials file", g.Auth)
			}
		default:
			return bad("sender gateway: auth %q: want basic, bearer or nothing", g.Auth)
		}
		if g.Timeout <= 0 {
			return bad("sender gateway: timeout %v: want a positive duration", g.Timeout)
		}
		if _, err := parseGatewayTemplate(g.Template); err != nil {
			return bad("sender gateway: template: %v", err)
		}
	case SenderFile:
		if s.File.Path == "" {
			return bad("sender file: path is required")
		}
	default:
		return bad("sender %q: want gsm, gateway, file or nothing", s.Kind)
	}
	return nil
}

// parseGatewayTemplate parses a gateway body template ("" is the default).
func parseGatewayTemplate(text string) (*template.Template, error) {
	if text == "" {
		text = DefaultGatewayTemplate
	}
	return template.New("gateway").Funcs(template.FuncMap{"json": jsonValue}).Option("missingkey=error").Parse(text)
}
