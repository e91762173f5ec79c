package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"carenode/devices/mqtt"
	"carenode/node"
	"carenode/node/nodeconf"
)

// devsimOptions are devsim's flags.
type devsimOptions struct {
	mllp, mqtt, ptyDir string
	node, dir          string
	password, patient  string
	rate, faults       float64
	duration           time.Duration
	seed               uint64
	json               bool
}

func devsimCmd(e *env) *cobra.Command {
	var o devsimOptions
	c := &cobra.Command{
		Use:   "devsim [--mllp ADDR] [--mqtt ADDR --node ID] [--pty-dir DIR] [--rate 1] [--duration 1m] [--seed 1]",
		Short: "Play vital-signs devices against a node, for demos and tests / 模拟生命体征设备向节点发送读数",
		Long: `Play vital-signs devices sending realistic readings (from --seed) to a node:

  devsim-bp-pty   blood-pressure monitor, HL7 v2 over MLLP on a pseudo-terminal   (--pty-dir)
  devsim-bp-net   the same monitor over TCP to the node's MLLP listener           (--mllp)
  devsim-spo2     pulse oximeter, Nonin lines on a pseudo-terminal                (--pty-dir)
  devsim-scale    scale, A&D lines on a pseudo-terminal                           (--pty-dir)
  devsim-thermo   thermometer, JSON over MQTT QoS 1                               (--mqtt)
  devsim-gluco    glucometer, JSON over MQTT QoS 1                                (--mqtt)

With --pty-dir, devsim makes a pseudo-terminal pair per serial device with
socat (apt-get install socat) and prints the [devices] serial lines to put
in the node's config: the node opens DIR/bp, DIR/spo2 and DIR/scale. MQTT
devices log in as their device id with --mqtt-password; a node that does
not know them yet refuses them and lists them as asking to join, and they
keep trying, so approving them on the node lets them in.

Now and then (more with --faults, none with --faults 0) a device sends
garbage, sends a reading twice, or is unplugged for a moment (the
pseudo-terminal vanishes, the connection drops) and sends again what was
not acknowledged. At the end devsim prints what each device sent, what was
acknowledged (HL7 ACK AA, MQTT PUBACK) and what was refused; --json prints
it as JSON, with the ids of the acknowledged messages.

模拟多台生命体征设备，按 --seed 生成逼真的读数发送到节点：经伪终端（--pty-dir，
需要 socat）或 TCP（--mllp）以 HL7/MLLP 发送的血压计、伪终端上的血氧仪（Nonin
格式）和体重秤（A&D 格式），以及经 MQTT（--mqtt）发送的体温计和血糖仪。
使用 --pty-dir 时会显示需要写入节点配置 [devices] 的串口设置。MQTT 设备以设备编号
和 --mqtt-password 登录；节点尚未认识的设备会被拒绝并出现在“申请接入的设备”中，
设备会持续重试，管理员批准后即可接入。
设备会不时发送乱码、重复发送读数或短暂“拔出”后重发未确认的数据（--faults 调整
频率，0 为关闭）。结束时显示每台设备发送、被确认和被拒绝的数量（--json 输出 JSON）。`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.check(); err != nil {
				return err
			}
			log, err := e.logger(nodeconf.LogSection{})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if o.duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, o.duration)
				defer cancel()
			}
			sum, err := runDevsim(ctx, o, e.stderr, log)
			if err != nil {
				return err
			}
			if o.json {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(sum)
			}
			sum.print(e.stdout)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.mllp, "mllp", "", "the node's MLLP listener, host:port / 节点的 HL7 MLLP 监听地址")
	f.StringVar(&o.mqtt, "mqtt", "", "the node's MQTT broker, host:port / 节点的 MQTT 代理地址")
	f.StringVar(&o.ptyDir, "pty-dir", "", "directory for the serial devices' pseudo-terminals / 串口设备伪终端所在目录")
	f.StringVar(&o.node, "node", "", "the node's ID, for the MQTT topics / 节点编号（用于 MQTT 主题）")
	f.StringVar(&o.dir, "dir", "", "read the node's ID from its data directory instead of --node / 从节点数据目录读取节点编号")
	f.StringVar(&o.password, "mqtt-password", "devsim-password", "password of the MQTT devices / MQTT 设备的密码")
	f.StringVar(&o.patient, "patient", "", "patient identifier the blood-pressure monitor puts in PID-3 / 血压计在 PID-3 中填写的患者标识")
	f.Float64Var(&o.rate, "rate", 1, "readings a second, per device / 每台设备每秒读数")
	f.Float64Var(&o.faults, "faults", 1, "how often devices misbehave: 0 never, 1 now and then, 10 often / 设备出错频率")
	f.DurationVar(&o.duration, "duration", 0, "stop after this long; 0 runs until interrupted / 运行时长，0 为直到中断")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the readings and faults / 随机种子")
	f.BoolVar(&o.json, "json", false, "print the summary as JSON / 以 JSON 输出汇总")
	return c
}

func (o *devsimOptions) check() error {
	switch {
	case o.mllp == "" && o.mqtt == "" && o.ptyDir == "":
		return usageError{errors.New("give at least one of --mllp, --mqtt and --pty-dir / 请至少指定 --mllp、--mqtt、--pty-dir 之一")}
	case o.rate <= 0 || o.rate > 1000:
		return usageError{fmt.Errorf("--rate %v: want more than 0 and at most 1000 / --rate 须大于 0 且不超过 1000", o.rate)}
	case o.faults < 0 || o.faults > 50:
		return usageError{fmt.Errorf("--faults %v: want 0 to 50 / --faults 须在 0 到 50 之间", o.faults)}
	case o.duration < 0:
		return usageError{fmt.Errorf("--duration %v: want 0 or more / --duration 不能为负", o.duration)}
	case strings.ContainsAny(o.patient, "|^~\\&\r\n"):
		return usageError{errors.New(`--patient: no HL7 separators (| ^ ~ \ &) or line breaks / 患者标识不能包含 HL7 分隔符或换行`)}
	case len(o.password) < 8:
		return usageError{errors.New("--mqtt-password: at least 8 characters / MQTT 设备密码至少 8 个字符")}
	}
	if o.mqtt != "" && o.node == "" {
		if o.dir == "" {
			return usageError{errors.New("--mqtt needs --node ID or --dir DIR (the node's ID is in its topics) / 使用 --mqtt 时须指定 --node 或 --dir")}
		}
		id, _, err := node.LoadConfig(o.dir)
		if err != nil {
			return err
		}
		o.node = string(id.ID)
	}
	if o.ptyDir != "" {
		if _, err := exec.LookPath("socat"); err != nil {
			return usageError{errors.New("--pty-dir needs socat (apt-get install socat) / --pty-dir 需要 socat（apt-get install socat）")}
		}
		if err := os.MkdirAll(o.ptyDir, 0o755); err != nil {
			return fmt.Errorf("--pty-dir: %w", err)
		}
	}
	return nil
}

// deviceStats is what one simulated device did.
type deviceStats struct {
	Device    string `json:"device"`
	Transport string `json:"transport"`
	// Sent counts distinct readings sent; Acked those acknowledged (HL7
	// ACK AA, MQTT PUBACK); line devices have no acknowledgement.
	Sent  int64 `json:"sent"`
	Acked int64 `json:"acked"`
	// Refused counts AE/AR answers to readings and refused MQTT CONNECTs.
	Refused int64 `json:"refused"`
	// Resent counts sends again after a lost or negative acknowledgement.
	Resent     int64 `json:"resent"`
	Duplicates int64 `json:"duplicates"`
	Garbage    int64 `json:"garbage"`
	Unplugged  int64 `json:"unplugged"`
	// Unacked counts readings given up on at the end without an answer.
	Unacked  int64    `json:"unacked"`
	AckedIDs []string `json:"acked_ids,omitempty"`
	HasAck   bool     `json:"-"`
}

// devCounters is a device's live counts.
type devCounters struct {
	sent, acked, refused, resent, dups, garbage, unplugged, unacked atomic.Int64

	mu       sync.Mutex
	ackedIDs []string
}

func (c *devCounters) ack(id string) {
	c.acked.Add(1)
	c.mu.Lock()
	c.ackedIDs = append(c.ackedIDs, id)
	c.mu.Unlock()
}

// devsimSummary is printed at the end.
type devsimSummary struct {
	Seed    uint64        `json:"seed"`
	Devices []deviceStats `json:"devices"`
}

func (s devsimSummary) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "device 设备\ttransport 传输\tsent 发送\tacked 已确认\trefused 被拒\tresent 重发\tduplicates 重复\tgarbage 乱码\tunplugged 拔出\t")
	for _, d := range s.Devices {
		acked := "-"
		if d.HasAck {
			acked = fmt.Sprint(d.Acked)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%d\t%d\t%d\t\n", d.Device, d.Transport, d.Sent, acked, d.Refused, d.Resent,
			d.Duplicates, d.Garbage, d.Unplugged)
	}
	tw.Flush()
}

// simDevice is one simulated device.
type simDevice struct {
	id, transport string
	hasAck        bool
	run           func(ctx context.Context, d *simDevice) error
	c             devCounters
	rng           *rand.Rand
	sim           *devsim
}

// devsim runs the devices.
type devsim struct {
	o   devsimOptions
	log *slog.Logger
	// run makes message ids unique across runs: the readings repeat with
	// the seed, the ids must not, or a second run would look like a resend.
	run string
}

// fault reports whether a fault of base probability p happens now.
func (d *simDevice) fault(p float64) bool { return d.rng.Float64() < p*d.sim.o.faults }

// Base probabilities per reading, at --faults 1, and of an unplug per
// second (an unplug lasts a second or so; per reading, a fast rate would
// keep a device unplugged most of the time).
const (
	pGarbage      = 0.04
	pDuplicate    = 0.04
	pUnplugPerSec = 0.03
)

// unplugNow reports whether the device is unplugged at this reading.
func (d *simDevice) unplugNow() bool { return d.fault(pUnplugPerSec / d.sim.o.rate) }

// tick waits for the next reading's time; false when ctx ended.
func (d *simDevice) tick(ctx context.Context, next *time.Time) bool {
	*next = next.Add(time.Duration(float64(time.Second) / d.sim.o.rate))
	return pause(ctx, time.Until(*next))
}

// pause sleeps d; false when ctx ended first.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func runDevsim(ctx context.Context, o devsimOptions, info io.Writer, log *slog.Logger) (devsimSummary, error) {
	s := &devsim{o: o, log: log.With("subsystem", "devsim"), run: strconv.FormatInt(time.Now().UnixMilli(), 36)}
	var devs []*simDevice
	add := func(id, transport string, hasAck bool, run func(context.Context, *simDevice) error) {
		h := fnv.New64a()
		h.Write([]byte(id))
		devs = append(devs, &simDevice{id: id, transport: transport, hasAck: hasAck, run: run, sim: s,
			rng: rand.New(rand.NewPCG(o.seed, h.Sum64()))})
	}
	if o.ptyDir != "" {
		add("devsim-bp-pty", "HL7/MLLP pty", true, runBPPty)
		add("devsim-spo2", "Nonin pty", false, runSpO2)
		add("devsim-scale", "A&D pty", false, runScale)
		fmt.Fprintf(info, `Serial devices on pseudo-terminals; put these in the node's config / 串口设备的伪终端，请写入节点配置：
[devices]
serial = [
  { device_id = "devsim-bp-pty", path = %q, parser = "hl7" },
  { device_id = "devsim-spo2", path = %q, parser = "nonin" },
  { device_id = "devsim-scale", path = %q, parser = "and" },
]
`, filepath.Join(o.ptyDir, "bp"), filepath.Join(o.ptyDir, "spo2"), filepath.Join(o.ptyDir, "scale"))
	}
	if o.mllp != "" {
		add("devsim-bp-net", "HL7/MLLP TCP", true, runBPNet)
	}
	if o.mqtt != "" {
		add("devsim-thermo", "MQTT JSON", true, runThermo)
		add("devsim-gluco", "MQTT JSON", true, runGluco)
		fmt.Fprintf(info, "MQTT devices devsim-thermo and devsim-gluco publish to %s / MQTT 设备发布到该主题\n",
			mqtt.Topic(o.node, "<device-id>"))
	}
	var wg sync.WaitGroup
	errs := make([]error, len(devs))
	for i, d := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.run(ctx, d); err != nil && ctx.Err() == nil {
				errs[i] = fmt.Errorf("%s: %w", d.id, err)
				s.log.Error("device stopped", "device", d.id, "err", err)
			}
		}()
	}
	wg.Wait()
	sum := devsimSummary{Seed: o.seed}
	for _, d := range devs {
		c := &d.c
		c.mu.Lock()
		ids := slices.Clone(c.ackedIDs)
		c.mu.Unlock()
		sum.Devices = append(sum.Devices, deviceStats{Device: d.id, Transport: d.transport, Sent: c.sent.Load(), Acked: c.acked.Load(),
			Refused: c.refused.Load(), Resent: c.resent.Load(), Duplicates: c.dups.Load(), Garbage: c.garbage.Load(),
			Unplugged: c.unplugged.Load(), Unacked: c.unacked.Load(), AckedIDs: ids, HasAck: d.hasAck})
	}
	return sum, errors.Join(errs...)
}

// shortID is a short, fresh message id part.
func (d *simDevice) shortID(n int) string {
	return fmt.Sprintf("%s-%s-%04d", strings.TrimPrefix(d.id, "devsim-"), d.sim.run, n)
}
