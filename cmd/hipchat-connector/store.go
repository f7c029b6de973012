package main

import (
	"fmt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// keyEnv holds the database key itself (64 hex characters or base64 of 32 bytes), for deployments
// that inject secrets through the environment rather than a file.
const keyEnv = envPrefix + "KEY"

// openStore opens the bbolt database at dbPath, sealed with the key from HIPCHAT_CONNECTOR_KEY or,
// without it, from keyFile (default: dbPath + ".key", created with 0600 permissions on first start).
// Errors name the key's source, never the key.
func openStore(dbPath, keyFile string, getenv func(string) string) (*state.Store, error) {
	var key []byte
	var err error
	if v := getenv(keyEnv); v != "" {
		if key, err = state.ParseKey(v); err != nil {
			return nil, fmt.Errorf("%s: %w", keyEnv, err)
		}
	} else {
		if keyFile == "" {
			keyFile = dbPath + ".key"
		}
		if key, err = state.LoadOrCreateKeyFile(keyFile); err != nil {
			return nil, fmt.Errorf("key file: %w", err)
		}
	}
	store, err := state.Open(dbPath, state.Options{Key: key})
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", dbPath, err)
	}
	return store, nil
}
