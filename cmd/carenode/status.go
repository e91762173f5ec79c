package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"carenode/crdt"
	"carenode/node"
	"carenode/node/identity"
	"carenode/node/store"
)

// statusReport is what status prints; the JSON form is the same as the
// running node's /api/v1/status.
type statusReport struct {
	Node    string      `json:"node"`
	Name    string      `json:"name"`
	Role    string      `json:"role"`
	Version string      `json:"version,omitempty"`
	Serving string      `json:"serving,omitempty"`
	Store   store.Stats `json:"store"`
}

func statusCmd(e *env) *cobra.Command {
	var dir string
	var asJSON bool
	c := &cobra.Command{
		Use:   "status --dir DIR",
		Short: "Show a node's ID, role, records and version vector / 显示节点状态",
		Long: `Show the node's ID, name, role, records per collection, change-log length and
version vector. Works whether or not the node is serving: if it is, the running
node is asked; otherwise the database is read directly.

显示节点 ID、名称、角色、各集合记录数、变更日志长度和版本向量。无论节点是否在
运行都可使用。`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlag("dir", dir); err != nil {
				return err
			}
			rep, err := readStatus(cmd.Context(), dir)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(rep)
			}
			printStatus(e.stdout, rep)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the node's data directory / 数据目录")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON / 输出 JSON")
	return c
}

func readStatus(ctx context.Context, dir string) (statusReport, error) {
	id, file, err := node.LoadConfig(dir)
	if err != nil {
		return statusReport{}, err
	}
	rep := statusReport{Node: string(id.ID), Name: file.Node.Name, Role: string(file.Node.Role)}
	if rt, err := node.ReadRuntime(ctx, dir); err == nil {
		if err := getJSON(ctx, rt.URL()+"/api/v1/status", rt.Control, &rep); err != nil {
			return rep, fmt.Errorf("status of running node at %s: %w", rt.Addr, err)
		}
		rep.Serving = rt.Addr
		return rep, nil
	}
	s, err := openReadOnly(dir, id.ID, slog.Default())
	if err != nil {
		return rep, err
	}
	defer s.Close()
	rep.Store, err = s.Stats()
	return rep, err
}

// openReadOnly opens the store of node id in dir read-only, for a command
// that reads it while the node does not serve.
func openReadOnly(dir string, id identity.ID, log *slog.Logger) (*store.Store, error) {
	opts := store.DefaultOptions(node.DBPath(dir), crdt.NodeID(id))
	opts.ReadOnly = true
	opts.Logger = log
	s, err := store.Open(opts)
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w; no serve.json to reach it through (is another carenode command running?)", err)
	}
	return s, err
}

func getJSON(ctx context.Context, url, token string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func printStatus(w io.Writer, rep statusReport) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "node / 节点 ID:\t%s\n", rep.Node)
	fmt.Fprintf(tw, "name / 名称:\t%s\n", rep.Name)
	fmt.Fprintf(tw, "role / 角色:\t%s\n", rep.Role)
	if rep.Serving != "" {
		fmt.Fprintf(tw, "serving / 运行中:\thttp://%s\n", rep.Serving)
	} else {
		fmt.Fprintf(tw, "serving / 运行中:\tno / 否\n")
	}
	fmt.Fprintf(tw, "schema / 数据库版本:\t%d\n", rep.Store.Schema)
	fmt.Fprintf(tw, "database / 数据库大小:\t%d bytes in use / 已用, file %d bytes / 文件\n", rep.Store.FileBytes, rep.Store.DiskBytes)
	fmt.Fprintf(tw, "change log / 变更日志:\t%d changes\n", rep.Store.LogLen)
	if rep.Store.Waiting > 0 {
		fmt.Fprintf(tw, "waiting to fold / 待并入记录:\t%d changes from other nodes (read as usual; folded within a second)\n", rep.Store.Waiting)
	}
	fmt.Fprintf(tw, "version vector / 版本向量:\t%s\n", rep.Store.Vector)
	colls := make([]string, 0, len(rep.Store.Records))
	for c := range rep.Store.Records {
		colls = append(colls, c)
	}
	slices.Sort(colls)
	fmt.Fprintf(tw, "records / 记录:\t")
	if len(colls) == 0 {
		fmt.Fprintf(tw, "none / 无\n")
	}
	for i, c := range colls {
		if i > 0 {
			fmt.Fprintf(tw, "\t")
		}
		fmt.Fprintf(tw, "%s: %d\n", c, rep.Store.Records[c])
	}
	tw.Flush()
}
