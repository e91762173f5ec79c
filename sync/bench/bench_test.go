package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carenode/node/chart"
)

// TestMain runs a Go peer when the test binary is started as one (Run
// starts its nodes as separate processes; here the test binary stands in
// for carenode).
func TestMain(m *testing.M) {
	if role := os.Getenv("CARENODE_BENCH_PEER"); role != "" {
		err := RunPeer(context.Background(), PeerConfig{Work: os.Getenv("CARENODE_BENCH_WORK"), Role: role,
			DB: os.Getenv("CARENODE_BENCH_DB"), In: os.Stdin, Out: os.Stdout})
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func smallSizes() Sizes {
	return Sizes{Patients: 40, Observations: 300, Tasks: 60,
		DayPatients: 3, DayObservations: 25, DayTaskUpdates: 7, DayEdits: 4, DayConcurrent: 2}
}

// generated makes one small dataset for the package's tests.
func generated(t *testing.T) (string, Manifest) {
	t.Helper()
	dir := t.TempDir()
	m, err := Generate(context.Background(), GenConfig{Dir: dir, Seed: 3, Sizes: smallSizes()})
	if err != nil {
		t.Fatal(err)
	}
	return dir, m
}

func readDocs(t *testing.T, path string) []map[string]json.RawMessage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]json.RawMessage
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var d map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, d)
	}
	return out
}

// TestGenerate: the dataset has the sizes asked for, sealed patients,
// observations and tasks of the expected shape, one document per record,
// and a clinic day on each side with the concurrent edits on both.
func TestGenerate(t *testing.T) {
	dir, m := generated(t)
	s := smallSizes()
	l := Layout{dir}
	docs := readDocs(t, l.Docs("dataset"))
	if len(docs) != m.Records {
		t.Errorf("%d documents, manifest says %d records", len(docs), m.Records)
	}
	count := map[string]int{}
	ids := map[string]bool{}
	for _, d := range docs {
		var id string
		json.Unmarshal(d["_id"], &id)
		if ids[id] {
			t.Errorf("document %s twice", id)
		}
		ids[id] = true
		coll, _, _ := strings.Cut(id, ":")
		count[coll]++
		switch coll {
		case chart.Collection:
			// Personal fields travel sealed: no plain name in the document.
			name := string(d["name"])
			if name == "" || strings.ContainsAny(name, "王李张刘陈杨赵黄周吴") {
				t.Errorf("patient %s: name %s is not sealed", id, name)
			}
		case ObservationCollection:
			for _, f := range []string{"patient", "kind", "loinc", "value", "unit", "measuredAt"} {
				if d[f] == nil {
					t.Errorf("observation %s lacks %s", id, f)
				}
			}
		case TaskCollection:
			for _, f := range []string{"patient", "due", "status", "assignee"} {
				if d[f] == nil {
					t.Errorf("task %s lacks %s", id, f)
				}
			}
		}
	}
	if count[chart.Collection] != s.Patients || count[ObservationCollection] != s.Observations || count[TaskCollection] != s.Tasks {
		t.Errorf("documents by collection %v, want %d patients, %d observations, %d tasks", count, s.Patients, s.Observations, s.Tasks)
	}
	if count[chart.AuditCollection] == 0 {
		t.Error("no audit records: registrations are audited")
	}

	desk := readDocs(t, l.Docs("day-desk"))
	hub := readDocs(t, l.Docs("day-hub"))
	if len(desk) != m.DeskDocs || len(hub) != m.HubDocs {
		t.Errorf("day documents: desk %d hub %d, manifest %d %d", len(desk), len(hub), m.DeskDocs, m.HubDocs)
	}
	dayCount := map[string]int{}
	deskIDs := map[string]bool{}
	for _, d := range desk {
		var id string
		json.Unmarshal(d["_id"], &id)
		deskIDs[id] = true
		coll, _, _ := strings.Cut(id, ":")
		if !ids[id] {
			dayCount["new "+coll]++
		} else {
			dayCount["changed "+coll]++
		}
	}
	want := map[string]int{"new " + chart.Collection: s.DayPatients, "new " + ObservationCollection: s.DayObservations,
		"changed " + TaskCollection: s.DayTaskUpdates, "changed " + chart.Collection: s.DayEdits + s.DayConcurrent}
	for k, n := range want {
		if dayCount[k] != n {
			t.Errorf("clinic day on the desk: %d %s, want %d (all: %v)", dayCount[k], k, n, dayCount)
		}
	}
	both := 0
	for _, d := range hub {
		var id string
		json.Unmarshal(d["_id"], &id)
		if strings.HasPrefix(id, chart.Collection+":") && deskIDs[id] {
			both++
		}
	}
	if both != s.DayConcurrent {
		t.Errorf("%d patients edited on both sides, want %d", both, s.DayConcurrent)
	}

	// A second Generate with the same seed and sizes keeps the dataset.
	m2, err := Generate(context.Background(), GenConfig{Dir: dir, Seed: 3, Sizes: s})
	if err != nil || m2.Hub != m.Hub || m2.GenSeconds != m.GenSeconds {
		t.Errorf("regenerated instead of reused: %+v, %v", m2, err)
	}
}

// TestWorkDirClaimed: Generate refuses a directory that holds anything but
// its own work, and deletes nothing there.
func TestWorkDirClaimed(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, "data", "node.db")
	os.MkdirAll(filepath.Dir(keep), 0o700)
	os.WriteFile(keep, []byte("precious"), 0o600)
	if _, err := Generate(context.Background(), GenConfig{Dir: dir, Seed: 1, Sizes: smallSizes()}); err == nil {
		t.Fatal("generated into a directory that was not a work directory")
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "precious" {
		t.Errorf("file in the refused directory: %q, %v", b, err)
	}
}

func TestSizesRefused(t *testing.T) {
	for _, s := range []Sizes{
		{},
		{Patients: 5, DayEdits: 4, DayConcurrent: 2},
		{Patients: 5, Tasks: 1, DayTaskUpdates: 2},
		{Patients: 5, Observations: -1},
	} {
		if _, err := Generate(context.Background(), GenConfig{Dir: t.TempDir(), Sizes: s}); err == nil {
			t.Errorf("sizes %+v accepted", s)
		}
	}
}

// echoServer answers every connection by echoing what it reads.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

// TestProxy: the proxy delivers every byte in order each way, counts
// exactly what crossed, and a rated link cannot deliver faster than its
// rate and delay allow.
func TestProxy(t *testing.T) {
	target := echoServer(t)
	for _, link := range []Link{Loopback(), {Name: "rated", Rate: 40_000, Delay: 20 * time.Millisecond}} {
		t.Run(link.Name, func(t *testing.T) {
			p, err := NewProxy(target, link)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			msg := bytes.Repeat([]byte("体征 observation 0123456789\n"), 700) // 21,700 bytes
			start := time.Now()
			for range 2 {
				c, err := net.Dial("tcp", p.Addr())
				if err != nil {
					t.Fatal(err)
				}
				go func() { c.Write(msg); c.(*net.TCPConn).CloseWrite() }()
				got, err := io.ReadAll(c)
				c.Close()
				if err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("echo through proxy: %d bytes, err %v", len(got), err)
				}
			}
			if !p.WaitIdle(5 * time.Second) {
				t.Fatal("connections still open")
			}
			want := Counts{Up: 2 * int64(len(msg)), Down: 2 * int64(len(msg)), Conns: 2}
			if got := p.Counts(); got != want {
				t.Errorf("counts %+v, want %+v", got, want)
			}
			if link.Rate > 0 {
				// Each connection's message takes len/rate to leave on the
				// link, its last byte the delay there and back: the two
				// connections one after the other cannot take less.
				least := 2 * (time.Duration(len(msg))*time.Second/time.Duration(link.Rate) + 2*link.Delay)
				if el := time.Since(start); el < least {
					t.Errorf("rated link delivered in %s, cannot be under %s", el, least)
				}
			}
		})
	}
	if _, err := NewProxy(target, Link{Rate: -1}); err == nil {
		t.Error("negative rate accepted")
	}
}

// TestProxyCut: when the server goes away mid-stream the client's
// connection ends too, and the proxy holds no connection after.
func TestProxyCut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("half"))
			c.Close()
		}
	}()
	p, err := NewProxy(ln.Addr().String(), Link{Name: "slow", Rate: 1000, Delay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, _ := io.ReadAll(c)
	if string(got) != "half" {
		t.Errorf("read %q", got)
	}
	c.Close()
	if !p.WaitIdle(5 * time.Second) {
		t.Error("proxy kept the connection")
	}
}

// TestRunCarenode runs the whole measurement on a small dataset with real
// processes (this test binary as carenode's peers), on loopback and a
// rated link, and checks every sample: the syncs converge, the initial
// sync moves the dataset, the day moves both sides' changes, the idle
// sync is idle and one request.
func TestRunCarenode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir, m := generated(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	links := []Link{Loopback(), {Name: "2g", Rate: 64_000, Delay: 30 * time.Millisecond}}
	samples, err := Run(context.Background(), RunConfig{Work: dir, Runs: 1, Links: links, Progress: &progress,
		GoPeer: func(role, db string) *exec.Cmd {
			cmd := exec.Command(self)
			cmd.Env = append(os.Environ(), "CARENODE_BENCH_PEER="+role, "CARENODE_BENCH_WORK="+dir, "CARENODE_BENCH_DB="+db)
			return cmd
		}})
	t.Log("\n" + progress.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 9 {
		t.Fatalf("%d samples, want 9 (initial, and day, next, idle and idle-kept on two links)", len(samples))
	}
	for _, s := range samples {
		wantConns := int64(1)
		if s.Phase == PhaseIdleKept {
			wantConns = 0
		}
		if !s.Converged || s.Requests != 1 || s.Conns != wantConns || s.Up == 0 || s.Down == 0 || s.DeskCPUms <= 0 || s.HubRSSKiB <= 0 {
			t.Errorf("sample %+v", s)
		}
		switch s.Phase {
		case PhaseInitial:
			if s.Received != int64(m.Changes) || s.Sent != 0 {
				t.Errorf("initial sync sent %d received %d, want 0 and %d", s.Sent, s.Received, m.Changes)
			}
		case PhaseDay:
			if s.Sent != int64(m.DeskChanges) || s.Received != int64(m.HubChanges) {
				t.Errorf("day sent %d received %d, want %d and %d", s.Sent, s.Received, m.DeskChanges, m.HubChanges)
			}
		default:
			if !s.Idle || s.Sent != 0 || s.Received != 0 {
				t.Errorf("%s sync %+v", s.Phase, s)
			}
		}
		if s.Phase == PhaseIdleKept && s.Up+s.Down >= 1000 {
			t.Errorf("idle sync over a kept connection: %d bytes", s.Up+s.Down)
		}
	}
	var report bytes.Buffer
	WriteReport(&report, samples)
	for _, want := range []string{"| day | 2g | carenode | 1 |", "initial sync of the full dataset on loopback"} {
		if !strings.Contains(report.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, report.String())
		}
	}
}

// TestPeerRefusesBadInput: a peer given a bad role, a missing dataset or
// a malformed command says so rather than run.
func TestPeerRefusesBadInput(t *testing.T) {
	if err := RunPeer(context.Background(), PeerConfig{Work: t.TempDir(), Role: "kiosk"}); err == nil {
		t.Error("role kiosk accepted")
	}
	if err := RunPeer(context.Background(), PeerConfig{Work: t.TempDir(), Role: "hub"}); err == nil {
		t.Error("peer ran without keys")
	}
	dir, _ := generated(t)
	var out bytes.Buffer
	err := RunPeer(context.Background(), PeerConfig{Work: dir, Role: "desk", DB: filepath.Join(t.TempDir(), "d.db"),
		In: strings.NewReader(`{"op":"usage"}` + "\n" + `{"op":"load","file":"x"}` + "\nnot json\n"), Out: &out})
	if err == nil || !strings.Contains(err.Error(), "not json") {
		t.Errorf("malformed command: %v", err)
	}
	if !strings.Contains(out.String(), `not a Go peer's`) || !strings.Contains(out.String(), `"cpuMs"`) {
		t.Errorf("replies: %s", out.String())
	}
}

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		line string
		ok   bool
	}{
		{`{"op":"usage"}`, true},
		{`{"op":"sync","url":"https://127.0.0.1:7443"}`, true},
		{`{"op":"sync","url":"https://[::1]:7443","keep":true}`, true},
		{`{"op":"sync","url":"https://example.org:7443"}`, false},
		{`{"op":"sync","url":"http://127.0.0.1:7443"}`, false},
		{`{"op":"sync","url":"https://10.0.0.1:7443"}`, false},
		{`{"op":"fly"}`, false},
		{`{"op":"usage","extra":1}`, false},
		{`{"op":"usage"} {"op":"quit"}`, false},
		{``, false},
		{`[]`, false},
	} {
		if _, err := parseCommand([]byte(tc.line)); (err == nil) != tc.ok {
			t.Errorf("parseCommand(%s): err %v, want ok %v", tc.line, err, tc.ok)
		}
	}
}

// FuzzParseCommand: any line is a command or an error, never a panic, and
// an accepted sync URL is always on loopback.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{`{"op":"usage"}`, `{"op":"sync","url":"https://127.0.0.1:1"}`, `{"op":"sync","url":"https://localhost:1"}`,
		`{"op":"load","file":"/etc/passwd"}`, `{"op":"quit"}`, `{"op":"sync","url":"https://127.0.0.1@evil:1"}`, "\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		c, err := parseCommand(line)
		if err != nil || c.Op != "sync" {
			return
		}
		u, err := url.Parse(c.URL)
		if err != nil {
			t.Fatalf("accepted an unparsable URL %q", c.URL)
		}
		if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
			t.Fatalf("accepted sync URL %q off loopback", c.URL)
		}
	})
}

func TestMedians(t *testing.T) {
	s := []Sample{
		{System: Carenode, Phase: PhaseDay, Link: "2g", WallMs: 3, Counts: Counts{Up: 10, Down: 1}},
		{System: Carenode, Phase: PhaseDay, Link: "2g", WallMs: 1, Counts: Counts{Up: 30, Down: 1}},
		{System: Carenode, Phase: PhaseDay, Link: "2g", WallMs: 2, Counts: Counts{Up: 20, Down: 1}},
		{System: PouchDB, Phase: PhaseDay, Link: "2g", WallMs: 10, Counts: Counts{Up: 100, Down: 5}},
		{System: PouchDB, Phase: PhaseDay, Link: "2g", WallMs: 20, Counts: Counts{Up: 200, Down: 7}},
	}
	ms := Medians(s)
	if len(ms) != 2 || ms[0].WallMs != 2 || ms[0].Up != 20 || ms[0].Runs != 3 || ms[1].WallMs != 15 || ms[1].Down != 6 {
		t.Errorf("medians %+v", ms)
	}
	var b bytes.Buffer
	WriteReport(&b, s)
	if !strings.Contains(b.String(), "| day | 2g | 7.4× | – | 7.5× |") || !strings.Contains(b.String(), "1/7.4") {
		t.Errorf("report:\n%s", b.String())
	}
}
