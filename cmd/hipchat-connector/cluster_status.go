package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hipchat-connector/hipchat-connector/cluster"
	"github.com/hipchat-connector/hipchat-connector/poller"
)

// statusEvery is how often a replica publishes the poll plans and push states of the connections
// it owns; statusFresh how long a replica reuses one it read.
const (
	statusEvery = 2 * time.Second
	statusFresh = time.Second
)

// connectionStatus is what GetSubscription shows of a connection's polling: the plan, and each
// push feed's state by room.
type connectionStatus struct {
	Plan    poller.Plan                 `json:"plan"`
	HasPlan bool                        `json:"has_plan"` // false before the owner's first tick
	Push    map[string]poller.PushState `json:"push,omitempty"`
}

// statusBoard lets any replica answer GetSubscription's poll plan and push state, which only the
// owner of the connection knows: the owner writes them under {prefix}cluster/status/{connection}
// (on its session's lease) when they change, and the others read them there.
type statusBoard struct {
	client *clientv3.Client
	dir    string
	member *cluster.Member
	log    *slog.Logger

	mu      sync.Mutex
	written map[string]connectionStatus // what this replica last wrote, by connection
	read    map[string]readStatus
}

type readStatus struct {
	status connectionStatus
	ok     bool
	at     time.Time
}

func newStatusBoard(client *clientv3.Client, prefix string, member *cluster.Member, logger *slog.Logger) *statusBoard {
	return &statusBoard{client: client, dir: prefix + "status/", member: member, log: logger,
		written: map[string]connectionStatus{}, read: map[string]readStatus{}}
}

// run publishes every statusEvery until ctx ends.
func (b *statusBoard) run(ctx context.Context, poll *poller.Poller, owns func(connectionID string) bool) {
	t := time.NewTicker(statusEvery)
	defer t.Stop()
	for {
		b.publish(ctx, poll, owns)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// publish writes the status of each connection this replica owns and polled, when it changed
// since it last wrote it. A failed write is tried again at the next publish.
func (b *statusBoard) publish(ctx context.Context, poll *poller.Poller, owns func(string) bool) {
	lease := b.member.Lease()
	if lease == clientv3.NoLease {
		return
	}
	push := poll.PushStates()
	for _, id := range poll.Connections() {
		if !owns(id) {
			b.mu.Lock()
			delete(b.written, id) // when it comes back, write it again
			b.mu.Unlock()
			continue
		}
		status := connectionStatus{Push: push[id]}
		status.Plan, status.HasPlan = poll.Plan(id)
		b.mu.Lock()
		last, wrote := b.written[id]
		b.mu.Unlock()
		if wrote && last.Plan == status.Plan && last.HasPlan == status.HasPlan && maps.Equal(last.Push, status.Push) {
			continue
		}
		value, err := json.Marshal(status)
		if err != nil {
			continue
		}
		opCtx, cancel := context.WithTimeout(ctx, etcdCallTimeout)
		_, err = b.client.Put(opCtx, b.dir+id, string(value), clientv3.WithLease(lease))
		cancel()
		if err != nil {
			b.log.Debug("publishing a connection's poll status failed; tried again shortly", "err", err)
			continue
		}
		b.mu.Lock()
		b.written[id] = status
		b.mu.Unlock()
	}
}

// lookup reads connection id's status as its owner wrote it, reusing one read within statusFresh;
// ok is false when there is none (not polled yet) or etcd did not answer.
func (b *statusBoard) lookup(id string) (connectionStatus, bool) {
	b.mu.Lock()
	if r, hit := b.read[id]; hit && time.Since(r.at) < statusFresh {
		b.mu.Unlock()
		return r.status, r.ok
	}
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), etcdCallTimeout)
	defer cancel()
	got, err := b.client.Get(ctx, b.dir+id)
	if err != nil {
		return connectionStatus{}, false
	}
	var r readStatus
	if len(got.Kvs) == 1 && json.Unmarshal(got.Kvs[0].Value, &r.status) == nil {
		r.ok = true
	}
	r.at = time.Now()
	b.mu.Lock()
	if len(b.read) > 10000 {
		b.read = map[string]readStatus{} // a cache, not a store
	}
	b.read[id] = r
	b.mu.Unlock()
	return r.status, r.ok
}

// pollPlan is the server's PollPlan: the poller's own when this replica owns the connection (or
// there is no cluster), else the owner's as published.
func (r *replica) pollPlan(poll *poller.Poller) func(connectionID string) (poller.Plan, bool) {
	return func(id string) (poller.Plan, bool) {
		if r.status == nil || r.ownsConnection(id) {
			return poll.Plan(id)
		}
		status, ok := r.status.lookup(id)
		return status.Plan, ok && status.HasPlan
	}
}

// pushStatus is the server's PushStatus, answered as pollPlan is.
func (r *replica) pushStatus(poll *poller.Poller) func(connectionID, room string) (string, string, bool) {
	return func(id, room string) (string, string, bool) {
		if r.status == nil || r.ownsConnection(id) {
			return poll.PushStatus(id, room)
		}
		status, ok := r.status.lookup(id)
		push, has := status.Push[room]
		if !ok || !has {
			return "", "", false
		}
		return push.State, push.Reason, true
	}
}
