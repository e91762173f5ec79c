package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"carenode/crdt"
	"carenode/node"
	"carenode/node/backup"
	"carenode/node/store"
)

func restoreCmd(e *env) *cobra.Command {
	var from, dir string
	c := &cobra.Command{
		Use:   "restore --from FILE --dir DIR",
		Short: "Restore a node from a backup into an empty directory / 从备份恢复节点",
		Long: `Check a backup in full and unpack it into DIR, which must not hold a node.
Nothing is put in place until every file has checked out.

The restored node keeps its identity, but numbers its new changes under a
fresh origin (NODE.suffix): changes it made after the backup may already be on
other nodes, and reusing their sequence numbers would make those nodes skip
the new ones. The lost changes come back from the other nodes at the next sync,
applied like any other.

完整校验备份后解包到 DIR（DIR 中不能已有节点）。所有文件校验通过后才放入目录。
恢复后的节点保留原身份，但新变更以新的来源编号（节点ID.后缀），以免与其他节点已收到
的变更序号冲突；备份之后产生、已同步到其他节点的变更，会在下次同步时取回。`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlag("from", from); err != nil {
				return err
			}
			if err := requireFlag("dir", dir); err != nil {
				return err
			}
			for _, name := range []string{node.KeyFile, node.ConfigFile, node.DBFile} {
				if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
					return fmt.Errorf("restore into %s: %w (found %s); restore into a new directory", dir, node.ErrNodeExists, name)
				}
			}
			if _, err := os.Stat(from); errors.Is(err, fs.ErrNotExist) {
				return usageError{fmt.Errorf("backup file %s does not exist", from)}
			}
			created := outermostMissing(dir)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			m, err := backup.Extract(from, dir)
			if err != nil {
				// Nothing was put in place, so leave no trace either: remove
				// the directories this command made, never one that was there.
				if created != "" {
					if rerr := os.RemoveAll(created); rerr != nil {
						err = errors.Join(err, fmt.Errorf("remove %s made for the restore: %w", created, rerr))
					}
				}
				if errors.Is(err, backup.ErrVerify) {
					return fmt.Errorf("%w: %w", errVerify, err)
				}
				return err
			}
			origin, err := newIncarnation(dir, crdt.NodeID(m.Node))
			if err != nil {
				return fmt.Errorf("restored into %s, but could not start a new incarnation (do not write to it before fixing this): %w", dir, err)
			}
			fmt.Fprintf(e.stdout, "restored node %s (%s, %s) into %s: %d changes, backup of %s\n已恢复节点 %s\n",
				m.Node, m.Name, m.Role, dir, m.LogLen, m.Created.Format("2006-01-02 15:04:05 MST"), m.Node)
			fmt.Fprintf(e.stdout, "new changes are numbered under %s / 新变更将以 %s 编号\n", origin, origin)
			return nil
		},
	}
	c.Flags().StringVar(&from, "from", "", "backup file / 备份文件")
	c.Flags().StringVar(&dir, "dir", "", "directory to restore into (must hold no node) / 恢复到的目录")
	return c
}

// outermostMissing returns the outermost directory on dir's path that
// does not exist yet (what MkdirAll(dir) will create), or "" if dir exists.
// Everything under it is then the restore's own to remove on failure.
func outermostMissing(dir string) string {
	missing := ""
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		// Lstat: a symlink, even a dangling one, is someone else's.
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			return missing
		}
		missing = p
		if filepath.Dir(p) == p {
			return missing
		}
	}
}

// newIncarnation gives a restored store a fresh origin for its changes.
func newIncarnation(dir string, id crdt.NodeID) (crdt.NodeID, error) {
	s, err := store.Open(store.DefaultOptions(node.DBPath(dir), id))
	if err != nil {
		return "", err
	}
	origin, err := s.NewIncarnation(rand.Reader)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return origin, err
}
