package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"carenode/node"
	"carenode/node/atomicfile"
	"carenode/node/auth"
	"carenode/node/chart"
	"carenode/node/roster"
)

func patientCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "patient",
		Short: "Patient roster: import, export / 患者名册：导入、导出",
		Long: `Import a clinic's existing patient roster from a CSV file, or export every
chart the signed-in account may see. Both work whether or not the node is
serving, and both sign in as a staff member (--user), whose sign-in unlocks
the patient data.

从 CSV 文件导入诊所已有的患者名册，或导出该账户可见的全部档案。节点运行与否均可
使用；两者都以工作人员身份（--user）登录，登录即解锁患者数据。`,
		Args: cobra.NoArgs,
	}
	c.AddCommand(patientImportCmd(e), patientExportCmd(e))
	return c
}

// signIn signs user in on a node this process opened (which unlocks it)
// and checks their role may do perm.
func signIn(ctx context.Context, n *node.Node, user string, pw []byte, perm auth.Permission) (chart.Actor, error) {
	lr, err := n.Staff.Login(ctx, user, string(pw), "cli")
	if err != nil {
		return chart.Actor{}, fmt.Errorf("sign in as %s: %w", user, bilingual(err))
	}
	if !lr.Role.Can(perm) {
		return chart.Actor{}, fmt.Errorf("%w: %s is %s, and a %s may not do this (%s) / 该角色无权执行此操作", errSignIn, user, lr.Role, lr.Role, perm)
	}
	return chart.Actor{Name: lr.Name, Role: lr.Role}, nil
}

func patientImportCmd(e *env) *cobra.Command {
	var dir, csvPath, user, pwFile string
	var skipBad bool
	c := &cobra.Command{
		Use:   "import --dir DIR --csv FILE --user NAME [--password-file FILE] [--skip-bad-rows]",
		Short: "Import a patient roster from CSV, whole or not at all / 从 CSV 导入患者名册（全部导入或全不导入）",
		Long: `Import a clinic's roster: a CSV file saved by Excel or another system, in
UTF-8 (with or without a byte order mark) or GBK/GB18030. Columns are matched by
their header, in Chinese or English (姓名/name, 性别/sex, 出生日期/birthDate are
required; 身份证号, 电话, 地址, 职业, 婚姻状况, 就诊卡号, 既往史, 家族史, 备注 are
read too). Every row is checked like a registration at the desk, and a report
of the rejected rows and their reasons is printed (in Chinese, or English when
LANG starts with "en").

The file is imported whole or not at all: if any row is rejected, nothing is
imported (exit code 9) unless --skip-bad-rows is given, which imports the rest.
The account needs the right to import (admin or desk).

导入诊所已有的名册：Excel 等保存的 CSV 文件，UTF-8（带或不带 BOM）或 GBK/GB18030
编码。按列名匹配，中英文皆可（姓名、性别、出生日期为必填列）。每一行都按前台登记的
规则检查，并打印被拒绝的行及原因（默认中文；LANG 以 en 开头时为英文）。

全部导入或全不导入：只要有一行被拒绝，就不导入任何数据（退出码 9），除非给出
--skip-bad-rows（导入其余各行）。账户须有导入权限（管理员或前台）。`,
		Example: `  carenode patient import --dir ./desk1 --csv 名册.csv --user wang
  carenode patient import --dir ./desk1 --csv roster.csv --user wang --password-file pw.txt --skip-bad-rows`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			for _, f := range [][2]string{{"dir", dir}, {"csv", csvPath}, {"user", user}} {
				if err := requireFlag(f[0], f[1]); err != nil {
					return err
				}
			}
			if _, _, err := node.LoadConfig(dir); err != nil {
				return err
			}
			raw, err := os.ReadFile(csvPath)
			if err != nil {
				return usageError{fmt.Errorf("roster file: %w", err)}
			}
			lang := userLang()
			opts := roster.DefaultOptions(time.Now())
			opts.Lang = lang
			lines := int64(bytes.Count(raw, []byte("\n")))
			bar := newProgress(e.stderr, "check / 检查")
			parsed, err := roster.Parse(bytes.NewReader(raw), opts, func(done int) { bar.update(int64(done), max(lines, int64(done))) })
			bar.done()
			if err != nil {
				return fmt.Errorf("%s: %w", csvPath, err)
			}
			fmt.Fprint(e.stdout, roster.Report(parsed, lang))
			if len(parsed.Rejected) > 0 && !skipBad {
				return refused(lang)
			}
			if len(parsed.Rows) == 0 {
				fmt.Fprintln(e.stdout, msgIn(lang, "没有可导入的行。", "No rows to import."))
				return nil
			}
			rt, serving, err := servingNode(ctx, dir)
			if err != nil {
				return err
			}
			pw, err := readPassword(e, pwFile, fmt.Sprintf("password for %s / %s 的密码", user, user), false)
			if err != nil {
				return err
			}
			defer clear(pw)
			var res chart.ImportResult
			if serving {
				res, err = importThroughAPI(ctx, rt, user, pw, raw, skipBad)
				if err == nil {
					res.Rejected = notIn(res.Rejected, parsed.Rejected)
				}
			} else {
				res, err = importOffline(ctx, e, dir, user, pw, parsed.Rows, skipBad)
			}
			var ie *chart.ImportError
			var re *remoteError
			switch {
			case errors.As(err, &ie):
				fmt.Fprint(e.stdout, rejectedReport(ie.Rejected, lang))
				return refused(lang)
			case errors.As(err, &re) && len(re.Rejected) > 0:
				fmt.Fprint(e.stdout, rejectedReport(notIn(re.Rejected, parsed.Rejected), lang))
				return refused(lang)
			case err != nil:
				return err
			}
			if len(res.Rejected) > 0 {
				fmt.Fprint(e.stdout, rejectedReport(res.Rejected, lang))
			}
			skipped := len(parsed.Rejected) + len(res.Rejected)
			fmt.Fprintf(e.stdout, "imported %d patients, skipped %d rows\n已导入 %d 位患者，跳过 %d 行\n", res.Imported, skipped, res.Imported, skipped)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the node's data directory / 数据目录")
	c.Flags().StringVar(&csvPath, "csv", "", "the roster CSV file / 名册 CSV 文件")
	c.Flags().StringVar(&user, "user", "", "staff account to sign in as (admin or desk) / 登录账户")
	c.Flags().StringVar(&pwFile, "password-file", "", "read the password from this file's first line (- for stdin) / 从文件读取密码")
	c.Flags().BoolVar(&skipBad, "skip-bad-rows", false, "import the good rows even if some are rejected / 跳过被拒绝的行，导入其余各行")
	return c
}

func msgIn(lang, zh, en string) string {
	if lang == "en" {
		return en
	}
	return zh
}

func refused(lang string) error {
	return fmt.Errorf("%w: %s", errRejected, msgIn(lang,
		"未导入任何数据。请修正上述各行后重新导入，或加 --skip-bad-rows 只导入其余各行。",
		"nothing was imported. Fix the rows above and import again, or add --skip-bad-rows to import the others."))
}

// rejectedReport lists rows the node refused (already registered, a card
// number taken) in lang.
func rejectedReport(rej []roster.Rejected, lang string) string {
	if len(rej) == 0 {
		return ""
	}
	rep := roster.Report(roster.Result{Rejected: rej}, lang)
	// Report starts with a count line about accepted rows, which means
	// nothing here: keep only the rows.
	if _, rows, ok := strings.Cut(rep, "\n"); ok {
		rep = rows
	}
	return msgIn(lang, "本机拒绝的行：\n", "Rows this node refuses:\n") + strings.TrimPrefix(strings.TrimPrefix(rep, "被拒绝的行：\n"), "Rejected rows:\n")
}

// notIn returns the rejected rows of all whose lines are not in known:
// the rows the node refused beyond those the local check already showed.
func notIn(all, known []roster.Rejected) []roster.Rejected {
	seen := map[int]bool{}
	for _, r := range known {
		seen[r.Line] = true
	}
	var out []roster.Rejected
	for _, r := range all {
		if !seen[r.Line] {
			out = append(out, r)
		}
	}
	return out
}

func importOffline(ctx context.Context, e *env, dir, user string, pw []byte, rows []roster.Row, skipBad bool) (chart.ImportResult, error) {
	n, err := e.openNode(dir)
	if err != nil {
		return chart.ImportResult{}, err
	}
	defer n.Close()
	a, err := signIn(ctx, n, user, pw, auth.PermPatientImport)
	if err != nil {
		return chart.ImportResult{}, err
	}
	bar := newProgress(e.stderr, "import / 导入")
	res, err := n.Charts.Import(ctx, a, rows, skipBad, func(done, total int) { bar.update(int64(done), int64(total)) })
	bar.done()
	if err != nil {
		return res, err
	}
	return res, n.Close()
}

// importThroughAPI sends the roster to the running node, which checks it
// again and imports it whole or not at all.
func importThroughAPI(ctx context.Context, rt node.Runtime, user string, pw, raw []byte, skipBad bool) (chart.ImportResult, error) {
	c := newNodeClient(rt)
	if _, err := c.login(ctx, user, pw); err != nil {
		return chart.ImportResult{}, fmt.Errorf("sign in as %s: %w", user, err)
	}
	defer c.logout(ctx)
	path := "/api/v1/patients/import"
	if skipBad {
		path += "?skipBadRows=true"
	}
	var res chart.ImportResult
	err := c.do(ctx, http.MethodPost, path, "text/csv; charset=utf-8", bytes.NewReader(raw), &res)
	if isNotFoundRoute(err) {
		return res, fmt.Errorf("%w at %s and has no import route; stop the node and import again / 节点正在运行且不支持导入接口，请停止节点后重新导入: %w", errServing, rt.Addr, err)
	}
	return res, err
}

func patientExportCmd(e *env) *cobra.Command {
	var dir, out, user, pwFile, format, headers string
	c := &cobra.Command{
		Use:   "export --dir DIR --out FILE --user NAME [--password-file FILE] [--format csv|json]",
		Short: "Export every chart to a CSV roster or JSON lines / 导出全部档案（CSV 名册或 JSON 行）",
		Long: `Export every chart the account may see (admin only), each read recorded in the
audit trail. --format csv (the default) writes a roster that carenode patient
import reads back: UTF-8 with a byte order mark so Excel opens it, headers in
Chinese (--headers en for English), the demographic columns only. --format json
writes one full chart per line (allergies, diagnoses, medications, tags too).

The file holds personal data: it is written whole or not at all, readable by
its owner only, and never over an existing file.

导出该账户可见的全部档案（仅管理员），每次读取都记入审计。--format csv（默认）写出
可由 carenode patient import 重新导入的名册：带 BOM 的 UTF-8（Excel 可直接打开），
中文列名（--headers en 为英文），仅含基本信息各列。--format json 每行一份完整档案
（含过敏、诊断、用药、标签）。

文件含个人信息：一次写成或完全不写，仅所有者可读，且不会覆盖已有文件。`,
		Example: `  carenode patient export --dir ./desk1 --out 名册.csv --user wang
  carenode patient export --dir ./desk1 --out charts.jsonl --format json --user wang --password-file pw.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			for _, f := range [][2]string{{"dir", dir}, {"out", out}, {"user", user}} {
				if err := requireFlag(f[0], f[1]); err != nil {
					return err
				}
			}
			if format != "csv" && format != "json" {
				return usageError{fmt.Errorf("--format %q: want csv or json", format)}
			}
			if headers != "zh" && headers != "en" {
				return usageError{fmt.Errorf("--headers %q: want zh or en", headers)}
			}
			if _, err := os.Lstat(out); err == nil {
				return usageError{fmt.Errorf("%s already exists; choose another --out / 文件已存在", out)}
			}
			if info, err := os.Stat(filepath.Dir(out)); err != nil || !info.IsDir() {
				return usageError{fmt.Errorf("--out %s: no directory %s to write it in / 输出目录不存在", out, filepath.Dir(out))}
			}
			if _, _, err := node.LoadConfig(dir); err != nil {
				return err
			}
			rt, serving, err := servingNode(ctx, dir)
			if err != nil {
				return err
			}
			pw, err := readPassword(e, pwFile, fmt.Sprintf("password for %s / %s 的密码", user, user), false)
			if err != nil {
				return err
			}
			defer clear(pw)
			var buf bytes.Buffer
			w := newChartWriter(&buf, format, headers)
			if serving {
				err = exportThroughAPI(ctx, rt, user, pw, w.write)
			} else {
				err = exportOffline(ctx, e, dir, user, pw, w.write)
			}
			if err == nil {
				err = w.flush()
			}
			if err == nil {
				err = atomicfile.WriteNew(out, buf.Bytes(), 0o600)
			}
			clear(buf.Bytes())
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "exported %d patients to %s (%s, owner-only)\n已导出 %d 位患者到 %s（仅所有者可读）\n", w.n, out, format, w.n, out)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the node's data directory / 数据目录")
	c.Flags().StringVar(&out, "out", "", "file to write (must not exist) / 输出文件")
	c.Flags().StringVar(&user, "user", "", "admin account to sign in as / 登录账户（管理员）")
	c.Flags().StringVar(&pwFile, "password-file", "", "read the password from this file's first line (- for stdin) / 从文件读取密码")
	c.Flags().StringVar(&format, "format", "csv", "csv (a roster import reads) or json (full charts, one per line) / 格式")
	c.Flags().StringVar(&headers, "headers", "zh", "CSV header language: zh or en / CSV 列名语言")
	return c
}

func exportOffline(ctx context.Context, e *env, dir, user string, pw []byte, fn func(chart.Patient) error) error {
	n, err := e.openNode(dir)
	if err != nil {
		return err
	}
	defer n.Close()
	a, err := signIn(ctx, n, user, pw, auth.PermPatientExport)
	if err != nil {
		return err
	}
	if err := n.Charts.Export(ctx, a, fn); err != nil {
		return err
	}
	return n.Close()
}

func exportThroughAPI(ctx context.Context, rt node.Runtime, user string, pw []byte, fn func(chart.Patient) error) error {
	c := newNodeClient(rt)
	if _, err := c.login(ctx, user, pw); err != nil {
		return fmt.Errorf("sign in as %s: %w", user, err)
	}
	defer c.logout(ctx)
	pr, pw2 := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		err := c.do(ctx, http.MethodGet, "/api/v1/patients/export", "", nil, pw2)
		pw2.CloseWithError(err)
		errc <- err
	}()
	dec := json.NewDecoder(bufio.NewReader(pr))
	var derr error
	for {
		var p chart.Patient
		if derr = dec.Decode(&p); derr != nil {
			break
		}
		if derr = fn(p); derr != nil {
			break
		}
	}
	pr.CloseWithError(derr)
	if err := <-errc; err != nil {
		if isNotFoundRoute(err) {
			return fmt.Errorf("%w at %s and has no export route; stop the node and export again / 节点正在运行且不支持导出接口，请停止节点后重新导出: %w", errServing, rt.Addr, err)
		}
		return err
	}
	if errors.Is(derr, io.EOF) {
		return nil
	}
	return fmt.Errorf("read export from the running node: %w", derr)
}

// rosterColumns are the CSV export's columns: the roster fields import
// reads, with their Chinese and English headers (both are import aliases).
var rosterColumns = []struct {
	zh, en string
	value  func(chart.Patient) string
}{
	{"姓名", "name", func(p chart.Patient) string { return p.Name }},
	{"性别", "sex", func(p chart.Patient) string { return p.Sex }},
	{"出生日期", "birthDate", func(p chart.Patient) string { return p.BirthDate }},
	{"身份证号", "idNumber", func(p chart.Patient) string { return p.IDNumber }},
	{"电话", "phones", func(p chart.Patient) string { return strings.Join(p.Phones, "/") }},
	{"地址", "address", func(p chart.Patient) string { return p.Address }},
	{"职业", "occupation", func(p chart.Patient) string { return p.Occupation }},
	{"婚姻状况", "maritalStatus", func(p chart.Patient) string { return p.MaritalStatus }},
	{"就诊卡号", "cardNumber", func(p chart.Patient) string { return p.CardNumber }},
	{"既往史", "history", func(p chart.Patient) string { return p.History }},
	{"家族史", "familyHistory", func(p chart.Patient) string { return p.FamilyHistory }},
	{"备注", "notes", func(p chart.Patient) string { return p.Notes }},
}

// chartWriter writes exported charts as a CSV roster or JSON lines.
type chartWriter struct {
	format  string
	headers string
	csv     *csv.Writer
	json    *json.Encoder
	n       int
}

func newChartWriter(w io.Writer, format, headers string) *chartWriter {
	cw := &chartWriter{format: format, headers: headers}
	if format == "csv" {
		io.WriteString(w, "\uFEFF") // Excel reads UTF-8 only with the mark
		cw.csv = csv.NewWriter(w)
		cw.csv.UseCRLF = true
	} else {
		cw.json = json.NewEncoder(w)
		cw.json.SetEscapeHTML(false)
	}
	return cw
}

func (cw *chartWriter) write(p chart.Patient) error {
	if cw.json != nil {
		cw.n++
		return cw.json.Encode(p)
	}
	if cw.n == 0 {
		if err := cw.header(); err != nil {
			return err
		}
	}
	cw.n++
	rec := make([]string, len(rosterColumns))
	for i, c := range rosterColumns {
		rec[i] = c.value(p)
	}
	return cw.csv.Write(rec)
}

func (cw *chartWriter) header() error {
	h := make([]string, len(rosterColumns))
	for i, c := range rosterColumns {
		h[i] = c.zh
		if cw.headers == "en" {
			h[i] = c.en
		}
	}
	return cw.csv.Write(h)
}

func (cw *chartWriter) flush() error {
	if cw.csv == nil {
		return nil
	}
	if cw.n == 0 {
		if err := cw.header(); err != nil {
			return err
		}
	}
	cw.csv.Flush()
	return cw.csv.Error()
}
