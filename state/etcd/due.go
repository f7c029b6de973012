package etcd

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// DueDeliveries is PickDue with a skip function (state.PickOf): true passes over a delivery, false
// takes it.
func (s *Store) DueDeliveries(now time.Time, limit int, skip func(subID string, seq uint64) bool) ([]state.Delivery, error) {
	return s.PickDue(now, limit, state.PickOf(skip))
}

// PickDue returns the deliveries due at now of active subscriptions, the longest-waiting first, at
// most limit (≤ 0: no limit), as bolt.Store.PickDue does: only the head of a FIFO queue, every
// pending delivery of a best-effort one; picker, when not nil, chooses (state.Picker), and what it
// passes over does not count against limit.
//
// It reads heads/ up to now, and of each subscription it comes to that the picker takes, its status
// and its ready entries up to now, a few subscriptions per request (duelisting.go); then the
// records it returns. The index and the records are read in separate requests, so a delivery
// finished in between is left out, and more are listed in its place. Errors: etcd errors.
func (s *Store) PickDue(now time.Time, limit int, picker state.Picker) ([]state.Delivery, error) {
	if picker == nil {
		picker = state.PickFunc(nil)
	}
	ctx, cancel := s.op()
	defer cancel()
	listing := s.newDueListing(ctx, now, picker)
	var due []state.Delivery
	for {
		var chosen []dueCandidate
		exhausted := false
		for limit <= 0 || len(due)+len(chosen) < limit {
			next, err := listing.next()
			if err != nil {
				return nil, wrap("due deliveries", err)
			}
			if next == nil {
				exhausted = true
				break
			}
			switch picker.PickDelivery(next.subID, next.seq) {
			case state.SkipSubscription:
				listing.drop()
				continue
			case state.Take:
				chosen = append(chosen, dueCandidate{next.subID, next.seq})
			}
			if err := listing.advance(); err != nil {
				return nil, wrap("due deliveries", err)
			}
		}
		before := len(due)
		var err error
		if due, err = s.appendPending(ctx, due, chosen); err != nil {
			return nil, wrap("due deliveries", err)
		}
		if exhausted || len(due)-before == len(chosen) {
			return due, nil
		}
	}
}

// dueCandidate is a delivery named by the due index.
type dueCandidate struct {
	subID string
	seq   uint64
}

// appendPending appends to due, in order, those of chosen whose log record is still pending, and
// keeps each record for the commit of its attempt, which then need not read it again
// (lastknown.go). One finished, pruned or deleted since the index was read is left out. Errors:
// etcd errors; a record that does not decode.
func (s *Store) appendPending(ctx context.Context, due []state.Delivery, chosen []dueCandidate) ([]state.Delivery, error) {
	kvs, err := s.readRecords(ctx, chosen)
	if err != nil {
		return nil, err
	}
	for i, kv := range kvs {
		if kv == nil {
			continue
		}
		rec, err := decodeDelivery(string(kv.Key), kv.Value)
		if err != nil {
			return nil, err
		}
		if rec.Status != state.DeliveryPending {
			continue
		}
		s.known.put(string(kv.Key), knownValue{value: kv.Value, modRev: kv.ModRevision})
		due = append(due, rec.Delivery(chosen[i].subID, chosen[i].seq))
	}
	return due, nil
}

// maxRunGap is how far apart two seqs of one subscription may be for readRecords to read them, and
// the records between them, in one range: etcd answers one range of a few keys for much less than
// a read of each.
const maxRunGap = 4

// recordRun is a run of seqs of one subscription that readRecords reads in one request.
type recordRun struct {
	subID       string
	first, last uint64
	at          map[uint64]int // seq → its index in chosen
}

// readRecords reads the log record of each of chosen (nil where there is none), in one or a few
// read-only transactions: each run of close seqs of a subscription as one range. Errors: etcd's.
func (s *Store) readRecords(ctx context.Context, chosen []dueCandidate) ([]*mvccpb.KeyValue, error) {
	idx := make([]int, len(chosen))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		return cmp.Or(strings.Compare(chosen[a].subID, chosen[b].subID), cmp.Compare(chosen[a].seq, chosen[b].seq))
	})
	var runs []*recordRun
	for _, i := range idx {
		c := chosen[i]
		if n := len(runs); n > 0 && runs[n-1].subID == c.subID && c.seq-runs[n-1].last <= maxRunGap {
			runs[n-1].last, runs[n-1].at[c.seq] = c.seq, i
			continue
		}
		runs = append(runs, &recordRun{subID: c.subID, first: c.seq, last: c.seq, at: map[uint64]int{c.seq: i}})
	}
	ranges := make([]rangeSpec, len(runs))
	for i, r := range runs {
		// Consecutive seqs of a run are at most maxRunGap apart, so its range holds at most this many keys.
		keysAtMost := (len(r.at)-1)*maxRunGap + 1
		ranges[i] = rangeSpec{prefix: s.logKey(r.subID, r.first), end: s.logKey(r.subID, r.last) + "\x00", limit: keysAtMost}
	}
	kvs := make([]*mvccpb.KeyValue, len(chosen))
	var seqErr error
	err := s.readBoth(ctx, true, nil, ranges, nil, func(i int, read rangeRead) {
		for _, kv := range read.kvs {
			seq, err := seqOfKey(string(kv.Key))
			if err != nil {
				seqErr = err
				return
			}
			if at, ok := runs[i].at[seq]; ok {
				kvs[at] = kv
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return kvs, seqErr
}

// Stats counts the pending deliveries and finds the oldest. It reads the keys of the pending and
// ready indexes (every pending delivery is in one or both: queue.go) and the record of the lowest
// pending seq of each subscription with work. Errors: etcd errors.
func (s *Store) Stats() (state.PendingStats, error) {
	ctx, cancel := s.op()
	defer cancel()
	lowest := map[string]uint64{} // subscription (escaped) → its lowest pending seq
	seen := map[string]bool{}     // "<escaped sub>/<seq hex>" counted
	var st state.PendingStats
	for _, dir := range []string{dirPending, dirReady} {
		resp, err := s.client.Get(ctx, s.key(dir), clientv3.WithPrefix(), clientv3.WithKeysOnly())
		if err != nil {
			return state.PendingStats{}, wrap("stats", err)
		}
		for _, kv := range resp.Kvs {
			rest := strings.TrimPrefix(string(kv.Key), s.key(dir))
			sub, _, _ := strings.Cut(rest, "/")
			seqHex := rest[strings.LastIndexByte(rest, '/')+1:]
			seq, err := parseHex16(seqHex)
			if err != nil {
				return state.PendingStats{}, wrap("stats", fmt.Errorf("key %q: %w", kv.Key, err))
			}
			if id := sub + "/" + seqHex; !seen[id] {
				seen[id] = true
				st.Pending++
			}
			if low, ok := lowest[sub]; !ok || seq < low {
				lowest[sub] = seq
			}
		}
	}
	var heads []string
	for sub, seq := range lowest {
		heads = append(heads, s.key(dirLog)+sub+"/"+hex16(seq))
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
// first or next attempt), as bolt.Store.PendingCount does: the count of its pending entries (a FIFO
// subscription's queue) or of its ready entries (a best-effort one's), whichever is larger, which
// etcd answers in one request without sending the keys. A subscription without any, or one that
// does not exist, has 0. Errors: etcd errors.
func (s *Store) PendingCount(subID string) (int, error) {
	ctx, cancel := s.op()
	defer cancel()
	resp, err := s.client.Txn(ctx).Then(
		clientv3.OpGet(s.pendingDir(subID), clientv3.WithPrefix(), clientv3.WithCountOnly()),
		clientv3.OpGet(s.readyDir(subID), clientv3.WithPrefix(), clientv3.WithCountOnly()),
	).Commit()
	if err != nil {
		return 0, wrap("pending count", err)
	}
	return int(max(resp.Responses[0].GetResponseRange().Count, resp.Responses[1].GetResponseRange().Count)), nil
}
