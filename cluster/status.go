package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// dirStatus holds each owned connection's published status, {prefix}status/{connection}.
const dirStatus = "status/"

// statusEvery is how often a replica publishes the poll plans and push states of the connections
// it owns; statusFresh how long a replica reuses one it read.
const (
	statusEvery = 2 * time.Second
	statusFresh = time.Second
)

// StatusSource is what the owner of a connection knows and publishes (the poller): the connections
// it polls, each one's poll plan (P) and the push state of each of its push feeds by room (R,
// which marshals to {"state", "reason"}).
type StatusSource[P, R any] interface {
	Connections() []string
	Plan(connectionID string) (P, bool)
	PushStatus(connectionID, room string) (state, reason string, ok bool)
	PushStates() map[string]map[string]R
}

// connectionStatus is what the board holds of a connection: the plan, and each push feed's state
// by room.
type connectionStatus[P, R any] struct {
	Plan    P            `json:"plan"`
	HasPlan bool         `json:"has_plan"` // false before the owner's first tick
	Push    map[string]R `json:"push,omitempty"`
}

// publishedPush is how any R reads back.
type publishedPush struct {
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// StatusBoard lets any replica answer GetSubscription's poll plan and push state, which only the
// owner of the connection knows: the owner writes them under {prefix}cluster/status/{connection}
// (on its session's lease) when they change, and the others read them there. For a nil Replica it
// asks the source alone.
type StatusBoard[P, R any] struct {
	replica *Replica
	source  StatusSource[P, R]

	mu      sync.Mutex
	written map[string][]byte // what this replica last wrote, by connection
	read    map[string]readStatus[P]
}

type readStatus[P any] struct {
	status connectionStatus[P, publishedPush]
	ok     bool
	at     time.Time
}

// NewStatusBoard returns the board of replica r for the connections source polls.
func NewStatusBoard[P, R any](r *Replica, source StatusSource[P, R]) *StatusBoard[P, R] {
	return &StatusBoard[P, R]{replica: r, source: source, written: map[string][]byte{}, read: map[string]readStatus[P]{}}
}

// Plan is connection id's poll plan: the source's own when this replica owns the connection (or
// there are no replicas), else the owner's as published; false when there is none yet or etcd did
// not answer.
func (b *StatusBoard[P, R]) Plan(id string) (P, bool) {
	if b.replica.OwnsConnection(id) {
		return b.source.Plan(id)
	}
	status, ok := b.lookup(id)
	return status.Plan, ok && status.HasPlan
}

// PushStatus is the push state of connection id's feed of room and why it is off, answered as Plan
// is.
func (b *StatusBoard[P, R]) PushStatus(id, room string) (state, reason string, ok bool) {
	if b.replica.OwnsConnection(id) {
		return b.source.PushStatus(id, room)
	}
	status, ok := b.lookup(id)
	push, has := status.Push[room]
	if !ok || !has {
		return "", "", false
	}
	return push.State, push.Reason, true
}

// Run publishes every statusEvery until ctx ends; it returns at once for a nil Replica.
func (b *StatusBoard[P, R]) Run(ctx context.Context) {
	if b.replica == nil {
		return
	}
	t := time.NewTicker(statusEvery)
	defer t.Stop()
	for {
		b.publish(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// publish writes the status of each connection this replica owns and polled, when it changed
// since it last wrote it. A failed write is tried again at the next publish.
func (b *StatusBoard[P, R]) publish(ctx context.Context) {
	r := b.replica
	lease := r.member.Lease()
	if lease == clientv3.NoLease {
		return
	}
	push := b.source.PushStates()
	for _, id := range b.source.Connections() {
		if !r.OwnsConnection(id) {
			b.mu.Lock()
			delete(b.written, id) // when it comes back, write it again
			b.mu.Unlock()
			continue
		}
		status := connectionStatus[P, R]{Push: push[id]}
		status.Plan, status.HasPlan = b.source.Plan(id)
		value, err := json.Marshal(status)
		if err != nil {
			continue
		}
		b.mu.Lock()
		last, wrote := b.written[id]
		b.mu.Unlock()
		if wrote && bytes.Equal(last, value) {
			continue
		}
		opCtx, cancel := context.WithTimeout(ctx, etcdCallTimeout)
		_, err = r.client.Put(opCtx, r.dir+dirStatus+id, string(value), clientv3.WithLease(lease))
		cancel()
		if err != nil {
			r.log.Debug("publishing a connection's poll status failed; tried again shortly", "err", err)
			continue
		}
		b.mu.Lock()
		b.written[id] = value
		b.mu.Unlock()
	}
}

// lookup reads connection id's status as its owner wrote it, reusing one read within statusFresh;
// ok is false when there is none (not polled yet) or etcd did not answer.
func (b *StatusBoard[P, R]) lookup(id string) (connectionStatus[P, publishedPush], bool) {
	b.mu.Lock()
	if r, hit := b.read[id]; hit && time.Since(r.at) < statusFresh {
		b.mu.Unlock()
		return r.status, r.ok
	}
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), etcdCallTimeout)
	defer cancel()
	got, err := b.replica.client.Get(ctx, b.replica.dir+dirStatus+id)
	if err != nil {
		return connectionStatus[P, publishedPush]{}, false
	}
	var r readStatus[P]
	if len(got.Kvs) == 1 && json.Unmarshal(got.Kvs[0].Value, &r.status) == nil {
		r.ok = true
	}
	r.at = time.Now()
	b.mu.Lock()
	if len(b.read) > 10000 {
		b.read = map[string]readStatus[P]{} // a cache, not a store
	}
	b.read[id] = r
	b.mu.Unlock()
	return r.status, r.ok
}
