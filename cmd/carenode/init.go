package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"carenode/node"
	"carenode/node/identity"
	"carenode/node/nodeconf"
	"carenode/sync/transport"
	"carenode/sync/trust"
)

func initCmd(e *env) *cobra.Command {
	var dir, name, role, join, token string
	c := &cobra.Command{
		Use:   "init --dir DIR --name NAME (--role clinic|kiosk|nurse|hub | --join https://HUB:PORT --token T)",
		Short: "Create a new node in a data directory / 在数据目录中创建新节点",
		Long: `Create a new node: its key pair (the node ID is derived from the public key),
a config file with commented defaults, and an empty database. Refuses, changing
nothing, if the directory already holds a node.

With --role hub the node is also the certificate authority of a new network:
the CA's key and certificate go in DIR/trust/ (the key readable by its owner
only), with the hub's own node certificate.

With --join and --token the node joins an existing network: it makes its key,
sends the hub a certificate request (the key never leaves this computer) with
the one-time token from carenode enrol-token, and gets back its certificate and
the network's CA, which it pins. The role and name in the certificate are the
ones the hub put in the token; --name sets the name in the config (default: the
token's). The hub is checked against the CA fingerprint in the token. A used or
expired token is refused.

创建新节点：密钥对（节点 ID 由公钥派生）、带注释默认值的配置文件和空数据库。
若目录中已有节点，则拒绝并且不做任何更改。

使用 --role hub 时，该节点同时是新网络的证书颁发机构（CA）：CA 密钥和证书保存在
DIR/trust/ 中（密钥仅所有者可读），并签发中心节点自己的证书。

使用 --join 和 --token 时，节点加入已有网络：生成密钥，把证书请求连同
carenode enrol-token 生成的一次性令牌发给中心节点（私钥不离开本机），取回本节点
证书和网络 CA 并固定信任该 CA。证书中的角色和名称由令牌决定；--name 设置配置中的
名称（默认取令牌中的）。节点用令牌中的 CA 指纹核验中心节点。已用过或已过期的令牌
会被拒绝。`,
		Example: `  carenode init --dir /var/lib/carenode --name "红河县人民医院" --role hub
  carenode init --dir ./desk1 --name "新街镇卫生院前台" --role clinic
  carenode init --dir ./desk1 --name "新街镇卫生院前台" --join https://hub.example:7443 --token cnj1-…`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlag("dir", dir); err != nil {
				return err
			}
			if join != "" || token != "" {
				return initJoin(cmd, e, dir, name, role, join, token)
			}
			for _, f := range [][2]string{{"name", name}, {"role", role}} {
				if err := requireFlag(f[0], f[1]); err != nil {
					return err
				}
			}
			r, err := nodeconf.ParseRole(role)
			if err != nil {
				return usageError{err}
			}
			res, err := node.Init(node.InitOptions{Dir: dir, Name: name, Role: r})
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "created node %s (%s, %s) in %s\n已创建节点 %s\n", res.ID, name, r, dir, res.ID)
			if r == nodeconf.RoleHub {
				id, err := identity.Load(node.KeyPath(dir))
				if err != nil {
					return err
				}
				m, err := trust.CreateNetwork(dir, id, name, time.Now())
				if err != nil {
					return fmt.Errorf("create network CA: %w", err)
				}
				fp := trust.FingerprintOf(m.CA)
				fmt.Fprintf(e.stdout, "network CA in %s, fingerprint SHA-256 %s\n已创建网络 CA\n", trust.PathsOf(dir).Dir, hex.EncodeToString(fp[:]))
				fmt.Fprintf(e.stdout, "enrol nodes / 注册节点: carenode enrol-token --dir %s --name NAME --role clinic\n", dir)
			}
			fmt.Fprintf(e.stdout, "config: %s\nnext / 下一步: carenode serve --dir %s\n", node.ConfigPath(dir), dir)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "data directory to create the node in / 数据目录")
	c.Flags().StringVar(&name, "name", "", "the node's name, shown to people / 节点名称")
	c.Flags().StringVar(&role, "role", "", "clinic, kiosk, nurse or hub (with --join: set by the token) / 角色")
	c.Flags().StringVar(&join, "join", "", "URL of the hub's sync listener, to join its network / 要加入的中心节点地址")
	c.Flags().StringVar(&token, "token", "", "one-time token from carenode enrol-token on the hub / 一次性注册令牌")
	return c
}

// initJoin makes a node that joins the network of the hub at join.
func initJoin(cmd *cobra.Command, e *env, dir, name, role, join, token string) error {
	if err := requireFlag("join", join); err != nil {
		return err
	}
	if err := requireFlag("token", token); err != nil {
		return err
	}
	if role != "" {
		return usageError{errors.New("--role with --join: the hub's token decides the role / 加入网络时角色由令牌决定")}
	}
	tok, err := trust.ParseToken(token)
	if err != nil {
		return usageError{err}
	}
	if name != "" {
		if err := nodeconf.Default(name, nodeconf.RoleClinic).Validate(); err != nil {
			return usageError{err}
		}
	}
	// Refuse before the token is spent.
	for _, p := range []string{node.KeyPath(dir), node.ConfigPath(dir), node.DBPath(dir), trust.PathsOf(dir).Dir} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("init %s: %w (found %s)", dir, node.ErrNodeExists, filepath.Base(p))
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("init %s: %w", dir, err)
		}
	}
	// The key is made from a seed held in memory only, so that node.Init
	// writes the very key the hub certified.
	seed := make([]byte, 32)
	if _, err := rand.Read(seed); err != nil {
		return err
	}
	id, err := identity.Generate(bytes.NewReader(seed))
	if err != nil {
		return err
	}
	en, err := transport.Join(cmd.Context(), join, tok, id)
	if err != nil {
		return err
	}
	if name == "" {
		name = en.Self.Name
	}
	res, err := node.Init(node.InitOptions{Dir: dir, Name: name, Role: en.Self.Role, Rand: bytes.NewReader(seed)})
	clear(seed)
	if err != nil {
		return err
	}
	if res.ID != id.ID {
		return fmt.Errorf("init %s: node key %s is not the enrolled %s", dir, res.ID, id.ID)
	}
	if err := trust.SaveEnrolment(dir, en.CA, en.Cert, en.Hub); err != nil {
		return fmt.Errorf("init %s: save enrolment: %w", dir, err)
	}
	// The LAN gossip key goes beside the other trust files, owner-only.
	if len(en.GossipKey) > 0 {
		if err := trust.SaveGossipKey(dir, en.GossipKey); err != nil {
			return fmt.Errorf("init %s: save gossip key: %w", dir, err)
		}
	} else {
		fmt.Fprintf(e.stderr, "warning: the hub sent no LAN gossip key; --discovery-bind will refuse to start until trust/gossip.key is copied from the hub\n"+
			"警告：中心节点未下发局域网发现密钥；在从中心节点复制 trust/gossip.key 之前无法使用 --discovery-bind\n")
	}
	fmt.Fprintf(e.stdout, "created node %s (%s, %s) in %s, enrolled with hub %s at %s\n已创建节点 %s 并加入中心节点 %s 的网络\n",
		res.ID, name, en.Self.Role, dir, en.Hub.Node, en.Hub.URL, res.ID, en.Hub.Node)
	fmt.Fprintf(e.stdout, "config: %s\nnext / 下一步: carenode serve --dir %s\n", node.ConfigPath(dir), dir)
	return nil
}
