package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"carenode/node"
	"carenode/node/nodeconf"
)

func initCmd(e *env) *cobra.Command {
	var dir, name, role string
	c := &cobra.Command{
		Use:   "init --dir DIR --name NAME --role clinic|kiosk|nurse|hub",
		Short: "Create a new node in a data directory / 在数据目录中创建新节点",
		Long: `Create a new node: its key pair (the node ID is derived from the public key),
a config file with commented defaults, and an empty database. Refuses, changing
nothing, if the directory already holds a node.

创建新节点：密钥对（节点 ID 由公钥派生）、带注释默认值的配置文件和空数据库。
若目录中已有节点，则拒绝并且不做任何更改。`,
		Example: `  carenode init --dir /var/lib/carenode --name "红河县人民医院" --role hub
  carenode init --dir ./desk1 --name "新街镇卫生院前台" --role clinic`,
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
			res, err := node.Init(node.InitOptions{Dir: dir, Name: name, Role: r})
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "created node %s (%s, %s) in %s\n已创建节点 %s\n", res.ID, name, r, dir, res.ID)
			fmt.Fprintf(e.stdout, "config: %s\nnext / 下一步: carenode serve --dir %s\n", node.ConfigPath(dir), dir)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "data directory to create the node in / 数据目录")
	c.Flags().StringVar(&name, "name", "", "the node's name, shown to people / 节点名称")
	c.Flags().StringVar(&role, "role", "", "clinic, kiosk, nurse or hub / 角色")
	return c
}
