package main

import (
	"context"
	"errors"
	"time"

	"github.com/hipchat-connector/hipchat-connector/cluster"
	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/etcdstore"
)

// sharedLimiter is the HipChat client's budget when replicas share etcd: every call of a
// connection, on any replica, is taken from one budget in etcd (cluster.SharedBudget), so no
// 60-second window holds more than 100 calls of a connection over all replicas together. HipChat's
// own hold (X-Ratelimit-Remaining: 0, a 429) stays in the replica that saw it; the others see it on
// their next call.
type sharedLimiter struct {
	local  *connector.Limiter
	shared *cluster.SharedBudget
}

// newSharedLimiter shares the connector's default budget (100 calls in any 61 s, 90 of them for
// actions, 75 for the poller) over the replicas of es's prefix, as member.
func newSharedLimiter(es *etcdstore.Store, member string) (*sharedLimiter, error) {
	local := connector.NewLimiter(connector.DefaultLimiterOptions())
	foreground, limit, window := local.ClassMax(connector.Foreground)
	background, _, _ := local.ClassMax(connector.Background)
	shared, err := cluster.NewSharedBudget(es.Client(), es.Prefix()+"cluster/", member, cluster.BudgetOptions{
		Limit: limit, Window: window,
		ClassMax: map[string]int{connector.Foreground.String(): foreground, connector.Background.String(): background},
	})
	if err != nil {
		return nil, err
	}
	return &sharedLimiter{local: local, shared: shared}, nil
}

// Take takes one call of connection id from the shared budget: refused at once while HipChat
// holds the connection back, refused with the connector's budget when the replicas together used
// it, and refused (BudgetShared) when etcd cannot be reached.
func (l *sharedLimiter) Take(ctx context.Context, id string, class connector.Class) (connector.Refusal, bool) {
	if refusal, held := l.local.HeldBack(id); held {
		return refusal, false
	}
	retry, err := l.shared.Take(ctx, id, class.String())
	switch {
	case errors.Is(err, cluster.ErrOverBudget):
		return connector.Refusal{Budget: connector.BudgetConnector, RetryAfter: retry}, false
	case err != nil:
		return connector.Refusal{Budget: connector.BudgetShared, RetryAfter: retry}, false
	}
	// The shared budget is the stricter one; the local log only keeps the process's view (and
	// sweeps HipChat's holds).
	return l.local.Acquire(id, class)
}

// BlockUntil holds connection id back on this replica until t.
func (l *sharedLimiter) BlockUntil(id string, t time.Time) { l.local.BlockUntil(id, t) }

// ClassMax is the budget, now over every replica together.
func (l *sharedLimiter) ClassMax(class connector.Class) (int, int, time.Duration) {
	return l.local.ClassMax(class)
}
