package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// envPrefix starts the environment variable that can set each flag: -poll-schedule is read from
// HIPCHAT_CONNECTOR_POLL_SCHEDULE.
const envPrefix = "HIPCHAT_CONNECTOR_"

// envName returns the environment variable that sets the flag called name.
func envName(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// newFlagSet returns a flag set that prints its errors and usage to stderr and never exits.
func newFlagSet(name, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: hipchat-connector %s [flags]\n\n%s\n\nflags (each also read from %s<FLAG>):\n", name, summary, envPrefix)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags fills fs from the environment first and then from args, so a flag on the command line
// wins over its environment variable. -h prints the usage and returns errHelp.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" && envErr == nil {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("%s=%q: %w", envName(f.Name), v, err)
			}
		}
	})
	if envErr != nil {
		return envErr
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %q\n", fs.Args())
		return errUsage
	}
	return nil
}

// errHelp reports that -h was given and the usage printed; run treats it as success.
var errHelp = errors.New("help requested")
