package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"carenode/node/nodeconf"
	"carenode/sync/trust"
)

func enrolTokenCmd(e *env) *cobra.Command {
	var dir, name, role string
	var ttl time.Duration
	c := &cobra.Command{
		Use:   "enrol-token --dir HUB --name NAME --role clinic|kiosk|nurse [--ttl 24h]",
		Short: "Print a one-time token that lets a new node join this hub's network / 生成一次性注册令牌",
		Long: `Make a one-time enrolment token on the hub and print it alone on the last line
of standard output. Give it to whoever sets up the new node, which runs
carenode init --join https://HUB:PORT --token TOKEN. The token fixes the new
node's name and role in its certificate, can enrol one node only, and expires
after --ttl. The hub keeps only a hash of it (trust/tokens.json). The token
also carries the fingerprint of the network's CA, so that the new node can
check it is talking to this hub before it trusts anything. Works while the
hub is serving.

在中心节点上生成一次性注册令牌，令牌单独打印在标准输出的最后一行。把它交给新节点
的安装人员，由其运行 carenode init --join https://中心节点:端口 --token 令牌。
令牌规定新节点证书中的名称和角色，只能注册一个节点，超过 --ttl 后失效。中心节点只
保存其哈希值。令牌还含有网络 CA 的指纹，新节点据此确认对方确是本中心节点。中心节点
运行时也可使用。`,
		Example: `  carenode enrol-token --dir /var/lib/carenode --name "新街镇卫生院前台" --role clinic
  carenode enrol-token --dir /var/lib/carenode --name "王护士笔记本" --role nurse --ttl 2h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, f := range [][2]string{{"dir", dir}, {"name", name}, {"role", role}} {
				if err := requireFlag(f[0], f[1]); err != nil {
					return err
				}
			}
			r, err := nodeconf.ParseRole(role)
			if err != nil {
				return usageError{err}
			}
			if r == nodeconf.RoleHub {
				return usageError{fmt.Errorf("--role hub: a network has one hub; use clinic, kiosk or nurse / 一个网络只有一个中心节点")}
			}
			if ttl <= 0 {
				return usageError{fmt.Errorf("--ttl %s: must be positive / 必须为正数", ttl)}
			}
			ca, err := trust.LoadCA(dir)
			if err != nil {
				return err
			}
			tok, err := trust.OpenTokens(dir, nil).Issue(name, r, ttl, trust.FingerprintOf(ca.Cert))
			if err != nil {
				return err
			}
			exp := time.Now().Add(ttl).Format("2006-01-02 15:04 MST")
			fmt.Fprintf(e.stdout, "one-time token for %q (%s), valid until %s\n一次性注册令牌：%s（%s），有效期至 %s\n", name, r, exp, name, r, exp)
			fmt.Fprintf(e.stdout, "on the new node / 在新节点上: carenode init --dir DIR --join https://HUB:PORT --token TOKEN\n")
			fmt.Fprintln(e.stdout, tok.String())
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the hub's data directory / 中心节点数据目录")
	c.Flags().StringVar(&name, "name", "", "the new node's name, shown to people / 新节点名称")
	c.Flags().StringVar(&role, "role", "", "clinic, kiosk or nurse / 角色")
	c.Flags().DurationVar(&ttl, "ttl", 24*time.Hour, "how long the token may be used / 令牌有效期")
	return c
}
