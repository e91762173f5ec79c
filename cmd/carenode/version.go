package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"carenode/node/store"
)

func versionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print carenode's version / 显示版本",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(e.stdout, "carenode %s (%s, %s/%s, database schema %d)\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH, store.SchemaVersion)
			return nil
		},
	}
}
