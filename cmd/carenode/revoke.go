package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"carenode/crdt"
	"carenode/node"
	"carenode/node/identity"
	"carenode/node/store"
	"carenode/sync/transport"
	"carenode/sync/trust"
)

func revokeCmd(e *env) *cobra.Command {
	var dir, reason string
	c := &cobra.Command{
		Use:   "revoke --dir HUB [--reason TEXT] NODE-ID",
		Short: "Revoke a node: no node of the network will sync with it again / 吊销节点",
		Long: `Revoke a node of the network, on the hub: for a lost or stolen laptop, or a
node taken out of service. The revocation is a record signed with the network
CA's key; it travels to every node with the next syncs like any other data, and
from then on each node that has it refuses the revoked node's certificate. The
hub refuses it at once. Works while the hub is serving.

在中心节点上吊销一个节点（如笔记本丢失或节点停用）。吊销记录由网络 CA 密钥签名，
像其他数据一样随同步传到每个节点；收到后各节点都拒绝该节点的证书，中心节点立即
拒绝。中心节点运行时也可使用。`,
		Example: `  carenode revoke --dir /var/lib/carenode --reason "笔记本丢失" K3QJ-7WXB-M2PA-TD`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlag("dir", dir); err != nil {
				return err
			}
			target, err := identity.ParseID(args[0])
			if err != nil {
				return usageError{err}
			}
			id, _, err := node.LoadConfig(dir)
			if err != nil {
				return err
			}
			ca, err := trust.LoadCA(dir)
			if err != nil {
				return err
			}
			if target == id.ID {
				return usageError{fmt.Errorf("the hub cannot revoke itself / 中心节点不能吊销自己")}
			}
			if _, err := node.ReadRuntime(cmd.Context(), dir); err == nil {
				rt, err := readSyncRuntime(dir)
				if err != nil {
					return fmt.Errorf("%w and has no sync listener / 中心节点正在运行但未开启同步监听: %w", errServing, err)
				}
				m, err := trust.Load(dir, id)
				if err != nil {
					return err
				}
				if err := transport.RevokeVia(cmd.Context(), m, rt.Addr, target, reason); err != nil {
					return err
				}
			} else {
				st, err := store.Open(store.DefaultOptions(node.DBPath(dir), crdt.NodeID(id.ID)))
				if err != nil {
					return err
				}
				err = ca.Revoke(cmd.Context(), st, target, reason, time.Now())
				if cerr := st.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return err
				}
			}
			fmt.Fprintf(e.stdout, "revoked node %s; the revocation reaches other nodes with their next sync\n已吊销节点 %s，其他节点下次同步时生效\n", target, target)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the hub's data directory / 中心节点数据目录")
	c.Flags().StringVar(&reason, "reason", "", "why, kept with the revocation / 吊销原因")
	return c
}
