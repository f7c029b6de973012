package servestore

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/internal/serveconfig"
	"github.com/hipchat-connector/hipchat-connector/state/bolt"
)

func noEnv(string) string { return "" }

func openBolt(t *testing.T, cfg serveconfig.Config, getenv func(string) string) (Store, func(bool), error) {
	t.Helper()
	return Open(context.Background(), cfg, getenv, slog.New(slog.DiscardHandler))
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	list, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range list {
		names = append(names, e.Name())
	}
	return names
}

// A start that stops before serving takes back the database and key file it created; one that
// served, or that found them already there, leaves them.
func TestAStartThatDoesNotServeTakesBackWhatItCreated(t *testing.T) {
	dir := t.TempDir()
	cfg := serveconfig.Default()
	cfg.DBPath = filepath.Join(dir, "c.db")

	store, closeStore, err := openBolt(t, cfg, noEnv)
	require.NoError(t, err)
	assert.IsType(t, &bolt.Store{}, store)
	assert.ElementsMatch(t, []string{"c.db", "c.db.key"}, entries(t, dir))
	closeStore(false)
	assert.Empty(t, entries(t, dir), "a start that did not serve leaves nothing")

	_, closeStore, err = openBolt(t, cfg, noEnv)
	require.NoError(t, err)
	closeStore(true)
	assert.ElementsMatch(t, []string{"c.db", "c.db.key"}, entries(t, dir), "a start that served keeps its files")

	_, closeStore, err = openBolt(t, cfg, noEnv)
	require.NoError(t, err)
	closeStore(false)
	assert.ElementsMatch(t, []string{"c.db", "c.db.key"}, entries(t, dir), "files that were there before are not this start's")
}

// A key that cannot be used fails the open, names its source and not the key, and creates nothing.
func TestAnUnusableKeyCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	cfg := serveconfig.Default()
	cfg.DBPath = filepath.Join(dir, "c.db")
	_, _, err := openBolt(t, cfg, func(name string) string {
		if name == serveconfig.KeyEnv {
			return "not-a-key-zzzz"
		}
		return ""
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), serveconfig.KeyEnv)
	assert.NotContains(t, err.Error(), "not-a-key-zzzz")
	assert.Empty(t, entries(t, dir))
}

// A bbolt store has a file collector; the replicas of a bbolt store are none (one process).
func TestABoltStoreHasAFileAndNoReplicas(t *testing.T) {
	cfg := serveconfig.Default()
	cfg.DBPath = filepath.Join(t.TempDir(), "c.db")
	store, closeStore, err := openBolt(t, cfg, noEnv)
	require.NoError(t, err)
	defer closeStore(true)
	assert.NotNil(t, FileCollector(store, slog.New(slog.DiscardHandler)))
	rep, err := JoinReplicas(context.Background(), store, cfg.Etcd, nil, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	assert.Nil(t, rep)
}
