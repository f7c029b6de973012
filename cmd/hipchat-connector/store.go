package main

import (
	"errors"
	"fmt"
	"os"

	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// keyEnv holds the database key itself (64 hex characters or base64 of 32 bytes), for deployments
// that inject secrets through the environment rather than a file.
const keyEnv = envPrefix + "KEY"

// keyFilePath is the key file openStore reads: keyFile, or dbPath + ".key"; "" when the key
// comes from HIPCHAT_CONNECTOR_KEY.
func keyFilePath(dbPath, keyFile string, getenv func(string) string) string {
	if getenv(keyEnv) != "" {
		return ""
	}
	if keyFile == "" {
		return dbPath + ".key"
	}
	return keyFile
}

// openStore opens the bbolt database at dbPath, sealed with the key from HIPCHAT_CONNECTOR_KEY or,
// without it, from keyFile (default: dbPath + ".key", created with 0600 permissions on first start).
// Errors name the key's source, never the key; a database locked by another process says so.
func openStore(dbPath, keyFile string, getenv func(string) string) (*state.Store, error) {
	var key []byte
	var err error
	if v := getenv(keyEnv); v != "" {
		if key, err = state.ParseKey(v); err != nil {
			return nil, fmt.Errorf("%s: %w", keyEnv, err)
		}
	} else {
		if key, err = state.LoadOrCreateKeyFile(keyFilePath(dbPath, keyFile, getenv)); err != nil {
			return nil, fmt.Errorf("key file: %w", err)
		}
	}
	store, err := state.Open(dbPath, state.Options{Key: key})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("opening %s: another process holds the database (is a connector already running with this -db?); "+
			"stop it, or give this one another -db: %w", dbPath, err)
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", dbPath, err)
	}
	return store, nil
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
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
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
