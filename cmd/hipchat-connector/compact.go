package main

import (
	"context"
	"fmt"
	"io"

	"github.com/hipchat-connector/hipchat-connector/state/bolt"
)

const compactSummary = "give a stopped connector's bbolt file its free pages back (offline; keeps the key file)"

// runCompact compacts the bbolt file of -db in place (bolt.Compact); the connector must be stopped.
// Errors: errUsage for a bad command line; bolt.Compact's (a running connector holds the file).
func runCompact(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("compact", compactSummary, stderr)
	db := fs.String("db", "", "`path` of the bbolt database to compact (required; stop the connector first)")
	if _, err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if *db == "" {
		fmt.Fprintln(stderr, "-db is required")
		fs.Usage()
		return errUsage
	}
	done, err := bolt.Compact(*db, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "compacted %s: %s\n", *db, done)
	return nil
}
