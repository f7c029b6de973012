package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// envPrefix starts the environment variable that can set each flag of serve (and definition):
// -poll-schedule is read from HIPCHAT_CONNECTOR_POLL_SCHEDULE.
const envPrefix = "HIPCHAT_CONNECTOR_"

// simEnvPrefix is sim's own: a connector's HIPCHAT_CONNECTOR_ADDR must not move an emulator
// started beside it.
const simEnvPrefix = "HIPCHAT_SIM_"

// envPrefixes says which environment variables each subcommand reads; the demo reads none (its
// flags come from the command line only).
var envPrefixes = map[string]string{"serve": envPrefix, "definition": envPrefix, "sim": simEnvPrefix}

// envName returns the environment variable that sets serve's flag called name.
func envName(name string) string { return envNameWith(envPrefix, name) }

func envNameWith(prefix, name string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// newFlagSet returns a flag set that prints its errors and usage to stderr and never exits.
func newFlagSet(name, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		from := "flags (command line only):"
		if prefix := envPrefixes[name]; prefix != "" {
			from = "flags (each also read from " + prefix + "<FLAG>; the command line wins):"
		}
		fmt.Fprintf(stderr, "usage: hipchat-connector %s [flags]\n\n%s\n\n%s\n", name, summary, from)
		fs.PrintDefaults()
	}
	return fs
}

// flagSources says where each flag's value came from, so that an error about a value can name
// its source: "-addr" or "HIPCHAT_SIM_ADDR".
type flagSources map[string]string

// of is the source of flag name: the environment variable that set it, else "-name".
func (s flagSources) of(name string) string {
	if env, ok := s[name]; ok {
		return env
	}
	return "-" + name
}

// parseFlags fills fs from args and then, for every flag not on the command line, from its
// environment variable (the subcommand's prefix, envPrefixes), so a flag on the command line wins.
// A bad value in the environment is an error naming the variable. -h prints the usage and returns
// errHelp.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) (flagSources, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %q\n", fs.Args())
		return nil, errUsage
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	sources := flagSources{}
	prefix := envPrefixes[fs.Name()]
	if prefix == "" {
		return sources, nil
	}
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		env := envNameWith(prefix, f.Name)
		v := getenv(env)
		if v == "" || onCommandLine[f.Name] {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q (from the environment): %w", env, v, err))
			return
		}
		sources[f.Name] = env
	})
	return sources, errors.Join(errs...)
}

// errHelp reports that -h was given and the usage printed; run treats it as success.
var errHelp = errors.New("help requested")
