package etcd

import (
	"context"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// CheckHeads reports the first difference between heads/ and the earliest ready entry of each
// subscription, or a pending entry of a best-effort subscription, for the tests.
func CheckHeads(s *Store) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ready, err := s.client.Get(ctx, s.key(dirReady), clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return err
	}
	want := map[string]bool{}
	lastDir := ""
	for _, kv := range ready.Kvs {
		k := strings.TrimPrefix(string(kv.Key), s.key(dirReady))
		escID, _, ok := strings.Cut(k, "/")
		if !ok {
			return fmt.Errorf("malformed ready key %q", kv.Key)
		}
		if escID == lastDir {
			continue
		}
		lastDir = escID
		id, err := unesc(escID)
		if err != nil {
			return err
		}
		at, _, err := parseReadyKey(s.readyDir(id), string(kv.Key))
		if err != nil {
			return err
		}
		want[s.headKey(at, id)] = true
	}
	heads, err := s.client.Get(ctx, s.key(dirHeads), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return err
	}
	for _, kv := range heads.Kvs {
		if !want[string(kv.Key)] {
			return fmt.Errorf("head %q is no subscription's earliest ready entry", kv.Key)
		}
	}
	if len(heads.Kvs) != len(want) {
		return fmt.Errorf("%d heads for %d subscriptions with ready entries", len(heads.Kvs), len(want))
	}
	return checkPendingIsFIFO(ctx, s)
}

// checkPendingIsFIFO reports a pending entry of a subscription that is not FIFO: best-effort ones
// keep none (queue.go).
func checkPendingIsFIFO(ctx context.Context, s *Store) error {
	pending, err := s.client.Get(ctx, s.key(dirPending), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return err
	}
	for _, kv := range pending.Kvs {
		escID, _, _ := strings.Cut(strings.TrimPrefix(string(kv.Key), s.key(dirPending)), "/")
		id, err := unesc(escID)
		if err != nil {
			return err
		}
		rec, err := s.newTx(ctx).getSubscription(id)
		if err != nil {
			return fmt.Errorf("pending entry %q: %w", kv.Key, err)
		}
		if !rec.FIFO() {
			return fmt.Errorf("pending entry %q of a best-effort subscription", kv.Key)
		}
	}
	return nil
}

// CompactTurn is one turn of the store's history compaction (compactTurn), for the tests.
func CompactTurn(s *Store, previous int64) int64 { return s.compactTurn(previous) }
