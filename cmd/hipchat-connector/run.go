package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
)

// subcommand runs one subcommand with its own arguments.
type subcommand struct {
	summary string
	run     func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error
}

// subcommands lists every subcommand of the binary (DESIGN.md §8).
func subcommands() map[string]subcommand {
	return map[string]subcommand{
		"compact":    {summary: compactSummary, run: runCompact},
		"definition": {summary: definitionSummary, run: runDefinition},
		"demo":       {summary: demoSummary, run: runDemo},
		"sim":        {summary: simSummary, run: runSim},
		"serve":      {summary: serveSummary, run: runServe},
		"version":    {summary: versionSummary, run: runVersion},
	}
}

// run is the whole program: it picks the subcommand named by args[0] and runs it until ctx ends.
// It returns errUsage for an unknown or missing subcommand, after printing the usage to stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmds := subcommands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr, cmds)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	if args[0] == "-version" || args[0] == "--version" {
		args = append([]string{"version"}, args[1:]...)
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "unknown subcommand %q\n\n", args[0])
		printUsage(stderr, cmds)
		return errUsage
	}
	err := cmd.run(ctx, args[1:], getenv, stdout, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

func printUsage(w io.Writer, cmds map[string]subcommand) {
	names := make([]string, 0, len(cmds))
	for name := range cmds {
		names = append(names, name)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: hipchat-connector <subcommand> [flags]")
	fmt.Fprintln(w, "\nsubcommands:")
	for _, name := range names {
		fmt.Fprintf(w, "  %-11s %s\n", name, cmds[name].summary)
	}
	fmt.Fprintln(w, "\nRun 'hipchat-connector <subcommand> -h' for its flags, 'hipchat-connector -version' for the build.")
}
