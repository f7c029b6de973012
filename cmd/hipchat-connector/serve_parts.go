package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/hipchat-connector/hipchat-connector/cluster"
	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/internal/serveconfig"
	"github.com/hipchat-connector/hipchat-connector/internal/servestore"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/server"
)

// serveParts are the connector's long-lived parts, wired to each other by buildParts.
type serveParts struct {
	logger    *slog.Logger
	replica   *cluster.Replica // nil: one process (bbolt), owning everything
	client    *connector.Client
	deliverer *delivery.Deliverer
	poller    *poller.Poller
	status    *cluster.StatusBoard[poller.Plan, poller.PushState]
	server    *server.Server
}

// buildParts makes one HipChat client (and so one limiter, shared over the replicas with etcd) for
// the actions, the polling triggers and the poller, so they share each connection's budget
// (background calls wait and leave actions their share); then the deliverer, the poller and the
// server. Errors: each part's options.
func buildParts(cfg serveconfig.Config, store servestore.Store, rep *cluster.Replica, registry *prometheus.Registry, logger *slog.Logger) (*serveParts, error) {
	p := &serveParts{replica: rep, logger: logger}
	limiter, err := clientLimiter(rep)
	if err != nil {
		return nil, err
	}
	p.client, err = connector.NewInstrumentedClient(connector.ClientOptions{Timeout: upstreamTimeout, Registerer: registry, Limiter: limiter})
	if err != nil {
		return nil, err
	}
	if err := resumeClient(p.client, store, logger); err != nil {
		return nil, err
	}
	p.deliverer, err = delivery.New(delivery.Options{
		Store: store, AllowPrivateCallbacks: cfg.HTTP.AllowPrivateCallbacks, Logger: logger.With("component", "deliverer"),
		EndpointRate: cfg.CallbackRate, CircuitFailures: cfg.CircuitFailures, Timeout: cfg.CallbackTimeout, Registerer: registry,
		Owns: rep.OwnsSubscription(),
	})
	if err != nil {
		return nil, err
	}
	p.poller, err = poller.New(poller.Options{
		Store: store, Source: p.client, Budgets: p.client, Schedule: cfg.PollSchedule, OnCommit: p.deliverer.Nudge,
		Logger: logger.With("component", "poller"), CatchUp: cfg.CatchUp, Registerer: registry,
		Owns: rep.OwnsFeed(), MaxPending: cfg.MaxPendingPerSubscription,
	})
	if err != nil {
		return nil, err
	}
	// With replicas, the poll plan and push state are the owner's, wherever they are asked.
	p.status = cluster.NewStatusBoard[poller.Plan, poller.PushState](rep, p.poller)
	p.server, err = server.New(cfg.HTTP, server.Deps{
		Client: p.client, StateKey: store.ServerKey(), Store: store, Operator: store, Nudge: p.deliverer.Nudge,
		Changed: p.subscriptionChanged, PollPlan: p.pollPlan, Doorbell: rep.Doorbell(p.poller),
		PushStatus: p.status.PushStatus, Registry: registry, Ready: rep.Ready(), MaxPending: cfg.MaxPendingPerSubscription,
		MaxSubscriptions: cfg.MaxSubscriptionsPerConnection,
	})
	if err != nil {
		return nil, err
	}
	// When the replicas change, feeds and deliveries move: the poller reads its subscriptions again
	// (cursors other replicas advanced) and the deliverer looks for what is now its own.
	rep.OnChange(func() {
		p.poller.TickSoon() // the feeds this replica gains are read now, not at the next tick
		p.deliverer.Nudge()
	})
	return p, nil
}

// subscriptionChanged tells the poller and the deliverer to read subscription id again.
func (p *serveParts) subscriptionChanged(id string) {
	p.poller.Changed(id)
	p.deliverer.Forget(id)
}

// pollPlan is the server's view of how a connection's feeds are read.
func (p *serveParts) pollPlan(connectionID string) (server.PollPlan, bool) {
	plan, ok := p.status.Plan(connectionID)
	return server.PollPlan{
		Feeds: plan.Feeds, ReadsPerTick: plan.ReadsPerTick, ExpectedLagSeconds: plan.ExpectedLag.Seconds(),
		OverBudget: plan.OverBudget, HipChatLimit: plan.HipChatLimit,
	}, ok
}

// enablePush registers HipChat room webhooks as doorbells at the server's public URL (-push).
func (p *serveParts) enablePush(cfg serveconfig.Config, logger *slog.Logger) {
	if !cfg.Push {
		return
	}
	reconcile, _ := poller.ScheduleInterval(cfg.ReconcileSchedule) // validated with the configuration
	p.poller.EnablePush(poller.PushOptions{URL: p.server.PublicURL(), Webhooks: p.client, Reconcile: reconcile})
	if p.replica != nil && cfg.HTTP.PublicURL == "" {
		logger.Warn("push with replicas needs -public-url: the one URL (a load balancer) HipChat calls for every replica; "+
			"without it each replica registers doorbells at its own address, and a feed that moves gets a second set",
			"component", "main", "public_url", p.server.PublicURL())
	}
}

// run runs every part until ctx ends; the first to fail stops the others. They stop in order:
// HTTP first (no new subscriptions), then the poller (no new outbox entries), then the delivery
// worker; runServe closes the store once all have returned.
func (p *serveParts) run(ctx context.Context, store servestore.Store, push bool) error {
	parts, ctx := errgroup.WithContext(ctx)
	pollCtx, stopPoller := context.WithCancel(context.WithoutCancel(ctx))
	deliverCtx, stopDeliverer := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPoller()
	defer stopDeliverer()
	parts.Go(func() error {
		defer stopPoller()
		return p.server.Run(ctx)
	})
	parts.Go(func() error {
		defer stopDeliverer()
		return p.poller.Run(pollCtx)
	})
	parts.Go(func() error { return p.deliverer.Run(deliverCtx) })
	parts.Go(func() error {
		return p.client.KeepKnownTokens(pollCtx, store, knownTokensEvery, func(err error) {
			p.logger.Warn("keeping the tokens HipChat accepted failed; trying again", "component", "store", "err", err)
		})
	})
	// With replicas: publish the poll status of the connections this one owns, and ring the
	// doorbells the others forward (both return at once without).
	parts.Go(func() error {
		p.status.Run(pollCtx)
		return nil
	})
	if push {
		parts.Go(func() error {
			p.replica.RelayDoorbells(pollCtx, p.poller)
			return nil
		})
	}
	if w, ok := store.(servestore.Watcher); ok {
		// etcd: what another replica's API changed (a subscription created, paused, re-secreted,
		// deleted) reaches this replica's poller and deliverer now, not at the next resync.
		parts.Go(func() error {
			w.WatchSubscriptions(pollCtx, func(id string) {
				if id == "" {
					p.poller.Reload()
				} else {
					p.subscriptionChanged(id)
				}
				p.deliverer.Nudge()
			})
			return nil
		})
	}
	err := parts.Wait()
	p.saveClient(store)
	return err
}
