package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/internal/serveconfig"
	"github.com/hipchat-connector/hipchat-connector/internal/servestore"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// TestServeStorageSettingsComeFromFlagsOrTheEnvironment: the retention and the outbox's bound have
// the defaults DESIGN.md names, are read from their flags or HIPCHAT_CONNECTOR_* (the flag wins), and
// are logged.
func TestServeStorageSettingsComeFromFlagsOrTheEnvironment(t *testing.T) {
	c := serveconfig.Default()
	assert.Equal(t, 7*24*time.Hour, c.Retention.MaxAge)
	assert.Equal(t, 1000, c.Retention.MaxPerSubscription)
	assert.Equal(t, 10_000, c.MaxPendingPerSubscription)
	assert.Equal(t, 100, c.MaxSubscriptionsPerConnection)

	env := map[string]string{
		"HIPCHAT_CONNECTOR_RETENTION_MAX_AGE":                "48h",
		"HIPCHAT_CONNECTOR_RETENTION_PER_SUBSCRIPTION":       "50",
		"HIPCHAT_CONNECTOR_MAX_PENDING_PER_SUBSCRIPTION":     "200",
		"HIPCHAT_CONNECTOR_MAX_SUBSCRIPTIONS_PER_CONNECTION": "7",
	}
	var stderr bytes.Buffer
	c, _, err := parseServeConfig([]string{"-retention-per-subscription", "70"}, func(k string) string { return env[k] }, &stderr)
	require.NoError(t, err)
	assert.Equal(t, 48*time.Hour, c.Retention.MaxAge)
	assert.Equal(t, 70, c.Retention.MaxPerSubscription, "the command line wins")
	assert.Equal(t, 200, c.MaxPendingPerSubscription)
	assert.Equal(t, 7, c.MaxSubscriptionsPerConnection)

	env["HIPCHAT_CONNECTOR_RETENTION_MAX_AGE"] = "-1h"
	_, _, err = parseServeConfig(nil, func(k string) string { return env[k] }, &stderr)
	assert.ErrorContains(t, err, "HIPCHAT_CONNECTOR_RETENTION_MAX_AGE (-retention-max-age) -1h0m0s: must be positive")

	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, &slog.HandlerOptions{ReplaceAttr: serveconfig.DurationText})).Info("start", "config", c)
	assert.Contains(t, logged.String(), `"retention_max_age":"48h0m0s"`)
	assert.Contains(t, logged.String(), `"retention_per_subscription":70`)
	assert.Contains(t, logged.String(), `"max_pending_per_subscription":200`)
}

// TestTheRetentionFlagsReachTheStore: the store serve opens prunes by -retention-per-subscription and
// -retention-max-age.
func TestTheRetentionFlagsReachTheStore(t *testing.T) {
	var stderr bytes.Buffer
	cfg, _, err := parseServeConfig([]string{"-db", filepath.Join(t.TempDir(), "c.db"),
		"-retention-per-subscription", "2", "-retention-max-age", "1h"}, func(string) string { return "" }, &stderr)
	require.NoError(t, err)
	store, closeStore, err := servestore.Open(context.Background(), cfg, func(string) string { return "" }, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer closeStore(true)
	conn := connector.NewConnection("token", "https://api.hipchat.com")
	sub := testkit.AddSubscription(t, store, conn, triggers.KindMessage, "1", "https://sink.example/hook", nil)
	testkit.Queue(t, store, sub, "e1", "e2", "e3", "e4")
	testkit.DeliverPending(t, store, sub.ID, time.Now())
	pruned, err := store.Prune(time.Now())
	require.NoError(t, err)
	assert.Equal(t, 2, pruned, "the newest 2 finished are kept")
	pruned, err = store.Prune(time.Now().Add(2 * time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 2, pruned, "and none older than an hour")
}

// TestServeNamesTheVariableOfABadValueFromTheEnvironment: a value from HIPCHAT_CONNECTOR_* that
// fails its check is reported by the variable that held it (an operator who never typed
// -poll-schedule looks for it in the environment), with the flag beside it; one from the command
// line by its flag alone; and a secret's value (a key, a token, a password, a URL's password) is
// never in the error.
func TestServeNamesTheVariableOfABadValueFromTheEnvironment(t *testing.T) {
	for name, tc := range map[string]struct {
		args   []string
		env    map[string]string
		want   string
		secret string
	}{
		"unparsable schedule": {nil, map[string]string{"HIPCHAT_CONNECTOR_POLL_SCHEDULE": "abc"},
			"HIPCHAT_CONNECTOR_POLL_SCHEDULE (-poll-schedule): ", ""},
		"negative retention": {nil, map[string]string{"HIPCHAT_CONNECTOR_RETENTION_MAX_AGE": "-1h"},
			"HIPCHAT_CONNECTOR_RETENTION_MAX_AGE (-retention-max-age) -1h0m0s: must be positive", ""},
		"the command line wins and is named as a flag": {[]string{"-retention-max-age", "-2h"},
			map[string]string{"HIPCHAT_CONNECTOR_RETENTION_MAX_AGE": "1h"}, "retention-max-age -2h0m0s: must be positive", ""},
		"etcd password without a user": {nil, map[string]string{"HIPCHAT_CONNECTOR_ETCD_ENDPOINTS": "127.0.0.1:2379",
			"HIPCHAT_CONNECTOR_ETCD_PASSWORD": "etcd-pw-secret"}, "HIPCHAT_CONNECTOR_ETCD_PASSWORD (-etcd-password): give both or neither", "etcd-pw-secret"},
		"lease ttl of no whole seconds": {nil, map[string]string{"HIPCHAT_CONNECTOR_ETCD_ENDPOINTS": "127.0.0.1:2379",
			"HIPCHAT_CONNECTOR_ETCD_LEASE_TTL": "1500ms"}, "HIPCHAT_CONNECTOR_ETCD_LEASE_TTL (-etcd-lease-ttl) 1.5s: etcd leases are whole seconds; use 2s", ""},
		"short operator credential": {nil, map[string]string{"HIPCHAT_CONNECTOR_ADMIN_TOKEN": "short-secret"},
			"HIPCHAT_CONNECTOR_ADMIN_TOKEN: ", "short-secret"},
		"missing operator credential file": {nil, map[string]string{"HIPCHAT_CONNECTOR_ADMIN_TOKEN_FILE": "/nonexistent/operator"},
			"HIPCHAT_CONNECTOR_ADMIN_TOKEN_FILE (-admin-token-file): ", ""},
		"unparsable hipchat url with a password": {nil, map[string]string{"HIPCHAT_CONNECTOR_HIPCHAT_URL": "https://u:url-secret@hip chat"},
			"HIPCHAT_CONNECTOR_HIPCHAT_URL (-hipchat-url)", "url-secret"},
		"unparsable public url with a password": {nil, map[string]string{"HIPCHAT_CONNECTOR_PUBLIC_URL": "https://u:url-secret@con nector"},
			"HIPCHAT_CONNECTOR_PUBLIC_URL (-public-url)", "url-secret"},
		"public url with a password": {nil, map[string]string{"HIPCHAT_CONNECTOR_PUBLIC_URL": "https://u:url-secret@connector.example.com"},
			"HIPCHAT_CONNECTOR_PUBLIC_URL (-public-url)", "url-secret"},
	} {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			_, _, err := parseServeConfig(tc.args, func(k string) string { return tc.env[k] }, &stderr)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			if tc.args != nil {
				assert.NotContains(t, err.Error(), "HIPCHAT_CONNECTOR_", "a value from the command line is named by its flag")
			}
			if tc.secret != "" {
				assert.NotContains(t, err.Error(), tc.secret, "a secret's value is never in an error")
			}
		})
	}
}

// TestServeStartLogShowsThePublicURLInUse: the "starting" line logs the public URL every Location
// and /swagger.json carry, the bound address's when -public-url is not given (it logged "" there).
func TestServeStartLogShowsThePublicURLInUse(t *testing.T) {
	sim := startEmulator(t)
	for name, publicURL := range map[string]string{
		"defaulted from the bound address": "",
		"given":                            "https://connector.example.com/hipchat",
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr lockedBuffer
			ctx, cancel := contextWithCancel()
			done := make(chan error, 1)
			args := []string{"serve", "-addr", "127.0.0.1:0", "-hipchat-url", sim.URL, "-db", filepath.Join(t.TempDir(), "c.db")}
			if publicURL != "" {
				args = append(args, "-public-url", publicURL)
			}
			go func() { done <- run(ctx, args, func(string) string { return "" }, &stdout, &stderr) }()
			base := waitListening(t, &stdout)
			cancel()
			require.NoError(t, <-done)

			want := publicURL
			if want == "" {
				want = base
			}
			var logged []string
			for _, line := range strings.Split(stderr.String(), "\n") {
				var entry struct {
					Msg    string
					Config struct {
						HTTP struct {
							PublicURL string `json:"public_url"`
						}
					}
				}
				if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "starting" {
					logged = append(logged, entry.Config.HTTP.PublicURL)
				}
			}
			assert.Equal(t, []string{want}, logged, "one start line, with the public URL in use")
		})
	}
}

// TestServeRefusesADamagedDatabase: serve on a bbolt file whose pages a torn copy zeroed ends with
// an error that names the file and says to restore a backup (it panicked inside bbolt, a Go stack
// trace), and leaves the file as it was.
func TestServeRefusesADamagedDatabase(t *testing.T) {
	sim := startEmulator(t)
	path := filepath.Join(t.TempDir(), "connector.db")
	args := []string{"serve", "-addr", "127.0.0.1:0", "-hipchat-url", sim.URL, "-db", path}
	var stdout lockedBuffer
	ctx, cancel := contextWithCancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, func(string) string { return "" }, &stdout, io.Discard) }()
	waitListening(t, &stdout)
	cancel()
	require.NoError(t, <-done)

	file, err := os.ReadFile(path)
	require.NoError(t, err)
	pageSize := os.Getpagesize()
	for i := 2 * pageSize; i < len(file); i++ {
		file[i] = 0 // every page but the two meta pages: a copy torn after its first 8 kB
	}
	require.NoError(t, os.WriteFile(path, file, 0o600))

	var stderr bytes.Buffer
	require.NotPanics(t, func() { err = run(context.Background(), args, func(string) string { return "" }, io.Discard, &stderr) })
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), "damaged")
	assert.Contains(t, err.Error(), "backup")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(file, after), "the file is as it was")
}
