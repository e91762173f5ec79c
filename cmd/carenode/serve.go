package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"carenode/node"
	"carenode/node/nodeconf"
	"carenode/sync/transport"
	"carenode/sync/trust"
)

// syncOptions are serve's sync flags.
type syncOptions struct {
	listen   string
	interval time.Duration
	debounce time.Duration
	disc     discoveryOptions
}

func serveCmd(e *env) *cobra.Command {
	var dir, listen, keyFile, mllpAddr, mqttAddr string
	var so syncOptions
	c := &cobra.Command{
		Use:   "serve --dir DIR [--listen 127.0.0.1:7420] [--sync-listen ADDR] [--discovery-bind ADDR:PORT [--discovery-join HOST:PORT,...]] [--key-file FILE] [--mllp ADDR] [--mqtt ADDR|off]",
		Short: "Run the node: HTTP API, /healthz, /metrics, sync / 运行节点",
		Long: `Run the node until SIGINT or SIGTERM: the HTTP JSON API under /api/v1/,
GET /healthz (200 once ready) and Prometheus metrics at /metrics. On a signal it
stops taking requests, finishes those in flight, commits every queued write and
closes the database.

The node starts locked: no patient data is served until a staff member signs
in (POST /api/v1/auth/login). A kiosk, which has nobody to sign in, starts
unlocked with --key-file, the key file written by carenode user add --key-file.

A node that belongs to a network (the hub, or a node made with init --join)
also takes sync sessions from its peers over mutual TLS on --sync-listen
(hubs and clinic desks default to 0.0.0.0:7443; kiosks and nurse laptops listen
only when given an address); the hub also enrols new nodes there. A joined node
syncs with its hub every --sync-interval, retrying with backoff and jitter
while the hub cannot be reached, and --sync-debounce after a local write (a
burst of writes is one sync; one session per peer at a time). The config
file's [sync] section sets the same; the flags override it.

With --discovery-bind a node with a sync listener also finds the other nodes of
its LAN (hashicorp/memberlist, unicast only, never multicast or broadcast): it
joins the seeds given with --discovery-join (typically the clinic desk) and
announces https://HOST:PORT of its sync listener, where HOST is the
--sync-listen host or, when that is 0.0.0.0, --discovery-advertise. The gossip
is encrypted with the network's key (trust/gossip.key, delivered at
enrolment); a node without it refuses to start discovery. Each
peer found is synced with every --sync-interval like the hub; the session
still requires the peer's certificate from this network's CA with the node ID
it announced. On shutdown the node leaves the cluster first.

运行节点直到收到 SIGINT 或 SIGTERM：/api/v1/ 下的 HTTP JSON 接口、/healthz 健康
检查和 /metrics 指标。收到信号后停止接收请求，完成进行中的请求，提交所有排队的
写入并关闭数据库。

节点启动时处于锁定状态：工作人员登录前不提供任何患者数据。自助机无人登录，可用
--key-file（由 carenode user add --key-file 生成）在启动时解锁。

已加入网络的节点（中心节点，或用 init --join 创建的节点）还在 --sync-listen 上
通过双向 TLS 接受其他节点的同步（中心节点和诊所默认 0.0.0.0:7443；自助机和护士
笔记本仅在指定地址时监听）；中心节点也在此处理新节点注册。已加入的节点每隔
--sync-interval 与中心节点同步一次，连接不上时以指数退避加随机抖动重试；本地写入后
经过 --sync-debounce 也会同步（连续写入合并为一次，每个对端同时只有一个同步）。
配置文件的 [sync] 部分可设置同样的内容，命令行参数优先。

指定 --discovery-bind 时，有同步监听的节点还会发现局域网内的其他节点
（hashicorp/memberlist，仅单播，从不使用组播或广播）：它加入 --discovery-join
给出的种子节点（通常是诊所前台），并公布自己同步监听的 https://主机:端口，
其中主机为 --sync-listen 的地址，若其为 0.0.0.0 则为 --discovery-advertise。
通信使用本网络的密钥（trust/gossip.key，注册时下发）加密；没有密钥的节点不会启动发现。
发现的每个节点都像中心节点一样每隔 --sync-interval 同步一次；同步时仍要求对方
持有本网络 CA 签发、节点 ID 与其公布一致的证书。停止时节点先离开集群。`,
		Example: `  carenode serve --dir ./desk1
  carenode serve --dir ./desk1 --listen 127.0.0.1:0   # any free port; see serve.json
  carenode serve --dir ./hub --sync-listen 0.0.0.0:7443
  carenode serve --dir ./desk1 --sync-listen 0.0.0.0:7443 --discovery-bind 0.0.0.0:7946 --discovery-advertise 192.168.1.10
  carenode serve --dir ./nurse1 --sync-listen 192.168.1.23:7443 --discovery-bind 192.168.1.23:7946 --discovery-join 192.168.1.10:7946
  carenode serve --dir ./kiosk1 --key-file /etc/carenode/kiosk1.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlag("dir", dir); err != nil {
				return err
			}
			id, file, err := node.LoadConfig(dir)
			if err != nil {
				return err
			}
			if listen != "" {
				file.HTTP.Listen = listen
			}
			// Device listeners: the flags override the config file's [devices].
			if mllpAddr != "" {
				file.Devices.MLLPListen = mllpAddr
			}
			if mqttAddr != "" {
				file.Devices.MQTTListen = mqttAddr
			}
			so.fromConfig(file.Sync, cmd.Flags().Changed)
			if so.interval < 0 || so.debounce < 0 {
				return usageError{fmt.Errorf("--sync-interval %s, --sync-debounce %s: must not be negative / 不能为负数", so.interval, so.debounce)}
			}
			if err := so.disc.check(); err != nil {
				return err
			}
			if so.disc.bind != "" && so.interval == 0 {
				return usageError{fmt.Errorf("--discovery-bind needs scheduled syncs; --sync-interval must not be 0 / 局域网发现需要定时同步，--sync-interval 不能为 0")}
			}
			return serve(cmd, e, node.Config{Dir: dir, Identity: id, File: file, KeyFile: keyFile}, so)
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the node's data directory / 数据目录")
	c.Flags().StringVar(&listen, "listen", "", "address to listen on (default: the config file's, 127.0.0.1:7420) / 监听地址")
	c.Flags().StringVar(&keyFile, "key-file", "", "kiosk key file that unlocks patient data at start / 启动时解锁用的自助机密钥文件")
	c.Flags().StringVar(&mllpAddr, "mllp", "", "HL7/MLLP listener for monitors and gateways, ADDR:PORT (default: the config file's [devices] mllp_listen, off) / HL7 MLLP 监听地址（默认关闭）")
	c.Flags().StringVar(&mqttAddr, "mqtt", "", "embedded MQTT broker for devices, ADDR:PORT or off (default: the config file's, 127.0.0.1:1883) / 内置 MQTT 代理地址，off 为关闭")
	c.Flags().StringVar(&so.listen, "sync-listen", "", "mutual-TLS address for peers and enrolment (hub, clinic default "+defaultSyncListen+") / 同步监听地址")
	c.Flags().DurationVar(&so.interval, "sync-interval", time.Minute, "how often a joined node syncs with its hub (default: the config file's [sync] interval); 0 turns it off / 与中心节点同步的间隔，0 为关闭")
	c.Flags().DurationVar(&so.debounce, "sync-debounce", 2*time.Second, "how soon after a local write to sync with the hub and peers (default: the config file's [sync] debounce); 0 waits for --sync-interval / 本地写入后多久同步，0 为只按定时同步")
	c.Flags().StringVar(&so.disc.bind, "discovery-bind", "", "ADDR:PORT for LAN discovery gossip (off unless given) / 局域网发现的监听地址（不指定则关闭）")
	c.Flags().StringSliceVar(&so.disc.join, "discovery-join", nil, "discovery seeds, host:port,... / 发现用的种子节点 主机:端口,...")
	c.Flags().StringVar(&so.disc.advertise, "discovery-advertise", "", "host announced in the sync URL (default: the --sync-listen host; required when it is 0.0.0.0) / 公布的同步地址主机")
	return c
}

// serve opens the node cfg names and serves until the command's context
// ends. cfg carries the directory, identity, config file and key file.
func serve(cmd *cobra.Command, e *env, cfg node.Config, so syncOptions) error {
	log, err := e.logger(cfg.File.Log)
	if err != nil {
		return err
	}
	cfg.Version, cfg.Logger = buildVersion(), log
	if cfg.Now, err = nodeClock(); err != nil {
		return err
	}
	// [clinic] and [outbox]: the time zone and the SMS sender (serveoutbox.go).
	closeSMS, err := outboxConfig(&cfg, log)
	if err != nil {
		return err
	}
	defer closeSMS() // after the node has closed: deferred before it opens
	n, err := node.Open(cfg)
	if err != nil {
		return err
	}
	if err := startDevices(n, cfg, log); err != nil {
		n.Close()
		return err
	}
	ln, err := net.Listen("tcp", cfg.File.HTTP.Listen)
	if err != nil {
		n.Close()
		return fmt.Errorf("listen on %s: %w", cfg.File.HTTP.Listen, err)
	}
	ctx := cmd.Context()
	parts, err := newSyncParts(cfg.Dir, cfg.Identity, cfg.File.Node.Role, n.Store, log)
	switch {
	case errors.Is(err, trust.ErrNotEnrolled):
		if so.listen != "" || so.disc.bind != "" {
			ln.Close()
			n.Close()
			flag := "--sync-listen"
			if so.listen == "" {
				flag = "--discovery-bind"
			}
			return usageError{fmt.Errorf("%s: %w", flag, err)}
		}
		return n.Serve(ctx, ln)
	case err != nil:
		ln.Close()
		n.Close()
		return err
	}
	defer parts.engine.Close()
	if n.Bookings != nil {
		// A kiosk is sent the patients booked today and tomorrow, in
		// the clinic's time zone.
		parts.policies.Bookings, parts.policies.Location = n.Bookings, n.Bookings.Location()
	}

	// Sync stops before the node closes its store: the node's context
	// ends only once the sync listener and schedule have finished.
	syncCtx, stopSync := context.WithCancel(ctx)
	defer stopSync()
	nodeCtx, stopNode := context.WithCancel(context.WithoutCancel(ctx))
	defer stopNode()
	var wg sync.WaitGroup
	var syncErr error
	addr := so.listen
	if addr == "" && (cfg.File.Node.Role == nodeconf.RoleHub || cfg.File.Node.Role == nodeconf.RoleClinic) {
		addr = defaultSyncListen
	}
	if so.disc.bind != "" && addr == "" {
		ln.Close()
		n.Close()
		return usageError{fmt.Errorf("--discovery-bind: this node takes no sync sessions; give --sync-listen too / 本节点没有同步监听，请同时指定 --sync-listen")}
	}
	var advHost string
	if so.disc.bind != "" {
		if advHost, err = so.disc.advertiseHost(addr); err != nil {
			ln.Close()
			n.Close()
			return err
		}
	}
	var sln net.Listener
	if addr != "" {
		srv, err := transport.NewServer(parts.cfg)
		if err != nil {
			ln.Close()
			n.Close()
			return err
		}
		sln, err = net.Listen("tcp", addr)
		if err != nil {
			ln.Close()
			n.Close()
			return fmt.Errorf("sync listen on %s: %w", addr, err)
		}
		if err := writeSyncRuntime(cfg.Dir, sln.Addr().String()); err != nil {
			sln.Close()
			ln.Close()
			n.Close()
			return err
		}
		defer os.Remove(syncRuntimePath(cfg.Dir))
		log.Info("sync listening", "addr", sln.Addr().String(), "node", string(parts.material.Self.ID), "role", parts.material.Self.Role)
		wg.Go(func() {
			if err := srv.Serve(syncCtx, sln, cfg.ShutdownTimeout+30*time.Second); err != nil {
				syncErr = fmt.Errorf("sync listener: %w", err)
				log.Error("sync listener stopped", "err", err.Error())
			}
		})
	}
	hub, hubErr := trust.ReadHub(cfg.Dir)
	var client *transport.Client
	if so.interval > 0 && (hubErr == nil || so.disc.bind != "") {
		if client, err = transport.NewClient(parts.cfg); err != nil {
			stopSync()
			wg.Wait()
			ln.Close()
			n.Close()
			return err
		}
	}
	s := transport.DefaultSchedule()
	s.Interval = so.interval
	// A local write wakes the loops after --sync-debounce.
	soon := newSyncSoon(so.debounce, func() {
		if err := parts.book.Self(n.Store.Vector(), cfg.Now()); err != nil {
			log.Warn("record this node's vector in the peer list", "err", err.Error())
		}
	})
	defer n.Store.Watch(soon.changed)()
	defer soon.stop()
	if hubErr == nil && so.interval > 0 {
		wake := soon.wake(hub.Node)
		wg.Go(func() { client.LoopWake(syncCtx, hub.URL, hub.Node, s, wake) })
	}
	stopDiscovery := func() {}
	if so.disc.bind != "" {
		u, err := syncURLFor(advHost, sln.Addr())
		if err == nil {
			var daddr string
			var stop func()
			daddr, stop, err = startDiscovery(syncCtx, so.disc, parts.material.Self.ID, hub.Node, u, client, s, log, soon, parts.book)
			if err == nil {
				stopDiscovery = stop
				err = writeSyncRuntimeDiscovery(cfg.Dir, sln.Addr().String(), daddr)
			}
		}
		if err != nil {
			stopDiscovery()
			stopSync()
			wg.Wait()
			ln.Close()
			n.Close()
			return err
		}
	}
	// Discovery leaves and its peer loops stop before the store closes.
	go func() {
		<-syncCtx.Done()
		stopDiscovery()
		wg.Wait()
		stopNode()
	}()
	err = n.Serve(nodeCtx, ln)
	stopSync()
	stopDiscovery()
	wg.Wait()
	return errors.Join(err, syncErr)
}
