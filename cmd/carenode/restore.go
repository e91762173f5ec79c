package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"carenode/node"
	"carenode/node/backup"
)

func restoreCmd(e *env) *cobra.Command {
	var from, dir string
	c := &cobra.Command{
		Use:   "restore --from FILE --dir DIR",
		Short: "Restore a node from a backup into an empty directory / 从备份恢复节点",
		Long: `Check a backup in full and unpack it into DIR, which must not hold a node.
Nothing is put in place until every file has checked out.

The restored node keeps its identity. If it had made changes after the backup
that other nodes already received, it gets them back from them at its next
sync: they are its own changes and are applied like any other.

完整校验备份后解包到 DIR（DIR 中不能已有节点）。所有文件校验通过后才放入目录。
恢复后的节点保留原身份；备份之后产生、已同步到其他节点的变更，会在下次同步时取回。`,
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
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			if _, err := os.Stat(from); errors.Is(err, fs.ErrNotExist) {
				return usageError{fmt.Errorf("backup file %s does not exist", from)}
			}
			m, err := backup.Extract(from, dir)
			if err != nil {
				if errors.Is(err, backup.ErrVerify) {
					return fmt.Errorf("%w: %w", errVerify, err)
				}
				return err
			}
			fmt.Fprintf(e.stdout, "restored node %s (%s, %s) into %s: %d changes, backup of %s\n已恢复节点 %s\n",
				m.Node, m.Name, m.Role, dir, m.LogLen, m.Created.Format("2006-01-02 15:04:05 MST"), m.Node)
			return nil
		},
	}
	c.Flags().StringVar(&from, "from", "", "backup file / 备份文件")
	c.Flags().StringVar(&dir, "dir", "", "directory to restore into (must hold no node) / 恢复到的目录")
	return c
}
