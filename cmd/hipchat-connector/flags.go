package main

import (
	"flag"
	"io"

	"github.com/hipchat-connector/hipchat-connector/internal/flagenv"
	"github.com/hipchat-connector/hipchat-connector/internal/serveconfig"
)

// envPrefix starts the environment variable that can set each flag of serve (and definition and
// compact, so that -db comes from where serve's does): serveconfig.EnvPrefix.
const envPrefix = serveconfig.EnvPrefix

// simEnvPrefix is sim's own: a connector's HIPCHAT_CONNECTOR_ADDR must not move an emulator
// started beside it.
const simEnvPrefix = "HIPCHAT_SIM_"

// envPrefixes says which environment variables each subcommand reads; the demo reads none (its
// flags come from the command line only).
var envPrefixes = map[string]string{"serve": envPrefix, "definition": envPrefix, "compact": envPrefix, "sim": simEnvPrefix}

// errUsage and errHelp are flagenv's: a wrong command line (usage printed), and -h.
var (
	errUsage = flagenv.ErrUsage
	errHelp  = flagenv.ErrHelp
)

// flagSources says where each flag's value came from.
type flagSources = flagenv.Sources

// newFlagSet returns subcommand name's flag set, printing to stderr and never exiting.
func newFlagSet(name, summary string, stderr io.Writer) *flag.FlagSet {
	return flagenv.NewFlagSet("hipchat-connector", name, summary, envPrefixes[name], stderr)
}

// parseFlags fills fs from args, then from the subcommand's environment variables.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) (flagSources, error) {
	return flagenv.Parse(fs, args, envPrefixes[fs.Name()], getenv)
}
