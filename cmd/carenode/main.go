// Command carenode runs and manages a carenode node: init, serve, status,
// backup, restore, user (staff accounts), patient (roster import and
// export), demo. Run `carenode help` for the commands and
// `carenode help exit-codes` for what its exit codes mean.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := newRoot(os.Stdout, os.Stderr).ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "carenode:", err)
	}
	os.Exit(exitCode(err))
}
