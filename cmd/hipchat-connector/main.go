// Command hipchat-connector runs the HipChat v2 connector, its HipChat emulator and its demo.
//
// main only turns signals into a context and calls run; everything else lives in run so that
// tests can drive the whole program.
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
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if err != errUsage {
			fmt.Fprintln(os.Stderr, "hipchat-connector:", err)
		}
		os.Exit(2)
	}
}
