package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"carenode/node"
	"carenode/node/auth"
	"carenode/node/care"
	"carenode/node/chart"
	"carenode/node/nodeconf"
	"carenode/node/outbox"
	"carenode/node/sample"
	"carenode/node/staff"
)

// demoSMSFile is where the demo's outbox writes the SMS it sends.
const demoSMSFile = "demo-sms.jsonl"

func demoCmd(e *env) *cobra.Command {
	var dir, listen string
	var patients int
	var seed uint64
	var keep bool
	c := &cobra.Command{
		Use:   "demo [--dir DIR] [--listen 127.0.0.1:7420] [--patients 300]",
		Short: "Start a node with realistic sample patients, to try carenode / 启动带示例患者的演示节点",
		Long: `Start a node filled with realistic sample patients (Chinese names, phones,
birth dates, resident ID numbers, allergies, diagnoses) and print what to try
next. Without --dir it uses a temporary directory, removed on exit unless
--keep. With --dir it reuses a node there, or creates one.

A new demo node gets an admin account, "admin", with a generated password
that is printed and kept in DIR/demo-admin.password (fine for made-up patients,
never for real ones); the demo signs it in, which unlocks the patient data,
and prints a token to try the API with.

启动一个装有示例患者数据的节点（中文姓名、电话、出生日期、身份证号、过敏、诊断），
并显示接下来可以尝试的操作。未指定 --dir 时使用临时目录，退出时删除（--keep 保留）。
新的演示节点会创建管理员账户 admin，密码随机生成并显示，保存在
DIR/demo-admin.password（仅适用于示例数据）；演示程序以其登录以解锁患者数据，并显示
可直接使用的 token。`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if patients < 0 || patients > 1_000_000 {
				return usageError{fmt.Errorf("--patients %d: want 0 to 1000000", patients)}
			}
			temporary := dir == ""
			if temporary {
				tmp, err := os.MkdirTemp("", "carenode-demo-")
				if err != nil {
					return err
				}
				dir = tmp + "/node"
				if !keep {
					defer os.RemoveAll(tmp)
				}
			}
			if _, err := os.Stat(node.KeyPath(dir)); errors.Is(err, os.ErrNotExist) {
				if _, err := node.Init(node.InitOptions{Dir: dir, Name: "演示诊所 Demo Clinic", Role: nodeconf.RoleClinic}); err != nil {
					return err
				}
			}
			id, file, err := node.LoadConfig(dir)
			if err != nil {
				return err
			}
			if listen != "" {
				file.HTTP.Listen = listen
			}
			log, err := e.logger(file.Log)
			if err != nil {
				return err
			}
			// The demo's SMS go to a file instead of a modem, at any hour.
			ocfg := outbox.DefaultConfig(string(id.ID))
			ocfg.Sender.Kind, ocfg.Sender.File.Path = outbox.SenderFile, filepath.Join(dir, demoSMSFile)
			ocfg.QuietStart, ocfg.QuietEnd = 0, 0
			n, err := node.Open(node.Config{Dir: dir, Identity: id, File: file, Version: buildVersion(), Logger: log, Outbox: ocfg})
			if err != nil {
				return err
			}
			admin, err := demoAdmin(cmd.Context(), n, dir)
			if err != nil {
				n.Close()
				return err
			}
			if admin.token != "" && n.Charts.Count() == 0 && patients > 0 {
				if err := seedPatients(cmd.Context(), n, patients, seed, newProgress(e.stderr, "sample patients / 示例患者")); err != nil {
					n.Close()
					return err
				}
			}
			ln, err := net.Listen("tcp", file.HTTP.Listen)
			if err != nil {
				n.Close()
				return fmt.Errorf("listen on %s: %w (try --listen 127.0.0.1:0 for any free port)", file.HTTP.Listen, err)
			}
			printDemoHelp(e.stdout, dir, ln.Addr().String(), n, admin, temporary && !keep, invokedAs(os.Args[0]))
			return n.Serve(cmd.Context(), ln)
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "data directory (default: a temporary one) / 数据目录")
	c.Flags().StringVar(&listen, "listen", "", "address to listen on (default 127.0.0.1:7420) / 监听地址")
	c.Flags().IntVar(&patients, "patients", 300, "sample patients to create in a new node / 示例患者数量")
	c.Flags().Uint64Var(&seed, "seed", 1, "seed for the sample data / 示例数据种子")
	c.Flags().BoolVar(&keep, "keep", false, "keep the temporary directory on exit / 退出时保留临时目录")
	return c
}

// demoAccount is the demo's admin: its password and a session token.
type demoAccount struct {
	name, password, token string
}

// demoAdminName is the demo node's admin account.
const demoAdminName = "admin"

// demoAdmin makes the demo node's admin account (its first, which makes the
// data key) with a generated password, kept in the data directory so a
// reused demo directory unlocks again, and signs it in: that unlocks the
// node and gives a token to try the API with. The password file next to the
// database defeats the encryption at rest: fine for made-up patients only.
func demoAdmin(ctx context.Context, n *node.Node, dir string) (demoAccount, error) {
	a := demoAccount{name: demoAdminName}
	pwPath := filepath.Join(dir, "demo-admin.password")
	accts, err := n.Staff.Accounts()
	if err != nil {
		return a, err
	}
	if len(accts) == 0 {
		a.password = rand.Text()
		if _, err := n.Staff.Add(ctx, a.name, auth.RoleAdmin, []byte(a.password)); err != nil {
			return a, fmt.Errorf("add the demo admin: %w", err)
		}
		if err := os.WriteFile(pwPath, []byte(a.password+"\n"), 0o600); err != nil {
			return a, err
		}
	} else {
		b, err := os.ReadFile(pwPath)
		if errors.Is(err, os.ErrNotExist) {
			return a, nil // not a node demo made: someone must sign in
		}
		if err != nil {
			return a, err
		}
		pw, _ := staff.ReadPassword(bytes.NewReader(b))
		a.password = string(pw)
	}
	res, err := n.Staff.Login(ctx, a.name, a.password, "demo")
	if err != nil {
		return a, fmt.Errorf("sign in the demo admin: %w", err)
	}
	a.token = res.Token
	return a, nil
}

// seedPatients registers n sample patients through the chart service, as
// the demo admin, from a few writers at once as a busy clinic would; their
// allergies and diagnoses are added as a doctor would add them.
func seedPatients(ctx context.Context, nd *node.Node, n int, seed uint64, bar *progress) error {
	people := sample.New(seed).Patients(n)
	actor := chart.Actor{Name: demoAdminName, Role: auth.RoleAdmin}
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	done := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				err := registerSample(ctx, nd.Charts, actor, people[i])
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("register sample patient %d: %w", i+1, err)
				}
				done++
				bar.update(int64(done), int64(n))
				mu.Unlock()
			}
		}()
	}
	for i := range people {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	bar.done()
	if firstErr == nil && ctx.Err() != nil {
		return errInterrupted
	}
	return firstErr
}

func registerSample(ctx context.Context, charts *chart.Service, a chart.Actor, p sample.Patient) error {
	res, err := charts.Register(ctx, a, care.PatientInput{Name: p.Name, Sex: p.Sex, BirthDate: p.BirthDate,
		IDNumber: p.IDNumber, Phones: []string{p.Phone}, Address: p.Address}, false)
	if err != nil {
		return err
	}
	for _, al := range p.Allergies {
		if _, err := charts.AddAllergy(ctx, a, res.ID, care.AllergyInput{Substance: al}); err != nil {
			return err
		}
	}
	for _, d := range p.Diagnoses {
		if _, _, err := charts.AddDiagnosis(ctx, a, res.ID, care.DiagnosisInput{Code: d}); err != nil {
			return err
		}
	}
	return nil
}

// invokedAs is how to run carenode again the way arg0 (os.Args[0]) was
// run, for the next steps the demo prints: "go run ./cmd/carenode" for the
// throwaway binary `go run` builds ($GOTMPDIR/go-build…/b001/exe/carenode),
// else the name as typed ("carenode" found on PATH, "./bin/carenode").
func invokedAs(arg0 string) string {
	if filepath.Base(filepath.Dir(arg0)) == "exe" {
		for p := filepath.Dir(arg0); filepath.Dir(p) != p; p = filepath.Dir(p) {
			if strings.HasPrefix(filepath.Base(p), "go-build") {
				return "go run ./cmd/carenode"
			}
		}
	}
	if arg0 == "" {
		return "carenode"
	}
	if strings.ContainsFunc(arg0, func(r rune) bool { return !shellSafe(r) }) {
		return "'" + strings.ReplaceAll(arg0, "'", `'\''`) + "'"
	}
	return arg0
}

// shellSafe reports whether r needs no quoting in a POSIX shell word.
func shellSafe(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+,:@%=", r)
}

func printDemoHelp(w io.Writer, dir, addr string, n *node.Node, admin demoAccount, removed bool, self string) {
	url := "http://" + addr
	fmt.Fprintf(w, `
carenode demo node %s is running / 演示节点已启动
  data directory / 数据目录:  %s%s
  API:                       %s/api/v1/
`, n.ID(), dir, map[bool]string{false: "", true: " (removed on exit / 退出时删除)"}[removed], url)
	if admin.token == "" {
		fmt.Fprintf(w, `
The node is locked: sign in with an account of this node to unlock it.
节点已锁定：请用本节点的账户登录以解锁。
  curl -X POST -H 'Content-Type: application/json' -d '{"name":"NAME","password":"PASSWORD"}' %s/api/v1/auth/login

Press Ctrl-C to stop / 按 Ctrl-C 停止.
`, url)
		return
	}
	fmt.Fprintf(w, `  admin account / 管理员账户:  %s
  password / 密码:           %s

Sign in (the answer's "token" goes in every other call) / 登录（返回的 token 用于其他请求）:
  curl -X POST -H 'Content-Type: application/json' \
       -d '{"name":"%s","password":"%s"}' %s/api/v1/auth/login
  TOKEN=%s   # a token signed in already / 已登录的 token

Try / 试试:
  curl %s/healthz
  curl -H "Authorization: Bearer $TOKEN" '%s/api/v1/patients?q=zs'        # pinyin initials / 拼音首字母
  curl -H "Authorization: Bearer $TOKEN" '%s/api/v1/patients?q=%%E7%%8E%%8B'  # 王
  curl -H "Authorization: Bearer $TOKEN" %s/api/v1/patients/PATIENT-ID
  curl -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
       -d '{"name":"李秀英","sex":"female","birthDate":"1956-03-08","phones":["13912345678"],"address":"云南省红河州蒙自市文澜镇"}' \
       %s/api/v1/patients
  curl -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
       -d '{"substance":"青霉素","reaction":"皮疹","severity":"severe"}' %s/api/v1/patients/PATIENT-ID/allergies
  curl -H "Authorization: Bearer $TOKEN" %s/api/v1/duplicates
  curl -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
       -d '{"code":"I10"}' %s/api/v1/patients/PATIENT-ID/diagnoses      # starts the hypertension follow-up plan / 开始高血压随访
  curl -H "Authorization: Bearer $TOKEN" '%s/api/v1/tasks?patient=PATIENT-ID'   # its tasks / 随访任务
  curl -H "Authorization: Bearer $TOKEN" %s/api/v1/outbox                         # SMS queued; sent ones are in %s
  curl %s/metrics | grep carenode_
  %s user list --dir %s

Press Ctrl-C to stop / 按 Ctrl-C 停止.
`, admin.name, admin.password, admin.name, admin.password, url, admin.token,
		url, url, url, url, url, url, url, url, url, url, filepath.Join(dir, demoSMSFile), url, self, dir)
}
