package bolt

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"

	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// SchemaVersion is the layout version this binary writes (see the layout
// comment in store.go).
const SchemaVersion uint64 = 5

// migrations[v] upgrades a file from version v to v+1 inside the open
// transaction. A layout change adds an entry here, bumps SchemaVersion, and
// keeps a file of the old version in testdata/ to prove the step.
var migrations = map[uint64]func(tx *bbolt.Tx) error{
	1: migrateRoundAttempts,
	2: migrateDueIndex,
	3: migrateOutboxV4,
	4: migrateCompactRecords,
}

// bucketV3OutboxLog is the bucket of each subscription's delivery records inside its outbox
// bucket, JSON-encoded, in versions 1 to 3 (outbox/<subscription id>/log/<seq> → JSON
// DeliveryRecord); version 4 keeps them in the top-level log bucket.
var bucketV3OutboxLog = []byte("log")

// bucketV3Pending is the pending index of versions 1 to 3
// (pending/<subscription id>/<seq> → next attempt time); version 4 has the
// queued index and the FIFO queues instead.
var bucketV3Pending = []byte("pending")

// migrate stamps a fresh file with SchemaVersion, upgrades an older one step
// by step, and refuses a newer one.
func migrate(tx *bbolt.Tx, meta *bbolt.Bucket) error {
	raw := meta.Get(keySchemaVersion)
	if raw == nil {
		if !isFresh(tx) {
			return fmt.Errorf("%w: file has data but no schema version", state.ErrSchemaVersion)
		}
		if err := meta.Put(keyRestartState, []byte{restartClean}); err != nil { // no process ran before
			return err
		}
		return meta.Put(keySchemaVersion, u64Key(SchemaVersion))
	}
	if len(raw) != 8 {
		return fmt.Errorf("%w: malformed schema version (%d bytes)", state.ErrSchemaVersion, len(raw))
	}
	version := binary.BigEndian.Uint64(raw)
	if version > SchemaVersion {
		return fmt.Errorf("%w: file has schema version %d, this binary supports up to %d; run a newer binary",
			state.ErrSchemaVersion, version, SchemaVersion)
	}
	if version == 0 {
		return fmt.Errorf("%w: file has schema version 0", state.ErrSchemaVersion)
	}
	if version == SchemaVersion {
		return nil
	}
	for ; version < SchemaVersion; version++ {
		step, ok := migrations[version]
		if !ok {
			return fmt.Errorf("%w: no migration from version %d", state.ErrSchemaVersion, version)
		}
		if err := step(tx); err != nil {
			return fmt.Errorf("migrate schema %d→%d: %w", version, version+1, err)
		}
	}
	return meta.Put(keySchemaVersion, u64Key(SchemaVersion))
}

// isFresh reports whether no bucket holds anything yet, i.e. Open has just
// created the file (the meta bucket itself is checked by the caller).
func isFresh(tx *bbolt.Tx) bool {
	for _, name := range topLevelBuckets {
		if k, _ := tx.Bucket(name).Cursor().First(); k != nil {
			return false
		}
	}
	return true
}

// v1ExhaustedNote is the text that version 1 wrote at the end of the error of
// the attempt that dead-lettered a delivery; only this migration reads it.
const v1ExhaustedNote = "retries exhausted"

// migrateRoundAttempts (1→2) stores each delivery's attempts of its current
// round (DeliveryRecord.RoundAttempts), which version 1 derived from its
// attempts: those after the last final one (2xx, 410, or an error ending
// the round with v1ExhaustedNote).
func migrateRoundAttempts(tx *bbolt.Tx) error {
	outbox := tx.Bucket(bucketOutbox)
	return outbox.ForEachBucket(func(subID []byte) error {
		log := outbox.Bucket(subID).Bucket(bucketV3OutboxLog)
		if log == nil {
			return nil
		}
		type update struct {
			key []byte
			rec *state.DeliveryRecord
		}
		var updates []update
		err := log.ForEach(func(k, v []byte) error {
			var rec state.DeliveryRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode delivery %s/%x: %w", subID, k, err)
			}
			rec.RoundAttempts = v1RoundAttempts(rec.Attempts)
			updates = append(updates, update{key: append([]byte(nil), k...), rec: &rec})
			return nil
		})
		if err != nil {
			return err
		}
		for _, u := range updates {
			v, err := json.Marshal(u.rec)
			if err != nil {
				return err
			}
			if err := log.Put(u.key, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// v1RoundAttempts counts the attempts after the last final one, as version 1
// did.
func v1RoundAttempts(attempts []state.Attempt) int {
	n := 0
	for i := len(attempts) - 1; i >= 0; i-- {
		a := attempts[i]
		if (a.StatusCode >= 200 && a.StatusCode <= 299) || a.StatusCode == 410 || strings.Contains(a.Error, v1ExhaustedNote) {
			break
		}
		n++
	}
	return n
}

// migrateDueIndex (2→3) builds the due index (due.go) from the pending one:
// version 2 delivered every subscription in order, head by head; version 3
// subscriptions are best-effort unless they ask for FIFO, and the migrated
// ones take that default, so each pending delivery goes into the index at
// its next attempt time. It also renames the status version 2 gave a
// subscription whose token HipChat rejected (paused) to StatusSuspended,
// since "paused" now means a user paused it.
func migrateDueIndex(tx *bbolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists(bucketDue); err != nil {
		return err
	}
	if _, err := tx.CreateBucketIfNotExists(bucketEndpoints); err != nil {
		return err
	}
	due := tx.Bucket(bucketDue)
	parent := tx.Bucket(bucketV3Pending)
	err := parent.ForEachBucket(func(subID []byte) error {
		return parent.Bucket(subID).ForEach(func(k, v []byte) error {
			return due.Put(dueKey(valueTime(v), binary.BigEndian.Uint64(k), string(subID)), nil)
		})
	})
	if err != nil {
		return err
	}
	subs := tx.Bucket(bucketSubscriptions)
	var renamed []*state.SubscriptionRecord
	err = subs.ForEach(func(k, v []byte) error {
		rec, err := decodeSubscription(k, v)
		if err != nil {
			return err
		}
		if rec.Status == state.StatusPaused {
			rec.Status = state.StatusSuspended
			renamed = append(renamed, rec)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, rec := range renamed {
		if err := putSubscription(subs, rec); err != nil {
			return err
		}
	}
	return nil
}
