package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/etcdstore"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/server"
	"github.com/hipchat-connector/hipchat-connector/state"
)

// keyEnv holds the database key itself (64 hex characters or base64 of 32 bytes), for deployments
// that inject secrets through the environment rather than a file.
const keyEnv = envPrefix + "KEY"

// connectorStore is what serve hands its parts: every store interface they declare, the server
// key, and Close. *state.Store (bbolt) and *etcdstore.Store are two.
type connectorStore interface {
	poller.Store
	delivery.Store
	server.SubscriptionStore
	ServerKey() []byte
	Close() error
}

// openConfiguredStore opens the etcd store when cfg.Etcd has endpoints, else the bbolt file, both
// sealed with the same key (loadKey), and logs which.
func openConfiguredStore(ctx context.Context, cfg serveConfig, getenv func(string) string, logger *slog.Logger) (connectorStore, error) {
	key, err := loadKey(cfg.DBPath, cfg.KeyFile, getenv)
	if err != nil {
		return nil, err
	}
	if !cfg.Etcd.enabled() {
		store, err := state.Open(cfg.DBPath, state.Options{Key: key})
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", cfg.DBPath, err)
		}
		logger.Info("opened the database", "path", cfg.DBPath, "schema_version", state.SchemaVersion)
		return store, nil
	}
	tlsConfig, err := cfg.Etcd.tlsConfig()
	if err != nil {
		return nil, err
	}
	store, err := etcdstore.Open(ctx, etcdstore.Options{
		Endpoints: cfg.Etcd.endpoints(), Prefix: cfg.Etcd.Prefix, TLS: tlsConfig,
		Username: cfg.Etcd.Username, Password: cfg.Etcd.Password, DialTimeout: cfg.Etcd.DialTimeout, Key: key,
	})
	if err != nil {
		return nil, fmt.Errorf("opening etcd %v: %w", cfg.Etcd.endpoints(), err)
	}
	// One replica for now: /readyz does not yet depend on an etcd session, and feeds are not yet
	// owned through leases (issue 17's later parts).
	logger.Info("opened etcd; -db is not used", "endpoints", cfg.Etcd.endpoints(), "prefix", cfg.Etcd.Prefix,
		"schema_version", etcdstore.SchemaVersion)
	return store, nil
}

// loadKey returns the sealing key from HIPCHAT_CONNECTOR_KEY or, without it, from keyFile
// (default: dbPath + ".key", created with 0600 permissions on first start). Errors name the key's
// source, never the key.
func loadKey(dbPath, keyFile string, getenv func(string) string) ([]byte, error) {
	if v := getenv(keyEnv); v != "" {
		key, err := state.ParseKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", keyEnv, err)
		}
		return key, nil
	}
	if keyFile == "" {
		keyFile = dbPath + ".key"
	}
	key, err := state.LoadOrCreateKeyFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	return key, nil
}
