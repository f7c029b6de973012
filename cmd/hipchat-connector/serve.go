package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/server"
)

const serveSummary = "run the connector: actions, triggers and callback subscriptions over HTTP"

// upstreamTimeout bounds one HipChat call.
const upstreamTimeout = 15 * time.Second

// subscriptionCounter is the store's part the subscriptions metric reads.
type subscriptionCounter = server.SubscriptionCounter

// runServe runs the connector until ctx ends (SIGINT or SIGTERM). It binds first and then prints
// "listening on http://ADDR" to stdout; logs go to stderr as JSON lines, each naming its component
// (http, poller, deliverer, store). Errors: errUsage for a bad command line, the configuration's
// validation errors, a busy port, and failures while serving.
func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := defaultServeConfig()
	fs := newFlagSet("serve", serveSummary, stderr)
	cfg.bind(fs)
	sources, err := parseFlags(fs, args, getenv)
	if err != nil {
		return err
	}
	if err := cfg.loadAdminToken(getenv); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{ReplaceAttr: durationText}))
	cfg.HTTP.Logger = logger.With("component", "http")
	if base, trimmed := server.TrimHipChatURL(cfg.HTTP.HipChatURL); trimmed {
		logger.Warn("hipchat-url ends in /v2, which the connector adds to every call itself; using the base URL without it",
			"component", "main", "given", sources.of("hipchat-url"), "hipchat_url", base)
		cfg.HTTP.HipChatURL = base
	}

	// Bind first: a busy port is an error before anything is created on disk.
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("%s %s: %w", sources.of("addr"), cfg.HTTP.Addr, err)
	}
	defer ln.Close()

	// A start that fails removes the database and key file it created, so that a retry with
	// another setting does not find a half-made installation.
	created := newCreatedFiles(cfg.DBPath, keyFilePath(cfg.DBPath, cfg.KeyFile, getenv))
	store, err := openConfiguredStore(ctx, cfg, getenv, logger.With("component", "store"))
	if err != nil {
		created.remove()
		return err
	}
	serving := false
	defer func() {
		if err := store.Close(); err != nil {
			logger.Error("closing the store failed", "component", "store", "err", err)
		}
		if !serving {
			created.remove()
		}
	}()

	// main wires: one registry for every part's metrics, one HipChat client (and so one limiter) for
	// the actions, the polling triggers and the poller, so they share each connection's budget
	// (background calls wait and leave actions their share).
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		server.NewSubscriptionsCollector(store, logger.With("component", "metrics")))
	// With etcd, this process is one of possibly several replicas: it joins them, and owns its share
	// of the feeds and deliveries. It leaves (deferred) after the poller and the deliverer stopped.
	rep, err := joinReplicas(ctx, store, cfg.Etcd, registry, logger.With("component", "cluster"))
	if err != nil {
		return err
	}
	defer rep.leave(logger.With("component", "cluster"))
	client, err := connector.NewInstrumentedClient(connector.ClientOptions{Timeout: upstreamTimeout, Registerer: registry, Limiter: rep.limiter()})
	if err != nil {
		return err
	}
	deliverer, err := delivery.New(delivery.Options{
		Store: store, AllowPrivateCallbacks: cfg.HTTP.AllowPrivateCallbacks, Logger: logger.With("component", "deliverer"),
		EndpointRate: cfg.CallbackRate, CircuitFailures: cfg.CircuitFailures, Registerer: registry,
		Owns: rep.ownsSubscription(),
	})
	if err != nil {
		return err
	}
	poll, err := poller.New(poller.Options{
		Store: store, Source: client, Budgets: client, Schedule: cfg.PollSchedule, OnCommit: deliverer.Nudge,
		Logger: logger.With("component", "poller"), CatchUp: cfg.CatchUp, Registerer: registry,
		Owns: rep.ownsFeed(),
	})
	if err != nil {
		return err
	}
	planOf := rep.pollPlan(poll) // with replicas, the owner's plan, wherever it is asked
	srv, err := server.New(cfg.HTTP, server.Deps{
		Client: client, StateKey: store.ServerKey(), Store: store, Operator: store, Nudge: deliverer.Nudge,
		Changed: func(id string) {
			poll.Changed(id)
			deliverer.Forget(id)
		},
		PollPlan: func(connectionID string) (server.PollPlan, bool) {
			plan, ok := planOf(connectionID)
			return server.PollPlan{
				Feeds: plan.Feeds, ReadsPerTick: plan.ReadsPerTick, ExpectedLagSeconds: plan.ExpectedLag.Seconds(),
				OverBudget: plan.OverBudget, HipChatLimit: plan.HipChatLimit,
			}, ok
		},
		Doorbell:   rep.relay.answer(poll),
		PushStatus: rep.pushStatus(poll),
		Registry:   registry,
		Ready:      rep.ready(),
	})
	if err != nil {
		return err
	}
	// When the replicas change, feeds and deliveries move: the poller reads its subscriptions again
	// (cursors other replicas advanced) and the deliverer looks for what is now its own.
	rep.onChange(func() {
		poll.TickSoon() // the feeds this replica gains are read now, not at the next tick
		deliverer.Nudge()
	})
	if err := srv.ListenOn(ln); err != nil {
		return err
	}
	if cfg.Push {
		reconcile, _ := poller.ScheduleInterval(cfg.ReconcileSchedule) // validated above
		poll.EnablePush(poller.PushOptions{URL: srv.PublicURL(), Key: store.ServerKey(), Webhooks: client, Reconcile: reconcile})
		if rep.relay != nil && cfg.HTTP.PublicURL == "" {
			logger.Warn("push with replicas needs -public-url: the one URL (a load balancer) HipChat calls for every replica; "+
				"without it each replica registers doorbells at its own address, and a feed that moves gets a second set",
				"component", "main", "public_url", srv.PublicURL())
		}
	}
	serving = true
	logger.Info("starting", "component", "main", "config", cfg)
	fmt.Fprintf(stdout, "listening on http://%s\n", srv.Addr())

	// Every long-lived part runs here; the first to fail stops the others. They stop in order:
	// HTTP first (no new subscriptions), then the poller (no new outbox entries), then the delivery
	// worker; the store (bbolt or etcd) closes (deferred above) once all three have returned.
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
	if rep.status != nil {
		parts.Go(func() error {
			rep.status.run(pollCtx, poll, rep.ownsConnection)
			return nil
		})
	}
	if rep.relay != nil && cfg.Push {
		parts.Go(func() error {
			rep.relay.run(pollCtx, poll.RingOwned)
			return nil
		})
	}
	if w, ok := store.(subscriptionWatcher); ok {
		// etcd: what another replica's API changed (a subscription created, paused, re-secreted,
		// deleted) reaches this replica's poller and deliverer now, not at the next resync.
		parts.Go(func() error {
			w.WatchSubscriptions(pollCtx, func(id string) {
				if id == "" {
					poll.Reload()
				} else {
					poll.Changed(id)
					deliverer.Forget(id)
				}
				deliverer.Nudge()
			})
			return nil
		})
	}
	return parts.Wait()
}
