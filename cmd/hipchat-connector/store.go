package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/internal/serveconfig"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/server"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/state/bolt"
	"github.com/hipchat-connector/hipchat-connector/state/etcd"
)

// connectorStore is what serve hands its parts: every store interface they declare, the server
// key, and Close. *bolt.Store (bbolt) and *etcd.Store are two.
type connectorStore interface {
	poller.Store
	delivery.Store
	server.SubscriptionStore
	server.OperatorStore
	subscriptionCounter
	connector.TokenMemory
	ServerKey() []byte
	Close() error
}

// subscriptionWatcher is a store shared with other writers (etcd) that reports the subscriptions
// they change; see etcd.WatchSubscriptions.
type subscriptionWatcher interface {
	WatchSubscriptions(ctx context.Context, changed func(id string))
}

// openConfiguredStore opens the etcd store when cfg.Etcd has endpoints, else the bbolt file, both
// sealed with the same key (keySource), and logs which. Errors name the key's source, never the key;
// a bbolt file locked by another process says so.
func openConfiguredStore(ctx context.Context, cfg serveconfig.Config, getenv func(string) string, logger *slog.Logger) (connectorStore, error) {
	key, err := keySource(cfg, getenv).Load()
	if err != nil {
		return nil, err
	}
	if !cfg.Etcd.Enabled() {
		store, err := bolt.Open(cfg.DBPath, bolt.Options{Key: key, Retention: cfg.Retention})
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", cfg.DBPath, err)
		}
		logger.Info("opened the database", "path", cfg.DBPath, "schema_version", bolt.SchemaVersion)
		return store, nil
	}
	opts, err := cfg.Etcd.Options(key)
	if err != nil {
		return nil, err
	}
	opts.Retention = cfg.Retention
	store, err := etcd.Open(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("opening etcd %v: %w", opts.Endpoints, err)
	}
	logger.Info("opened etcd; -db is not used", "endpoints", opts.Endpoints, "prefix", cfg.Etcd.Prefix,
		"schema_version", etcd.SchemaVersion)
	return store, nil
}

// keySource is where serve finds the sealing key: HIPCHAT_CONNECTOR_KEY, else -key-file (default
// <db>.key).
func keySource(cfg serveconfig.Config, getenv func(string) string) state.KeySource {
	return state.KeySource{Inline: getenv(serveconfig.KeyEnv), InlineName: serveconfig.KeyEnv, File: cfg.KeyFile, DBPath: cfg.DBPath}
}

// createdFiles are the files a start is about to create (those absent before it), so that a start
// that fails can remove them again and leave nothing behind.
type createdFiles []string

func newCreatedFiles(paths ...string) createdFiles {
	var absent createdFiles
	for _, p := range paths {
		if p == "" {
			continue
		}
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) { // #nosec G703 -- the operator's own -db and -key-file paths
			absent = append(absent, p)
		}
	}
	return absent
}

// remove deletes the files that did not exist before the start.
func (c createdFiles) remove() {
	for _, p := range c {
		_ = os.Remove(p)
	}
}
