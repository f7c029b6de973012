package etcd

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// duePage is how many due keys DueDeliveries reads per request.
const duePage = 256

// DueDeliveries returns the deliveries due at now of active subscriptions,
// the longest-waiting first, at most limit (≤ 0: no limit), as
// bolt.Store.DueDeliveries does: only the head of a FIFO queue, every
// pending delivery of a best-effort one; skip passes over deliveries before
// their records are read and they do not count against limit, and it is
// asked only of active subscriptions' deliveries.
//
// It reads the due index up to now and the records it returns. The index and
// the records are read in separate requests, so a delivery finished in
// between is left out. Errors: etcd errors.
func (s *Store) DueDeliveries(now time.Time, limit int, skip func(subID string, seq uint64) bool) ([]state.Delivery, error) {
	ctx, cancel := s.op()
	defer cancel()
	from, end := s.key(dirDue), s.key(dirDue+hex16(uint64(now.UnixNano())+1))
	active := map[string]bool{}
	var due []state.Delivery
	for {
		resp, err := s.client.Get(ctx, from, clientv3.WithRange(end), clientv3.WithKeysOnly(),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend), clientv3.WithLimit(duePage))
		if err != nil {
			return nil, wrap("due deliveries", err)
		}
		var found []dueCandidate
		var unknown []string
		for _, kv := range resp.Kvs {
			seq, subID, err := s.parseDueKey(string(kv.Key))
			if err != nil {
				return nil, wrap("due deliveries", err)
			}
			if _, known := active[subID]; !known {
				active[subID] = false
				unknown = append(unknown, subID)
			}
			found = append(found, dueCandidate{subID, seq})
		}
		if err := s.readActive(ctx, unknown, active); err != nil {
			return nil, wrap("due deliveries", err)
		}
		var chosen []dueCandidate
		for _, c := range found {
			if active[c.subID] && (skip == nil || !skip(c.subID, c.seq)) {
				chosen = append(chosen, c)
			}
		}
		if due, err = s.appendPending(ctx, due, chosen, limit); err != nil {
			return nil, wrap("due deliveries", err)
		}
		if limit > 0 && len(due) == limit {
			return due, nil
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return due, nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// dueCandidate is a delivery named by the due index.
type dueCandidate struct {
	subID string
	seq   uint64
}

// appendPending appends to due, in order, those of chosen whose log record
// is still pending, until due holds limit (≤ 0: no limit). It reads only as
// many records as due still lacks, then more for those that dropped out
// (finished, pruned or deleted since the index was read). Errors: etcd
// errors; a record that does not decode.
func (s *Store) appendPending(ctx context.Context, due []state.Delivery, chosen []dueCandidate, limit int) ([]state.Delivery, error) {
	for len(chosen) > 0 && (limit <= 0 || len(due) < limit) {
		n := len(chosen)
		if limit > 0 {
			n = min(n, limit-len(due))
		}
		batch := chosen[:n]
		chosen = chosen[n:]
		keys := make([]string, len(batch))
		for i, c := range batch {
			keys[i] = s.logKey(c.subID, c.seq)
		}
		values, err := s.getMany(ctx, keys)
		if err != nil {
			return nil, err
		}
		for i, v := range values {
			if v == nil {
				continue // finished and pruned, or its subscription deleted, since the index was read
			}
			rec, err := decodeDelivery(keys[i], v)
			if err != nil {
				return nil, err
			}
			if rec.Status != state.DeliveryPending {
				continue
			}
			due = append(due, rec.Delivery(batch[i].subID, batch[i].seq))
		}
	}
	return due, nil
}

// readActive sets active[id] for each of ids: whether it exists and is active.
func (s *Store) readActive(ctx context.Context, ids []string, active map[string]bool) error {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.subscriptionKey(id)
	}
	values, err := s.getMany(ctx, keys)
	if err != nil {
		return err
	}
	for i, v := range values {
		if v == nil {
			continue
		}
		var status struct {
			Status state.Status `json:"status"`
		}
		if err := json.Unmarshal(v, &status); err != nil {
			return err
		}
		active[ids[i]] = status.Status == state.StatusActive
	}
	return nil
}

// Stats counts the pending deliveries and finds the oldest. It reads the
// pending index (keys) and the head record of each subscription with work.
// Errors: etcd errors.
func (s *Store) Stats() (state.PendingStats, error) {
	ctx, cancel := s.op()
	defer cancel()
	resp, err := s.client.Get(ctx, s.key(dirPending), clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return state.PendingStats{}, wrap("stats", err)
	}
	st := state.PendingStats{Pending: len(resp.Kvs)}
	var heads []string
	lastDir := ""
	for _, kv := range resp.Kvs {
		k := string(kv.Key)
		dir := k[:strings.LastIndexByte(k, '/')+1]
		if dir != lastDir {
			lastDir = dir
			heads = append(heads, s.key(dirLog)+strings.TrimPrefix(k, s.key(dirPending)))
		}
	}
	values, err := s.getMany(ctx, heads)
	if err != nil {
		return state.PendingStats{}, wrap("stats", err)
	}
	for i, v := range values {
		if v == nil {
			continue
		}
		rec, err := decodeDelivery(heads[i], v)
		if err != nil {
			return state.PendingStats{}, wrap("stats", err)
		}
		if st.OldestQueuedAt.IsZero() || rec.QueuedAt.Before(st.OldestQueuedAt) {
			st.OldestQueuedAt = rec.QueuedAt
		}
	}
	return st, nil
}

// PendingCount returns how many deliveries of subscription subID are pending (waiting for their
// first or next attempt), as bolt.Store.PendingCount does: a count of its pending keys, which etcd
// answers without sending them. A subscription without any, or one that does not exist, has 0.
// Errors: etcd errors.
func (s *Store) PendingCount(subID string) (int, error) {
	ctx, cancel := s.op()
	defer cancel()
	resp, err := s.client.Get(ctx, s.pendingDir(subID), clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, wrap("pending count", err)
	}
	return int(resp.Count), nil
}
