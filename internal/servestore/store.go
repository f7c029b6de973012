// Package servestore opens the store serve's configuration names: the etcd store when it has etcd
// endpoints, else the bbolt file, both sealed with the key the configuration points to. A start
// that fails before serving takes back the files it created. With etcd it also joins the replicas
// sharing the store's prefix.
package servestore

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hipchat-connector/hipchat-connector/cluster"
	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/internal/serveconfig"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/server"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/state/bolt"
	"github.com/hipchat-connector/hipchat-connector/state/etcd"
)

// Store is what serve hands its parts: every store interface they declare, the server key, and
// Close. *bolt.Store (bbolt) and *etcd.Store are two.
type Store interface {
	poller.Store
	delivery.Store
	server.SubscriptionStore
	server.OperatorStore
	server.SubscriptionCounter
	connector.TokenMemory
	ServerKey() []byte
	Close() error
}

// Watcher is a store shared with other writers (etcd) that reports the subscriptions they change;
// see etcd.Store.WatchSubscriptions.
type Watcher interface {
	WatchSubscriptions(ctx context.Context, changed func(id string))
}

// Open opens the store cfg names and logs which. The returned close closes it and, when the start
// did not get as far as serving, removes the database and key file this start created, so that a
// retry with another setting does not find a half-made installation; Open does the same when it
// fails. Errors name the key's source, never the key; a bbolt file locked by another process says so.
func Open(ctx context.Context, cfg serveconfig.Config, getenv func(string) string, logger *slog.Logger) (Store, func(serving bool), error) {
	created := newCreatedFiles(cfg.DBPath, keySource(cfg, getenv).Path())
	store, err := openConfigured(ctx, cfg, getenv, logger.With("component", "store"))
	if err != nil {
		created.remove()
		return nil, nil, err
	}
	return store, func(serving bool) {
		if err := store.Close(); err != nil {
			logger.Error("closing the store failed", "component", "store", "err", err)
		}
		if !serving {
			created.remove()
		}
	}, nil
}

// openConfigured opens the etcd store when cfg.Etcd has endpoints, else the bbolt file, both
// sealed with the same key (keySource).
func openConfigured(ctx context.Context, cfg serveconfig.Config, getenv func(string) string, logger *slog.Logger) (Store, error) {
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

// keySource is where the sealing key is: HIPCHAT_CONNECTOR_KEY, else -key-file (default <db>.key).
func keySource(cfg serveconfig.Config, getenv func(string) string) state.KeySource {
	return state.KeySource{Inline: getenv(serveconfig.KeyEnv), InlineName: serveconfig.KeyEnv, File: cfg.KeyFile, DBPath: cfg.DBPath}
}

// FileCollector is the metric of a bbolt store's file size and free bytes; nil for a store without
// a file of its own (etcd).
func FileCollector(store Store, logger *slog.Logger) prometheus.Collector {
	file, ok := store.(*bolt.Store)
	if !ok {
		return nil
	}
	return server.NewStoreFileCollector(func() (int64, int64, error) {
		st, err := file.FileStats()
		return st.Size, st.FreeBytes, err
	}, logger)
}

// JoinReplicas joins the replicas sharing an etcd store's prefix; a bbolt store gives the nil
// Replica, one process owning everything. Errors: cluster.JoinReplicas's.
func JoinReplicas(ctx context.Context, store Store, cfg serveconfig.Etcd, registry prometheus.Registerer, logger *slog.Logger) (*cluster.Replica, error) {
	es, ok := store.(*etcd.Store)
	if !ok {
		return nil, nil
	}
	return cluster.JoinReplicas(ctx, cluster.ReplicaOptions{
		Client: es.Client(), Prefix: es.Prefix(), LeaseTTL: cfg.LeaseTTL, Fence: es, Registerer: registry, Logger: logger,
	})
}
