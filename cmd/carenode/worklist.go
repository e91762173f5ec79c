package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"carenode/node"
	"carenode/node/followup"
	"carenode/node/plans"
)

func worklistCmd(e *env) *cobra.Command {
	var dir, user, day, pwFile string
	var asJSON bool
	c := &cobra.Command{
		Use:   "worklist --dir DIR --user NAME [--date YYYY-MM-DD] [--json]",
		Short: "Print a staff member's follow-up work list / 打印工作人员的随访工作清单",
		Long: `Print the follow-up tasks assigned to a staff member: overdue (tasks lost to
follow-up stay here until someone acts), due today, and due in the next days.
Works whether or not the node is serving: if it is, the running node is asked
(with the local control token, or signed in as --user with --password-file);
otherwise the database is read directly, read-only. The list shows chart ids,
not names: names are sealed until a staff member signs in.

打印分配给某位工作人员的随访任务：逾期（失访任务会一直留在这里，直到有人处理）、
今日到期、近期到期。节点运行与否均可使用：运行时向运行中的节点查询（使用本机控制
令牌，或以 --user 身份用 --password-file 登录）；否则以只读方式直接读取数据库。
清单显示档案编号而非姓名：姓名在工作人员登录前处于加密状态。`,
		Example: `  carenode worklist --dir ./desk1 --user dr-wang
  carenode worklist --dir ./desk1 --user nurse-zhao --date 2026-04-01 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, f := range [][2]string{{"dir", dir}, {"user", user}} {
				if err := requireFlag(f[0], f[1]); err != nil {
					return err
				}
			}
			var on followup.Date
			if day != "" {
				d, err := followup.ParseDate(day)
				if err != nil {
					return usageError{fmt.Errorf("--date %q: want YYYY-MM-DD / 日期格式应为 YYYY-MM-DD", day)}
				}
				on = d
			}
			w, err := readWorkList(cmd.Context(), e, dir, user, on, pwFile)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(w)
			}
			printWorkList(e.stdout, w, userLang())
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the node's data directory / 数据目录")
	c.Flags().StringVar(&user, "user", "", "the staff member whose list to print / 工作人员用户名")
	c.Flags().StringVar(&day, "date", "", "the day to print the list for (default today) / 日期（默认今天）")
	c.Flags().StringVar(&pwFile, "password-file", "", "sign in as --user on a running node with this password file (- for standard input) / 密码文件")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON / 输出 JSON")
	return c
}

// readWorkList asks the running node, or reads the store when none runs.
func readWorkList(ctx context.Context, e *env, dir, user string, on followup.Date, pwFile string) (plans.WorkList, error) {
	rt, serving, err := servingNode(ctx, dir)
	if err != nil {
		return plans.WorkList{}, err
	}
	if serving {
		c := newNodeClient(rt)
		if pwFile != "" {
			pw, err := readPassword(e, pwFile, "", false)
			if err != nil {
				return plans.WorkList{}, err
			}
			defer clear(pw)
			if _, err := c.login(ctx, user, pw); err != nil {
				return plans.WorkList{}, fmt.Errorf("sign in as %s: %w", user, err)
			}
		}
		q := url.Values{"user": {user}}
		if on.Valid() {
			q.Set("date", on.String())
		}
		var w plans.WorkList
		err := c.do(ctx, http.MethodGet, "/api/v1/worklist?"+q.Encode(), "", nil, &w)
		return w, err
	}
	id, _, err := node.LoadConfig(dir)
	if err != nil {
		return plans.WorkList{}, err
	}
	quiet := slog.New(slog.DiscardHandler)
	s, err := openReadOnly(dir, id.ID, quiet)
	if err != nil {
		return plans.WorkList{}, err
	}
	defer s.Close()
	cfg := plans.DefaultConfig(s)
	cfg.Logger = quiet
	svc, err := plans.Open(cfg)
	if err != nil {
		return plans.WorkList{}, err
	}
	defer svc.Close()
	if on.Valid() {
		return svc.WorkListOn(user, on), nil
	}
	return svc.WorkList(user), nil
}

// printWorkList prints the three parts under bilingual headings, with
// each task's next step in lang.
func printWorkList(w io.Writer, l plans.WorkList, lang string) {
	fmt.Fprintf(w, "Work list of %s for %s / %s 的随访工作清单（%s）\n", l.User, l.Date, l.User, l.Date)
	part := func(en, zh string, tasks []plans.Task) {
		fmt.Fprintf(w, "\n%s / %s: %d\n", en, zh, len(tasks))
		if len(tasks) == 0 {
			return
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  due / 到期\tmethod / 方式\tstatus / 状态\tattempts / 次数\tpatient / 患者\ttask / 任务\tnext / 下一步")
		for _, t := range tasks {
			next := ""
			if t.Step != nil {
				next = msgIn(lang, t.Step.Text.Zh, t.Step.Text.En)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\t%s\n", t.Due, label(methodNames, t.Method), label(statusNames, t.Status),
				t.AttemptCount, t.Patient, t.ID, next)
		}
		tw.Flush()
	}
	part("Overdue", "逾期", l.Overdue)
	part("Today", "今日", l.Today)
	part("Upcoming", "近期", l.Upcoming)
}

var (
	methodNames = map[string]string{"phone": "电话", "sms": "短信", "video": "视频", "home_visit": "上门"}
	statusNames = map[string]string{plans.StatusOpen: "待随访", plans.StatusEscalated: "已升级", plans.StatusLost: "失访",
		plans.StatusPaused: "暂停", plans.StatusDone: "已完成", plans.StatusCancelled: "已取消", plans.StatusEnded: "计划结束"}
)

func label(names map[string]string, code string) string {
	if zh, ok := names[code]; ok {
		return code + " " + zh
	}
	return code
}
