package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"carenode/node"
	"carenode/node/auth"
	"carenode/node/nodeconf"
	"carenode/node/staff"
	"carenode/node/store"
	"carenode/sync/trust"
)

func userCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "user",
		Short: "Staff accounts: add, list / 工作人员账户：添加、列出",
		Long: `Manage the node's staff accounts (and kiosk device accounts). Accounts sync
like other data; each holds an argon2id password hash and its own wrapped copy
of the data key that encrypts patient data.

管理本节点的工作人员账户（及自助机设备账户）。账户像其他数据一样同步；每个账户
保存 argon2id 密码哈希和自己加密保存的一份数据密钥。`,
		Args: cobra.NoArgs,
	}
	c.AddCommand(userAddCmd(e), userListCmd(e))
	return c
}

func roleZh(r auth.Role) string {
	return map[auth.Role]string{auth.RoleAdmin: "管理员", auth.RoleDoctor: "医生", auth.RoleNurse: "护士",
		auth.RoleDesk: "前台", auth.RoleKiosk: "自助机"}[r]
}

func userAddCmd(e *env) *cobra.Command {
	var dir, name, role, pwFile, keyFile, admin, adminPwFile string
	var firstInNetwork bool
	c := &cobra.Command{
		Use:   "add --dir DIR --name NAME --role admin|doctor|nurse|desk|kiosk [--password-file FILE]",
		Short: "Add a staff account, serving or not / 添加工作人员账户（节点运行与否均可）",
		Long: `Add a staff account. The password is asked twice on the terminal, without
echo, or read from the first line of --password-file (- for standard input).
Works whether or not the node is serving: a serving node is asked through its
API, otherwise the database is opened directly.

The first account of a node must be an admin: adding it makes the data key
that encrypts patient data. Later accounts added while the node is locked are
pending: they get their copy of the key at their first sign-in on an unlocked
node. Give --admin (and --admin-password-file) to unlock first, so the new
account can unlock the node itself at once.

For a kiosk, --key-file OUT also writes a key file that unlocks the node at
start (carenode serve --key-file OUT). It needs an unlocked node: stop the node
and give --admin.

添加工作人员账户。密码在终端输入两次（不回显），或从 --password-file 的第一行读取
（- 表示标准输入）。节点运行与否均可使用。

节点的第一个账户必须是管理员：添加时生成加密患者数据的数据密钥。节点锁定时添加的
账户为“待激活”：在已解锁的节点上首次登录时获得密钥。给出 --admin 可先解锁。

自助机账户可用 --key-file 写出密钥文件，用于启动时解锁（carenode serve --key-file）。
需要已解锁的节点：请先停止节点并给出 --admin。`,
		Example: `  carenode user add --dir ./desk1 --name wang --role admin
  carenode user add --dir ./desk1 --name li.nurse --role nurse --password-file pw.txt
  carenode user add --dir ./kiosk1 --name kiosk1 --role kiosk --key-file kiosk1.key \
      --admin wang --admin-password-file admin-pw.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			for _, f := range [][2]string{{"dir", dir}, {"name", name}, {"role", role}} {
				if err := requireFlag(f[0], f[1]); err != nil {
					return err
				}
			}
			r, err := auth.ParseRole(role)
			if err != nil {
				return usageError{err}
			}
			if err := staff.CheckName(name); err != nil {
				return usageError{bilingual(err)}
			}
			if keyFile != "" {
				if r != auth.RoleKiosk {
					return usageError{fmt.Errorf("--key-file is for --role kiosk / 密钥文件仅用于自助机账户")}
				}
				if _, err := os.Lstat(keyFile); err == nil {
					return usageError{fmt.Errorf("%s already exists; choose another --key-file / 文件已存在", keyFile)}
				}
			}
			if adminPwFile != "" && admin == "" {
				return usageError{fmt.Errorf("--admin-password-file needs --admin NAME")}
			}
			if _, _, err := node.LoadConfig(dir); err != nil {
				return err
			}
			rt, serving, err := servingNode(ctx, dir)
			if err != nil {
				return err
			}
			if keyFile != "" && serving {
				return fmt.Errorf("%w at %s: a kiosk key file is written by this command with the database open, and the API has no route for it; stop the node (carenode serve) and run this again with --admin, or add the account now without --key-file / 节点正在运行，无法写出密钥文件：请先停止节点后加 --admin 重新运行，或先不带 --key-file 添加账户",
					errServing, rt.Addr)
			}
			if keyFile != "" && admin == "" {
				return usageError{fmt.Errorf("--key-file needs an unlocked node: give --admin NAME (and --admin-password-file) of an admin who has signed in on this node before / 写密钥文件需要先解锁：请给出 --admin")}
			}
			pw, err := readPassword(e, pwFile, fmt.Sprintf("password for %s / %s 的密码", name, name), true)
			if err != nil {
				return err
			}
			defer clear(pw)
			if err := auth.CheckPassword(string(pw)); err != nil {
				return usageError{bilingual(staff.ErrWeakPassword)}
			}
			var adminPw []byte
			if admin != "" {
				if adminPw, err = readPassword(e, adminPwFile, fmt.Sprintf("password of admin %s / 管理员 %s 的密码", admin, admin), false); err != nil {
					return err
				}
				defer clear(adminPw)
			}
			if serving {
				if !firstInNetwork {
					var st struct {
						Store store.Stats `json:"store"`
					}
					if err := newNodeClient(rt).do(ctx, http.MethodGet, "/api/v1/status", "", nil, &st); err != nil {
						return err
					}
					if err := joinedWithoutAccounts(dir, st.Store.Records[staff.Collection]); err != nil {
						return err
					}
				}
				res, err := addThroughAPI(ctx, rt, name, r, pw, admin, adminPw)
				if err != nil {
					return bilingual(err)
				}
				printAdded(e.stdout, res, rt.Addr, "")
				return nil
			}
			n, err := e.openNode(dir)
			if err != nil {
				return err
			}
			defer n.Close()
			if !firstInNetwork {
				st, err := n.Store.Stats()
				if err != nil {
					return err
				}
				if err := joinedWithoutAccounts(dir, st.Records[staff.Collection]); err != nil {
					return err
				}
			}
			if admin != "" {
				lr, err := n.Staff.Login(ctx, admin, string(adminPw), "cli")
				if err != nil {
					return fmt.Errorf("sign in as %s: %w", admin, bilingual(err))
				}
				if !lr.Role.Can(auth.PermUsersManage) {
					return fmt.Errorf("%w: %s is %s, not an admin / %s 不是管理员", errSignIn, admin, lr.Role, admin)
				}
			}
			res, err := n.Staff.Add(ctx, name, r, pw)
			if err != nil {
				return bilingual(err)
			}
			if keyFile != "" {
				if err := n.Staff.AddKeyFile(ctx, name, keyFile); err != nil {
					return fmt.Errorf("account %s added, but its key file was not written: %w / 账户已添加，但密钥文件未写出", name, err)
				}
			}
			printAdded(e.stdout, res, "", keyFile)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the node's data directory / 数据目录")
	c.Flags().StringVar(&name, "name", "", "account name: 2-32 lower-case letters, digits, . _ - / 用户名")
	c.Flags().StringVar(&role, "role", "", "admin, doctor, nurse, desk or kiosk / 角色")
	c.Flags().StringVar(&pwFile, "password-file", "", "read the password from this file's first line (- for stdin) / 从文件读取密码")
	c.Flags().BoolVar(&firstInNetwork, "first-in-network", false, "on a node that joined a network: this is the whole network's first account (makes the network's data key) / 已加入网络的节点：这是整个网络的第一个账户（生成网络的数据密钥）")
	c.Flags().StringVar(&keyFile, "key-file", "", "kiosk only: write a key file that unlocks the node at start / 仅自助机：写出解锁密钥文件")
	c.Flags().StringVar(&admin, "admin", "", "sign in as this admin first, to unlock the node / 先以该管理员登录以解锁")
	c.Flags().StringVar(&adminPwFile, "admin-password-file", "", "the admin's password file (- for stdin) / 管理员密码文件")
	return c
}

// addThroughAPI adds an account on the running node: with the control
// token from serve.json, or as admin (whose sign-in unlocks the node first).
func addThroughAPI(ctx context.Context, rt node.Runtime, name string, role auth.Role, pw []byte, admin string, adminPw []byte) (staff.AddResult, error) {
	c := newNodeClient(rt)
	if admin != "" {
		if _, err := c.login(ctx, admin, adminPw); err != nil {
			return staff.AddResult{}, fmt.Errorf("sign in as %s: %w", admin, err)
		}
		defer c.logout(ctx)
	}
	var res staff.AddResult
	err := c.postJSON(ctx, "/api/v1/staff", map[string]string{"name": name, "role": string(role), "password": string(pw)}, &res)
	return res, err
}

func printAdded(w io.Writer, res staff.AddResult, servingAt, keyFile string) {
	where := "this node / 本节点"
	if servingAt != "" {
		where = "the running node at " + servingAt + " / 运行中的节点"
	}
	fmt.Fprintf(w, "added %s account %s on %s\n已添加%s账户 %s\n", res.Role, res.Name, where, roleZh(res.Role), res.Name)
	switch {
	case res.FirstAccount:
		fmt.Fprintf(w, `This is the node's first account: a new data key was made and wrapped under this
password. Keep the password safe: patient data can only be unlocked with an
account's password (or a kiosk key file).
这是本节点的第一个账户：已生成数据密钥，并用该密码加密保存。请妥善保管密码：
只有账户密码（或自助机密钥文件）能解锁患者数据。
`)
	case res.Pending:
		fmt.Fprintf(w, `The account is pending: the node is locked, so it could not be given the data
key yet. It gets its key at its first sign-in on an unlocked node (after an
account that has signed in before unlocks it); until then it cannot unlock
the node itself.
该账户待激活：节点处于锁定状态，暂时无法为其保存数据密钥。在节点被已有账户解锁后，
该账户首次登录时即获得密钥；在此之前它不能自行解锁节点。
`)
	default:
		fmt.Fprintf(w, "The account holds its own copy of the data key: it can sign in and unlock the node.\n该账户已保存自己的数据密钥副本，可以登录并解锁节点。\n")
	}
	if keyFile != "" {
		fmt.Fprintf(w, "kiosk key file written (owner-only): %s\nstart the kiosk with / 启动自助机: carenode serve --dir DIR --key-file %s\n已写出自助机密钥文件（仅所有者可读）。\n",
			keyFile, keyFile)
	}
}

func userListCmd(e *env) *cobra.Command {
	var dir string
	var asJSON bool
	c := &cobra.Command{
		Use:   "list --dir DIR",
		Short: "List staff accounts / 列出工作人员账户",
		Long: `List the node's staff accounts with their roles, and whether each is still
pending (has not yet been given the data key). Works serving or not.

列出本节点的工作人员账户、角色，以及是否仍待激活（尚未获得数据密钥）。节点运行与否均可。`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlag("dir", dir); err != nil {
				return err
			}
			if _, _, err := node.LoadConfig(dir); err != nil {
				return err
			}
			rt, serving, err := servingNode(cmd.Context(), dir)
			if err != nil {
				return err
			}
			var accts []staff.Account
			if serving {
				var out struct {
					Accounts []staff.Account `json:"accounts"`
				}
				if err := newNodeClient(rt).do(cmd.Context(), http.MethodGet, "/api/v1/staff", "", nil, &out); err != nil {
					return err
				}
				accts = out.Accounts
			} else {
				n, err := e.openNode(dir)
				if err != nil {
					return err
				}
				accts, err = n.Staff.Public()
				if cerr := n.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return err
				}
			}
			if accts == nil {
				accts = []staff.Account{}
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"accounts": accts})
			}
			if len(accts) == 0 {
				fmt.Fprintf(e.stdout, "no accounts yet; add an admin first / 还没有账户，请先添加管理员:\n  carenode user add --dir %s --name NAME --role admin\n", dir)
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "NAME / 用户名\tROLE / 角色\tSTATUS / 状态\n")
			for _, a := range accts {
				st := "ready / 可用"
				if a.Pending {
					st = "pending / 待激活"
				}
				fmt.Fprintf(tw, "%s\t%s %s\t%s\n", a.Name, a.Role, roleZh(a.Role), st)
			}
			return tw.Flush()
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the node's data directory / 数据目录")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON / 输出 JSON")
	return c
}

// servingNode says whether a node serves dir, and where.
func servingNode(ctx context.Context, dir string) (node.Runtime, bool, error) {
	rt, err := node.ReadRuntime(ctx, dir)
	if errors.Is(err, node.ErrNotServing) {
		return rt, false, nil
	}
	if err != nil {
		return rt, false, err
	}
	return rt, true, nil
}

// openNode opens the node in dir for a one-off command (it does not
// serve). Logs below warnings are left out unless --log-level asks.
func (e *env) openNode(dir string) (*node.Node, error) {
	id, file, err := node.LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	lc := file.Log
	if e.logLevel == "" {
		lc.Level = nodeconf.LevelWarn
	}
	log, err := e.logger(lc)
	if err != nil {
		return nil, err
	}
	return node.Open(node.Config{Dir: dir, Identity: id, File: file, Version: buildVersion(), Logger: log})
}

// bilingual adds the Chinese sentence to the staff package's errors, which
// are in English.
func bilingual(err error) error {
	var tm *staff.TooManyError
	zh := ""
	switch {
	case errors.As(err, &tm):
		zh = "登录失败次数过多，请稍后重试。"
	case errors.Is(err, staff.ErrBadLogin):
		zh = "用户名或密码错误。"
	case errors.Is(err, staff.ErrPendingLocked):
		zh = "该账户尚未获得本机密钥：请先由曾在本机登录过的账户登录。"
	case errors.Is(err, staff.ErrBadName):
		zh = "用户名须为 2 至 32 位小写字母、数字或 . _ -，并以字母开头。"
	case errors.Is(err, staff.ErrExists):
		zh = "该用户名已存在。"
	case errors.Is(err, staff.ErrWeakPassword):
		zh = "密码太短，至少需要 8 个字符。"
	case errors.Is(err, staff.ErrFirstAdmin):
		zh = "本机的第一个账户必须是管理员。"
	case errors.Is(err, staff.ErrNotKiosk):
		zh = "密钥文件仅用于自助机账户。"
	}
	var re *remoteError
	if zh == "" || errors.As(err, &re) {
		return err // the running node's answers carry their Chinese already
	}
	return fmt.Errorf("%w / %s", err, zh)
}

// joinedWithoutAccounts refuses the first account of a node that joined a
// network (init --join) and holds none of the network's accounts yet: that
// account would make a second data key, and what the node sealed with it
// could not be read on any other node of the network. The node gets the
// network's accounts, and the key they wrap, by syncing with its hub; the
// whole network's first account belongs on the hub, or is added here with
// --first-in-network.
func joinedWithoutAccounts(dir string, accounts uint64) error {
	if accounts > 0 {
		return nil
	}
	if _, err := trust.ReadHub(dir); err != nil {
		return nil // the hub itself, or a node outside any network
	}
	return usageError{fmt.Errorf("this node joined a network but holds none of its accounts yet: sync with the hub first (carenode sync --dir %s), so it gets the network's accounts and data key, or add the network's first admin on the hub; a first account made here would make a second data key whose patient data no other node can read (if this really is the whole network's first account, give --first-in-network) / 本节点已加入网络但尚无网络中的账户：请先与中心节点同步（carenode sync --dir %s）以获得网络的账户和数据密钥，或在中心节点上添加网络的第一个管理员；在此新建第一个账户会生成第二个数据密钥，其他节点将无法读取本节点的患者数据（若确为整个网络的第一个账户，请加 --first-in-network）", dir, dir)}
}
