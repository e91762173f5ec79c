package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Systems compared.
const (
	Carenode = "carenode"
	PouchDB  = "pouchdb"
)

// Phases measured.
const (
	PhaseInitial = "initial" // an empty desk syncs the whole dataset from the hub
	// PhaseSettle is PouchDB's second sync after the initial one: its push
	// replicator walks every document the pull wrote and asks the hub about
	// each (carenode has nothing to settle). The day is measured after it.
	PhaseSettle = "settle"
	PhaseDay    = "day" // desk and hub exchange one clinic day
	// PhaseNext is the sync right after the day: idle for carenode;
	// PouchDB's replicators walk the changes the day's other direction wrote.
	PhaseNext = "next"
	PhaseIdle = "idle" // nothing new anywhere; carenode opens a new connection, as Client.Sync does
	// PhaseIdleKept is carenode's idle sync over a kept connection
	// (transport.Link).
	PhaseIdleKept = "idle-kept"
)

// RunConfig configures Run.
type RunConfig struct {
	Work string
	// Runs is how many times each measurement is repeated.
	Runs int
	// Links are the links the day and the idle sync cross; the initial
	// sync is measured on loopback only (over 32 kbit/s the dataset would
	// take the better part of an hour for carenode, longer for PouchDB).
	Links []Link
	// SlowRuns bounds the runs of PouchDB over a rated link (0: Runs).
	SlowRuns int
	// GoPeer returns the command that runs one Go node: RunPeer with this
	// role and store, speaking on its standard input and output.
	GoPeer func(role, db string) *exec.Cmd
	// PouchPeer, when set, returns the command that runs one PouchDB node
	// (node bench/pouchdb/peer.js --role ROLE …); nil skips PouchDB.
	PouchPeer func(role string, args ...string) *exec.Cmd
	// Progress receives a line per measurement.
	Progress io.Writer
}

// Sample is one measurement.
type Sample struct {
	System string `json:"system"`
	Phase  string `json:"phase"`
	Link   string `json:"link"`
	Run    int    `json:"run"`

	WallMs float64 `json:"wallMs"`
	Counts
	Requests int64 `json:"requests"` // HTTP requests the hub answered

	DeskCPUms  float64 `json:"deskCpuMs"`
	HubCPUms   float64 `json:"hubCpuMs"`
	DeskRSSKiB int64   `json:"deskRssKiB"` // the process's peak so far
	HubRSSKiB  int64   `json:"hubRssKiB"`

	Sent      int64 `json:"sent"`
	Received  int64 `json:"received"`
	Idle      bool  `json:"idle"`
	Converged bool  `json:"converged"`
}

// Run measures both systems as cfg says and returns every sample, in the
// order taken. Carenode and PouchDB alternate within each run, so the
// machine's load falls on both alike.
func Run(ctx context.Context, cfg RunConfig) ([]Sample, error) {
	if cfg.Runs < 1 {
		cfg.Runs = 1
	}
	if len(cfg.Links) == 0 {
		cfg.Links = []Link{Loopback()}
	}
	if cfg.SlowRuns == 0 {
		cfg.SlowRuns = cfg.Runs
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if _, err := ReadManifest(cfg.Work); err != nil {
		return nil, fmt.Errorf("bench run: no dataset in %s (run Generate first): %w", cfg.Work, err)
	}
	r := &runner{cfg: cfg, l: Layout{cfg.Work}}
	for run := 1; run <= cfg.Runs; run++ {
		for i, link := range cfg.Links {
			if err := r.carenode(ctx, run, link, i == 0); err != nil {
				return r.samples, err
			}
			if cfg.PouchPeer != nil && (link.Rate == 0 || run <= cfg.SlowRuns) {
				if err := r.pouch(ctx, run, link, i == 0); err != nil {
					return r.samples, err
				}
			}
		}
	}
	return r.samples, nil
}

type runner struct {
	cfg     RunConfig
	l       Layout
	samples []Sample
	hubAddr string // the running hub's listener
}

func (r *runner) carenode(ctx context.Context, run int, link Link, initial bool) error {
	if initial {
		dir := r.l.Run(fmt.Sprintf("carenode-initial-%d", run))
		if err := fresh(dir); err != nil {
			return err
		}
		if err := copyFile(r.l.Full(), filepath.Join(dir, "hub.db")); err != nil {
			return err
		}
		err := r.session(ctx, Carenode, dir, func(hub, desk *peerProc, p *Proxy) error {
			return r.measure(ctx, Carenode, PhaseInitial, Loopback(), run, hub, desk, p)
		})
		if err != nil {
			return err
		}
	}
	dir := r.l.Run(fmt.Sprintf("carenode-day-%s-%d", link.Name, run))
	if err := fresh(dir); err != nil {
		return err
	}
	for _, role := range []string{"hub", "desk"} {
		if err := copyFile(r.l.Day(role), filepath.Join(dir, role+".db")); err != nil {
			return err
		}
	}
	return r.session(ctx, Carenode, dir, func(hub, desk *peerProc, p *Proxy) error {
		for _, phase := range []string{PhaseDay, PhaseNext, PhaseIdle} {
			if err := r.measure(ctx, Carenode, phase, link, run, hub, desk, p); err != nil {
				return err
			}
		}
		// Open the kept connection, then measure a sync over it.
		if _, err := desk.do(ctx, command{Op: "sync", URL: "https://" + p.Addr(), Keep: true}); err != nil {
			return err
		}
		return r.measure(ctx, Carenode, PhaseIdleKept, link, run, hub, desk, p)
	})
}

func (r *runner) pouch(ctx context.Context, run int, link Link, initial bool) error {
	dir := r.l.Run(fmt.Sprintf("pouchdb-%s-%d", link.Name, run))
	if err := fresh(dir); err != nil {
		return err
	}
	return r.session(ctx, PouchDB, dir, func(hub, desk *peerProc, p *Proxy) error {
		// The desk must first hold the dataset, replicated as PouchDB
		// does it; over a loopback proxy, measured once per run.
		for _, phase := range []string{PhaseInitial, PhaseSettle} {
			if err := r.measure(ctx, PouchDB, phase, Loopback(), run, hub, desk, p); err != nil {
				return err
			}
			if !initial { // measured again for this link's day: keep one a run
				r.samples = r.samples[:len(r.samples)-1]
			}
		}
		for role, peer := range map[string]*peerProc{"hub": hub, "desk": desk} {
			if _, err := peer.do(ctx, command{Op: "load", File: r.l.Docs("day-" + role)}); err != nil {
				return err
			}
		}
		for _, phase := range []string{PhaseDay, PhaseNext, PhaseIdle} {
			if err := r.measure(ctx, PouchDB, phase, link, run, hub, desk, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// session starts a hub and a desk of system in dir and a proxy to the
// hub, runs fn and stops everything.
func (r *runner) session(ctx context.Context, system, dir string, fn func(hub, desk *peerProc, p *Proxy) error) (err error) {
	var hubCmd, deskCmd *exec.Cmd
	if system == Carenode {
		hubCmd, deskCmd = r.cfg.GoPeer("hub", filepath.Join(dir, "hub.db")), r.cfg.GoPeer("desk", filepath.Join(dir, "desk.db"))
	} else {
		hubCmd = r.cfg.PouchPeer("hub", "--dataset", r.l.Docs("dataset"))
		deskCmd = r.cfg.PouchPeer("desk")
	}
	hub, err := startPeer(ctx, hubCmd, filepath.Join(dir, "hub.log"))
	if err != nil {
		return fmt.Errorf("%s hub: %w", system, err)
	}
	defer func() {
		if e := hub.stop(); err == nil {
			err = e
		}
	}()
	desk, err := startPeer(ctx, deskCmd, filepath.Join(dir, "desk.log"))
	if err != nil {
		return fmt.Errorf("%s desk: %w", system, err)
	}
	defer func() {
		if e := desk.stop(); err == nil {
			err = e
		}
	}()
	p, err := NewProxy(hub.first.Addr, Loopback())
	if err != nil {
		return err
	}
	defer p.Close()
	return fn(hub, desk, p)
}

// measure runs one sync of the desk with the hub through p over link and
// records it.
func (r *runner) measure(ctx context.Context, system, phase string, link Link, run int, hub, desk *peerProc, p *Proxy) error {
	if err := p.SetLink(link); err != nil {
		return err
	}
	keep := phase == PhaseIdleKept
	url := "https://" + p.Addr()
	if system == PouchDB {
		url = "http://" + p.Addr() + "/hub"
	}
	hu0, err := hub.do(ctx, command{Op: "usage"})
	if err != nil {
		return err
	}
	du0, err := desk.do(ctx, command{Op: "usage"})
	if err != nil {
		return err
	}
	c0 := p.Counts()
	res, err := desk.do(ctx, command{Op: "sync", URL: url, Keep: keep})
	if err != nil {
		return fmt.Errorf("%s %s sync over %s: %w", system, phase, link, err)
	}
	// What crosses after the last response (TLS alerts, a GOAWAY) is
	// counted when the connection ends; a connection kept alive is read
	// after a short wait.
	if !keep {
		p.WaitIdle(2*time.Second + 2*link.Delay)
	} else {
		time.Sleep(200*time.Millisecond + 2*link.Delay)
	}
	counts := p.Counts().Sub(c0)
	hu1, err := hub.do(ctx, command{Op: "usage"})
	if err != nil {
		return err
	}
	du1, err := desk.do(ctx, command{Op: "usage"})
	if err != nil {
		return err
	}
	hs, err := hub.do(ctx, command{Op: "state"})
	if err != nil {
		return err
	}
	ds, err := desk.do(ctx, command{Op: "state"})
	if err != nil {
		return err
	}
	s := Sample{System: system, Phase: phase, Link: link.Name, Run: run, WallMs: res.WallMs, Counts: counts,
		Requests: hu1.Requests - hu0.Requests, DeskCPUms: du1.CPUms - du0.CPUms, HubCPUms: hu1.CPUms - hu0.CPUms,
		DeskRSSKiB: du1.MaxRSSKiB, HubRSSKiB: hu1.MaxRSSKiB, Sent: res.Sent, Received: res.Received, Idle: res.Idle,
		Converged: hs.State != "" && hs.State == ds.State && hs.Records == ds.Records}
	r.samples = append(r.samples, s)
	fmt.Fprintf(r.cfg.Progress, "%-8s %-7s %-8s run %d: %8.0f ms  up %9d B  down %10d B  %5d requests  %3d conns  cpu desk %6.0f ms hub %6.0f ms  rss desk %4d MiB hub %4d MiB  sent %d received %d  converged %v\n",
		system, phase, link.Name, run, s.WallMs, s.Up, s.Down, s.Requests, s.Conns, s.DeskCPUms, s.HubCPUms,
		s.DeskRSSKiB>>10, s.HubRSSKiB>>10, s.Sent, s.Received, s.Converged)
	if !s.Converged {
		return fmt.Errorf("%s %s over %s, run %d: desk and hub differ after the sync: desk %d %q, hub %d %q",
			system, phase, link.Name, run, ds.Records, ds.State, hs.Records, hs.State)
	}
	return nil
}

func fresh(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.MkdirAll(dir, 0o700)
}

// peerProc is a running peer process.
type peerProc struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Scanner
	first Reply
	log   *os.File
}

func startPeer(ctx context.Context, cmd *exec.Cmd, logPath string) (*peerProc, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = lf
	in, err := cmd.StdinPipe()
	if err != nil {
		lf.Close()
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		lf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	p := &peerProc{cmd: cmd, in: in, out: sc, log: lf}
	if p.first, err = p.read(ctx); err != nil {
		p.kill()
		return nil, fmt.Errorf("%s: %w (log: %s)", cmd.Path, err, logPath)
	}
	return p, nil
}

// read returns the next reply; ctx ending kills the peer.
func (p *peerProc) read(ctx context.Context) (Reply, error) {
	got := make(chan struct{})
	defer close(got)
	go func() {
		select {
		case <-ctx.Done():
			p.kill()
		case <-got:
		}
	}()
	if !p.out.Scan() {
		if err := p.out.Err(); err != nil {
			return Reply{}, err
		}
		return Reply{}, errors.New("peer exited")
	}
	var r Reply
	if err := json.Unmarshal(p.out.Bytes(), &r); err != nil {
		return r, fmt.Errorf("peer said %q: %w", p.out.Text(), err)
	}
	if r.Err != "" {
		return r, errors.New(r.Err)
	}
	return r, nil
}

func (p *peerProc) do(ctx context.Context, c command) (Reply, error) {
	b, _ := json.Marshal(c)
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		return Reply{}, err
	}
	return p.read(ctx)
}

func (p *peerProc) kill() {
	if p.cmd.Process != nil {
		p.cmd.Process.Kill()
	}
}

// stop asks the peer to quit and waits for it, killing it after 30 s.
func (p *peerProc) stop() error {
	defer p.log.Close()
	b, _ := json.Marshal(command{Op: "quit"})
	p.in.Write(append(b, '\n'))
	p.in.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		p.kill()
		return fmt.Errorf("%s did not quit", p.cmd.Path)
	}
}
