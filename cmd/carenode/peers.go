package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"carenode/crdt"
	"carenode/node"
	"carenode/node/nodeconf"
	"carenode/sync/peers"
)

// peerRow is one line of carenode peers (and one object of --json).
type peerRow struct {
	peers.Peer
	// Known says how this node knows the peer: hub, discovered, synced.
	Known []string `json:"known"`
	// TheyLack and WeLack are the lag in changes, from the vectors at the
	// peer's last completed session and this node's vector now.
	TheyLack uint64 `json:"they_lack"`
	WeLack   uint64 `json:"we_lack"`
	// Partial is true for a kiosk or nurse laptop: TheyLack then also
	// counts changes outside its scope, which it will never be sent.
	Partial bool `json:"partial,omitempty"`
}

func peersCmd(e *env) *cobra.Command {
	var dir string
	var asJSON bool
	c := &cobra.Command{
		Use:   "peers --dir DIR [--json]",
		Short: "List the sync peers this node knows, last sync and lag / 列出同步对端、上次同步时间和差距",
		Long: `List the peers this node knows: its hub, the peers LAN discovery found and the
peers that synced with it. For each: when it last synced and how that ended,
what the last session moved each way, and the lag: how many changes the peer
lacks of this node's and how many of the peer's this node lacks, from the
version vectors of the last completed session and this node's vector now (while
the node serves, as recorded at its last sync or local write). For a kiosk or
nurse laptop "they lack" also counts changes outside its scope.

The list is kept in DIR/peers.json, updated at the end of every session; it
works whether the node is serving or not.

列出本节点知道的同步对端：中心节点、局域网发现的节点、与本节点同步过的节点。
显示每个对端上次同步的时间和结果、上次双向传输的变更和字节数，以及差距：对端
缺少本节点多少条变更、本节点缺少对端多少条变更（按上次完成同步时双方的版本向量
与本节点当前的向量计算）。自助机和护士笔记本的"对端缺少"也包括不属于其范围的
变更。节点运行与否均可使用。`,
		Example: `  carenode peers --dir ./desk1
  carenode peers --dir ./hub --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlag("dir", dir); err != nil {
				return err
			}
			id, _, err := node.LoadConfig(dir)
			if err != nil {
				return err
			}
			list, self, _, err := peers.Read(peers.Path(dir))
			if err != nil {
				return err
			}
			// The store's vector when nothing serves; while the node
			// serves, the vector it last recorded.
			if _, err := node.ReadRuntime(cmd.Context(), dir); err != nil {
				if st, err := openReadOnly(dir, id.ID, slog.Default()); err == nil {
					self = st.Vector()
					st.Close()
				}
			}
			rows := peerRows(list, self)
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			printPeers(e.stdout, rows, time.Now())
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the node's data directory / 数据目录")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON / 输出 JSON")
	return c
}

func peerRows(list []peers.Peer, self crdt.Vector) []peerRow {
	rows := make([]peerRow, 0, len(list))
	for _, p := range list {
		r := peerRow{Peer: p, Known: []string{}, Partial: p.Role == nodeconf.RoleKiosk || p.Role == nodeconf.RoleNurse}
		if p.Hub {
			r.Known = append(r.Known, "hub")
		}
		if !p.Discovered.IsZero() {
			r.Known = append(r.Known, "discovered")
		}
		if p.Sessions > 0 {
			r.Known = append(r.Known, "synced")
		}
		if p.Vector != nil {
			r.TheyLack, r.WeLack = peers.Lag(self, p.Vector)
		}
		rows = append(rows, r)
	}
	return rows
}

// ago says how long before now t was, briefly.
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never / 从未"
	}
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String() + " ago / 前"
}

func printPeers(w io.Writer, rows []peerRow, now time.Time) {
	if len(rows) == 0 {
		fmt.Fprintln(w, "no known peers yet / 尚无已知的同步对端")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE 节点\tNAME 名称\tROLE 角色\tKNOWN 来源\tURL 地址\tLAST SYNC 上次同步\tRESULT 结果\tLAST ↑/↓ 上次收发\tTHEY LACK 对端缺\tWE LACK 本机缺")
	for _, r := range rows {
		result := "ok / 成功"
		switch {
		case r.Sessions == 0:
			result = "-"
		case r.LastError != "":
			result = "failed / 失败: " + truncate(r.LastError, 60)
		}
		url := r.URL
		if url == "" {
			url = r.Remote
		}
		lack := fmt.Sprint(r.TheyLack)
		if r.Vector == nil {
			lack = "?"
		} else if r.Partial {
			lack = "≤" + lack
		}
		we := fmt.Sprint(r.WeLack)
		if r.Vector == nil {
			we = "?"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d/%d ch, %s/%s\t%s\t%s\n", r.Node, dash(r.Name), dash(string(r.Role)),
			strings.Join(r.Known, ","), dash(url), ago(r.LastOK, now), result,
			r.Sent, r.Received, human(r.BytesSent), human(r.BytesReceived), lack, we)
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
