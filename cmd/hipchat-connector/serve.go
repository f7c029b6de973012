package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"golang.org/x/sync/errgroup"

	"github.com/hipchat-connector/hipchat-connector/server"
)

const serveSummary = "run the connector: actions, triggers and callback subscriptions over HTTP"

// runServe runs the connector until ctx ends (SIGINT or SIGTERM). It binds first and then prints
// "listening on http://ADDR" to stdout; logs go to stderr as JSON lines. Errors: errUsage for a bad
// command line, the options' validation errors, a busy port, and failures while serving.
func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	def := server.DefaultOptions()
	fs := newFlagSet("serve", serveSummary, stderr)
	addr := fs.String("addr", def.Addr, "`host:port` to listen on (port 0 picks a free one)")
	dbPath := fs.String("db", def.DBPath, "`path` of the bbolt database (subscriptions, cursors, outbox)")
	hipchatURL := fs.String("hipchat-url", def.HipChatURL, "base `URL` of HipChat v2 (Cloud, Server, or the emulator)")
	publicURL := fs.String("public-url", "", "`URL` where workflow engines reach the connector: host of /swagger.json and base of every Location (default http://<addr>)")
	pollSchedule := fs.String("poll-schedule", def.PollSchedule, "robfig/cron `spec` of the poller's ticks")
	allowPrivate := fs.Bool("allow-private-callbacks", def.AllowPrivateCallbacks, "allow callback URLs on loopback and private networks")
	keyFile := fs.String("key-file", "", "`path` of the key that seals tokens and secrets in the database (default <db>.key, created on first start; "+keyEnv+" holds the key itself instead)")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}

	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	opts := def
	opts.Addr = *addr
	opts.DBPath = *dbPath
	opts.HipChatURL = *hipchatURL
	opts.PublicURL = *publicURL
	opts.PollSchedule = *pollSchedule
	opts.AllowPrivateCallbacks = *allowPrivate
	opts.Logger = logger

	if err := opts.Validate(); err != nil {
		return err
	}
	store, err := openStore(opts.DBPath, *keyFile, getenv)
	if err != nil {
		return err
	}
	defer store.Close()

	srv, err := server.New(opts, server.Deps{StateKey: store.ServerKey()})
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	logger.Info("starting", "options", opts)
	fmt.Fprintf(stdout, "listening on http://%s\n", srv.Addr())

	// Every long-lived part runs here; the first to fail stops the others.
	parts, ctx := errgroup.WithContext(ctx)
	parts.Go(func() error { return srv.Run(ctx) })
	return parts.Wait()
}
