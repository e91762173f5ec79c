package nodeconf

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"carenode/crdt"
)

// Off is the value of an address key whose listener is switched off.
const Off = "off"

// DevicesSection is the [devices] section: vital-signs devices on serial
// ports, over HL7/MLLP and over MQTT.
type DevicesSection struct {
	// MLLPListen is the HL7 v2 MLLP listener's host:port, or Off.
	MLLPListen string `toml:"mllp_listen"`
	// MQTTListen is the embedded MQTT broker's host:port, or Off.
	MQTTListen string `toml:"mqtt_listen"`
	// MQTTBroker is an external broker's URL, read instead of the embedded
	// broker; "" for none.
	MQTTBroker string `toml:"mqtt_broker"`
	// MQTTUsername and MQTTPasswordFile sign in to the external broker;
	// the file's first line is the password. A relative path is relative
	// to the node's data directory.
	MQTTUsername     string `toml:"mqtt_username"`
	MQTTPasswordFile string `toml:"mqtt_password_file"`
	// MQTTClientID is the node's client id on the external broker; ""
	// means "carenode-" and the node's ID.
	MQTTClientID string `toml:"mqtt_client_id"`
	// Serial lists the devices on serial ports.
	Serial []SerialPort `toml:"serial"`
}

// SerialPort is one device on a serial port.
type SerialPort struct {
	DeviceID string `toml:"device_id"`
	Path     string `toml:"path"`
	Baud     int    `toml:"baud"`
	Parity   string `toml:"parity"`
	// Parser is one of SerialParsers.
	Parser string `toml:"parser"`
}

// The defaults of a serial port's optional keys: what the Nonin, A&D and
// Accutorr ship with.
const (
	DefaultBaud   = 9600
	DefaultParity = "none"
)

// SerialParsers returns the parser names a serial port may have: "hl7"
// (HL7 v2 over MLLP framing) and the line formats of devices/lineformat.
// node may not import devices, so the list is written here; a test in
// devices checks that the two agree.
func SerialParsers() []string { return []string{"hl7", "nonin", "and", "accutorr"} }

// Bauds returns the line speeds a serial port may have.
func Bauds() []int { return []int{1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200} }

// ExternalSchemes returns the URL schemes an external broker may have.
func ExternalSchemes() []string { return []string{"tcp", "mqtt", "ssl", "tls", "mqtts", "tcps"} }

func defaultDevices() DevicesSection {
	// MQTT on loopback by default, as the HTTP API: devices on the
	// network need someone to decide so. MLLP is off until asked for.
	return DevicesSection{MLLPListen: Off, MQTTListen: "127.0.0.1:1883"}
}

// fillSerialDefaults gives the serial ports of a loaded file the defaults
// of the keys left out, and makes an empty list nil as in Default.
func (d *DevicesSection) fillSerialDefaults() {
	if len(d.Serial) == 0 {
		d.Serial = nil
	}
	for i := range d.Serial {
		p := &d.Serial[i]
		if p.Baud == 0 {
			p.Baud = DefaultBaud
		}
		if p.Parity == "" {
			p.Parity = DefaultParity
		}
	}
}

// problems returns every invalid value of the section, each a *ValueError
// in English and Chinese.
func (d DevicesSection) problems() []error {
	var errs []error
	add := func(key, value, allowed, allowedZh string) {
		errs = append(errs, &ValueError{Key: key, Value: value, Allowed: allowed, AllowedZh: allowedZh})
	}
	for _, l := range []struct{ key, v string }{{"devices.mllp_listen", d.MLLPListen}, {"devices.mqtt_listen", d.MQTTListen}} {
		if l.v == Off {
			continue
		}
		if msg, _ := checkListen(l.v); msg != "" {
			add(l.key, quote(l.v), msg+`, or "off"`, `须为“主机:端口”，如 "127.0.0.1:2575"，或 "off" 表示关闭`)
		}
	}
	if d.MQTTBroker != "" {
		u, err := url.Parse(d.MQTTBroker)
		switch {
		case err != nil || u.Host == "" || u.Port() == "":
			add("devices.mqtt_broker", quote(d.MQTTBroker), `must be a URL with a host and port, like "tcp://192.168.1.10:1883"`,
				`须为包含主机和端口的地址，如 "tcp://192.168.1.10:1883"`)
		case !slices.Contains(ExternalSchemes(), u.Scheme):
			add("devices.mqtt_broker", quote(d.MQTTBroker), "must start with one of "+strings.Join(ExternalSchemes(), "://, ")+"://",
				"须以 "+strings.Join(ExternalSchemes(), "://、")+":// 之一开头")
		case u.User != nil:
			add("devices.mqtt_broker", quote(u.Redacted()), "must not hold a user name or password: use mqtt_username and mqtt_password_file",
				"地址中不能包含用户名或密码，请使用 mqtt_username 和 mqtt_password_file")
		case d.MQTTListen != Off:
			add("devices.mqtt_broker", quote(d.MQTTBroker), `replaces the node's own broker: set mqtt_listen = "off" too`,
				`外部代理服务器取代本机自带的代理：请同时设置 mqtt_listen = "off"`)
		}
	} else {
		for _, k := range []struct{ key, v string }{{"devices.mqtt_username", d.MQTTUsername},
			{"devices.mqtt_password_file", d.MQTTPasswordFile}, {"devices.mqtt_client_id", d.MQTTClientID}} {
			if k.v != "" {
				add(k.key, quote(k.v), "is used only with mqtt_broker, which is not set", "仅在设置了 mqtt_broker 时使用，而 mqtt_broker 未设置")
			}
		}
	}
	if d.MQTTPasswordFile != "" && d.MQTTUsername == "" {
		add("devices.mqtt_password_file", quote(d.MQTTPasswordFile), "needs mqtt_username", "需要同时设置 mqtt_username")
	}
	if d.MQTTClientID != "" && !crdt.ValidName(d.MQTTClientID) {
		add("devices.mqtt_client_id", quote(d.MQTTClientID), `must be 1 to 64 letters, digits, "_", "-" or "."`,
			`须为 1 到 64 个英文字母、数字、“_”、“-”或“.”`)
	}

	ids, paths := map[string]int{}, map[string]int{}
	for i, p := range d.Serial {
		key := fmt.Sprintf("devices.serial[%d].", i+1) // counted from 1, as a person counts
		switch {
		case !crdt.ValidName(p.DeviceID):
			add(key+"device_id", quote(p.DeviceID), `must be 1 to 64 letters, digits, "_", "-" or "."`,
				`须为 1 到 64 个英文字母、数字、“_”、“-”或“.”`)
		case ids[p.DeviceID] > 0:
			add(key+"device_id", quote(p.DeviceID), fmt.Sprintf("is already the device of serial port %d", ids[p.DeviceID]),
				fmt.Sprintf("已被第 %d 个串口使用", ids[p.DeviceID]))
		default:
			ids[p.DeviceID] = i + 1
		}
		switch {
		case strings.TrimSpace(p.Path) == "":
			add(key+"path", quote(p.Path), `required: the port, like "/dev/ttyUSB0" or "COM3"`, `必填：串口路径，如 "/dev/ttyUSB0" 或 "COM3"`)
		case paths[p.Path] > 0:
			add(key+"path", quote(p.Path), fmt.Sprintf("is already serial port %d", paths[p.Path]),
				fmt.Sprintf("已被第 %d 个串口使用", paths[p.Path]))
		default:
			paths[p.Path] = i + 1
		}
		if !slices.Contains(Bauds(), p.Baud) {
			var list []string
			for _, b := range Bauds() {
				list = append(list, strconv.Itoa(b))
			}
			add(key+"baud", strconv.Itoa(p.Baud), "must be one of "+strings.Join(list, ", "), "须为以下之一："+strings.Join(list, "、"))
		}
		switch p.Parity {
		case "none", "odd", "even":
		default:
			add(key+"parity", quote(p.Parity), `must be "none", "odd" or "even"`, `须为 "none"（无校验）、"odd"（奇校验）或 "even"（偶校验）`)
		}
		if !slices.Contains(SerialParsers(), p.Parser) {
			add(key+"parser", quote(p.Parser), "must be one of "+strings.Join(SerialParsers(), ", "),
				"须为以下之一："+strings.Join(SerialParsers(), "、"))
		}
	}
	return errs
}
