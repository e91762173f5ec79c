package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"carenode/devices/hl7"
	"carenode/devices/mqtt"
)

// answerTimeout bounds the wait for an HL7 ACK or an MQTT PUBACK; a device
// that waits longer takes the message as not delivered and sends it again.
const answerTimeout = 10 * time.Second

// normal draws from a normal distribution, clamped to [lo, hi].
func (d *simDevice) normal(mean, sd, lo, hi float64) float64 {
	return math.Min(hi, math.Max(lo, mean+sd*d.rng.NormFloat64()))
}

// unplugTime is how long a device stays unplugged: half a second to two.
func (d *simDevice) unplugTime() time.Duration {
	return 500*time.Millisecond + time.Duration(d.rng.Int64N(int64(1500*time.Millisecond)))
}

// garbage returns bytes a confused device might send: line noise, a
// half-written message, a baud-rate mismatch.
func (d *simDevice) garbage() []byte {
	switch d.rng.IntN(3) {
	case 0:
		b := make([]byte, 4+d.rng.IntN(24))
		for i := range b {
			b[i] = byte(0x20 + d.rng.IntN(0x5f))
		}
		return b
	case 1:
		return []byte("\xfe\xff\x80\xf0\x0f\x99")
	}
	return []byte("ERR 07 SENSOR")
}

// ptyLink is a socat pseudo-terminal pair: the node opens node, the device
// (devsim) writes dev.
type ptyLink struct {
	node, dev string
	cmd       *exec.Cmd
}

func newPty(dir, name string) *ptyLink {
	return &ptyLink{node: filepath.Join(dir, name), dev: filepath.Join(dir, "."+name+"-device")}
}

// plug starts socat, if it is not running, and opens the device's side.
func (p *ptyLink) plug() (*os.File, error) {
	if p.cmd == nil {
		os.Remove(p.node)
		os.Remove(p.dev)
		cmd := exec.Command("socat", "pty,raw,echo=0,link="+p.node, "pty,raw,echo=0,link="+p.dev)
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start socat: %w", err)
		}
		p.cmd = cmd
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, e1 := os.Stat(p.node)
			_, e2 := os.Stat(p.dev)
			if e1 == nil && e2 == nil {
				break
			}
			if time.Now().After(deadline) {
				p.unplug()
				return nil, fmt.Errorf("socat made no pseudo-terminals at %s within 5 s", p.node)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	f, err := os.OpenFile(p.dev, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("open pseudo-terminal: %w", err)
	}
	return f, nil
}

// unplug ends socat: both ends vanish, as a serial port does when its USB
// adapter is pulled out.
func (p *ptyLink) unplug() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
	os.Remove(p.node)
	os.Remove(p.dev)
	p.cmd = nil
}

// link is a device's connection: a pseudo-terminal or a TCP connection.
type link interface {
	io.ReadWriteCloser
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// connector opens a device's link and unplugs it.
type connector interface {
	open(ctx context.Context) (link, error)
	unplug()
}

type ptyConnector struct{ p *ptyLink }

func (c ptyConnector) open(context.Context) (link, error) { return c.p.plug() }
func (c ptyConnector) unplug()                            { c.p.unplug() }

type tcpConnector struct {
	addr string
	d    *simDevice
}

// open dials until the node answers or ctx ends.
func (c tcpConnector) open(ctx context.Context) (link, error) {
	for {
		var dl net.Dialer
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := dl.DialContext(dctx, "tcp", c.addr)
		cancel()
		if err == nil {
			return conn.(*net.TCPConn), nil
		}
		c.d.sim.log.Debug("cannot reach the node; retrying", "device", c.d.id, "err", err)
		if !pause(ctx, time.Second) {
			return nil, ctx.Err()
		}
	}
}

func (tcpConnector) unplug() {}

func runBPPty(ctx context.Context, d *simDevice) error {
	p := newPty(d.sim.o.ptyDir, "bp")
	defer p.unplug()
	return runHL7(ctx, d, ptyConnector{p}, "0A1B2C3D4E5F0001")
}

func runBPNet(ctx context.Context, d *simDevice) error {
	return runHL7(ctx, d, tcpConnector{addr: d.sim.o.mllp, d: d}, "0A1B2C3D4E5F0002")
}

// runHL7 plays a blood-pressure monitor sending ORU^R01 in MLLP frames and
// waiting for each ACK. A message not answered AA or AR is sent again
// until it is; one refused with AR (unreadable) is dropped.
func runHL7(ctx context.Context, d *simDevice, c connector, eui string) error {
	conn, err := c.open(ctx)
	if err != nil {
		return err
	}
	// When ctx ends, closing the link ends a wait for an ACK at once.
	var mu sync.Mutex
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		conn.Close()
		mu.Unlock()
	})
	defer stop()
	defer func() { conn.Close() }()
	rd := hl7.NewReader(bufio.NewReader(conn), hl7.DefaultMaxFrame)
	reopen := func() bool {
		conn.Close()
		next, err := c.open(ctx)
		if err != nil {
			return false
		}
		mu.Lock()
		conn = next
		mu.Unlock()
		if ctx.Err() != nil {
			return false
		}
		rd = hl7.NewReader(bufio.NewReader(conn), hl7.DefaultMaxFrame)
		return true
	}
	// exchange sends msg and returns the ACK's code; an error means the
	// link broke or no answer came, and it has been reopened.
	exchange := func(msg []byte) (hl7.AckCode, error) {
		conn.SetWriteDeadline(time.Now().Add(answerTimeout))
		err := hl7.NewWriter(conn).WriteFrame(msg)
		if err == nil {
			conn.SetReadDeadline(time.Now().Add(answerTimeout))
			var ack []byte
			if ack, err = rd.ReadFrame(); err == nil {
				var res hl7.AckResult
				if res, err = hl7.ParseACK(ack); err == nil {
					return res.Code, nil
				}
			}
		}
		d.sim.log.Debug("no ACK; reconnecting", "device", d.id, "err", err)
		if !reopen() {
			return "", ctx.Err()
		}
		return "", err
	}
	var pending []byte // the message not yet answered AA
	var pendingID string
	next := time.Now()
	for n := 1; d.tick(ctx, &next); n++ {
		if d.unplugNow() {
			d.c.unplugged.Add(1)
			conn.Close()
			c.unplug()
			if !pause(ctx, d.unplugTime()) {
				break
			}
			if !reopen() {
				break
			}
		}
		if d.fault(pGarbage) {
			d.c.garbage.Add(1)
			g := append([]byte("MSH|"), d.garbage()...)
			if _, err := exchange(g); err != nil && ctx.Err() != nil {
				break
			}
			continue
		}
		if pending == nil {
			pendingID = d.shortID(n)
			sys := d.normal(128, 16, 85, 200)
			dia := d.normal(sys*0.62, 6, 45, 120)
			pending = bpMessage(pendingID, time.Now(), int(sys), int(dia), int(d.normal(74, 11, 42, 150)), eui, d.sim.o.patient)
			d.c.sent.Add(1)
		} else {
			d.c.resent.Add(1)
		}
		code, err := exchange(pending)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			continue // sent again at the next tick
		}
		switch code {
		case hl7.AA:
			d.c.ack(pendingID)
			if d.fault(pDuplicate) { // the device replays its memory
				d.c.dups.Add(1)
				exchange(pending)
			}
			pending = nil
		case hl7.AR:
			d.c.refused.Add(1)
			pending = nil
		default: // AE: the node could not store it; keep it
			d.c.refused.Add(1)
		}
	}
	if pending != nil {
		d.c.unacked.Add(1)
	}
	return nil
}

// bpMessage is an IHE PCD-01 ORU^R01 from a blood-pressure monitor, as a
// Continua WAN gateway sends it.
func bpMessage(ctrl string, t time.Time, sys, dia, pulse int, eui, patient string) []byte {
	ts := t.Format("20060102150405-0700")
	segs := []string{"MSH|^~\\&|DEVSIM-BP^" + eui + "^EUI-64||CARENODE||" + ts + "||ORU^R01^ORU_R01|" + ctrl + "|P|2.6|||NE|AL"}
	if patient != "" {
		segs = append(segs, "PID|||"+patient+"^^^DEVSIM^PI")
	}
	segs = append(segs,
		"OBR|1|"+ctrl+"^DEVSIM-BP|"+ctrl+"^DEVSIM-BP|182777000^monitoring of patient^SNOMED-CT|||"+ts,
		"OBX|1||150020^MDC_PRESS_BLD_NONINV^MDC|1.0.1|||||||X|||"+ts+"||||||"+eui+"^EUI-64",
		fmt.Sprintf("OBX|2|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.0.1.1|%d|266016^MDC_DIM_MMHG^MDC|||||R", sys),
		fmt.Sprintf("OBX|3|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC|1.0.1.2|%d|266016^MDC_DIM_MMHG^MDC|||||R", dia),
		fmt.Sprintf("OBX|4|NM|150023^MDC_PRESS_BLD_NONINV_MEAN^MDC|1.0.1.3|%d|266016^MDC_DIM_MMHG^MDC|||||R", dia+(sys-dia)/3),
		fmt.Sprintf("OBX|5|NM|149546^MDC_PULS_RATE_NON_INV^MDC|1.0.2.1|%d|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R", pulse),
	)
	return []byte(strings.Join(segs, "\r"))
}

func runSpO2(ctx context.Context, d *simDevice) error { return runLines(ctx, d, "spo2", noninLine) }

func runScale(ctx context.Context, d *simDevice) error { return runLines(ctx, d, "scale", andLine) }

// noninLine is a Nonin oximeter's line, and whether it carries a reading.
func noninLine(d *simDevice) (string, bool) {
	if d.rng.Float64() < 0.05 { // finger out of the probe
		return "SPO2=--- HR=---", false
	}
	return fmt.Sprintf("SPO2=%03d HR=%03d", int(d.normal(97, 1.5, 82, 100)), int(d.normal(76, 10, 40, 180))), true
}

// andLine is an A&D scale's line, and whether it carries a reading.
func andLine(d *simDevice) (string, bool) {
	w := d.normal(62, 9, 30, 150)
	switch r := d.rng.Float64(); {
	case r < 0.15: // someone stepping on
		return fmt.Sprintf("US,GS,%+07.1fkg", w-d.rng.Float64()*3), false
	case r < 0.17:
		return "OL,GS,+9999.9kg", false
	}
	return fmt.Sprintf("ST,GS,%+07.1fkg", w), true
}

// runLines plays a line device: a line a tick, never answered. Only lines
// with a reading count as sent.
func runLines(ctx context.Context, d *simDevice, name string, line func(d *simDevice) (string, bool)) error {
	p := newPty(d.sim.o.ptyDir, name)
	defer p.unplug()
	f, err := p.plug()
	if err != nil {
		return err
	}
	defer func() { f.Close() }()
	write := func(b []byte) bool {
		// A pseudo-terminal nobody reads fills up; a device would drop
		// the line then, not hang.
		f.SetWriteDeadline(time.Now().Add(2 * time.Second))
		_, err := f.Write(b)
		return err == nil
	}
	next := time.Now()
	for n := 1; d.tick(ctx, &next); n++ {
		if d.unplugNow() {
			d.c.unplugged.Add(1)
			f.Close()
			p.unplug()
			if !pause(ctx, d.unplugTime()) {
				return nil
			}
			if f, err = p.plug(); err != nil {
				return err
			}
			continue
		}
		if d.fault(pGarbage) {
			if write(append(d.garbage(), '\r', '\n')) {
				d.c.garbage.Add(1)
			}
			continue
		}
		text, reading := line(d)
		if write([]byte(text+"\r\n")) && reading {
			d.c.sent.Add(1)
		}
	}
	return nil
}

func runThermo(ctx context.Context, d *simDevice) error { return runMQTT(ctx, d, thermoPayload) }

func runGluco(ctx context.Context, d *simDevice) error { return runMQTT(ctx, d, glucoPayload) }

// thermoPayload is a thermometer's n-th reading: its id and payload.
func thermoPayload(d *simDevice, n int) (string, []byte) {
	t := d.normal(36.8, 0.4, 35, 41)
	value, unit := fmt.Sprintf("%.1f", t), "Cel"
	if d.rng.Float64() < 0.1 { // a thermometer set to Fahrenheit
		value, unit = fmt.Sprintf("%.1f", t*9/5+32), "°F"
	}
	return jsonReading(d.shortID(n), mqtt.JSONReading{Type: "body-temperature", Value: value, Unit: unit})
}

// glucoPayload is a glucometer's n-th reading: its id and payload.
func glucoPayload(d *simDevice, n int) (string, []byte) {
	g := d.normal(6.2, 1.5, 2.5, 25)
	value, unit := fmt.Sprintf("%.1f", g), "mmol/L"
	if d.rng.Float64() < 0.2 { // a meter that shows mg/dL
		value, unit = fmt.Sprintf("%.0f", g*18.0156), "mg/dL"
	}
	return jsonReading(d.shortID(n), mqtt.JSONReading{LOINC: "14743-9", Value: value, Unit: unit})
}

// jsonReading is the payload of reading.schema.json with one reading.
func jsonReading(id string, r mqtt.JSONReading) (string, []byte) {
	b, _ := json.Marshal(mqtt.Document{ID: id, Time: time.Now().Format(time.RFC3339), Readings: []mqtt.JSONReading{r}})
	return id, b
}

// runMQTT plays an MQTT device: it logs in as its device id (retrying
// while the node refuses it), keeps its session (clean session off), and
// publishes each reading at QoS 1 until it is acknowledged.
func runMQTT(ctx context.Context, d *simDevice, payload func(d *simDevice, n int) (string, []byte)) error {
	var mu sync.Mutex
	var conn net.Conn // the current connection, closed to unplug
	opts := paho.NewClientOptions().AddBroker("tcp://" + d.sim.o.mqtt).SetClientID(d.id).
		SetUsername(d.id).SetPassword(d.sim.o.password).SetCleanSession(false).SetProtocolVersion(4).
		SetAutoReconnect(true).SetConnectRetry(false).SetMaxReconnectInterval(2 * time.Second).
		SetConnectTimeout(5 * time.Second).SetKeepAlive(30 * time.Second).
		SetCustomOpenConnectionFn(func(u *url.URL, _ paho.ClientOptions) (net.Conn, error) {
			c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
			if err == nil {
				mu.Lock()
				conn = c
				mu.Unlock()
			}
			return c, err
		})
	c := paho.NewClient(opts)
	defer c.Disconnect(250)
	for asked := false; ; {
		tok := c.Connect()
		if wait(ctx, tok) && tok.Error() == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		d.c.refused.Add(1)
		if !asked {
			d.sim.log.Info("MQTT device refused; approve it on the node (devices asking to join) / 设备被拒绝，请在节点上批准其接入",
				"device", d.id, "err", tok.Error())
			asked = true
		}
		if !pause(ctx, 2*time.Second) {
			return nil
		}
	}
	topic := mqtt.Topic(d.sim.o.node, d.id)
	// publish sends body until it is acknowledged or ctx ends.
	publish := func(body []byte) bool {
		for try := 0; ; try++ {
			if try > 0 {
				d.c.resent.Add(1)
			}
			tok := c.Publish(topic, 1, false, body)
			if wait(ctx, tok) && tok.Error() == nil {
				return true
			}
			if ctx.Err() != nil || !pause(ctx, 500*time.Millisecond) {
				return false
			}
		}
	}
	next := time.Now()
	for n := 1; d.tick(ctx, &next); n++ {
		if d.unplugNow() {
			d.c.unplugged.Add(1)
			mu.Lock()
			if conn != nil {
				conn.Close() // paho reconnects and resends what is in flight
			}
			mu.Unlock()
		}
		if d.fault(pGarbage) {
			if publish(d.garbage()) {
				d.c.garbage.Add(1)
			}
			continue
		}
		id, body := payload(d, n)
		d.c.sent.Add(1)
		if !publish(body) {
			d.c.unacked.Add(1)
			break
		}
		d.c.ack(id)
		if d.fault(pDuplicate) {
			d.c.dups.Add(1)
			publish(body)
		}
	}
	return nil
}

// wait waits for tok, at most answerTimeout; false if it did not complete.
func wait(ctx context.Context, tok paho.Token) bool {
	t := time.NewTimer(answerTimeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		return true
	case <-ctx.Done():
		return false
	case <-t.C:
		return false
	}
}
