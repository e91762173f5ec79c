package nodeconf

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
)

// fileTemplate is the layout of a rendered config file. Defaults in the
// comments come from Default, so they cannot drift from the code.
const fileTemplate = `# carenode node configuration.
#
# Lines starting with # are comments. A key you delete takes its default.
# Durations are a number and a unit, like "500ms", "30s", "10m" or "2h".

[node]
# The name people see for this node on other nodes and in reports:
# 1 to 64 printable characters. Required.
name = {{q .F.Node.Name}}

# The job this node does: {{.Roles}}. Required.
role = {{q .F.Node.Role}}

[http]
# Address and port the HTTP API listens on, as "host:port".
# 127.0.0.1 accepts connections from this computer only; an empty host,
# like ":7420", accepts them on every network interface.
# Default: {{q .D.HTTP.Listen}}.
listen = {{q .F.HTTP.Listen}}

# Largest request body accepted, in bytes; bigger requests are refused.
# Default: {{.D.HTTP.MaxBodyBytes}}.
max_body_bytes = {{.F.HTTP.MaxBodyBytes}}

# Longest time allowed to read a whole request. Default: {{q .D.HTTP.ReadTimeout}}.
read_timeout = {{q .F.HTTP.ReadTimeout}}

# Longest time allowed to write a whole response. Default: {{q .D.HTTP.WriteTimeout}}.
write_timeout = {{q .F.HTTP.WriteTimeout}}

[store]
# Most writes committed together in one transaction. Bigger batches mean
# fewer disk flushes when many writes arrive at once. Default: {{.D.Store.MaxBatch}}.
max_batch = {{.F.Store.MaxBatch}}

# How far another node's clock may pull this node's clock ahead. A change
# stamped further in the future is still kept, but this node's clock does
# not follow it past now + this bound, and a warning is logged.
# Default: {{q .D.Store.MaxClockSkew}}.
max_clock_skew = {{q .F.Store.MaxClockSkew}}

# Skip flushing writes to disk. Only for benchmarks: with true, a power cut
# loses writes that were already acknowledged. Default: {{.D.Store.NoSync}}.
no_sync = {{.F.Store.NoSync}}

# Changes from other nodes are stored in the change log at once and folded
# into their records in bulk, once this many wait (or half a second after a
# sync goes quiet): faster syncs, for about 0.5 KB of memory per waiting
# change (a busy sync may hold up to four times this many). -1 folds every
# batch at once: slower, least memory. Default: {{.D.Store.FoldAfter}}.
fold_after = {{.F.Store.FoldAfter}}

[log]
# Least severe messages written: "debug", "info", "warn" or "error".
# Default: {{q .D.Log.Level}}.
level = {{q .F.Log.Level}}

# "text" or "json"; "auto" writes text on a terminal and JSON otherwise.
# Default: {{q .D.Log.Format}}.
format = {{q .F.Log.Format}}

[sync]
# How this node exchanges changes with the other nodes of its network.
# The serve command's --sync-* and --discovery-* flags override these.

# Address and port of the mutual-TLS listener for peers and enrolment, as
# "host:port"; "" means the role's default: hubs and clinic desks listen
# on "0.0.0.0:7443", kiosks and nurse laptops not at all. Default: {{q .D.Sync.Listen}}.
listen = {{q .F.Sync.Listen}}

# Wait between scheduled syncs with the hub and the peers found on the
# LAN; "0s" turns scheduled syncs off. Default: {{q .D.Sync.Interval}}.
interval = {{q .F.Sync.Interval}}

# How soon after a local write the node syncs with its peers (writes made
# meanwhile go along); "0s" waits for the schedule. Default: {{q .D.Sync.Debounce}}.
debounce = {{q .F.Sync.Debounce}}

# LAN discovery (unicast only): the address and port to gossip on, like
# "0.0.0.0:7946"; "" turns discovery off. Default: {{q .D.Sync.DiscoveryBind}}.
discovery_bind = {{q .F.Sync.DiscoveryBind}}

# Seeds to join first, "host:port" separated by commas, like
# "192.168.1.10:7946" (typically the clinic desk); "" waits to be joined.
# Default: {{q .D.Sync.DiscoveryJoin}}.
discovery_join = {{q .F.Sync.DiscoveryJoin}}

# Host announced in this node's sync URL; needed when listen is on every
# address (0.0.0.0). Default: {{q .D.Sync.DiscoveryAdvertise}}.
discovery_advertise = {{q .F.Sync.DiscoveryAdvertise}}

[devices]
# Vital-signs devices: monitors on serial ports, HL7 over the network and
# MQTT. Readings are kept even when no patient is attached; staff attach
# them from the review queue.

# Address and port of the HL7 v2 (MLLP) listener for monitors and
# gateways that send over the network, as "host:port", or "off".
# Default: {{q .D.Devices.MLLPListen}}.
mllp_listen = {{q .F.Devices.MLLPListen}}

# Address and port of this node's own MQTT broker for devices, as
# "host:port", or "off" (it must be off when mqtt_broker is set).
# Default: {{q .D.Devices.MQTTListen}}.
mqtt_listen = {{q .F.Devices.MQTTListen}}

# An external MQTT broker to read device readings from instead, as a URL
# like "tcp://192.168.1.10:1883" or "tls://broker.example:8883"; "" for
# none. Default: {{q .D.Devices.MQTTBroker}}.
mqtt_broker = {{q .F.Devices.MQTTBroker}}

# User name on the external broker; "" to connect without one.
# Default: {{q .D.Devices.MQTTUsername}}.
mqtt_username = {{q .F.Devices.MQTTUsername}}

# File whose first line is the password of mqtt_username; a relative path
# is relative to the node's data directory. Default: {{q .D.Devices.MQTTPasswordFile}}.
mqtt_password_file = {{q .F.Devices.MQTTPasswordFile}}

# This node's client id on the external broker; "" means "carenode-" and
# the node's ID. Keep it unchanged, or the broker forgets the readings it
# holds for the node. Default: {{q .D.Devices.MQTTClientID}}.
mqtt_client_id = {{q .F.Devices.MQTTClientID}}

# Devices on serial ports, one { } each: device_id (letters, digits, "_",
# "-", "."), path (like "/dev/ttyUSB0" or "COM3"), baud (default {{.Baud}}),
# parity ("none", "odd" or "even"; default {{q .Parity}}) and parser, one of
# {{.Parsers}}: "hl7" is HL7 v2 in MLLP framing, the others
# are the line formats of pulse oximeters (nonin), scales (and) and
# blood-pressure monitors (accutorr). For example:
#   serial = [
#     { device_id = "spo2-desk", path = "/dev/ttyUSB0", baud = 9600, parity = "none", parser = "nonin" },
#   ]
# Default: [] (none).
serial = {{serial .F.Devices.Serial}}

[clinic]
# The clinic's time zone, as an IANA name like "Asia/Shanghai" (Beijing
# time) or "Asia/Urumqi": quiet hours, appointment days, ages and report
# months are counted in it. Default: {{q .D.Clinic.TimeZone}}.
time_zone = {{q .F.Clinic.TimeZone}}

[outbox]
# SMS to patients: appointment reminders, follow-up summaries, survey
# links and education. Messages wait in the outbox, which syncs like the
# rest of the data, until the sending node sends them.

# How this node sends: "gsm" (a GSM modem on a serial port, see modem_*),
# "gateway" (an HTTP SMS gateway, see gateway_*), "file" (appends each
# message to file_path, for demos) or "" (this node sends nothing).
# Default: {{q .D.Outbox.Sender}}.
sender = {{q .F.Outbox.Sender}}

# ID of the node that sends the clinic's messages (the one with the modem
# or the gateway), as carenode status shows it. Set the same value on
# every node of the clinic, so each message is sent exactly once; ""
# means the node that queues a message sends it, which may send it twice
# when two nodes queue it while they cannot reach each other.
# Default: {{q .D.Outbox.SenderNode}}.
sender_node = {{q .F.Outbox.SenderNode}}

# Quiet hours, "HH:MM" in the clinic's time zone: nothing is sent from
# quiet_start to quiet_end; a message due then waits until quiet_end.
# The same time for both means no quiet hours.
# Default: {{q .D.Outbox.QuietStart}}.
quiet_start = {{q .F.Outbox.QuietStart}}
# Default: {{q .D.Outbox.QuietEnd}}.
quiet_end = {{q .F.Outbox.QuietEnd}}

# How long after it is due a message is still worth sending; after that
# it expires unsent (a reminder for a past appointment is worthless).
# Default: {{q .D.Outbox.DefaultExpiry}}.
default_expiry = {{q .F.Outbox.DefaultExpiry}}

# Failed attempts, retried with growing waits, after which a message is
# marked failed until someone retries it. Default: {{.D.Outbox.MaxAttempts}}.
max_attempts = {{.F.Outbox.MaxAttempts}}

# sender = "gsm": the modem's serial port, like "/dev/ttyUSB0" or "COM3".
# Default: {{q .D.Outbox.ModemPort}}.
modem_port = {{q .F.Outbox.ModemPort}}

# sender = "gsm": the modem's line speed. Default: {{.D.Outbox.ModemBaud}}.
modem_baud = {{.F.Outbox.ModemBaud}}

# sender = "gateway": the URL that receives one request per message, like
# "https://sms.example.cn/send". Default: {{q .D.Outbox.GatewayURL}}.
gateway_url = {{q .F.Outbox.GatewayURL}}

# sender = "gateway": how to sign in, "basic", "bearer" or "" (none).
# Default: {{q .D.Outbox.GatewayAuth}}.
gateway_auth = {{q .F.Outbox.GatewayAuth}}

# sender = "gateway": file whose first line is "user:password" (basic) or
# the token (bearer), kept out of this file so it can be shared; a
# relative path is relative to the data directory.
# Default: {{q .D.Outbox.GatewayCredentialsFile}}.
gateway_credentials_file = {{q .F.Outbox.GatewayCredentialsFile}}

# sender = "gateway": the request body, a Go text/template with .To,
# .Text, .ID and .Lang, and json to write a value as JSON; "" sends
# {"to":…,"text":…,"id":…}. Default: {{q .D.Outbox.GatewayTemplate}}.
gateway_template = {{q .F.Outbox.GatewayTemplate}}

# sender = "file": the file each message is appended to as a JSON line;
# a relative path is relative to the data directory.
# Default: {{q .D.Outbox.FilePath}}.
file_path = {{q .F.Outbox.FilePath}}
`

// Render returns f as a commented TOML file that Load reads back as f.
// go-toml cannot emit comments, hence the template.
func Render(f File) []byte {
	// The template is a constant, so a parse error is a bug caught by
	// every test that renders.
	tmpl := template.Must(template.New("config").Funcs(template.FuncMap{
		// fmt.Sprint uses Duration.String and the plain text of the
		// string types.
		"q":      func(v any) string { return quote(fmt.Sprint(v)) },
		"serial": renderSerial,
	}).Parse(fileTemplate))

	roles := make([]string, 0, len(Roles()))
	for _, r := range Roles() {
		roles = append(roles, quote(string(r)))
	}
	parsers := make([]string, 0, len(SerialParsers()))
	for _, p := range SerialParsers() {
		parsers = append(parsers, quote(p))
	}
	data := struct {
		F, D           File
		Roles, Parsers string
		Baud           int
		Parity         string
	}{
		F:       f,
		D:       Default("", ""),
		Roles:   strings.Join(roles[:len(roles)-1], ", ") + " or " + roles[len(roles)-1],
		Parsers: strings.Join(parsers[:len(parsers)-1], ", ") + " or " + parsers[len(parsers)-1],
		Baud:    DefaultBaud,
		Parity:  DefaultParity,
	}

	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		// Only a template bug gets here: every value is a plain field.
		panic(fmt.Sprintf("nodeconf: render: %v", err))
	}
	return buf.Bytes()
}

// renderSerial writes the serial ports as a TOML array of inline tables,
// one a line.
func renderSerial(ports []SerialPort) string {
	if len(ports) == 0 {
		return "[]"
	}
	var b strings.Builder
	b.WriteString("[\n")
	for _, p := range ports {
		fmt.Fprintf(&b, "  { device_id = %s, path = %s, baud = %d, parity = %s, parser = %s },\n",
			quote(p.DeviceID), quote(p.Path), p.Baud, quote(p.Parity), quote(p.Parser))
	}
	b.WriteString("]")
	return b.String()
}

// quote returns s as a TOML basic string. strconv.Quote is not suitable:
// Go escapes such as \x41 and \a are not valid TOML.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
