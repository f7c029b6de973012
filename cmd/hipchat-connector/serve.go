package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"golang.org/x/sync/errgroup"

	"github.com/hipchat-connector/hipchat-connector/poller"
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
	catchUpAge := fs.Duration("catch-up-max-age", 0, "skip callback events older than this `duration` when the poller reads them, e.g. after a long downtime (0: deliver everything)")
	catchUpEvents := fs.Int("catch-up-max-events", 0, "deliver at most the newest `n` events per subscription per poll, skipping older ones (0: no bound)")
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

	deliverer, err := poller.NewDeliverer(poller.DelivererOptions{
		Store: store, AllowPrivateCallbacks: opts.AllowPrivateCallbacks, Logger: logger,
	})
	if err != nil {
		return err
	}
	srv, err := server.New(opts, server.Deps{StateKey: store.ServerKey(), Store: store, Nudge: deliverer.Nudge})
	if err != nil {
		return err
	}
	// The poller calls HipChat through the actions' client: one limiter, so the two share each
	// connection's budget (background calls wait and leave actions their share).
	poll, err := poller.New(poller.Options{
		Store: store, Source: srv.Client(), Schedule: opts.PollSchedule, OnCommit: deliverer.Nudge, Logger: logger,
		CatchUp: poller.CatchUp{MaxAge: *catchUpAge, MaxEvents: *catchUpEvents},
	})
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	logger.Info("starting", "options", opts)
	fmt.Fprintf(stdout, "listening on http://%s\n", srv.Addr())

	// Every long-lived part runs here; the first to fail stops the others. They stop in order:
	// HTTP first (no new subscriptions), then the poller (no new outbox entries), then the delivery
	// worker; bbolt closes (deferred above) once all three have returned.
	parts, ctx := errgroup.WithContext(ctx)
	pollCtx, stopPoller := context.WithCancel(context.WithoutCancel(ctx))
	deliverCtx, stopDeliverer := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPoller()
	defer stopDeliverer()
	parts.Go(func() error {
		defer stopPoller()
		return srv.Run(ctx)
	})
	parts.Go(func() error {
		defer stopDeliverer()
		return poll.Run(pollCtx)
	})
	parts.Go(func() error { return deliverer.Run(deliverCtx) })
	return parts.Wait()
}
