package runner

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"carenode/devices"
	"carenode/devices/mllp"
	"carenode/devices/mqtt"
	"carenode/devices/serialport"
	"carenode/node/nodeconf"
)

// SessionFileName is the embedded broker's session file in the node's
// data directory.
const SessionFileName = "mqtt-sessions.db"

// Config says which device front ends to start. FromFile builds it from a
// config file's [devices] section; any part may then be changed (a test
// listens on port 0, a demo opens its own ports).
type Config struct {
	// Serial lists the serial ports, one device each.
	Serial []serialport.Config
	// MLLP is the HL7/MLLP TCP listener; nil means off.
	MLLP *mllp.Config
	// MQTT is the embedded broker; nil means off.
	MQTT *mqtt.Config
	// External reads from an external broker instead; nil means none.
	External *mqtt.ExternalConfig
	// Logger; nil means slog.Default.
	Logger *slog.Logger
}

// FromFile builds the Config of d for node nodeID whose data directory is
// dataDir: the embedded broker keeps its sessions in dataDir, and a
// relative password file is read from there. d should already be
// validated (nodeconf.Load does it). To let command-line flags win, set
// d.MLLPListen and d.MQTTListen from them before calling.
func FromFile(d nodeconf.DevicesSection, nodeID, dataDir string) (Config, error) {
	var cfg Config
	for _, p := range d.Serial {
		sc := serialport.DefaultConfig(p.DeviceID, p.Path, p.Parser)
		sc.Baud, sc.Parity = p.Baud, p.Parity
		cfg.Serial = append(cfg.Serial, sc)
	}
	if d.MLLPListen != nodeconf.Off && d.MLLPListen != "" {
		c := mllp.DefaultConfig(d.MLLPListen)
		cfg.MLLP = &c
	}
	if d.MQTTListen != nodeconf.Off && d.MQTTListen != "" {
		c := mqtt.DefaultConfig(d.MQTTListen, nodeID)
		c.SessionFile = filepath.Join(dataDir, SessionFileName)
		cfg.MQTT = &c
	}
	if d.MQTTBroker != "" {
		c := mqtt.DefaultExternalConfig(d.MQTTBroker, nodeID)
		c.ClientID, c.Username = d.MQTTClientID, d.MQTTUsername
		if d.MQTTPasswordFile != "" {
			path := d.MQTTPasswordFile
			if !filepath.IsAbs(path) {
				path = filepath.Join(dataDir, path)
			}
			pw, err := readPassword(path)
			if err != nil {
				return Config{}, err
			}
			c.Password = pw
		}
		cfg.External = &c
	}
	return cfg, nil
}

// readPassword returns the first line of the file at path.
func readPassword(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("MQTT password file: %w: %w", ErrPasswordFile, err)
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("MQTT password file %s: %w: it is empty", path, ErrPasswordFile)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", fmt.Errorf("MQTT password file %s: %w: its first line is empty", path, ErrPasswordFile)
	}
	return pw, nil
}

// Status is every front end's state, for the API and metrics.
type Status struct {
	Serial   []serialport.Status `json:"serial"`
	MLLP     *MLLPStatus         `json:"mllp,omitempty"`
	MQTT     *MQTTStatus         `json:"mqtt,omitempty"`
	External *ExternalStatus     `json:"external,omitempty"`
}

// MLLPStatus is the MLLP listener's state.
type MLLPStatus struct {
	Addr string `json:"addr"`
	mllp.ServerStats
}

// MQTTStatus is the embedded broker's state.
type MQTTStatus struct {
	Addr string `json:"addr"`
	mqtt.Stats
}

// ExternalStatus is the external broker subscriber's state.
type ExternalStatus struct {
	Broker string `json:"broker"`
	mqtt.SubscriberStats
}

// Runner runs the device front ends of a node: each serial port in its
// own goroutine, the MLLP listener, and the embedded MQTT broker or the
// external broker's subscriber. Its methods are safe for concurrent use.
type Runner struct {
	ports    []*serialport.Port
	mllp     *mllp.Server
	mllpAddr string
	broker   *mqtt.Broker
	sub      *mqtt.Subscriber
	subURL   string
	log      *slog.Logger

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Accounts is what the embedded broker needs of device accounts: who may
// connect, and where refused devices are recorded. *mqtt.Book has both.
type Accounts interface {
	mqtt.Accounts
	mqtt.JoinRecorder
}

var _ Accounts = (*mqtt.Book)(nil)

// Start starts every front end of cfg, storing what devices send into
// sink; accounts authenticates MQTT devices and records those refused (it
// may be nil when cfg.MQTT is). It returns once the listeners listen: an address already in use is
// an error, and nothing is left running. A serial port that cannot be
// opened is not: the port keeps trying (a device plugged in later is
// read) and says why in its Status. Close stops everything.
func Start(cfg Config, sink devices.Sink, accounts Accounts) (_ *Runner, err error) {
	if sink == nil {
		return nil, fmt.Errorf("sink is nil: %w", ErrConfig)
	}
	if cfg.MQTT != nil && accounts == nil {
		return nil, fmt.Errorf("the MQTT broker needs device accounts: %w", ErrConfig)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{log: log.With("subsystem", "devices"), cancel: cancel}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	ids := map[string]bool{}
	for _, pc := range cfg.Serial {
		if ids[pc.DeviceID] {
			return nil, fmt.Errorf("device %s is on two serial ports: %w", pc.DeviceID, ErrConfig)
		}
		ids[pc.DeviceID] = true
		if pc.Logger == nil {
			pc.Logger = log
		}
		p, err := serialport.New(pc, sink)
		if err != nil {
			return nil, fmt.Errorf("serial port %s: %w", pc.Path, err)
		}
		r.ports = append(r.ports, p)
	}
	if cfg.MLLP != nil {
		mc := *cfg.MLLP
		if mc.Logger == nil {
			mc.Logger = log
		}
		s, err := mllp.New(mc, sink)
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", mc.Addr)
		if err != nil {
			return nil, fmt.Errorf("listen for MLLP on %s: %w", mc.Addr, err)
		}
		r.mllp, r.mllpAddr = s, ln.Addr().String()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			if err := s.Serve(ctx, ln); err != nil && !errors.Is(err, mllp.ErrServerClosed) {
				r.log.Error("MLLP listener stopped", "err", err)
			}
		}()
	}
	if cfg.MQTT != nil {
		bc := *cfg.MQTT
		if bc.Logger == nil {
			bc.Logger = log
		}
		bc.Joins = accounts
		b, err := mqtt.New(bc, accounts, sink)
		if err != nil {
			return nil, err
		}
		if err := b.Start(); err != nil {
			b.Close() // releases the session file
			return nil, err
		}
		r.broker = b
	}
	if cfg.External != nil {
		ec := *cfg.External
		if ec.Logger == nil {
			ec.Logger = log
		}
		s, err := mqtt.NewSubscriber(ec, sink)
		if err != nil {
			return nil, err
		}
		if err := s.Start(); err != nil {
			return nil, err
		}
		r.sub, r.subURL = s, redact(ec.Broker)
	}
	for _, p := range r.ports {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			p.Run(ctx)
		}()
	}
	return r, nil
}

func redact(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Redacted()
	}
	return u
}

// MLLPAddr returns the address the MLLP listener listens on; "" when off.
func (r *Runner) MLLPAddr() string { return r.mllpAddr }

// MQTTAddr returns the address the embedded broker listens on; "" when off.
func (r *Runner) MQTTAddr() string {
	if r.broker == nil {
		return ""
	}
	return r.broker.Addr()
}

// Status returns the state of every front end now.
func (r *Runner) Status() Status {
	st := Status{Serial: make([]serialport.Status, 0, len(r.ports))}
	for _, p := range r.ports {
		st.Serial = append(st.Serial, p.Status())
	}
	if r.mllp != nil {
		st.MLLP = &MLLPStatus{Addr: r.mllpAddr, ServerStats: r.mllp.Stats()}
	}
	if r.broker != nil {
		st.MQTT = &MQTTStatus{Addr: r.broker.Addr(), Stats: r.broker.Stats()}
	}
	if r.sub != nil {
		st.External = &ExternalStatus{Broker: r.subURL, SubscriberStats: r.sub.Stats()}
	}
	return st
}

// Close stops every front end and waits for them: a reading being stored
// finishes (or times out) first, and is acknowledged only if stored.
func (r *Runner) Close() error {
	var errs []error
	r.once.Do(func() {
		r.cancel()
		if r.broker != nil {
			errs = append(errs, r.broker.Close())
		}
		if r.sub != nil {
			errs = append(errs, r.sub.Close())
		}
		r.wg.Wait()
	})
	return errors.Join(errs...)
}
