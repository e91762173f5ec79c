package main

import (
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"carenode/node"
)

func serveCmd(e *env) *cobra.Command {
	var dir, listen, keyFile string
	c := &cobra.Command{
		Use:   "serve --dir DIR [--listen 127.0.0.1:7420] [--key-file FILE]",
		Short: "Run the node: HTTP API, /healthz, /metrics / 运行节点",
		Long: `Run the node until SIGINT or SIGTERM: the HTTP JSON API under /api/v1/,
GET /healthz (200 once ready) and Prometheus metrics at /metrics. On a signal it
stops taking requests, finishes those in flight, commits every queued write and
closes the database.

The node starts locked: no patient data is served until a staff member signs
in (POST /api/v1/auth/login). A kiosk, which has nobody to sign in, starts
unlocked with --key-file, the key file written by carenode user add --key-file.

运行节点直到收到 SIGINT 或 SIGTERM：/api/v1/ 下的 HTTP JSON 接口、/healthz 健康
检查和 /metrics 指标。收到信号后停止接收请求，完成进行中的请求，提交所有排队的
写入并关闭数据库。

节点启动时处于锁定状态：工作人员登录前不提供任何患者数据。自助机无人登录，可用
--key-file（由 carenode user add --key-file 生成）在启动时解锁。`,
		Example: `  carenode serve --dir ./desk1
  carenode serve --dir ./desk1 --listen 127.0.0.1:0   # any free port; see serve.json
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
			return serve(cmd, e, node.Config{Dir: dir, Identity: id, File: file, KeyFile: keyFile})
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the node's data directory / 数据目录")
	c.Flags().StringVar(&listen, "listen", "", "address to listen on (default: the config file's, 127.0.0.1:7420) / 监听地址")
	c.Flags().StringVar(&keyFile, "key-file", "", "kiosk key file that unlocks patient data at start / 启动时解锁用的自助机密钥文件")
	return c
}

// serve opens the node cfg names and serves until the command's context
// ends. cfg carries the directory, identity, config file and key file.
func serve(cmd *cobra.Command, e *env, cfg node.Config) error {
	log, err := e.logger(cfg.File.Log)
	if err != nil {
		return err
	}
	cfg.Version, cfg.Logger = buildVersion(), log
	n, err := node.Open(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.File.HTTP.Listen)
	if err != nil {
		n.Close()
		return fmt.Errorf("listen on %s: %w", cfg.File.HTTP.Listen, err)
	}
	return n.Serve(cmd.Context(), ln)
}
