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

	"github.com/hipchat-connector/hipchat-connector/internal/serveconfig"
	"github.com/hipchat-connector/hipchat-connector/internal/servestore"
	"github.com/hipchat-connector/hipchat-connector/server"
)

const serveSummary = "run the connector: actions, triggers and callback subscriptions over HTTP"

// upstreamTimeout bounds one HipChat call.
const upstreamTimeout = 15 * time.Second

// runServe runs the connector until ctx ends (SIGINT or SIGTERM). It binds first, answers /readyz
// 503 while it starts (server.ServeStarting), and then prints "listening on http://ADDR" to stdout; logs go to stderr as JSON lines, each naming its component
// (http, poller, deliverer, store). Errors: errUsage for a bad command line, the configuration's
// validation errors, a busy port, and failures while serving.
func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, sources, err := parseServeConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := newServeLogger(&cfg, sources, stderr)
	// Bind first: a busy port is an error before anything is created on disk.
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("%s %s: %w", sources.Of("addr"), cfg.HTTP.Addr, err)
	}
	defer ln.Close()
	// Answer at once while the rest starts: /readyz 503 (and /healthz 200) rather than a probe held
	// in the listen queue while the database opens and the replicas join.
	stopStarting := server.ServeStarting(ln, cfg.HTTP.Logger)
	defer stopStarting()
	store, closeStore, err := servestore.Open(ctx, cfg, getenv, logger)
	if err != nil {
		return err
	}
	serving := false
	defer func() { closeStore(serving) }()
	registry := newRegistry(store, logger)
	// With etcd, this process is one of possibly several replicas: it joins them, and owns its share
	// of the feeds and deliveries. It leaves (deferred) after the poller and the deliverer stopped.
	rep, err := servestore.JoinReplicas(ctx, store, cfg.Etcd, registry, logger.With("component", "cluster"))
	if err != nil {
		return err
	}
	defer rep.Leave()
	parts, err := buildParts(cfg, store, rep, registry, logger)
	if err != nil {
		return err
	}
	if err := parts.server.ListenOn(ln); err != nil {
		return err
	}
	parts.enablePush(cfg, logger)
	serving = true
	// The log shows the public URL in use: -public-url, or the bound address's without it.
	logged := cfg
	logged.HTTP.PublicURL = parts.server.PublicURL()
	logger.Info("starting", "component", "main", "config", logged)
	stopStarting() // the server serves ln from here on
	fmt.Fprintf(stdout, "listening on http://%s\n", parts.server.Addr())
	return parts.run(ctx, store, cfg.Push)
}

// parseServeConfig reads serve's flags and environment, the operator credential, and validates
// the whole. Errors: errUsage or errHelp for the command line, the credential's and Validate's,
// each naming the environment variable of a value that came from there.
func parseServeConfig(args []string, getenv func(string) string, stderr io.Writer) (serveconfig.Config, flagSources, error) {
	cfg := serveconfig.Default()
	fs := newFlagSet("serve", serveSummary, stderr)
	cfg.Bind(fs)
	sources, err := parseFlags(fs, args, getenv)
	if err != nil {
		return cfg, nil, err
	}
	if err := cfg.LoadAdminToken(getenv); err != nil {
		return cfg, nil, sources.Explain(err)
	}
	return cfg, sources, sources.Explain(cfg.Validate())
}

// newServeLogger is the JSON log on stderr; it gives the HTTP part its logger and drops a /v2 the
// -hipchat-url should not end in, saying so.
func newServeLogger(cfg *serveconfig.Config, sources flagSources, stderr io.Writer) *slog.Logger {
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{ReplaceAttr: serveconfig.DurationText}))
	cfg.HTTP.Logger = logger.With("component", "http")
	if base, trimmed := server.TrimHipChatURL(cfg.HTTP.HipChatURL); trimmed {
		logger.Warn("hipchat-url ends in /v2, which the connector adds to every call itself; using the base URL without it",
			"component", "main", "given", sources.Of("hipchat-url"), "hipchat_url", base)
		cfg.HTTP.HipChatURL = base
	}
	return logger
}

// newRegistry is the one registry of every part's metrics, with the Go and process collectors, the
// subscriptions by status and, for a bbolt store, its file's size and free bytes.
func newRegistry(store servestore.Store, logger *slog.Logger) *prometheus.Registry {
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		server.NewSubscriptionsCollector(store, logger.With("component", "metrics")))
	if file := servestore.FileCollector(store, logger.With("component", "metrics")); file != nil {
		registry.MustRegister(file)
	}
	return registry
}
