package state

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the layout version this binary writes (see the layout
// comment in store.go).
const SchemaVersion uint64 = 1

// migrations[v] upgrades a file from version v to v+1 inside the open
// transaction. Version 1 is the first layout, so there is nothing yet; a
// layout change adds an entry here, bumps SchemaVersion, and keeps a file of
// the old version in testdata/ to prove the step.
var migrations = map[uint64]func(tx *bolt.Tx) error{}

// migrate stamps a fresh file with SchemaVersion, upgrades an older one step
// by step, and refuses a newer one.
func migrate(tx *bolt.Tx, meta *bolt.Bucket) error {
	raw := meta.Get(keySchemaVersion)
	if raw == nil {
		if !isFresh(tx) {
			return fmt.Errorf("%w: file has data but no schema version", ErrSchemaVersion)
		}
		return meta.Put(keySchemaVersion, u64Key(SchemaVersion))
	}
	if len(raw) != 8 {
		return fmt.Errorf("%w: malformed schema version (%d bytes)", ErrSchemaVersion, len(raw))
	}
	version := binary.BigEndian.Uint64(raw)
	if version > SchemaVersion {
		return fmt.Errorf("%w: file has schema version %d, this binary supports up to %d; run a newer binary",
			ErrSchemaVersion, version, SchemaVersion)
	}
	if version == 0 {
		return fmt.Errorf("%w: file has schema version 0", ErrSchemaVersion)
	}
	if version == SchemaVersion {
		return nil
	}
	for ; version < SchemaVersion; version++ {
		step, ok := migrations[version]
		if !ok {
			return fmt.Errorf("%w: no migration from version %d", ErrSchemaVersion, version)
		}
		if err := step(tx); err != nil {
			return fmt.Errorf("migrate schema %d→%d: %w", version, version+1, err)
		}
	}
	return meta.Put(keySchemaVersion, u64Key(SchemaVersion))
}

// isFresh reports whether no bucket holds anything yet, i.e. Open has just
// created the file (the meta bucket itself is checked by the caller).
func isFresh(tx *bolt.Tx) bool {
	for _, name := range topLevelBuckets {
		if k, _ := tx.Bucket(name).Cursor().First(); k != nil {
			return false
		}
	}
	return true
}
