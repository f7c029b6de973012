package serveconfig_test

import (
	"bytes"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/internal/serveconfig"
)

func TestServeConfigDefaultsAreValid(t *testing.T) {
	c := serveconfig.Default()
	require.NoError(t, c.Validate())
	assert.Equal(t, "hipchat-connector.db", c.DBPath)
	assert.Equal(t, "@every 1m", c.PollSchedule)
	assert.Equal(t, "127.0.0.1:8080", c.HTTP.Addr)
	assert.EqualValues(t, 50<<20, c.HTTP.MaxFileBytes, "HipChat's file limit")
}

func TestServeConfigValidateRejectsWhatCannotWork(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(*serveconfig.Config)
		says string
	}{
		"bad schedule":               {func(c *serveconfig.Config) { c.PollSchedule = "every minute" }, "poll-schedule"},
		"empty schedule":             {func(c *serveconfig.Config) { c.PollSchedule = "" }, "poll-schedule"},
		"no database":                {func(c *serveconfig.Config) { c.DBPath = " " }, "db:"},
		"negative age":               {func(c *serveconfig.Config) { c.CatchUp.MaxAge = -time.Second }, "catch-up-max-age"},
		"negative events":            {func(c *serveconfig.Config) { c.CatchUp.MaxEvents = -1 }, "catch-up-max-events"},
		"bad http option":            {func(c *serveconfig.Config) { c.HTTP.Addr = "nope" }, "addr"},
		"bad hipchat scheme":         {func(c *serveconfig.Config) { c.HTTP.HipChatURL = "ftp://x" }, "hipchat-url"},
		"files over HipChat's limit": {func(c *serveconfig.Config) { c.HTTP.MaxFileBytes = 50<<20 + 1 }, "max-file-bytes"},
		"negative file limit":        {func(c *serveconfig.Config) { c.HTTP.MaxFileBytes = -1 }, "max-file-bytes"},
		"no retention age":           {func(c *serveconfig.Config) { c.Retention.MaxAge = 0 }, "retention-max-age"},
		"no retention count":         {func(c *serveconfig.Config) { c.Retention.MaxPerSubscription = 0 }, "retention-per-subscription"},
		"no outbox bound":            {func(c *serveconfig.Config) { c.MaxPendingPerSubscription = 0 }, "max-pending-per-subscription"},
		// server.Options takes a zero SecretOverlap for its 24 h default: -secret-overlap 0, which
		// an operator ending a leaked secret's overlap would type, signed with it for a day more
		// while the starting log said "secret_overlap":"0s".
		"no secret overlap": {func(c *serveconfig.Config) { c.HTTP.SecretOverlap = 0 }, "secret-overlap"},
	} {
		t.Run(name, func(t *testing.T) {
			c := serveconfig.Default()
			tc.edit(&c)
			assert.ErrorContains(t, c.Validate(), tc.says)
		})
	}
	c := serveconfig.Default()
	c.HTTP.HipChatURL, c.PollSchedule = "https://u:pw@api.hipchat.com", "nope"
	err := c.Validate()
	assert.ErrorContains(t, err, "hipchat-url")
	assert.ErrorContains(t, err, "poll-schedule", "every problem is reported at once")
	assert.NotContains(t, err.Error(), "pw", "errors hide the password")
}

func TestServeConfigLogsWithoutSecretsAndDurationsAsText(t *testing.T) {
	c := serveconfig.Default()
	c.HTTP.HipChatURL = "https://u:topsecret@hipchat.example.com"
	c.HTTP.PublicURL = "https://connector.example.com/?code=querysecret"
	c.CatchUp.MaxAge = 90 * time.Minute
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, &slog.HandlerOptions{ReplaceAttr: serveconfig.DurationText})).Info("start", "config", c, "took", 20*time.Second)
	out := logged.String()
	assert.NotContains(t, out, "topsecret")
	assert.NotContains(t, out, "querysecret")
	assert.Contains(t, out, `"catch_up_max_age":"1h30m0s"`)
	assert.Contains(t, out, `"took":"20s"`, "a duration is logged as text, not nanoseconds")
	assert.Contains(t, out, `"db":"hipchat-connector.db"`)
}

func TestEtcdConfig(t *testing.T) {
	c := serveconfig.Default()
	assert.False(t, c.Etcd.Enabled(), "without -etcd-endpoints the bbolt file")
	c.Etcd.Endpoints = " 127.0.0.1:2379, ,http://10.0.0.2:2379 "
	assert.Equal(t, []string{"127.0.0.1:2379", "http://10.0.0.2:2379"}, c.Etcd.EndpointList())
	require.NoError(t, c.Validate())
	opts, err := c.Etcd.Options(nil)
	require.NoError(t, err)
	assert.Nil(t, opts.TLS, "plain connections without TLS files or https endpoints")

	c.Etcd.Prefix, c.Etcd.Cert, c.Etcd.Username = "", "client.pem", "connector"
	err = c.Validate()
	assert.ErrorContains(t, err, "etcd-prefix")
	assert.ErrorContains(t, err, "etcd-cert and etcd-key")
	assert.ErrorContains(t, err, "etcd-username and etcd-password")

	c = serveconfig.Default()
	c.Etcd.Endpoints, c.Etcd.Username, c.Etcd.Password = "127.0.0.1:2379", "connector", "etcd-topsecret"
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("start", "config", c)
	assert.NotContains(t, logged.String(), "etcd-topsecret")
	assert.Contains(t, logged.String(), `"prefix":"/hipchat-connector/"`)
}

// TestEtcdLeaseTTLIsWholeSeconds: etcd grants leases in whole seconds, so -etcd-lease-ttl 1500ms is
// refused with the nearest whole value to use, not rounded without a word (it bounds how long a
// dead replica's feeds wait for another).
func TestEtcdLeaseTTLIsWholeSeconds(t *testing.T) {
	for ttl, want := range map[time.Duration]string{
		1500 * time.Millisecond: "etcd-lease-ttl 1.5s: etcd leases are whole seconds; use 2s",
		2300 * time.Millisecond: "etcd-lease-ttl 2.3s: etcd leases are whole seconds; use 2s",
		500 * time.Millisecond:  "etcd-lease-ttl 500ms: must be at least 1s",
		2 * time.Second:         "",
	} {
		c := serveconfig.Default()
		c.Etcd.Endpoints, c.Etcd.LeaseTTL = "127.0.0.1:2379", ttl
		if want == "" {
			assert.NoError(t, c.Validate(), ttl)
		} else {
			assert.EqualError(t, c.Validate(), want)
		}
	}
}
