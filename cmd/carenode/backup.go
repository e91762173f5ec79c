package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"carenode/crdt"
	"carenode/node"
	"carenode/node/backup"
	"carenode/node/store"
)

func backupCmd(e *env) *cobra.Command {
	var dir, out string
	c := &cobra.Command{
		Use:   "backup --dir DIR --out FILE",
		Short: "Write a verified backup of a node, even while it serves / 备份节点（可在运行时进行）",
		Long: `Write one file holding the node's key, config and a consistent copy of its
database. Works while the node serves (the running node streams a snapshot) or
not. The file is read back in full and checked before it is kept: checksums,
bbolt's consistency check, and the change count against the manifest.

生成一个备份文件，包含节点密钥、配置和数据库的一致快照。节点运行时也可备份。
备份文件写完后会完整读回校验，校验通过才保留。`,
		Example: `  carenode backup --dir ./desk1 --out /media/usb/desk1-2026-11-24.cnbak`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlag("dir", dir); err != nil {
				return err
			}
			if err := requireFlag("out", out); err != nil {
				return err
			}
			if _, err := os.Stat(out); err == nil {
				return usageError{fmt.Errorf("%s already exists; choose another --out", out)}
			}
			id, file, err := node.LoadConfig(dir)
			if err != nil {
				return err
			}
			snap, err := os.CreateTemp(filepath.Dir(out), ".carenode-snapshot-")
			if err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			defer os.Remove(snap.Name())
			how, err := snapshot(cmd.Context(), dir, crdt.NodeID(id.ID), snap)
			if cerr := snap.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			bar := newProgress(e.stderr, "backup / 备份")
			m, err := backup.Write(out, backup.Sources{Key: node.KeyPath(dir), Config: node.ConfigPath(dir), DB: snap.Name()},
				backup.Manifest{Node: string(id.ID), Name: file.Node.Name, Role: string(file.Node.Role), Created: time.Now().UTC(), Version: buildVersion()},
				bar.update)
			bar.done()
			if err != nil {
				if errors.Is(err, backup.ErrVerify) {
					return fmt.Errorf("%w: %w", errVerify, err)
				}
				return err
			}
			info, _ := os.Stat(out)
			fmt.Fprintf(e.stdout, "backup written and verified (%s): %s\n已写入并校验备份: %s\n", how, out, out)
			fmt.Fprintf(e.stdout, "node %s, %d changes, %d bytes\n", m.Node, m.LogLen, info.Size())
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the node's data directory / 数据目录")
	c.Flags().StringVar(&out, "out", "", "backup file to write (must not exist) / 备份文件")
	return c
}

// snapshot writes a consistent copy of dir's database to w: from the
// running node if one serves, else by opening the file.
func snapshot(ctx context.Context, dir string, id crdt.NodeID, w io.Writer) (string, error) {
	if rt, err := node.ReadRuntime(ctx, dir); err == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rt.URL()+"/api/v1/backup", nil)
		if err != nil {
			return "", err
		}
		req.Header.Set("Authorization", "Bearer "+rt.Control)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", fmt.Errorf("backup from running node at %s: %w", rt.Addr, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("backup from running node at %s: %s", rt.Addr, resp.Status)
		}
		if _, err := io.Copy(w, resp.Body); err != nil {
			return "", fmt.Errorf("backup from running node at %s: %w", rt.Addr, err)
		}
		return "hot, from the running node", nil
	}
	opts := store.DefaultOptions(node.DBPath(dir), id)
	opts.ReadOnly = true
	s, err := store.Open(opts)
	if err != nil {
		return "", err
	}
	defer s.Close()
	if _, err := s.Backup(w); err != nil {
		return "", err
	}
	return "node not serving", nil
}
