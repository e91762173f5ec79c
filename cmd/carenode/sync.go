package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/spf13/cobra"

	"carenode/crdt"
	"carenode/node"
	"carenode/node/identity"
	"carenode/node/store"
	"carenode/sync/transport"
	"carenode/sync/trust"
)

func syncCmd(e *env) *cobra.Command {
	var dir, peer string
	c := &cobra.Command{
		Use:   "sync --dir DIR [--peer https://HOST:PORT]",
		Short: "Sync once with the hub or a peer, and say what moved / 立即与中心节点或指定节点同步一次",
		Long: `Run one sync session with a peer of this node's network over mutual TLS: both
sides send each other the changes the other lacks. Without --peer the node syncs
with the hub it joined. The peer must hold a certificate from this network's CA
that is not expired and names the node its key belongs to.

If the node is serving, the running node does the sync (the command asks it
over its sync listener, proving it is the node itself with the node's key);
otherwise the command opens the database itself. Exits 0 only when the session
completed; otherwise non-zero with the reason (see carenode help exit-codes).

与本网络中的另一节点通过双向 TLS 同步一次：双方互相发送对方缺少的变更。不加
--peer 时与加入时的中心节点同步。对方须持有本网络 CA 签发、未过期且节点 ID 与其
密钥相符的证书。

节点正在运行时由运行中的节点执行同步；否则本命令直接打开数据库。只有同步完成才
返回 0，否则返回非零并说明原因。`,
		Example: `  carenode sync --dir ./desk1
  carenode sync --dir ./desk1 --peer https://192.168.1.20:7443`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlag("dir", dir); err != nil {
				return err
			}
			id, file, err := node.LoadConfig(dir)
			if err != nil {
				return err
			}
			var want identity.ID
			if peer == "" {
				hub, err := hubOf(dir)
				if err != nil {
					return err
				}
				peer, want = hub.URL, hub.Node
			}
			if _, err := node.ReadRuntime(cmd.Context(), dir); err == nil {
				return syncThroughServer(cmd, e, dir, id, peer, want)
			}
			log, err := e.logger(file.Log)
			if err != nil {
				return err
			}
			opts := store.DefaultOptions(node.DBPath(dir), crdt.NodeID(id.ID))
			opts.Logger = log
			if opts.Now, err = nodeClock(); err != nil {
				return err
			}
			st, err := store.Open(opts)
			if err != nil {
				return err
			}
			defer st.Close()
			parts, err := newSyncParts(dir, id, file.Node.Role, st, log)
			if err != nil {
				return err
			}
			defer parts.engine.Close()
			client, err := transport.NewClient(parts.cfg)
			if err != nil {
				return err
			}
			bar := newProgress(e.stderr, "sync / 同步")
			res, p, err := client.SyncWith(cmd.Context(), peer, want, bar.syncUpdate)
			bar.done()
			if err != nil {
				return err
			}
			printSummary(e.stdout, transport.Summarize(peer, res, p))
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the node's data directory / 数据目录")
	c.Flags().StringVar(&peer, "peer", "", "URL of the peer's sync listener (default: this node's hub) / 对方同步地址（默认为中心节点）")
	return c
}

// syncThroughServer asks the running node to sync.
func syncThroughServer(cmd *cobra.Command, e *env, dir string, id *identity.Identity, peer string, want identity.ID) error {
	rt, err := readSyncRuntime(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w and has no sync listener (serve it with --sync-listen) / 节点正在运行但未开启同步监听", errServing)
	}
	if err != nil {
		return err
	}
	m, err := trust.Load(dir, id)
	if err != nil {
		return err
	}
	bar := newProgress(e.stderr, "sync / 同步")
	sum, err := transport.TriggerWith(cmd.Context(), m, rt.Addr, peer, want, bar.syncUpdate)
	bar.done()
	if err != nil {
		return err
	}
	printSummary(e.stdout, sum)
	return nil
}

func printSummary(w io.Writer, s transport.Summary) {
	if s.Idle {
		fmt.Fprintf(w, "in step with %s (%s) at %s: nothing to exchange (%d bytes)\n已与 %s 同步，无需交换\n",
			s.Peer, s.Name, s.URL, s.BytesSent+s.BytesReceived, s.Peer)
		return
	}
	fmt.Fprintf(w, "synced with %s (%s) at %s: sent %d changes (%d bytes), received %d changes (%d bytes)\n",
		s.Peer, s.Name, s.URL, s.Sent, s.BytesSent, s.Received, s.BytesReceived)
	fmt.Fprintf(w, "已与 %s 同步：发送 %d 条变更（%d 字节），接收 %d 条变更（%d 字节）\n",
		s.Peer, s.Sent, s.BytesSent, s.Received, s.BytesReceived)
}
