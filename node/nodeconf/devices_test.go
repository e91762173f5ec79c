package nodeconf

import (
	"reflect"
	"strings"
	"testing"
)

// TestLoadDevices: serial ports written as [[devices.serial]] tables (the
// usual way to write them by hand) load with their left-out keys at their
// defaults, and survive Render.
func TestLoadDevices(t *testing.T) {
	text := `[node]
name = "Clinic A"
role = "clinic"

[devices]
mllp_listen = "127.0.0.1:2575"

[[devices.serial]]
device_id = "spo2-desk"
path = "/dev/ttyUSB0"
parser = "nonin"

[[devices.serial]]
device_id = "bp-1"
path = "/dev/ttyUSB1"
baud = 19200
parity = "even"
parser = "hl7"
`
	got, err := Load(writeConfig(t, text))
	if err != nil {
		t.Fatal(err)
	}
	want := Default("Clinic A", RoleClinic)
	want.Devices.MLLPListen = "127.0.0.1:2575"
	want.Devices.Serial = []SerialPort{
		{DeviceID: "spo2-desk", Path: "/dev/ttyUSB0", Baud: 9600, Parity: "none", Parser: "nonin"},
		{DeviceID: "bp-1", Path: "/dev/ttyUSB1", Baud: 19200, Parity: "even", Parser: "hl7"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got.Devices, want.Devices)
	}
	again, err := Load(writeConfig(t, string(Render(got))))
	if err != nil || !reflect.DeepEqual(again, got) {
		t.Fatalf("after Render: %+v, %v", again.Devices, err)
	}
	if !strings.Contains(string(Render(Default("A", RoleHub))), `mqtt_listen = "127.0.0.1:1883"`) {
		t.Error("the embedded broker is not on loopback by default")
	}
}

// TestValidateDevices: each bad [devices] value is reported under its
// key, in English and in Chinese.
func TestValidateDevices(t *testing.T) {
	port := func(f func(p *SerialPort)) SerialPort {
		p := SerialPort{DeviceID: "bp-1", Path: "/dev/ttyUSB0", Baud: 9600, Parity: "none", Parser: "hl7"}
		f(&p)
		return p
	}
	tests := []struct {
		name string
		edit func(d *DevicesSection)
		keys []string
	}{
		{"mllp address", func(d *DevicesSection) { d.MLLPListen = "2575" }, []string{"devices.mllp_listen"}},
		{"mqtt address empty", func(d *DevicesSection) { d.MQTTListen = "" }, []string{"devices.mqtt_listen"}},
		{"broker and embedded", func(d *DevicesSection) { d.MQTTBroker = "tcp://10.0.0.1:1883" }, []string{"devices.mqtt_broker"}},
		{"broker scheme", func(d *DevicesSection) { d.MQTTListen, d.MQTTBroker = Off, "http://10.0.0.1:1883" }, []string{"devices.mqtt_broker"}},
		{"broker no port", func(d *DevicesSection) { d.MQTTListen, d.MQTTBroker = Off, "tcp://10.0.0.1" }, []string{"devices.mqtt_broker"}},
		{"password in url", func(d *DevicesSection) { d.MQTTListen, d.MQTTBroker = Off, "tcp://u:pw@10.0.0.1:1883" }, []string{"devices.mqtt_broker"}},
		{"username without broker", func(d *DevicesSection) { d.MQTTUsername = "x" }, []string{"devices.mqtt_username"}},
		{"password file without user", func(d *DevicesSection) {
			d.MQTTListen, d.MQTTBroker, d.MQTTPasswordFile = Off, "tcp://h:1883", "pw"
		}, []string{"devices.mqtt_password_file"}},
		{"client id", func(d *DevicesSection) { d.MQTTListen, d.MQTTBroker, d.MQTTClientID = Off, "tcp://h:1883", "a b" },
			[]string{"devices.mqtt_client_id"}},
		{"serial port", func(d *DevicesSection) {
			d.Serial = []SerialPort{
				port(func(p *SerialPort) {}),
				port(func(p *SerialPort) { p.Path = "/dev/ttyUSB1"; p.Baud = 9601; p.Parity = "mark"; p.Parser = "ascii" }),
				port(func(p *SerialPort) { p.DeviceID = "spo2/1"; p.Path = " " }),
				port(func(p *SerialPort) { p.DeviceID = "scale" }),
			}
		}, []string{"devices.serial[2].device_id", "devices.serial[2].baud", "devices.serial[2].parity", "devices.serial[2].parser",
			"devices.serial[3].device_id", "devices.serial[3].path", "devices.serial[4].path"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := Default("Clinic A", RoleClinic)
			tc.edit(&f.Devices)
			wantBilingualProblems(t, f, tc.keys)
		})
	}
	ok := Default("Clinic A", RoleClinic)
	ok.Devices = DevicesSection{MLLPListen: ":2575", MQTTListen: Off, MQTTBroker: "mqtts://broker.example:8883",
		MQTTUsername: "u", MQTTPasswordFile: "/etc/carenode/mqtt.pw", MQTTClientID: "node-a",
		Serial: []SerialPort{port(func(p *SerialPort) { p.Path = "COM3"; p.Parser = "accutorr" })}}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid devices section: %v", err)
	}
}

// TestLoadDevicesErrors: mistakes in serial tables name the key.
func TestLoadDevicesErrors(t *testing.T) {
	head := "[node]\nname = \"A\"\nrole = \"clinic\"\n"
	for _, tc := range []struct{ text, want string }{
		{head + "[[devices.serial]]\ndevice_id = \"a\"\npath = \"/dev/x\"\nparser = \"nonin\"\nspeed = 9600\n", `"devices.serial.speed"`},
		{head + "[[devices.serial]]\ndevice_id = \"a\"\npath = \"/dev/x\"\nparser = \"nonin\"\nbaud = \"fast\"\n", "devices.serial"},
		{head + "[devices]\nserial = 5\n", "devices.serial"},
	} {
		_, err := Load(writeConfig(t, tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to name %s", tc.text, err, tc.want)
		}
	}
}
