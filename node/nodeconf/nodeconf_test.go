package nodeconf

import (
	"bytes"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// writeConfig writes text to a fresh config file and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "node.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// valueErrors returns the *ValueError problems inside err.
func valueErrors(err error) []*ValueError {
	var out []*ValueError
	var walk func(error)
	walk = func(err error) {
		var ve *ValueError
		if errors.As(err, &ve) && err == error(ve) {
			out = append(out, ve)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			if e := u.Unwrap(); e != nil {
				walk(e)
			}
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

func problemKeys(err error) []string {
	var keys []string
	for _, ve := range valueErrors(err) {
		keys = append(keys, ve.Key)
	}
	return keys
}

// wantBilingualProblems checks that f fails Validate with ErrInvalidValue
// at exactly the keys want (in any order), each problem with a Chinese
// message of its own.
func wantBilingualProblems(t *testing.T, f File, want []string) {
	t.Helper()
	err := f.Validate()
	if !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("Validate = %v", err)
	}
	var keys []string
	for _, ve := range valueErrors(err) {
		keys = append(keys, ve.Key)
		zh := ve.Message("zh")
		if ve.AllowedZh == "" || !strings.HasPrefix(zh, ve.Key+" = ") || zh == ve.Message("en") {
			t.Errorf("%s: no Chinese message (%q)", ve.Key, zh)
		}
	}
	sorted := slices.Sorted(slices.Values(want))
	slices.Sort(keys)
	if !slices.Equal(keys, sorted) {
		t.Errorf("keys %v, want %v\n%v", keys, want, err)
	}
}

// custom returns a File with every value changed from its default, so a
// round trip that drops or swaps a field shows.
func custom() File {
	return File{
		Node: NodeSection{Name: `Clinic "North" \ 2`, Role: RoleNurse},
		HTTP: HTTPSection{
			Listen:       "[::1]:0",
			MaxBodyBytes: 5,
			ReadTimeout:  Duration{1500 * time.Millisecond},
			WriteTimeout: Duration{90 * time.Second},
		},
		Store: StoreSection{MaxBatch: 1, MaxClockSkew: Duration{2 * time.Hour}, NoSync: true, FoldAfter: -1},
		Log:   LogSection{Level: LevelDebug, Format: FormatJSON},
		Devices: DevicesSection{MLLPListen: "0.0.0.0:2575", MQTTListen: Off, MQTTBroker: "tls://broker.example:8883",
			MQTTUsername: "clinic-a", MQTTPasswordFile: "mqtt-password", MQTTClientID: "carenode-clinic-a",
			Serial: []SerialPort{
				{DeviceID: "bp-1", Path: "/dev/ttyUSB0", Baud: 9600, Parity: "none", Parser: "hl7"},
				{DeviceID: "spo2.desk_2", Path: `C:\dev\"odd" name`, Baud: 115200, Parity: "even", Parser: "nonin"},
			}},
		Sync: SyncSection{Listen: "0.0.0.0:7443", Interval: Duration{5 * time.Minute}, Debounce: Duration{500 * time.Millisecond},
			DiscoveryBind: "0.0.0.0:7946", DiscoveryJoin: "192.168.1.10:7946, desk1:7946", DiscoveryAdvertise: "192.168.1.23"},
		Clinic: ClinicSection{TimeZone: "Asia/Urumqi"},
		// modem_port and file_path keep their default "": a gateway
		// sender may not have them.
		Outbox: OutboxSection{Sender: SenderGateway, SenderNode: "EH7DDX5BKSRGCD", QuietStart: "21:30", QuietEnd: "07:15",
			DefaultExpiry: Duration{36 * time.Hour}, MaxAttempts: 3, ModemBaud: 9600,
			GatewayURL: "https://sms.example.cn/send?a=1&b=\"2\"", GatewayAuth: AuthBasic, GatewayCredentialsFile: "sms.cred",
			GatewayTemplate: `{"mobile":{{json .To}},"content":{{json .Text}}}`},
	}
}

func TestRenderLoadRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		file File
	}{
		{name: "default clinic", file: Default("Clinic A", RoleClinic)},
		{name: "default kiosk", file: Default("Front desk", RoleKiosk)},
		{name: "default nurse", file: Default("Nurse Li's tablet", RoleNurse)},
		{name: "default hub", file: Default("District hub", RoleHub)},
		{name: "chinese name", file: Default("卫生院 东区", RoleClinic)},
		{name: "accents and emoji", file: Default("Clínica São João 🏥", RoleClinic)},
		{name: "64 characters", file: Default(strings.Repeat("名", 64), RoleHub)},
		{name: "every value changed", file: custom()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.file.Validate(); err != nil {
				t.Fatalf("test file is invalid: %v", err)
			}
			path := writeConfig(t, string(Render(tc.file)))
			got, err := Load(path)
			if err != nil {
				t.Fatalf("Load(Render(f)): %v", err)
			}
			if !reflect.DeepEqual(got, tc.file) {
				t.Errorf("round trip changed the file:\n got %+v\nwant %+v", got, tc.file)
			}
		})
	}
}

func TestRenderCommentsEveryKey(t *testing.T) {
	lines := strings.Split(string(Render(custom())), "\n")
	keys := 0
	for i, line := range lines {
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") ||
			strings.HasPrefix(line, "  { ") || line == "]" { // a table of a list, a list's end
			continue
		}
		keys++
		if i == 0 || !strings.HasPrefix(lines[i-1], "#") {
			t.Errorf("line %d %q has no comment above it", i+1, line)
		}
		key, _, _ := strings.Cut(line, " =")
		// The comment block above a key should mention its default,
		// except for the required keys, which have none.
		block := commentBlock(lines, i)
		if key != "name" && key != "role" && !strings.Contains(block, "Default: ") {
			t.Errorf("comment above %q does not give the default", key)
		}
	}
	if keys != 39 {
		t.Errorf("rendered %d keys, want 39", keys)
	}
}

// commentBlock returns the comment lines directly above line i.
func commentBlock(lines []string, i int) string {
	start := i
	for start > 0 && strings.HasPrefix(lines[start-1], "#") {
		start--
	}
	return strings.Join(lines[start:i], "\n")
}

// TestRenderGolden pins the file a person sees; run with -update after a
// deliberate change and read the diff.
func TestRenderGolden(t *testing.T) {
	got := Render(Default("Clinic A", RoleClinic))
	golden := filepath.Join("testdata", "default.toml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Render differs from %s (run go test -update if intended):\n%s", golden, got)
	}
}

func TestLoadPartialFileTakesDefaults(t *testing.T) {
	tests := []struct {
		name string
		text string
		want func(f *File)
	}{
		{
			name: "node section only",
			text: "[node]\nname = \"Clinic A\"\nrole = \"clinic\"\n",
			want: func(f *File) {},
		},
		{
			name: "one key in a section",
			text: "[node]\nname = \"Clinic A\"\nrole = \"clinic\"\n[http]\nlisten = \":7000\"\n",
			want: func(f *File) { f.HTTP.Listen = ":7000" },
		},
		{
			name: "dotted keys",
			text: "node.name = \"Clinic A\"\nnode.role = \"clinic\"\nstore.no_sync = true\nlog.format = \"json\"\n",
			want: func(f *File) { f.Store.NoSync = true; f.Log.Format = FormatJSON },
		},
		{
			name: "empty sections",
			text: "[node]\nname = \"Clinic A\"\nrole = \"clinic\"\n[http]\n[store]\n[log]\n",
			want: func(f *File) {},
		},
		{
			name: "durations in other units",
			text: "[node]\nname = \"Clinic A\"\nrole = \"clinic\"\n[store]\nmax_clock_skew = \"1h30m\"\n",
			want: func(f *File) { f.Store.MaxClockSkew = Duration{90 * time.Minute} },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Load(writeConfig(t, tc.text))
			if err != nil {
				t.Fatal(err)
			}
			want := Default("Clinic A", RoleClinic)
			tc.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	const node = "[node]\nname = \"Clinic A\"\nrole = \"clinic\"\n"
	tests := []struct {
		name     string
		text     string
		wantErr  error
		wantMsgs []string // substrings the message must hold
		wantKeys []string // keys of the *ValueError problems, if any
	}{
		{
			name:     "misspelt key",
			text:     node + "[http]\nlisten_addr = \":7000\"\n",
			wantErr:  ErrUnknownKey,
			wantMsgs: []string{":5:", `unknown key "http.listen_addr"`, "keys in [http] are listen, max_body_bytes"},
		},
		{
			name:     "unknown section",
			text:     node + "[htpp]\nlisten = \":7000\"\n",
			wantErr:  ErrUnknownKey,
			wantMsgs: []string{`"htpp"`, "sections are [node], [http], [store], [log]"},
		},
		{
			name:     "every unknown key is reported",
			text:     node + "colour = \"red\"\n[store]\nmax_batchs = 5\nno_synk = true\n",
			wantErr:  ErrUnknownKey,
			wantMsgs: []string{`"node.colour"`, ":4:", `"store.max_batchs"`, ":6:", `"store.no_synk"`, ":7:"},
		},
		{
			name:     "top-level key",
			text:     "name = \"Clinic A\"\n" + node,
			wantErr:  ErrUnknownKey,
			wantMsgs: []string{":1:", `"name"`},
		},
		{
			name:     "bad duration",
			text:     node + "[http]\nread_timeout = \"thirty seconds\"\n",
			wantErr:  ErrInvalidValue,
			wantMsgs: []string{":5:16: http.read_timeout = \"thirty seconds\": must be a number and a unit", `"30s"`},
			wantKeys: []string{"http.read_timeout"},
		},
		{
			name:     "duration without unit",
			text:     node + "[store]\nmax_clock_skew = \"10\"\n",
			wantErr:  ErrInvalidValue,
			wantMsgs: []string{":5:", `store.max_clock_skew = "10"`},
			wantKeys: []string{"store.max_clock_skew"},
		},
		{
			name:     "duration as a bare number",
			text:     node + "[http]\nwrite_timeout = 60\n",
			wantErr:  ErrInvalidValue,
			wantMsgs: []string{"http.write_timeout = 60: must be a number and a unit in quotes"},
			wantKeys: []string{"http.write_timeout"},
		},
		{
			name:     "duration as a boolean",
			text:     node + "[store]\nmax_clock_skew = true\n",
			wantErr:  ErrInvalidValue,
			wantMsgs: []string{"store.max_clock_skew = true"},
			wantKeys: []string{"store.max_clock_skew"},
		},
		{
			name:     "number in quotes",
			text:     node + "[http]\nmax_body_bytes = \"1MiB\"\n",
			wantErr:  ErrInvalidValue,
			wantMsgs: []string{":5:", `http.max_body_bytes = "1MiB": must be a whole number, without quotes`},
			wantKeys: []string{"http.max_body_bytes"},
		},
		{
			name:     "bool in quotes",
			text:     node + "[store]\nno_sync = \"yes\"\n",
			wantErr:  ErrInvalidValue,
			wantMsgs: []string{":5:", `store.no_sync = "yes"`, "true or false"},
		},
		{
			name:     "number as name",
			text:     "[node]\nname = 42\nrole = \"clinic\"\n",
			wantErr:  ErrInvalidValue,
			wantMsgs: []string{":2:", "node.name = 42: must be text in quotes"},
		},
		{
			name:     "value where a section belongs",
			text:     "http = 5\n" + node,
			wantErr:  ErrInvalidValue,
			wantMsgs: []string{":1:", "http = 5: must be a section, started by [http]"},
		},
		{
			name:     "syntax error",
			text:     node + "[http\n",
			wantMsgs: []string{":4:"},
		},
		{
			name:     "bad role",
			text:     "[node]\nname = \"Clinic A\"\nrole = \"doctor\"\n",
			wantErr:  ErrUnknownRole,
			wantMsgs: []string{`node.role = "doctor"`, "clinic, kiosk, nurse, hub"},
			wantKeys: []string{"node.role"},
		},
		{
			name:     "empty name",
			text:     "[node]\nname = \"\"\nrole = \"clinic\"\n",
			wantErr:  ErrInvalidValue,
			wantMsgs: []string{`node.name = ""`, "required"},
			wantKeys: []string{"node.name"},
		},
		{
			name:     "empty file",
			text:     "",
			wantErr:  ErrInvalidValue,
			wantKeys: []string{"node.name", "node.role"},
		},
		{
			name:     "bad listen address",
			text:     node + "[http]\nlisten = \"7420\"\n",
			wantErr:  ErrInvalidValue,
			wantMsgs: []string{`http.listen = "7420"`, "host:port", "missing port"},
			wantKeys: []string{"http.listen"},
		},
		{
			name: "several bad values",
			text: "[node]\nname = \"\"\nrole = \"doctor\"\n[http]\nlisten = \"nowhere\"\nmax_body_bytes = 0\n" +
				"read_timeout = \"0s\"\nwrite_timeout = \"-1s\"\n[store]\nmax_batch = -1\nmax_clock_skew = \"0s\"\n" +
				"[log]\nlevel = \"loud\"\nformat = \"xml\"\n",
			wantErr: ErrInvalidValue,
			wantKeys: []string{
				"node.name", "node.role", "http.listen", "http.max_body_bytes", "http.read_timeout",
				"http.write_timeout", "store.max_batch", "store.max_clock_skew", "log.level", "log.format",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.text)
			got, err := Load(path)
			if err == nil {
				t.Fatalf("Load succeeded: %+v", got)
			}
			if !reflect.DeepEqual(got, File{}) {
				t.Errorf("Load returned %+v with an error", got)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error = %v, want %v", err, tc.wantErr)
			}
			msg := err.Error()
			t.Log(msg)
			for _, want := range append([]string{path}, tc.wantMsgs...) {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not mention %q", msg, want)
				}
			}
			if rest := strings.ReplaceAll(msg, path, "PATH"); strings.Contains(rest, "nodeconf.") ||
				strings.Contains(rest, "toml: ") || strings.Contains(rest, "int64") {
				t.Errorf("error %q shows Go or library internals", msg)
			}
			if tc.wantKeys != nil {
				if keys := problemKeys(err); strings.Join(keys, " ") != strings.Join(tc.wantKeys, " ") {
					t.Errorf("problems for keys %v, want %v", keys, tc.wantKeys)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.toml")
	_, err := Load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error = %v, want fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(f *File)
		wantKey string // "" means valid
		wantMsg string
	}{
		{name: "default", change: func(f *File) {}},
		{name: "every value changed", change: func(f *File) { *f = custom() }},
		{name: "empty name", change: func(f *File) { f.Node.Name = "" }, wantKey: "node.name", wantMsg: "required"},
		{name: "65 characters", change: func(f *File) { f.Node.Name = strings.Repeat("a", 65) }, wantKey: "node.name", wantMsg: "has 65"},
		{name: "64 wide characters", change: func(f *File) { f.Node.Name = strings.Repeat("診", 64) }},
		{name: "leading space", change: func(f *File) { f.Node.Name = " Clinic" }, wantKey: "node.name", wantMsg: "space"},
		{name: "trailing space", change: func(f *File) { f.Node.Name = "Clinic " }, wantKey: "node.name"},
		{name: "inner space", change: func(f *File) { f.Node.Name = "Clinic A" }},
		{name: "tab in name", change: func(f *File) { f.Node.Name = "Clinic\tA" }, wantKey: "node.name", wantMsg: `'\t'`},
		{name: "newline in name", change: func(f *File) { f.Node.Name = "Clinic\nA" }, wantKey: "node.name"},
		{name: "invalid UTF-8", change: func(f *File) { f.Node.Name = "Clinic \xff" }, wantKey: "node.name", wantMsg: "UTF-8"},
		{name: "empty role", change: func(f *File) { f.Node.Role = "" }, wantKey: "node.role", wantMsg: "required"},
		{name: "capitalised role", change: func(f *File) { f.Node.Role = "Clinic" }, wantKey: "node.role", wantMsg: "clinic, kiosk, nurse, hub"},
		{name: "zero body", change: func(f *File) { f.HTTP.MaxBodyBytes = 0 }, wantKey: "http.max_body_bytes", wantMsg: "= 0: must be a positive"},
		{name: "zero read timeout", change: func(f *File) { f.HTTP.ReadTimeout = Duration{} }, wantKey: "http.read_timeout", wantMsg: `= "0s"`},
		{name: "negative write timeout", change: func(f *File) { f.HTTP.WriteTimeout = Duration{-time.Second} }, wantKey: "http.write_timeout", wantMsg: `"-1s"`},
		{name: "zero batch", change: func(f *File) { f.Store.MaxBatch = 0 }, wantKey: "store.max_batch"},
		{name: "zero skew", change: func(f *File) { f.Store.MaxClockSkew = Duration{} }, wantKey: "store.max_clock_skew"},
		{name: "zero fold", change: func(f *File) { f.Store.FoldAfter = 0 }, wantKey: "store.fold_after", wantMsg: "or -1"},
		{name: "fold below -1", change: func(f *File) { f.Store.FoldAfter = -2 }, wantKey: "store.fold_after"},
		{name: "bad level", change: func(f *File) { f.Log.Level = "verbose" }, wantKey: "log.level", wantMsg: "debug, info, warn, error"},
		{name: "bad format", change: func(f *File) { f.Log.Format = "xml" }, wantKey: "log.format", wantMsg: "auto, text, json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := Default("Clinic A", RoleClinic)
			tc.change(&f)
			err := f.Validate()
			if tc.wantKey == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("error = %v, want ErrInvalidValue", err)
			}
			problems := valueErrors(err)
			if len(problems) != 1 || problems[0].Key != tc.wantKey {
				t.Fatalf("problems for keys %v, want only %s", problemKeys(err), tc.wantKey)
			}
			if !strings.HasPrefix(err.Error(), tc.wantKey+" = ") || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q should start with %q and mention %q", err, tc.wantKey+" = ", tc.wantMsg)
			}
		})
	}
}

func TestValidateListen(t *testing.T) {
	tests := []struct {
		listen  string
		wantErr bool
	}{
		{listen: "127.0.0.1:7420"},
		{listen: ":7420"},
		{listen: "0.0.0.0:80"},
		{listen: "127.0.0.1:0"},
		{listen: "[::1]:7420"},
		{listen: "[::]:7420"},
		{listen: "[fe80::1%eth0]:7420"},
		{listen: "localhost:7420"},
		{listen: "clinic-a.local:7420"},
		{listen: "", wantErr: true},
		{listen: "7420", wantErr: true},
		{listen: "127.0.0.1", wantErr: true},
		{listen: "127.0.0.1:", wantErr: true},
		{listen: "127.0.0.1:http", wantErr: true},
		{listen: "127.0.0.1:65536", wantErr: true},
		{listen: "127.0.0.1:-1", wantErr: true},
		{listen: "::1:7420", wantErr: true},
		{listen: "[::1]", wantErr: true},
		{listen: "clinic a:7420", wantErr: true},
		{listen: "-clinic:7420", wantErr: true},
		{listen: "http://127.0.0.1:7420", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.listen, func(t *testing.T) {
			f := Default("Clinic A", RoleClinic)
			f.HTTP.Listen = tc.listen
			err := f.Validate()
			if (err != nil) != tc.wantErr {
				t.Fatalf("Validate(listen %q) = %v, want error: %v", tc.listen, err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "http.listen = "+quote(tc.listen)) {
				t.Errorf("error %q does not name the key and value", err)
			}
		})
	}
}

func TestParseRole(t *testing.T) {
	tests := []struct {
		in      string
		want    Role
		wantErr bool
	}{
		{in: "clinic", want: RoleClinic},
		{in: "kiosk", want: RoleKiosk},
		{in: "nurse", want: RoleNurse},
		{in: "hub", want: RoleHub},
		{in: "", wantErr: true},
		{in: "Clinic", wantErr: true},
		{in: " hub", wantErr: true},
		{in: "doctor", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRole(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrUnknownRole) {
					t.Fatalf("ParseRole(%q) error = %v, want ErrUnknownRole", tc.in, err)
				}
				for _, r := range Roles() {
					if !strings.Contains(err.Error(), string(r)) {
						t.Errorf("error %q does not list role %s", err, r)
					}
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseRole(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{30 * time.Second, "30s"},
		{60 * time.Second, "1m"},
		{90 * time.Second, "90s"},
		{10 * time.Minute, "10m"},
		{2 * time.Hour, "2h"},
		{1500 * time.Millisecond, "1500ms"},
		{time.Nanosecond, "1ns"},
		{1500 * time.Microsecond, "1.5ms"},
		{-5 * time.Second, "-5s"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			text, err := Duration{tc.d}.MarshalText()
			if err != nil {
				t.Fatal(err)
			}
			if string(text) != tc.want {
				t.Errorf("MarshalText = %q, want %q", text, tc.want)
			}
			var back Duration
			if err := back.UnmarshalText(text); err != nil {
				t.Fatal(err)
			}
			if back.Duration != tc.d {
				t.Errorf("round trip = %v, want %v", back.Duration, tc.d)
			}
		})
	}
}

func TestDurationUnmarshalErrors(t *testing.T) {
	for _, in := range []string{"", "30", "thirty", "30 s", "1d", "s"} {
		t.Run(in, func(t *testing.T) {
			var d Duration
			err := d.UnmarshalText([]byte(in))
			if !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("UnmarshalText(%q) error = %v, want ErrInvalidValue", in, err)
			}
			if !strings.Contains(err.Error(), quote(in)) {
				t.Errorf("error %q does not quote the input", err)
			}
		})
	}
}

// TestQuote checks that quote produces TOML that go-toml reads back
// unchanged, including every ASCII control character.
func TestQuote(t *testing.T) {
	inputs := []string{"", "plain", `a "quoted" word`, `back\slash`, "tab\there", "new\nline", "bell\a", "del\x7f", "卫生院", "🏥"}
	for b := 0; b < 0x80; b++ {
		inputs = append(inputs, "x"+string(rune(b))+"y")
	}
	for _, in := range inputs {
		var out struct {
			V string `toml:"v"`
		}
		if err := toml.Unmarshal([]byte("v = "+quote(in)+"\n"), &out); err != nil {
			t.Errorf("quote(%q) = %s: not valid TOML: %v", in, quote(in), err)
			continue
		}
		if out.V != in {
			t.Errorf("quote(%q) reads back as %q", in, out.V)
		}
	}
}

func TestWriteNew(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "node.toml")
	want := custom()
	if err := WriteNew(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load after WriteNew = %+v, want %+v", got, want)
	}
	if runtime.GOOS != "windows" {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != configMode {
			t.Errorf("mode = %04o, want %04o", perm, configMode)
		}
	}
	assertOnlyFile(t, dir, "node.toml")
}

func TestWriteNewRefusesOverwrite(t *testing.T) {
	tests := []struct {
		name     string
		existing string
	}{
		{name: "config", existing: string(Render(Default("Old", RoleHub)))},
		{name: "empty file", existing: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "node.toml")
			if err := os.WriteFile(path, []byte(tc.existing), 0o644); err != nil {
				t.Fatal(err)
			}
			err := WriteNew(path, Default("New", RoleClinic))
			if !errors.Is(err, ErrConfigExists) {
				t.Fatalf("error = %v, want ErrConfigExists", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != tc.existing {
				t.Error("existing file was changed")
			}
			assertOnlyFile(t, dir, "node.toml")
		})
	}
}

func TestWriteNewRefusesInvalid(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "node.toml")
	err := WriteNew(path, Default("", RoleClinic))
	if !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("error = %v, want ErrInvalidValue", err)
	}
	assertOnlyFile(t, dir)
}

func TestWriteNewMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "node.toml")
	if err := WriteNew(path, Default("Clinic A", RoleClinic)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error = %v, want fs.ErrNotExist", err)
	}
}

// assertOnlyFile fails unless dir holds exactly the named entries, which
// catches temporary files left behind.
func assertOnlyFile(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Errorf("directory holds %v, want %v", got, names)
	}
}

func TestExpectation(t *testing.T) {
	tests := []struct {
		key  []string
		want string // a substring; "" means no expectation
	}{
		{key: nil},
		{key: []string{"nope"}},
		{key: []string{"http", "nope"}},
		{key: []string{"http", "listen", "deeper"}},
		{key: []string{"node"}, want: "started by [node]"},
		{key: []string{"node", "name"}, want: "text in quotes"},
		{key: []string{"node", "role"}, want: "text in quotes"},
		{key: []string{"http", "max_body_bytes"}, want: "whole number"},
		{key: []string{"store", "max_batch"}, want: "whole number"},
		{key: []string{"store", "no_sync"}, want: "true or false"},
		{key: []string{"store", "max_clock_skew"}, want: "a number and a unit"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.key, "."), func(t *testing.T) {
			got := expectation(tc.key)
			if (got == "") != (tc.want == "") || !strings.Contains(got, tc.want) {
				t.Errorf("expectation(%q) = %q, want it to mention %q", tc.key, got, tc.want)
			}
		})
	}
}
