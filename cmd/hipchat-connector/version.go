package main

import (
	"context"
	"fmt"
	"io"

	"github.com/hipchat-connector/hipchat-connector/internal/buildinfo"
)

const versionSummary = "print the build's module version, VCS revision and Go version (also: hipchat-connector -version)"

// runVersion prints buildinfo.Running: which build this binary is. It takes no flags:
// errUsage for any argument.
func runVersion(_ context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "usage: hipchat-connector version\n\n%s.\n", versionSummary)
		if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
			return errHelp
		}
		return errUsage
	}
	fmt.Fprintln(stdout, buildinfo.Running())
	return nil
}
