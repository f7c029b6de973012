package etcd

import (
	"context"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// dirDueV1 is version 1's index of what may go out: due/<time>/<seq>/<sub> → "", ordered by time
// alone.
const dirDueV1 = "due/"

// migrate upgrades a prefix of an older schema version, whose meta/schema_version key had
// revision versionRev when Open read it. Errors: state.ErrSchemaVersion for a version without a
// migration; etcd errors.
func (s *Store) migrate(ctx context.Context, version int, versionRev int64) error {
	if version != 1 {
		return fmt.Errorf("%w: no migration from version %d", state.ErrSchemaVersion, version)
	}
	return s.migrateReadyIndex(ctx, versionRev)
}

// migrateReadyIndex (1→2) indexes what may go out by subscription: each due/<time>/<seq>/<sub>
// entry becomes ready/<sub>/<time>/<seq>, heads/ gets each subscription's earliest, and the pending
// entries of best-effort subscriptions go (version 2 keeps a pending queue for FIFO ones only:
// queue.go). Every transaction of it checks that the version key is still as Open read it, so when
// replicas start together the first to finish wins and the others stop writing; its last one drops
// the old index and sets version 2. A migration cut short is done again in full at the next open
// (its writes are idempotent). Stop every replica of the older binary first: one still running
// writes entries this layout does not read.
func (s *Store) migrateReadyIndex(ctx context.Context, versionRev int64) error {
	puts, err := s.readyIndexV2(ctx)
	if err != nil {
		return err
	}
	dels, err := s.bestEffortPendingV1(ctx)
	if err != nil {
		return err
	}
	version := s.key(keySchemaVersion)
	unchanged := clientv3.Compare(clientv3.ModRevision(version), "=", versionRev)
	ops := make([]clientv3.Op, 0, len(puts)+len(dels))
	for _, k := range puts {
		ops = append(ops, clientv3.OpPut(k, ""))
	}
	for _, k := range dels {
		ops = append(ops, clientv3.OpDelete(k))
	}
	for len(ops) > 0 {
		n := min(len(ops), maxTxnOps)
		done, err := s.client.Txn(ctx).If(unchanged).Then(ops[:n]...).Commit()
		if err != nil {
			return err
		}
		if !done.Succeeded {
			return nil // another replica migrated meanwhile
		}
		ops = ops[n:]
	}
	_, err = s.client.Txn(ctx).If(unchanged).Then(
		clientv3.OpDelete(s.key(dirDueV1), clientv3.WithPrefix()),
		clientv3.OpPut(version, fmt.Sprint(SchemaVersion)),
	).Commit()
	return err
}

// readyIndexV2 is every key of the version-2 ready and heads indexes, made from version 1's due
// index.
func (s *Store) readyIndexV2(ctx context.Context) ([]string, error) {
	resp, err := s.client.Get(ctx, s.key(dirDueV1), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, err
	}
	heads := map[string]time.Time{}
	var keys []string
	for _, kv := range resp.Kvs {
		at, seq, subID, err := s.parseDueKeyV1(string(kv.Key))
		if err != nil {
			return nil, err
		}
		keys = append(keys, s.readyKey(subID, at, seq))
		if head, ok := heads[subID]; !ok || at.Before(head) {
			heads[subID] = at
		}
	}
	for id, at := range heads {
		keys = append(keys, s.headKey(at, id))
	}
	return keys, nil
}

// bestEffortPendingV1 is every pending entry of a subscription that is not FIFO (or no longer
// exists).
func (s *Store) bestEffortPendingV1(ctx context.Context) ([]string, error) {
	subs, err := s.client.Get(ctx, s.key(dirSubscriptions), clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	fifo := map[string]bool{}
	for _, kv := range subs.Kvs {
		rec, err := decodeSubscription(string(kv.Key), kv.Value)
		if err != nil {
			return nil, err
		}
		fifo[rec.ID] = rec.FIFO()
	}
	pending, err := s.client.Get(ctx, s.key(dirPending), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, kv := range pending.Kvs {
		escID, _, _ := strings.Cut(strings.TrimPrefix(string(kv.Key), s.key(dirPending)), "/")
		id, err := unesc(escID)
		if err != nil {
			return nil, err
		}
		if !fifo[id] {
			keys = append(keys, string(kv.Key))
		}
	}
	return keys, nil
}

// parseDueKeyV1 splits a version-1 due key (with the prefix) into its time, seq and subscription
// id. Errors: a key that is not three parts, or whose time or seq is not 16 hex digits, or whose id
// does not unescape.
func (s *Store) parseDueKeyV1(k string) (at time.Time, seq uint64, subID string, err error) {
	parts := strings.SplitN(strings.TrimPrefix(k, s.key(dirDueV1)), "/", 3)
	if len(parts) != 3 {
		return time.Time{}, 0, "", fmt.Errorf("malformed due key %q", k)
	}
	if at, err = parseTimeHex(parts[0]); err != nil {
		return time.Time{}, 0, "", fmt.Errorf("due key %q: %w", k, err)
	}
	if seq, err = parseHex16(parts[1]); err != nil {
		return time.Time{}, 0, "", fmt.Errorf("due key %q: %w", k, err)
	}
	if subID, err = unesc(parts[2]); err != nil {
		return time.Time{}, 0, "", fmt.Errorf("due key %q: %w", k, err)
	}
	return at, seq, subID, nil
}
