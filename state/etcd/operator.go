package etcd

import (
	"fmt"
	"io"
	"slices"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// ErrNoBackup is BackupSized's answer: an etcd store is backed up by etcd itself
// (`etcdctl snapshot save`), not through the connector.
var ErrNoBackup = fmt.Errorf("%w: the state is in etcd: back it up with etcd's own snapshot (etcdctl snapshot save), not /admin/backup", state.ErrUnsupported)

// readSubscriptions returns every subscription record under the prefix.
func (s *Store) readSubscriptions(op string) ([]*state.SubscriptionRecord, error) {
	ctx, cancel := s.op()
	defer cancel()
	resp, err := s.client.Get(ctx, s.key(dirSubscriptions), clientv3.WithPrefix())
	if err != nil {
		return nil, wrap(op, err)
	}
	recs := make([]*state.SubscriptionRecord, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		rec, err := decodeSubscription(string(kv.Key), kv.Value)
		if err != nil {
			return nil, wrap(op, err)
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// CountByStatus counts the subscriptions by status, unsealing nothing (as bolt.Store does).
// Errors: etcd's.
func (s *Store) CountByStatus() (map[state.Status]int, error) {
	recs, err := s.readSubscriptions("count subscriptions")
	if err != nil {
		return nil, err
	}
	n := map[state.Status]int{}
	for _, rec := range recs {
		n[rec.Status]++
	}
	return n, nil
}

// AllSubscriptions returns every subscription of every connection, ordered by id, with status set
// only those with that status; tokens and secrets left empty (as bolt.Store does). Errors:
// state.ErrInvalid for an unknown status; etcd's.
func (s *Store) AllSubscriptions(status state.Status) ([]state.Subscription, error) {
	if status != "" {
		if err := status.Check(); err != nil {
			return nil, fmt.Errorf("etcd store: list all subscriptions: %w", err)
		}
	}
	recs, err := s.readSubscriptions("list all subscriptions")
	if err != nil {
		return nil, err
	}
	slices.SortFunc(recs, func(a, b *state.SubscriptionRecord) int { return strings.Compare(a.ID, b.ID) })
	var subs []state.Subscription
	for _, rec := range recs {
		if status != "" && rec.Status != status {
			continue
		}
		subs = append(subs, rec.WithoutSecrets())
	}
	return subs, nil
}

// BackupSized always fails with ErrNoBackup: see it.
func (s *Store) BackupSized(func(int64), io.Writer) (int64, error) { return 0, ErrNoBackup }
