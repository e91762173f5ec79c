package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"github.com/spf13/cobra"

	"carenode/crdt"
	"carenode/node"
	"carenode/node/nodeconf"
	"carenode/node/sample"
	"carenode/node/store"
)

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

启动一个装有示例患者数据的节点（中文姓名、电话、出生日期、身份证号、过敏、诊断），
并显示接下来可以尝试的操作。未指定 --dir 时使用临时目录，退出时删除（--keep 保留）。`,
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
			n, err := node.Open(node.Config{Dir: dir, Identity: id, File: file, Version: buildVersion(), Logger: log})
			if err != nil {
				return err
			}
			st, err := n.Store.Stats()
			if err != nil {
				n.Close()
				return err
			}
			if have := st.Records["patients"]; have == 0 && patients > 0 {
				if err := seedPatients(cmd.Context(), n.Store, patients, seed, newProgress(e.stderr, "sample patients / 示例患者")); err != nil {
					n.Close()
					return err
				}
			}
			ln, err := net.Listen("tcp", file.HTTP.Listen)
			if err != nil {
				n.Close()
				return fmt.Errorf("listen on %s: %w (try --listen 127.0.0.1:0 for any free port)", file.HTTP.Listen, err)
			}
			printDemoHelp(e.stdout, dir, ln.Addr().String(), n, temporary && !keep)
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

// seedPatients writes n sample patients through the store's group commit,
// from a few writers at once as a busy clinic would.
func seedPatients(ctx context.Context, s *store.Store, n int, seed uint64, bar *progress) error {
	people := sample.New(seed).Patients(n)
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
				req := patientWrite(fmt.Sprintf("demo-%06d", i+1), people[i])
				_, err := s.Write(ctx, req)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("write sample patient %d: %w", i+1, err)
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

func patientWrite(id string, p sample.Patient) store.WriteRequest {
	str := func(s string) []byte { b, _ := json.Marshal(s); return b }
	edits := []store.Edit{
		{Kind: crdt.MutSet, Field: "name", Value: str(p.Name)},
		{Kind: crdt.MutSet, Field: "sex", Value: str(p.Sex)},
		{Kind: crdt.MutSet, Field: "birthDate", Value: str(p.BirthDate)},
		{Kind: crdt.MutSet, Field: "idNumber", Value: str(p.IDNumber)},
		{Kind: crdt.MutSet, Field: "phone", Value: str(p.Phone)},
		{Kind: crdt.MutSet, Field: "address", Value: str(p.Address)},
	}
	for _, a := range p.Allergies {
		edits = append(edits, store.Edit{Kind: crdt.MutAdd, Field: "allergies", Elem: a})
	}
	for _, d := range p.Diagnoses {
		edits = append(edits, store.Edit{Kind: crdt.MutAdd, Field: "diagnoses", Elem: d})
	}
	return store.WriteRequest{Collection: "patients", Record: id, Create: true, Edits: edits}
}

func printDemoHelp(w io.Writer, dir, addr string, n *node.Node, removed bool) {
	url := "http://" + addr
	fmt.Fprintf(w, `
carenode demo node %s is running / 演示节点已启动
  data directory / 数据目录:  %s%s
  API:                       %s/api/v1/

Try / 试试:
  curl %s/healthz
  curl '%s/api/v1/records/patients?limit=3'
  curl %s/api/v1/records/patients/demo-000001
  curl -X PATCH -H 'Content-Type: application/json' \
       -d '{"fields":{"phone":"13912345678"},"add":{"allergies":["penicillin"]}}' \
       %s/api/v1/records/patients/demo-000001
  curl -X POST -H 'Content-Type: application/json' \
       -d '{"fields":{"name":"李秀英","sex":"female","birthDate":"1956-03-08"}}' \
       %s/api/v1/records/patients
  curl '%s/api/v1/changes?limit=2'
  curl %s/metrics | grep carenode_
  go run ./cmd/carenode status --dir %s

Press Ctrl-C to stop / 按 Ctrl-C 停止.
`, n.ID(), dir, map[bool]string{false: "", true: " (removed on exit / 退出时删除)"}[removed],
		url, url, url, url, url, url, url, url, dir)
}
