package cluster

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// dirHolds holds HipChat's holds on a key (a connection): {prefix}holds/{key} = until, in Unix
// milliseconds, on a lease that ends a second after it.
const dirHolds = "holds/"

// Hold tells every replica that key may make no call before until (HipChat answered
// X-Ratelimit-Remaining: 0, or 429): one write, on a lease that expires a second after until. The
// replicas' clocks are assumed to agree to within a second or so; a hold is a courtesy that saves
// the others a refused call each, not the budget's guarantee. Errors: etcd's.
func (s *SharedBudget) Hold(ctx context.Context, key string, until time.Time) error {
	left := time.Until(until)
	if left <= 0 || key == "" || strings.Contains(key, "/") {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.OpTimeout)
	defer cancel()
	lease, err := s.client.Grant(ctx, int64(left/time.Second)+2)
	if err != nil {
		return fmt.Errorf("granting a lease for a hold: %w", err)
	}
	_, err = s.client.Put(ctx, s.holdsDir()+key, strconv.FormatInt(until.UnixMilli(), 10), clientv3.WithLease(lease.ID))
	if err != nil {
		return fmt.Errorf("writing a hold: %w", err)
	}
	return nil
}

// WatchHolds calls apply with every hold the replicas write (Hold), those in place first, until
// ctx ends; a watch that ends is opened again from where it stopped.
func (s *SharedBudget) WatchHolds(ctx context.Context, apply func(key string, until time.Time)) {
	dir := s.holdsDir()
	rev := int64(0)
	for ctx.Err() == nil {
		if rev == 0 {
			opCtx, cancel := context.WithTimeout(ctx, s.opts.OpTimeout)
			got, err := s.client.Get(opCtx, dir, clientv3.WithPrefix())
			cancel()
			if err == nil {
				for _, kv := range got.Kvs {
					applyHold(apply, dir, kv.Key, kv.Value)
				}
				rev = got.Header.Revision + 1
			}
		}
		if rev != 0 {
			for resp := range s.client.Watch(clientv3.WithRequireLeader(ctx), dir, clientv3.WithPrefix(), clientv3.WithRev(rev)) {
				if resp.CompactRevision != 0 {
					rev = 0 // history compacted: read what is in place again
					break
				}
				for _, ev := range resp.Events {
					if ev.Type == clientv3.EventTypePut {
						applyHold(apply, dir, ev.Kv.Key, ev.Kv.Value)
					}
					rev = ev.Kv.ModRevision + 1
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (s *SharedBudget) holdsDir() string { return strings.TrimSuffix(s.dir, dirBudget) + dirHolds }

func applyHold(apply func(string, time.Time), dir string, key, value []byte) {
	ms, err := strconv.ParseInt(string(value), 10, 64)
	if err != nil {
		return
	}
	apply(strings.TrimPrefix(string(key), dir), time.UnixMilli(ms))
}
