package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"carenode/node/nodeconf"
)

// version is set at build time with -ldflags "-X main.version=…"; without
// it the module's build info is used.
var version = ""

func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
		if s.Key == "vcs.modified" && s.Value == "true" {
			v += "+dirty"
		}
	}
	return v
}

// env is what every command gets: where to write, how to log.
type env struct {
	stdout, stderr io.Writer
	logFormat      string
	logLevel       string
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	e := &env{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "carenode",
		Short: "carenode: offline-first patient follow-up node / 离线优先的患者随访节点",
		Long: `carenode runs one node of an offline-first patient relationship and follow-up
system for community clinics. Every clinic desktop, kiosk and nurse laptop
runs a node with its own database; nodes exchange changes whenever a link
exists and converge on the same records.

carenode 是社区诊所离线优先的患者关系与随访系统的节点程序。每台诊所电脑、
自助机和护士笔记本都运行一个节点，各有自己的数据库；有网络时节点之间交换
变更，最终数据一致。

Start here / 从这里开始:
  carenode demo                          a node with sample patients / 带示例数据的演示节点
  carenode init --dir DIR --name NAME --role clinic
  carenode serve --dir DIR`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&e.logFormat, "log-format", "", "log format: auto, text or json (default: the config file's, else auto) / 日志格式")
	root.PersistentFlags().StringVar(&e.logLevel, "log-level", "", "log level: debug, info, warn or error (default: the config file's, else info) / 日志级别")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nRun '%s --help' for usage.", err, c.CommandPath())}
	})
	root.AddCommand(initCmd(e), serveCmd(e), statusCmd(e), backupCmd(e), restoreCmd(e), userCmd(e), patientCmd(e), versionCmd(e), demoCmd(e),
		enrolTokenCmd(e), syncCmd(e), revokeCmd(e), exitCodesCmd())
	root.AddCommand(worklistCmd(e))
	root.AddCommand(benchCmd(e))
	root.AddCommand(peersCmd(e))
	root.AddCommand(devsimCmd(e))
	return root
}

// requireFlag returns a usage error when a required flag is empty.
func requireFlag(name, value string) error {
	if value == "" {
		return usageError{fmt.Errorf("--%s is required", name)}
	}
	return nil
}

// logger builds the slog logger: text on a terminal, JSON otherwise, unless
// the flag or config says otherwise.
func (e *env) logger(cfg nodeconf.LogSection) (*slog.Logger, error) {
	format, level := string(cfg.Format), string(cfg.Level)
	if e.logFormat != "" {
		format = e.logFormat
	}
	if e.logLevel != "" {
		level = e.logLevel
	}
	var lvl slog.Level
	switch level {
	case "", "info":
		lvl = slog.LevelInfo
	case "debug":
		lvl = slog.LevelDebug
	case "warn":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	default:
		return nil, usageError{fmt.Errorf("log level %q: want debug, info, warn or error", level)}
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "", "auto":
		if isTerminal(e.stderr) {
			return slog.New(slog.NewTextHandler(e.stderr, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(e.stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(e.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, opts)), nil
	}
	return nil, usageError{fmt.Errorf("log format %q: want auto, text or json", format)}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
