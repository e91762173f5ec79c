package main

import (
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"carenode/node"
	"carenode/node/identity"
	"carenode/node/nodeconf"
)

func serveCmd(e *env) *cobra.Command {
	var dir, listen string
	c := &cobra.Command{
		Use:   "serve --dir DIR [--listen 127.0.0.1:7420]",
		Short: "Run the node: HTTP API, /healthz, /metrics / 运行节点",
		Long: `Run the node until SIGINT or SIGTERM: the HTTP JSON API under /api/v1/,
GET /healthz (200 once ready) and Prometheus metrics at /metrics. On a signal it
stops taking requests, finishes those in flight, commits every queued write and
closes the database.

运行节点直到收到 SIGINT 或 SIGTERM：/api/v1/ 下的 HTTP JSON 接口、/healthz 健康
检查和 /metrics 指标。收到信号后停止接收请求，完成进行中的请求，提交所有排队的
写入并关闭数据库。`,
		Example: `  carenode serve --dir ./desk1
  carenode serve --dir ./desk1 --listen 127.0.0.1:0   # any free port; see serve.json`,
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
			return serve(cmd, e, dir, id, file)
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the node's data directory / 数据目录")
	c.Flags().StringVar(&listen, "listen", "", "address to listen on (default: the config file's, 127.0.0.1:7420) / 监听地址")
	return c
}

// serve opens the node in dir and serves until the command's context ends.
func serve(cmd *cobra.Command, e *env, dir string, id *identity.Identity, file nodeconf.File) error {
	log, err := e.logger(file.Log)
	if err != nil {
		return err
	}
	n, err := node.Open(node.Config{Dir: dir, Identity: id, File: file, Version: buildVersion(), Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", file.HTTP.Listen)
	if err != nil {
		n.Close()
		return fmt.Errorf("listen on %s: %w", file.HTTP.Listen, err)
	}
	return n.Serve(cmd.Context(), ln)
}
