// Package serveconfig is the configuration of the serve subcommand: one field per flag, each with
// its default (Default), its flag (Bind), its check (Validate) and its log form without secrets
// (LogValue), and the environment variables that stand in for the flags (EnvName) or hold secrets
// themselves (KeyEnv, AdminTokenEnv). cmd/hipchat-connector parses it and builds the parts from it.
package serveconfig

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/server"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// Config is the whole configuration of serve: one field per flag, each with one default
// (Default) and one validation (Validate).
type Config struct {
	// HTTP is the server's part: -addr, -hipchat-url, -public-url, -allow-private-callbacks and the
	// http.Server timeouts.
	HTTP server.Options
	// DBPath is the bbolt file (-db).
	DBPath string
	// KeyFile is the key that seals tokens and secrets in the database (-key-file); empty means
	// DBPath + ".key", unless HIPCHAT_CONNECTOR_KEY holds the key itself.
	KeyFile string
	// PollSchedule is the robfig/cron spec of the poller's ticks (-poll-schedule).
	PollSchedule string
	// CatchUp bounds what the poller delivers after a downtime (-catch-up-max-age,
	// -catch-up-max-events).
	CatchUp poller.CatchUp
	// CallbackRate bounds deliveries per second to one callback endpoint (-callback-rate; 0: none).
	CallbackRate float64
	// CallbackTimeout bounds one delivery attempt (-callback-timeout).
	CallbackTimeout time.Duration
	// AdminTokenFile holds the operator credential of the /admin/ routes (-admin-token-file);
	// LoadAdminToken puts it (or HIPCHAT_CONNECTOR_ADMIN_TOKEN) into HTTP.AdminToken.
	AdminTokenFile string
	// CircuitFailures is how many consecutive failed attempts open an endpoint's circuit
	// (-circuit-failures).
	CircuitFailures int
	// Push registers HipChat room webhooks as doorbells for message and file feeds (-push).
	Push bool
	// ReconcileSchedule is the robfig/cron spec whose interval is how often a feed on trusted push is
	// read anyway (-reconcile-schedule).
	ReconcileSchedule string
	// Etcd, with endpoints, keeps the state in etcd instead of the bbolt file (-etcd-*).
	Etcd Etcd
	// Retention bounds the delivery log both stores keep (-retention-max-age,
	// -retention-per-subscription); pending deliveries are never pruned.
	Retention state.Retention
	// MaxPendingPerSubscription is the bounded outbox (-max-pending-per-subscription): a
	// subscription with this many pending deliveries is held (its cursor stops) until they drain.
	MaxPendingPerSubscription int
	// MaxSubscriptionsPerConnection bounds the subscriptions one connection (token) may hold
	// (-max-subscriptions-per-connection): with the bounded outbox, what one tenant can store.
	MaxSubscriptionsPerConnection int
}

// Default returns the defaults of DESIGN.md §8.
func Default() Config {
	return Config{
		HTTP:              server.DefaultOptions(),
		DBPath:            "hipchat-connector.db",
		PollSchedule:      poller.DefaultSchedule,
		CallbackRate:      50,
		CallbackTimeout:   webhook.DefaultDeliveryTimeout,
		CircuitFailures:   delivery.DefaultCircuitFailures,
		Push:              true,
		ReconcileSchedule: "@every 5m",
		Etcd:              DefaultEtcd(),
		Retention:         state.Retention{}.WithDefaults(),

		MaxPendingPerSubscription:     poller.DefaultMaxPending,
		MaxSubscriptionsPerConnection: server.DefaultMaxSubscriptions,
	}
}

// Bind registers every flag of serve on fs, writing into c. Each help text stays short enough
// that -h lines fit in 100 columns; a second line starts with "\n".
func (c *Config) Bind(fs *flag.FlagSet) {
	fs.StringVar(&c.HTTP.Addr, "addr", c.HTTP.Addr, "`host:port` to listen on (port 0 picks a free one)")
	fs.StringVar(&c.DBPath, "db", c.DBPath, "`path` of the bbolt database (subscriptions, cursors, outbox)")
	fs.StringVar(&c.HTTP.HipChatURL, "hipchat-url", c.HTTP.HipChatURL,
		"base `URL` of HipChat (Cloud, Server or the emulator)")
	fs.StringVar(&c.HTTP.PublicURL, "public-url", c.HTTP.PublicURL,
		"`URL` where workflow engines reach the connector (default http://<addr>):\nhost of /swagger.json and base of every Location")
	fs.StringVar(&c.PollSchedule, "poll-schedule", c.PollSchedule, "robfig/cron `spec` of the poller's ticks")
	fs.BoolVar(&c.HTTP.AllowPrivateCallbacks, "allow-private-callbacks", c.HTTP.AllowPrivateCallbacks,
		"allow callback URLs on loopback and private networks (for development)")
	fs.DurationVar(&c.CatchUp.MaxAge, "catch-up-max-age", c.CatchUp.MaxAge,
		"skip callback events older than this `duration` when the poller reads them\n(e.g. after a long downtime; 0: deliver everything)")
	fs.IntVar(&c.CatchUp.MaxEvents, "catch-up-max-events", c.CatchUp.MaxEvents,
		"deliver at most the newest `n` events of a backlog per subscription, in total\n(a read then takes the whole backlog; 0: no bound)")
	fs.Float64Var(&c.CallbackRate, "callback-rate", c.CallbackRate,
		"deliveries per second to any one callback endpoint (callback URL)\nso small receivers are not flooded (0: no limit)")
	fs.DurationVar(&c.CallbackTimeout, "callback-timeout", c.CallbackTimeout,
		"how long one delivery attempt waits for the receiver's answer; a receiver slower\nthan a second is moved to the slow pool whatever this is")
	fs.IntVar(&c.CircuitFailures, "circuit-failures", c.CircuitFailures,
		"consecutive failed attempts that open a callback endpoint's circuit\n(its deliveries are held; one probe goes out per backoff step)")
	fs.BoolVar(&c.Push, "push", c.Push,
		"register HipChat room webhooks as doorbells for message and file feeds\n(needs admin_room and a -public-url HipChat reaches)")
	fs.StringVar(&c.ReconcileSchedule, "reconcile-schedule", c.ReconcileSchedule,
		"robfig/cron `spec`: how often a feed on trusted push is polled anyway")
	fs.DurationVar(&c.HTTP.SecretOverlap, "secret-overlap", c.HTTP.SecretOverlap,
		"how long a rotated-out signing secret still signs beside the new one")
	fs.Int64Var(&c.HTTP.MaxFileBytes, "max-file-bytes", c.HTTP.MaxFileBytes,
		"largest file in `bytes` ShareFileWithRoom shares (at most HipChat's 52428800, which 0 means);\na share in flight holds about four times its file in memory")
	fs.StringVar(&c.KeyFile, "key-file", c.KeyFile,
		"`path` of the key that seals tokens and secrets in the database\n(default <db>.key, created on first start; "+KeyEnv+" holds the key itself)")
	fs.StringVar(&c.AdminTokenFile, "admin-token-file", c.AdminTokenFile,
		"`path` of a file holding the operator credential of /admin/ (backup, all subscriptions);\n"+AdminTokenEnv+" holds it itself; without either, /admin/ answers 404")
	fs.DurationVar(&c.Retention.MaxAge, "retention-max-age", c.Retention.MaxAge,
		"prune finished deliveries (delivered or dead) older than this")
	fs.IntVar(&c.Retention.MaxPerSubscription, "retention-per-subscription", c.Retention.MaxPerSubscription,
		"keep at most the newest `n` finished deliveries of each subscription")
	fs.IntVar(&c.MaxPendingPerSubscription, "max-pending-per-subscription", c.MaxPendingPerSubscription,
		"pending deliveries at which a subscription is held: its cursor stops, nothing\nmore is stored, and reading resumes from it once they drain")
	fs.IntVar(&c.MaxSubscriptionsPerConnection, "max-subscriptions-per-connection", c.MaxSubscriptionsPerConnection,
		"subscriptions one connection (token) may hold; a subscribe beyond it is refused\n(409 too_many_subscriptions) until one is deleted")
	c.Etcd.bind(fs)
}

// LoadAdminToken sets HTTP.AdminToken from HIPCHAT_CONNECTOR_ADMIN_TOKEN or the file of
// -admin-token-file (server.ReadOperatorCredential).
func (c *Config) LoadAdminToken(getenv func(string) string) error {
	token, err := server.ReadOperatorCredential(getenv(AdminTokenEnv), AdminTokenEnv, c.AdminTokenFile, "admin-token-file")
	c.HTTP.AdminToken = token
	return err
}

// Validate reports every setting that cannot work, joined; nil when all can. Each error names its
// flag before its first colon, so that flagenv.Sources.Explain can name the environment variable
// that set it instead.
func (c Config) Validate() error {
	var errs []error
	if err := c.HTTP.Validate(); err != nil {
		errs = append(errs, err)
	}
	if strings.TrimSpace(c.DBPath) == "" {
		errs = append(errs, errors.New("db: a database path is required"))
	}
	if err := poller.ValidateSchedule(c.PollSchedule); err != nil {
		errs = append(errs, fmt.Errorf("poll-schedule: %w", err))
	}
	if c.CatchUp.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("catch-up-max-age %s: must not be negative", c.CatchUp.MaxAge))
	}
	if c.CatchUp.MaxEvents < 0 {
		errs = append(errs, fmt.Errorf("catch-up-max-events %d: must not be negative", c.CatchUp.MaxEvents))
	}
	if c.CallbackRate < 0 {
		errs = append(errs, fmt.Errorf("callback-rate %v: must not be negative (0: no limit)", c.CallbackRate))
	}
	if err := poller.ValidateSchedule(c.ReconcileSchedule); err != nil {
		errs = append(errs, fmt.Errorf("reconcile-schedule: %w", err))
	}
	if c.CallbackTimeout <= 0 {
		errs = append(errs, fmt.Errorf("callback-timeout %s: must be positive", c.CallbackTimeout))
	}
	if c.CircuitFailures < 1 {
		errs = append(errs, fmt.Errorf("circuit-failures %d: must be at least 1", c.CircuitFailures))
	}
	// server.Options reads a zero overlap as its default (24 h), not as none.
	if c.HTTP.SecretOverlap <= 0 {
		errs = append(errs, fmt.Errorf("secret-overlap %s: must be positive (1s ends the old secret almost at once)", c.HTTP.SecretOverlap))
	}
	if c.Retention.MaxAge <= 0 {
		errs = append(errs, fmt.Errorf("retention-max-age %s: must be positive", c.Retention.MaxAge))
	}
	if c.Retention.MaxPerSubscription < 1 {
		errs = append(errs, fmt.Errorf("retention-per-subscription %d: must be at least 1", c.Retention.MaxPerSubscription))
	}
	if c.MaxPendingPerSubscription < 1 {
		errs = append(errs, fmt.Errorf("max-pending-per-subscription %d: must be at least 1", c.MaxPendingPerSubscription))
	}
	if c.MaxSubscriptionsPerConnection < 1 {
		errs = append(errs, fmt.Errorf("max-subscriptions-per-connection %d: must be at least 1", c.MaxSubscriptionsPerConnection))
	}
	if err := c.Etcd.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// LogValue prints the configuration without secrets (the HTTP options hide URL passwords and
// queries; the key file is a path, the key itself is never here).
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("http", c.HTTP),
		slog.String("db", c.DBPath),
		slog.String("key_file", c.KeyFile),
		slog.String("poll_schedule", c.PollSchedule),
		slog.String("catch_up_max_age", c.CatchUp.MaxAge.String()),
		slog.Int("catch_up_max_events", c.CatchUp.MaxEvents),
		slog.Float64("callback_rate", c.CallbackRate),
		slog.String("callback_timeout", c.CallbackTimeout.String()),
		slog.Int("circuit_failures", c.CircuitFailures),
		slog.Bool("push", c.Push),
		slog.String("reconcile_schedule", c.ReconcileSchedule),
		slog.String("admin_token_file", c.AdminTokenFile),
		slog.String("retention_max_age", c.Retention.MaxAge.String()),
		slog.Int("retention_per_subscription", c.Retention.MaxPerSubscription),
		slog.Int("max_pending_per_subscription", c.MaxPendingPerSubscription),
		slog.Int("max_subscriptions_per_connection", c.MaxSubscriptionsPerConnection),
		slog.Any("etcd", c.Etcd),
	)
}

// DurationText keeps durations readable in JSON logs ("20s", not 20000000000): a
// slog.HandlerOptions.ReplaceAttr.
func DurationText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
}
