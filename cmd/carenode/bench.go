package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"carenode/sync/bench"
)

func benchCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "bench",
		Short: "Whole-system benchmarks / 整体性能测试",
		Args:  cobra.NoArgs,
	}
	c.AddCommand(benchSyncCmd(e), benchSyncPeerCmd(e))
	return c
}

func benchSyncCmd(e *env) *cobra.Command {
	var (
		work, pouchDir, nodeBin, links, jsonOut string
		seed                                    uint64
		runs, slowRuns                          int
		noPouch                                 bool
		sizes                                   = bench.DefaultSizes()
	)
	c := &cobra.Command{
		Use:   "sync [--work DIR] [--runs 3] [--links loopback,2g]",
		Short: "Measure sync against PouchDB on a seeded dataset / 在种子数据集上测量同步并与 PouchDB 对比",
		Long: `Generate a seeded dataset (10,000 patients, 100,000 observations, 20,000
follow-up tasks and a clinic day), then measure, for carenode and for PouchDB
replicating the same records: the initial sync of the whole dataset, one
clinic day and an idle sync; wall time, bytes each way, HTTP requests, CPU
time and peak RSS of each node's process. Both systems' nodes run as
separate processes and sync through the same byte-counting proxy, on
loopback and through a link throttled to 32 kbit/s with 600 ms round trip.

The dataset is kept in --work and reused when the seed and sizes match.
PouchDB runs under node from --pouchdb (npm ci there first; the script
scripts/bench-sync.sh does it all).

生成种子数据集（10,000 名患者、100,000 条体征、20,000 个随访任务及一个门诊日），
然后对 carenode 以及复制相同记录的 PouchDB 分别测量：全量初始同步、一个门诊日、
空闲同步的耗时、双向字节数、HTTP 请求数、CPU 时间和各节点进程的峰值内存。
两个系统的节点均为独立进程，经同一个计数代理同步，分别在本机回环和限速
32 kbit/s、往返 600 ms 的链路上测量。数据集保存在 --work，种子和规模相同时复用。`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runs < 1 || runs > 100 {
				return usageError{fmt.Errorf("--runs %d: want 1 to 100", runs)}
			}
			if err := sizes.Validate(); err != nil {
				return usageError{err}
			}
			var ls []bench.Link
			for _, name := range strings.Split(links, ",") {
				switch strings.TrimSpace(name) {
				case "loopback":
					ls = append(ls, bench.Loopback())
				case "2g":
					ls = append(ls, bench.Slow2G())
				default:
					return usageError{fmt.Errorf("--links: unknown link %q (want loopback, 2g) / 未知链路", name)}
				}
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			if work, err = filepath.Abs(work); err != nil {
				return err
			}
			cfg := bench.RunConfig{Work: work, Runs: runs, SlowRuns: slowRuns, Links: ls, Progress: e.stdout,
				GoPeer: func(role, db string) *exec.Cmd {
					return exec.Command(self, "bench", "sync-peer", "--work", work, "--role", role, "--db", db)
				}}
			if !noPouch {
				script, err := filepath.Abs(filepath.Join(pouchDir, "peer.js"))
				if err != nil {
					return err
				}
				if _, err := os.Stat(filepath.Join(pouchDir, "node_modules", "pouchdb-node")); err != nil {
					return fmt.Errorf("PouchDB is not installed in %s (%v): run npm ci there, or scripts/bench-sync.sh, or pass --no-pouchdb / 未安装 PouchDB：请在该目录运行 npm ci，或使用 --no-pouchdb", pouchDir, err)
				}
				cfg.PouchPeer = func(role string, args ...string) *exec.Cmd {
					// PouchDB holds the dataset in memory: allow it the heap.
					return exec.Command(nodeBin, append([]string{"--max-old-space-size=8192", script, "--role", role}, args...)...)
				}
			}
			start := time.Now()
			m, err := bench.Generate(cmd.Context(), bench.GenConfig{Dir: work, Seed: seed, Sizes: sizes,
				Progress: func(stage string, done, total int) {
					fmt.Fprintf(e.stderr, "\rgenerate / 生成: %s %d/%d\x1b[K", stage, done, total)
				}})
			fmt.Fprintln(e.stderr)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "dataset / 数据集: %d records, %d changes, %.1f MB as PouchDB documents; clinic day: desk %d changes over %d records, hub %d over %d (generated in %.0f s, reused when seed and sizes match)\n",
				m.Records, m.Changes, float64(m.DocBytes)/1e6, m.DeskChanges, m.DeskDocs, m.HubChanges, m.HubDocs, m.GenSeconds)
			samples, err := bench.Run(cmd.Context(), cfg)
			if jsonOut != "" {
				b, _ := json.MarshalIndent(map[string]any{"manifest": m, "samples": samples}, "", "  ")
				if werr := os.WriteFile(jsonOut, b, 0o644); werr != nil && err == nil {
					err = werr
				}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "\nmeasured in %s / 测量完成\n\n", time.Since(start).Round(time.Second))
			bench.WriteReport(e.stdout, samples)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&work, "work", filepath.Join(os.TempDir(), "carenode-bench-sync"), "work directory: dataset and scratch stores / 工作目录")
	f.Uint64Var(&seed, "seed", 1, "dataset seed / 数据集种子")
	f.IntVar(&runs, "runs", 3, "runs of each measurement / 每项测量次数")
	f.IntVar(&slowRuns, "slow-pouchdb-runs", 0, "runs of PouchDB over a throttled link (default --runs) / PouchDB 在限速链路上的测量次数")
	f.StringVar(&links, "links", "loopback,2g", "links for the clinic day and idle sync: loopback, 2g / 链路")
	f.StringVar(&pouchDir, "pouchdb", "bench/pouchdb", "directory of peer.js and its node_modules / PouchDB 目录")
	f.StringVar(&nodeBin, "node", "node", "the Node.js binary / Node.js 可执行文件")
	f.BoolVar(&noPouch, "no-pouchdb", false, "measure carenode only / 只测 carenode")
	f.StringVar(&jsonOut, "json", "", "write every sample to this JSON file / 把全部样本写入 JSON 文件")
	f.IntVar(&sizes.Patients, "patients", sizes.Patients, "patients in the dataset / 患者数")
	f.IntVar(&sizes.Observations, "observations", sizes.Observations, "vital-sign observations / 体征记录数")
	f.IntVar(&sizes.Tasks, "tasks", sizes.Tasks, "follow-up tasks / 随访任务数")
	return c
}

// benchSyncPeerCmd runs one Go node for bench sync; not for people.
func benchSyncPeerCmd(e *env) *cobra.Command {
	var work, role, db string
	c := &cobra.Command{
		Use:    "sync-peer --work DIR --role hub|desk --db FILE",
		Short:  "One node of bench sync, driven on stdin/stdout (internal) / bench sync 的一个节点（内部使用）",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return bench.RunPeer(cmd.Context(), bench.PeerConfig{Work: work, Role: role, DB: db, In: os.Stdin, Out: e.stdout})
		},
	}
	c.Flags().StringVar(&work, "work", "", "work directory")
	c.Flags().StringVar(&role, "role", "", "hub or desk")
	c.Flags().StringVar(&db, "db", "", "store file")
	return c
}
