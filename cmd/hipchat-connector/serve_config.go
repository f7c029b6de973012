package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/server"
)

// serveConfig is the whole configuration of serve: one field per flag, each with one default
// (defaultServeConfig) and one validation (Validate).
type serveConfig struct {
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
	// CircuitFailures is how many consecutive failed attempts open an endpoint's circuit
	// (-circuit-failures).
	CircuitFailures int
	// Etcd, with endpoints, keeps the state in etcd instead of the bbolt file (-etcd-*).
	Etcd etcdConfig
}

// defaultServeConfig returns the defaults of DESIGN.md §8.
func defaultServeConfig() serveConfig {
	return serveConfig{
		HTTP:            server.DefaultOptions(),
		DBPath:          "hipchat-connector.db",
		PollSchedule:    poller.DefaultSchedule,
		CallbackRate:    50,
		CircuitFailures: delivery.DefaultCircuitFailures,
		Etcd:            defaultEtcdConfig(),
	}
}

// bind registers every flag of serve on fs, writing into c.
func (c *serveConfig) bind(fs *flag.FlagSet) {
	fs.StringVar(&c.HTTP.Addr, "addr", c.HTTP.Addr, "`host:port` to listen on (port 0 picks a free one)")
	fs.StringVar(&c.DBPath, "db", c.DBPath, "`path` of the bbolt database (subscriptions, cursors, outbox)")
	fs.StringVar(&c.HTTP.HipChatURL, "hipchat-url", c.HTTP.HipChatURL, "base `URL` of HipChat v2 (Cloud, Server, or the emulator)")
	fs.StringVar(&c.HTTP.PublicURL, "public-url", c.HTTP.PublicURL, "`URL` where workflow engines reach the connector: host of /swagger.json and base of every Location (default http://<addr>)")
	fs.StringVar(&c.PollSchedule, "poll-schedule", c.PollSchedule, "robfig/cron `spec` of the poller's ticks")
	fs.BoolVar(&c.HTTP.AllowPrivateCallbacks, "allow-private-callbacks", c.HTTP.AllowPrivateCallbacks, "allow callback URLs on loopback and private networks")
	fs.DurationVar(&c.CatchUp.MaxAge, "catch-up-max-age", c.CatchUp.MaxAge, "skip callback events older than this `duration` when the poller reads them, e.g. after a long downtime (0: deliver everything)")
	fs.IntVar(&c.CatchUp.MaxEvents, "catch-up-max-events", c.CatchUp.MaxEvents, "deliver at most the newest `n` events per subscription per poll, skipping older ones (0: no bound)")
	fs.Float64Var(&c.CallbackRate, "callback-rate", c.CallbackRate, "deliveries per second to any one callback endpoint (scheme, host and port), so small receivers are not flooded (0: no limit)")
	fs.IntVar(&c.CircuitFailures, "circuit-failures", c.CircuitFailures, "consecutive failed attempts that open a callback endpoint's circuit: its deliveries are held and one probe goes out per backoff step")
	fs.DurationVar(&c.HTTP.SecretOverlap, "secret-overlap", c.HTTP.SecretOverlap, "how long the old signing secret still signs deliveries, beside the new one, after rotate-secret")
	fs.StringVar(&c.KeyFile, "key-file", c.KeyFile, "`path` of the key that seals tokens and secrets in the database (default <db>.key, created on first start; "+keyEnv+" holds the key itself instead)")
	c.Etcd.bind(fs)
}

// Validate reports every setting that cannot work, joined; nil when all can.
func (c serveConfig) Validate() error {
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
	if c.CircuitFailures < 1 {
		errs = append(errs, fmt.Errorf("circuit-failures %d: must be at least 1", c.CircuitFailures))
	}
	if err := c.Etcd.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// LogValue prints the configuration without secrets (the HTTP options hide URL passwords and
// queries; the key file is a path, the key itself is never here).
func (c serveConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("http", c.HTTP),
		slog.String("db", c.DBPath),
		slog.String("key_file", c.KeyFile),
		slog.String("poll_schedule", c.PollSchedule),
		slog.String("catch_up_max_age", c.CatchUp.MaxAge.String()),
		slog.Int("catch_up_max_events", c.CatchUp.MaxEvents),
		slog.Float64("callback_rate", c.CallbackRate),
		slog.Int("circuit_failures", c.CircuitFailures),
		slog.Any("etcd", c.Etcd),
	)
}

// durationText keeps durations readable in JSON logs ("20s", not 20000000000).
func durationText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
}
