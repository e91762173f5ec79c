package main

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"carenode/node/identity"
	"carenode/sync/peers"
	"carenode/sync/scope"
	"carenode/sync/trust"
)

// fnode is one node of the five-node network: its directory, how it is
// served, and its running server and signed-in session.
type fnode struct {
	name string
	dir  string
	args []string // serve flags
	env  []string // extra environment (the clock offset)
	srv  *server
	ss   *session
	// top is the whole test: a server started in a subtest lives on
	// after it.
	top *testing.T
}

// logText returns what the running server has logged so far.
func (n *fnode) logText() string { return n.srv.stderr.String() }

// start serves the node and signs admin in.
func (n *fnode) start(t *testing.T) {
	t.Helper()
	n.srv = startServeEnv(t, n.top.Cleanup, n.dir, n.env, n.args...)
	n.ss = n.srv.login(t, "admin", adminPassword)
}

// kill ends the node with SIGKILL.
func (n *fnode) kill(t *testing.T) {
	t.Helper()
	n.srv.cmd.Process.Signal(syscall.SIGKILL)
	n.srv.wait(t)
}

// statusOf returns a node's version vector and change-log length.
func statusOf(t *testing.T, ss *session) (map[string]uint64, uint64) {
	t.Helper()
	var st struct {
		Store struct {
			Vector    map[string]uint64 `json:"vector"`
			LogLength uint64            `json:"logLength"`
		} `json:"store"`
	}
	ss.must(t, http.MethodGet, "/api/v1/status", nil, http.StatusOK, &st)
	return st.Store.Vector, st.Store.LogLength
}

// records returns every record of coll on the node, by id, as the records
// API shows it (raw: sealed values stay sealed, nothing is audited).
func records(t *testing.T, ss *session, coll string) map[string]json.RawMessage {
	t.Helper()
	out := map[string]json.RawMessage{}
	after := ""
	for {
		var page struct {
			Records []json.RawMessage `json:"records"`
			Next    string            `json:"next"`
		}
		ss.must(t, http.MethodGet, "/api/v1/records/"+coll+"?limit=500&after="+url.QueryEscape(after), nil, http.StatusOK, &page)
		for _, r := range page.Records {
			var id struct{ ID string }
			json.Unmarshal(r, &id)
			out[id.ID] = r
		}
		if page.Next == "" {
			return out
		}
		after = page.Next
	}
}

// writeMany writes n visits prefix-0..n-1 with a few requests in flight.
// Each note carries 36 random bytes (in base64), so that the batches do not
// compress to nothing and a sync of a few thousand is a long stream.
func writeMany(t *testing.T, ss *session, prefix string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				noise := make([]byte, 36)
				rand.Read(noise)
				code, b, err := postJSON(ss.client, ss.token, ss.url+"/api/v1/records/visits",
					map[string]any{"id": fmt.Sprintf("%s-%d", prefix, i), "fields": map[string]any{"note": "随访 " + prefix, "i": i,
						"obs": base64.StdEncoding.EncodeToString(noise)}})
				if err == nil && code != http.StatusCreated {
					err = fmt.Errorf("write %s-%d: %d %s", prefix, i, code, b)
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

func sum(v map[string]uint64) (n uint64) {
	for _, s := range v {
		n += s
	}
	return n
}

// converged fails unless the full replicas hold the same changes (equal
// vectors, each change once: the log is as long as the vector's sum) and
// the same records, record by record, in every collection named.
func converged(t *testing.T, colls []string, nodes ...*fnode) {
	t.Helper()
	v0, l0 := statusOf(t, nodes[0].ss)
	if l0 != sum(v0) {
		t.Fatalf("%s: log of %d changes, vector sums to %d", nodes[0].name, l0, sum(v0))
	}
	for _, n := range nodes[1:] {
		v, l := statusOf(t, n.ss)
		if !reflect.DeepEqual(v, v0) || l != l0 {
			t.Fatalf("%s has %v (%d changes), %s has %v (%d)", nodes[0].name, v0, l0, n.name, v, l)
		}
	}
	for _, c := range colls {
		r0 := records(t, nodes[0].ss, c)
		for _, n := range nodes[1:] {
			r := records(t, n.ss, c)
			if len(r) != len(r0) {
				t.Fatalf("%s: %s has %d records, %s has %d", c, nodes[0].name, len(r0), n.name, len(r))
			}
			for id, rec := range r0 {
				if !bytes.Equal(r[id], rec) {
					t.Fatalf("%s/%s differs between %s and %s:\n%s\n%s", c, id, nodes[0].name, n.name, rec, r[id])
				}
			}
		}
	}
}

// syncNow runs carenode sync on a serving node (through it) until it
// succeeds, for at most 30 s.
func syncNow(t *testing.T, n *fnode) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := run(t, "sync", "--dir", n.dir)
		if r.code == 0 {
			return r.stdout
		}
		if time.Now().After(deadline) {
			t.Fatalf("sync %s: exit %d\n%s%s", n.name, r.code, r.stdout, r.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestFiveNodes: a hub, two clinic desks, a kiosk and a nurse laptop, each
// a `carenode serve` process on 127.0.0.1 with its own certificate. Desk1's
// clock runs 3 hours ahead and the nurse laptop's 5 hours behind; desk2
// reaches the hub only through a fault proxy. Patients and visits are
// written on every node, desk2 writes while offline, and the network
// converges record by record, the kiosk and the nurse laptop holding
// exactly their scopes. A local write reaches the hub by the debounced
// sync, with the schedule set to 10 minutes. Through the proxy, a sync of a
// few thousand changes is cut at 40 points, delayed and throttled, and
// kill -9 hits the hub and then desk2 in the middle of a batch; each time
// the nodes converge with every change once. Peers with a certificate from
// another CA, an expired certificate, a revoked node and a replayed token
// are refused, each with a log line saying why. carenode peers lists the
// peers with their last sync and lag.
func TestFiveNodes(t *testing.T) {
	start := time.Now()
	root := t.TempDir()
	hub := &fnode{top: t, name: "hub", dir: filepath.Join(root, "hub"), args: []string{"--sync-listen", "127.0.0.1:0", "--sync-interval", "0"}}
	mustRun(t, "init", "--dir", hub.dir, "--name", "县医院", "--role", "hub")
	// The network's data key: the first account, on the hub; staff
	// records (with the key wrapped under each password) reach every node.
	addUser(t, hub.dir, "admin", "admin", adminPassword)
	addUser(t, hub.dir, "nurse-li", "nurse", "护士-li-2026-pw")
	// The nodes join the hub at one URL and keep it, and the hub is
	// restarted after a kill -9. A port picked free and given to the hub
	// could be taken by another process (an outgoing connection's port)
	// before the hub binds it, at the start or at the restart; so the hub
	// listens on any free port, and the URL the nodes keep is a plain
	// pass-through proxy's, whose listener the test holds throughout and
	// points at wherever the hub listens now.
	front := startFaultProxy(t, "")
	// desk2 reaches the hub only through the fault proxy, from enrolment on.
	proxy := startFaultProxy(t, "")
	startHub := func(t *testing.T) {
		t.Helper()
		hub.start(t)
		rt, err := readSyncRuntime(hub.dir)
		if err != nil || rt.Addr == "" {
			t.Fatalf("the hub's sync address: %+v %v", rt, err)
		}
		front.setTarget(rt.Addr)
		proxy.setTarget(rt.Addr)
	}
	startHub(t)
	hubURL := front.url()
	tok1 := enrolToken(t, hub.dir, "desk1", "clinic")
	join := func(name, role, via string, tok string) string {
		if tok == "" {
			tok = enrolToken(t, hub.dir, name, role)
		}
		dir := filepath.Join(root, name)
		mustRun(t, "init", "--dir", dir, "--name", name, "--join", via, "--token", tok)
		return dir
	}
	soon := []string{"--sync-listen", "127.0.0.1:0", "--sync-interval", "10m", "--sync-debounce", "300ms"}
	desk1 := &fnode{top: t, name: "desk1", dir: join("desk1", "clinic", hubURL, tok1), args: soon, env: []string{clockOffsetEnv + "=3h"}}
	desk2 := &fnode{top: t, name: "desk2", dir: join("desk2", "clinic", proxy.url(), ""), args: []string{"--sync-listen", "127.0.0.1:0", "--sync-interval", "0"}}
	kiosk := &fnode{top: t, name: "kiosk", dir: join("kiosk1", "kiosk", hubURL, ""), args: soon}
	nurse := &fnode{top: t, name: "nurse", dir: join("nurse-li", "nurse", hubURL, ""), args: soon, env: []string{clockOffsetEnv + "=-5h"}}
	nodes := []*fnode{desk1, desk2, kiosk, nurse}

	t.Run("replayed token", func(t *testing.T) {
		r := run(t, "init", "--dir", filepath.Join(root, "thief"), "--name", "thief", "--join", hubURL, "--token", tok1)
		if r.code != exitRefused || !strings.Contains(r.stderr, "already used") {
			t.Errorf("replayed token: exit %d\n%s", r.code, r.stderr)
		}
		if !logSays(hub.logText, "enrolment refused", "already used") {
			t.Errorf("the hub's log does not say why it refused the token:\n%s", tail(hub.logText(), 2000))
		}
	})

	// Each node fetches the staff accounts once, without serving (the CLI
	// opens its store), then serves and signs admin in.
	for _, n := range nodes {
		mustRun(t, "sync", "--dir", n.dir)
		n.start(t)
	}
	t.Logf("five nodes up after %s", time.Since(start).Round(time.Millisecond))

	// A local write reaches the hub by itself, long before the 10-minute
	// schedule: the debounced sync after the write.
	t.Run("sync soon after a write", func(t *testing.T) {
		// desk1's loop has done its first sync (at start); the next one
		// on schedule is 10 minutes away.
		hubID := mustLoadID(t, hub.dir).ID
		waitFor(t, "desk1's first sync with the hub", func() bool {
			list, _, _, _ := peers.Read(peers.Path(desk1.dir))
			i := slices.IndexFunc(list, func(p peers.Peer) bool { return p.Node == hubID })
			return i >= 0 && !list[i].LastOK.IsZero()
		})
		writeVisits(t, desk1.ss, "soon", 1)
		deadline := time.Now().Add(20 * time.Second)
		for !hasVisits(t, hub.ss, "soon", 1) {
			if time.Now().After(deadline) {
				t.Fatalf("desk1's write did not reach the hub within 20s\n%s", tail(desk1.logText(), 3000))
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	// Writes everywhere. Patients registered on the desks and the kiosk;
	// two of desk1's assigned to nurse li; the nurse edits one of hers.
	var pids []string
	for i, n := range []*fnode{desk1, desk1, desk1, desk2, desk2, kiosk} {
		names := []string{"王秀英", "李桂兰", "张建国", "刘芳", "陈志强", "杨丽"}
		c := n.ss.register(t, patientIn{Name: names[i], Sex: "female", BirthDate: fmt.Sprintf("195%d-03-0%d", i, i+1),
			Phones: []string{fmt.Sprintf("1380000000%d", i)}})
		pids = append(pids, c.ID)
	}
	for _, id := range pids[:2] {
		if code, b := desk1.ss.do(t, http.MethodPost, "/api/v1/patients/"+id+"/assignees", map[string]string{"nurse": "nurse-li"}); code != http.StatusOK {
			t.Fatalf("assign %s: %d %s", id, code, b)
		}
	}
	writeVisits(t, desk2.ss, "d2", 5)
	writeVisits(t, kiosk.ss, "kiosk", 2)
	for _, n := range []*fnode{desk2, desk1, kiosk, nurse, desk2, desk1, kiosk, nurse} {
		syncNow(t, n)
	}
	// Appointments, made on the hub: patient 1 tomorrow (in the kiosk's
	// scope: today and tomorrow), patient 2 in three days (not). The kiosk
	// was served before: patient 1's whole record must now come to it.
	bookOnHub(t, hub.ss, map[string]int{pids[1]: 1, pids[2]: 3})
	// The nurse laptop now has its two patients: edit one there.
	if code, b := nurse.ss.do(t, http.MethodPatch, "/api/v1/patients/"+pids[0], map[string]any{"address": "李家村 3 组"}); code != http.StatusOK {
		t.Fatalf("nurse edits patient: %d %s", code, b)
	}
	writeVisits(t, nurse.ss, "nurse", 3)

	// desk2 offline: the proxy refuses; both desk2 and desk1 edit
	// patient 3 meanwhile, and desk1 writes more.
	proxy.offline(true)
	if r := run(t, "sync", "--dir", desk2.dir); r.code == 0 {
		t.Fatal("desk2 synced through a proxy that is offline")
	}
	desk2.ss.must(t, http.MethodPatch, "/api/v1/patients/"+pids[3], map[string]any{"address": "离线时改的地址"}, http.StatusOK, nil)
	desk1.ss.must(t, http.MethodPatch, "/api/v1/patients/"+pids[3], map[string]any{"address": "同时在前台1改的地址"}, http.StatusOK, nil)
	writeVisits(t, desk1.ss, "d1", 7)
	proxy.offline(false)
	for _, n := range []*fnode{nurse, kiosk, desk1, desk2, nurse, kiosk, desk1, desk2} {
		syncNow(t, n)
	}
	full := []string{"patients", "visits", "staff", "audit"}
	converged(t, full, hub, desk1, desk2)

	t.Run("partial replicas hold their scopes", func(t *testing.T) {
		hubPatients, hubStaff := records(t, hub.ss, "patients"), records(t, hub.ss, "staff")
		assigned := map[string]bool{pids[0]: true, pids[1]: true}
		// The kiosk: patient 1, booked tomorrow, and patient 5, whom it
		// registered itself.
		booked := map[string]bool{pids[1]: true, pids[5]: true}
		// The kiosk holds of each patient only the fields it shows
		// (scope.KioskFields): compare those; the nurse holds whole charts.
		whole := func(rec json.RawMessage) []byte { return rec }
		for _, c := range []struct {
			n    *fnode
			want func(id string) bool
			view func(json.RawMessage) []byte
		}{{kiosk, func(id string) bool { return booked[id] }, kioskShare}, {nurse, func(id string) bool { return assigned[id] }, whole}} {
			got := records(t, c.n.ss, "patients")
			for id, rec := range hubPatients {
				switch {
				case c.want(id) && !bytes.Equal(c.view(got[id]), c.view(rec)):
					t.Errorf("%s: patient %s differs from the hub's:\n%s\n%s", c.n.name, id, got[id], rec)
				case !c.want(id) && got[id] != nil:
					t.Errorf("%s holds patient %s, outside its scope", c.n.name, id)
				}
			}
			if len(got) > len(hubPatients) {
				t.Errorf("%s holds %d patients, the hub %d", c.n.name, len(got), len(hubPatients))
			}
			if s := records(t, c.n.ss, "staff"); !reflect.DeepEqual(s, hubStaff) {
				t.Errorf("%s: staff differ from the hub's", c.n.name)
			}
			// Other nodes' visits are outside both scopes; its own are there.
			for id := range records(t, c.n.ss, "visits") {
				if !strings.HasPrefix(id, c.n.name+"-") {
					t.Errorf("%s holds visit %s", c.n.name, id)
				}
			}
		}
		// Patient 1 was assigned to nurse li on desk1: the kiosk holds its
		// fields, not the assignment.
		var kr, hr struct {
			Fields map[string]json.RawMessage
			Sets   map[string][]string
		}
		json.Unmarshal(records(t, kiosk.ss, "patients")[pids[1]], &kr)
		json.Unmarshal(hubPatients[pids[1]], &hr)
		for f := range kr.Fields {
			if !slices.Contains(scope.KioskFields(), f) {
				t.Errorf("kiosk holds patient 1's %s", f)
			}
		}
		if len(kr.Fields) == 0 || len(kr.Sets) != 0 || len(hr.Sets["assignees"]) == 0 {
			t.Errorf("kiosk's patient 1: fields %d, sets %v; the hub's sets %v", len(kr.Fields), kr.Sets, hr.Sets)
		}
		if a, h := records(t, kiosk.ss, "appointments"), records(t, hub.ss, "appointments"); len(h) != 2 || !reflect.DeepEqual(a, h) {
			t.Errorf("kiosk's appointments (%d) differ from the hub's (%d)", len(a), len(h))
		}
		// Audit days: the kiosk holds only its own (of the patient it
		// registered), the nurse only those of her patients.
		for id := range records(t, kiosk.ss, "audit") {
			if p, _, _ := strings.Cut(id, "."); p != pids[5] {
				t.Errorf("kiosk holds audit %s", id)
			}
		}
		for id := range records(t, nurse.ss, "audit") {
			if p, _, _ := strings.Cut(id, "."); !assigned[p] {
				t.Errorf("nurse holds audit %s of an unassigned patient", id)
			}
		}
		// What the partial replicas wrote reached the full replicas.
		if !hasVisits(t, hub.ss, "kiosk", 2) || !hasVisits(t, desk2.ss, "nurse", 3) {
			t.Error("the kiosk's or the nurse's visits did not reach the full replicas")
		}
		var p chartOut
		desk2.ss.must(t, http.MethodGet, "/api/v1/patients/"+pids[0], nil, http.StatusOK, &p)
		if p.Address != "李家村 3 组" {
			t.Errorf("the nurse's edit on desk2: %q", p.Address)
		}
	})

	// Clock skew: desk1's stamps run 3 hours ahead; the hub kept them and
	// said so, and the concurrent edits of patient 3 read the same
	// everywhere (checked by converged above, record by record).
	if !logSays(hub.logText, "remote clock ahead of ours") {
		t.Errorf("the hub's log does not mention desk1's clock running ahead:\n%s", tail(hub.logText(), 2000))
	}

	t.Run("cut at many points", func(t *testing.T) {
		writeMany(t, desk2.ss, "bulk", 2500)
		writeVisits(t, hub.ss, "hubside", 20) // and some the other way
		rng := mrand.New(mrand.NewPCG(2026, 5))
		// Each session resumes where the last one stopped. The first cuts
		// fall in the TLS handshake and the hellos; then each session is
		// cut a little further on (1 KB more each time, with jitter), so
		// the cuts land at spread points of the batches that remain, until
		// one session gets through.
		fixed := []int64{1, 40, 200, 517, 1200, 2048, 3000, 4500}
		cuts := slices.Clone(fixed)
		before := proxy.cuts.Load()
		failed := 0
		for i := 0; ; i++ {
			var n int64
			if i < len(fixed) {
				n = fixed[i]
			} else {
				n = 5000 + 1000*int64(i-len(fixed)) + rng.Int64N(700)
				cuts = append(cuts, n)
			}
			proxy.set(n, 0, 0)
			if r := run(t, "sync", "--dir", desk2.dir); r.code == 0 {
				break
			}
			failed++
			if i > 200 {
				t.Fatal("200 cut sessions and the sync has not got through")
			}
		}
		t.Logf("%d sessions cut (%d connections) before one of %d bytes got through; cut points: %v",
			failed, proxy.cuts.Load()-before, cuts[len(cuts)-1], cuts)
		// 35 or 36 in every run seen; how far each cut session gets
		// depends on where batches end and acks fall, so the bound leaves
		// room while still asking for cuts spread through the sync.
		if failed < 20 {
			t.Errorf("only %d cut sessions", failed)
		}
		// Delayed and throttled, it completes.
		proxy.set(0, 2*time.Millisecond, 256<<10)
		syncNow(t, desk2)
		proxy.set(0, 0, 0)
		syncNow(t, desk2)
		converged(t, full, hub, desk2)
		bulk := 0
		for id := range records(t, hub.ss, "visits") {
			if strings.HasPrefix(id, "bulk-") {
				bulk++
			}
		}
		if bulk != 2500 {
			t.Fatalf("the hub holds %d of desk2's 2500 visits", bulk)
		}
	})

	// kill -9 mid-batch: the hub while it receives desk2's batches, then
	// desk2 while it receives the hub's.
	killMidSync := func(t *testing.T, victim *fnode, restart func()) {
		proxy.set(0, 0, 24<<10) // a few seconds for the batches
		base := proxy.total.Load()
		done := make(chan result, 1)
		go func() { done <- runQuiet(desk2.dir) }()
		deadline := time.Now().Add(30 * time.Second)
		for proxy.total.Load()-base < 20<<10 { // past the handshake, into the batches
			if time.Now().After(deadline) {
				t.Fatal("the throttled sync did not get going")
			}
			time.Sleep(10 * time.Millisecond)
		}
		victim.kill(t)
		if r := <-done; r.code == 0 {
			t.Errorf("sync reported success although %s was killed", victim.name)
		}
		proxy.set(0, 0, 0)
		restart()
		syncNow(t, desk2)
		syncNow(t, desk2)
	}
	t.Run("kill -9 the hub mid-batch", func(t *testing.T) {
		writeMany(t, desk2.ss, "k1", 1200)
		killMidSync(t, hub, func() { startHub(t) })
		converged(t, full, hub, desk2)
	})
	t.Run("kill -9 desk2 mid-batch", func(t *testing.T) {
		writeMany(t, hub.ss, "k2", 1200)
		killMidSync(t, desk2, func() { desk2.start(t) })
		converged(t, full, hub, desk2)
	})

	// Everyone converges once more after the faults.
	for _, n := range []*fnode{desk1, desk2, kiosk, nurse, desk1} {
		syncNow(t, n)
	}
	converged(t, full, hub, desk1, desk2)

	t.Run("peers", func(t *testing.T) {
		var rows []peerRow
		r := mustRun(t, "peers", "--dir", desk1.dir, "--json") // while serving
		if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
			t.Fatalf("peers --json: %v\n%s", err, r.stdout)
		}
		hubID := mustLoadID(t, hub.dir).ID
		i := slices.IndexFunc(rows, func(r peerRow) bool { return r.Node == hubID })
		if i < 0 || !slices.Contains(rows[i].Known, "hub") || rows[i].LastOK.IsZero() || rows[i].LastError != "" ||
			rows[i].TheyLack != 0 || rows[i].WeLack != 0 || rows[i].Sessions == 0 {
			t.Errorf("desk1's peers: %+v", rows)
		}
		r = mustRun(t, "peers", "--dir", hub.dir)
		for _, name := range []string{"desk1", "desk2", "kiosk1", "nurse-li", "LAST SYNC", "上次同步"} {
			if !strings.Contains(r.stdout, name) {
				t.Errorf("hub's peers lack %q:\n%s", name, r.stdout)
			}
		}
	})

	var nurseID string
	t.Run("refused peers", func(t *testing.T) {
		// Another network's node.
		other := filepath.Join(root, "other-hub")
		mustRun(t, "init", "--dir", other, "--name", "other", "--role", "hub")
		o := startSyncServe(t, other)
		foreign := joinNode(t, syncURL(t, other), enrolToken(t, other, "foreign", "clinic"), "foreign")
		o.stop(t)
		m, err := trust.Load(foreign, mustLoadID(t, foreign))
		if err != nil {
			t.Fatal(err)
		}
		if err := presentCert(hubURL, m.TLSCertificate()); err == nil {
			t.Error("the hub accepted a certificate from another CA")
		}
		// desk1's own key and ID, in a certificate that expired yesterday.
		key, err := identity.Load(filepath.Join(desk1.dir, "node.key"))
		if err != nil {
			t.Fatal(err)
		}
		der := forgeCert(t, hub.dir, "desk1", key.Public, key.ID, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
		if err := presentCert(hubURL, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key.PrivateKey()}); err == nil {
			t.Error("the hub accepted an expired certificate")
		}
		// The nurse laptop, revoked (through the running hub).
		nurseID = mustLoadID(t, nurse.dir).ID.String()
		mustRun(t, "revoke", "--dir", hub.dir, "--reason", "笔记本丢失", nurseID)
		if r := run(t, "sync", "--dir", nurse.dir); r.code == 0 {
			t.Error("the revoked nurse laptop synced with the hub")
		}
	})

	for _, n := range nodes {
		n.srv.stop(t)
	}
	log := hub.srv.stop(t)
	// One line for each refusal, saying why.
	for _, want := range [][]string{
		{"peer refused at TLS handshake", "certificate not issued by this network", "foreign"}, // another CA
		{"peer refused at TLS handshake", "has expired", "desk1"},                              // expired
		{"peer refused at TLS handshake", "node revoked", nurseID},                             // revoked
	} {
		if !logLine(log, want...) {
			t.Errorf("the hub's log has no line with all of %q:\n%s", want, tail(log, 3000))
		}
	}

	// carenode peers without a running node reads the store itself.
	var rows []peerRow
	r := mustRun(t, "peers", "--dir", desk2.dir, "--json")
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("peers --json: %v\n%s", err, r.stdout)
	}
	hubID := mustLoadID(t, hub.dir).ID
	if i := slices.IndexFunc(rows, func(r peerRow) bool { return r.Node == hubID }); i < 0 || rows[i].TheyLack != 0 ||
		rows[i].WeLack != 0 || rows[i].URL != proxy.url() || rows[i].Failures < 20 {
		t.Errorf("desk2's peers after it stopped: %+v", rows)
	}
	t.Logf("five-node test took %s", time.Since(start).Round(time.Millisecond))
}

// logLine reports whether one line of log holds every one of parts.
func logLine(log string, parts ...string) bool {
	for line := range strings.SplitSeq(log, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// bookOnHub sets up one doctor who works every day and books each patient
// days from now (in the clinic's time zone, node/booking's default).
func bookOnHub(t *testing.T, ss *session, days map[string]int) {
	t.Helper()
	ss.must(t, http.MethodPost, "/api/v1/departments", map[string]string{"id": "gp", "nameZh": "全科", "nameEn": "General practice"}, http.StatusOK, nil)
	ss.must(t, http.MethodPost, "/api/v1/doctors", map[string]string{"id": "zhou", "nameZh": "周医生", "nameEn": "Dr Zhou", "department": "gp"}, http.StatusOK, nil)
	for wd := 1; wd <= 7; wd++ {
		ss.must(t, http.MethodPost, "/api/v1/schedules", map[string]any{"doctor": "zhou", "weekday": wd, "start": "08:00", "end": "17:00",
			"slotMinutes": 30, "capacity": 4}, http.StatusCreated, nil)
	}
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for patient, d := range days {
		slot := "zhou." + time.Now().In(loc).AddDate(0, 0, d).Format("20060102") + ".1000"
		if code, b := ss.do(t, http.MethodPost, "/api/v1/appointments", map[string]string{"patient": patient, "slot": slot}); code != http.StatusCreated {
			t.Fatalf("book %s at %s: %d %s", patient, slot, code, b)
		}
	}
}

// kioskShare returns, of a patient record as /api/v1/records shows it, what
// a kiosk holds: the registers in scope.KioskFields (values, stamps,
// conflicts), whether it is deleted and what was merged into it; no sets
// or facts, and not the created and updated stamps (a change that leaves a
// kiosk nothing does not reach it).
func kioskShare(rec json.RawMessage) []byte {
	var r map[string]json.RawMessage
	if err := json.Unmarshal(rec, &r); err != nil {
		return rec
	}
	out := map[string]any{"id": r["id"], "deleted": r["deleted"], "merged": r["merged"]}
	for _, k := range []string{"fields", "stamps", "conflicts"} {
		var m map[string]json.RawMessage
		json.Unmarshal(r[k], &m)
		kept := map[string]json.RawMessage{}
		for f, v := range m {
			if slices.Contains(scope.KioskFields(), f) {
				kept[f] = v
			}
		}
		out[k] = kept
	}
	b, _ := json.Marshal(out)
	return b
}

// runQuiet runs carenode sync for dir without a testing.T (from a
// goroutine).
func runQuiet(dir string) result {
	cmd := exec.Command(binPath, "sync", "--dir", dir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	return result{out.String(), errb.String(), code}
}
