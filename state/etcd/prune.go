package etcd

import (
	"errors"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// prunePerTxn bounds the deliveries one transaction of Prune deletes (two
// operations each: the log entry and its id).
const prunePerTxn = 60

// Prune deletes finished (delivered or dead) deliveries that finished more
// than Retention.MaxAge before now, and those beyond the newest
// Retention.MaxPerSubscription finished ones of each subscription, as
// bolt.Store.Prune does; pending deliveries are never pruned. It returns how
// many it deleted. It also deletes the queue entries a crash during a
// DeleteSubscription of schema version 1 may have left. Then, unless Options.KeepHistory, it compacts etcd's
// history up to the revision at which it started, so the keys it and
// everyone else deleted or overwrote before that stop taking space.
//
// Errors: etcd errors; deletions already committed stay.
func (s *Store) Prune(now time.Time) (int, error) {
	ctx, cancel := s.op()
	resp, err := s.client.Get(ctx, s.key(dirOutbox), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	cancel()
	if err != nil {
		return 0, wrap("prune", err)
	}
	startRev := resp.Header.Revision
	cutoff := now.Add(-s.retention.MaxAge)
	total := 0
	for _, kv := range resp.Kvs {
		subID, err := unesc(strings.TrimPrefix(string(kv.Key), s.key(dirOutbox)))
		if err != nil {
			return total, wrap("prune", err)
		}
		for {
			n := 0
			err := s.update(func(t *tx) error {
				var err error
				n, err = t.pruneSubscription(subID, cutoff, s.retention.MaxPerSubscription)
				return err
			})
			total += n
			if err != nil {
				return total, wrap("prune", err)
			}
			if n < prunePerTxn {
				break
			}
		}
	}
	if err := s.sweepOrphanHeads(); err != nil {
		return total, wrap("prune", err)
	}
	if !s.keepHistory {
		if err := s.compact(startRev); err != nil {
			return total, wrap("prune: compact history", err)
		}
	}
	return total, nil
}

// sweepOrphanHeads deletes the heads and ready entries of subscriptions that no longer exist: what
// a crash in the middle of a long DeleteSubscription of schema version 1 left in its due index,
// migrated (version 2 deletes a subscription's queue in the same transaction as the
// subscription). The heads are read before the subscriptions, so a subscription created meanwhile
// is never taken for an orphan (CommitFeed writes ready entries only for one that exists).
func (s *Store) sweepOrphanHeads() error {
	ctx, cancel := s.op()
	defer cancel()
	heads, err := s.client.Get(ctx, s.key(dirHeads), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return err
	}
	subs, err := s.client.Get(ctx, s.key(dirSubscriptions), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return err
	}
	exists := make(map[string]bool, len(subs.Kvs))
	for _, kv := range subs.Kvs {
		exists[string(kv.Key)] = true
	}
	for _, kv := range heads.Kvs {
		_, subID, err := s.parseHeadKey(string(kv.Key))
		if err != nil {
			return err
		}
		if exists[s.subscriptionKey(subID)] {
			continue
		}
		_, err = s.client.Txn(ctx).Then(clientv3.OpDelete(s.readyDir(subID), clientv3.WithPrefix()), clientv3.OpDelete(string(kv.Key))).Commit()
		if err != nil {
			return err
		}
	}
	return nil
}

// compact compacts etcd's history up to rev; an earlier compaction at or
// beyond rev (etcd's rpctypes.ErrCompacted) is not an error. Errors: etcd
// errors.
func (s *Store) compact(rev int64) error {
	ctx, cancel := s.op()
	defer cancel()
	_, err := s.client.Compact(ctx, rev)
	if errors.Is(err, rpctypes.ErrCompacted) {
		return nil
	}
	return err
}

// pruneSubscription deletes, in t, up to prunePerTxn deliveries of subID
// that retention no longer keeps, and returns how many.
func (t *tx) pruneSubscription(subID string, cutoff time.Time, keep int) (int, error) {
	// Writers of the log rewrite the outbox key: reading it makes this
	// transaction conflict with them, without writing it.
	if _, ok, err := t.get(t.s.outboxKey(subID)); err != nil || !ok {
		return 0, err
	}
	resp, err := t.s.client.Get(t.ctx, t.s.logDir(subID), clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return 0, err
	}
	type entry struct {
		key string
		id  string
		rec *state.DeliveryRecord
	}
	var finished []entry // oldest first
	for _, kv := range resp.Kvs {
		rec, err := decodeDelivery(string(kv.Key), kv.Value)
		if err != nil {
			return 0, err
		}
		if rec.Status != state.DeliveryPending {
			finished = append(finished, entry{string(kv.Key), rec.ID, rec})
		}
	}
	doomed := map[string]string{} // log key → delivery id
	// Beyond the newest keep finished ones.
	for i := 0; i < len(finished)-keep; i++ {
		doomed[finished[i].key] = finished[i].id
	}
	// Too old: QueuedAt grows with Seq, so the first finished entry queued
	// after the cutoff ends the walk.
	for _, e := range finished {
		if !e.rec.QueuedAt.Before(cutoff) {
			break
		}
		if e.rec.FinishedAt().Before(cutoff) {
			doomed[e.key] = e.id
		}
	}
	n := 0
	for _, e := range finished { // oldest first, at most prunePerTxn
		id, ok := doomed[e.key]
		if !ok {
			continue
		}
		if n == prunePerTxn {
			break
		}
		t.del(e.key)
		t.del(t.s.idKey(subID, id))
		n++
	}
	return n, nil
}
