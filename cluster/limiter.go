package cluster

import (
	"context"
	"errors"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// SharedLimiter is the HipChat client's budget when replicas share etcd: every call of a
// connection, on any replica, is taken from one budget in etcd (a SharedBudget), so no
// 60-second window holds more than 100 calls of a connection over all replicas together. HipChat's
// own hold (X-Ratelimit-Remaining: 0, a 429) is told to the other replicas too (Hold, WatchHolds),
// so they do not spend a refused call each to learn it.
type SharedLimiter struct {
	local  *connector.Limiter
	shared *SharedBudget
	stop   context.CancelFunc // ends the watch of the others' holds
	holds  sync.WaitGroup
}

// NewSharedLimiter shares local's budget (serve: the connector's default, 100 calls in any 61 s, 90
// of them for actions, 75 for the poller) over the replicas under prefix, as member, and starts
// watching the holds the other replicas heard of. Errors: those of NewSharedBudget. Close stops it.
func NewSharedLimiter(client *clientv3.Client, prefix, member string, local *connector.Limiter) (*SharedLimiter, error) {
	foreground, limit, window := local.ClassMax(connector.Foreground)
	background, _, _ := local.ClassMax(connector.Background)
	shared, err := NewSharedBudget(client, prefix, member, BudgetOptions{
		Limit: limit, Window: window,
		ClassMax: map[string]int{connector.Foreground.String(): foreground, connector.Background.String(): background},
	})
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	l := &SharedLimiter{local: local, shared: shared, stop: stop}
	l.holds.Go(func() { shared.WatchHolds(ctx, local.BlockUntil) })
	return l, nil
}

// Close stops the watch and hands back the blocks' unused calls.
func (l *SharedLimiter) Close() {
	l.stop()
	l.holds.Wait()
	l.shared.Close()
}

// Take takes one call of connection id from the shared budget: refused at once while HipChat
// holds the connection back, refused with the connector's budget when the replicas together used
// it, and refused (BudgetShared) when etcd cannot be reached.
func (l *SharedLimiter) Take(ctx context.Context, id string, class connector.Class) (connector.Refusal, bool) {
	if refusal, held := l.local.HeldBack(id); held {
		return refusal, false
	}
	retry, err := l.shared.Take(ctx, id, class.String())
	switch {
	case errors.Is(err, ErrOverBudget):
		return connector.Refusal{Budget: connector.BudgetConnector, RetryAfter: retry}, false
	case err != nil:
		return connector.Refusal{Budget: connector.BudgetShared, RetryAfter: retry}, false
	}
	// The shared budget is the stricter one; the local log only keeps the process's view (and
	// sweeps HipChat's holds).
	return l.local.Acquire(id, class)
}

// BlockUntil holds connection id back until t, here at once and on the other replicas as soon as
// they hear of it (a failed write is not retried: each replica still learns the hold from HipChat
// on its next call).
func (l *SharedLimiter) BlockUntil(id string, t time.Time) {
	l.local.BlockUntil(id, t)
	l.holds.Go(func() { _ = l.shared.Hold(context.Background(), id, t) })
}

// ClassMax is the budget, now over every replica together.
func (l *SharedLimiter) ClassMax(class connector.Class) (int, int, time.Duration) {
	return l.local.ClassMax(class)
}
