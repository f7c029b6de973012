package main

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hipchat-connector/hipchat-connector/cluster"
)

// doorbellRelay carries HipChat's doorbells (push, issue 16) between replicas: HipChat calls the
// one public URL, the load balancer hands the call to any replica, and only the owner of the feed's
// connection may read it. A replica that receives a doorbell it checked (the secret derives from
// the shared server key) but does not own writes {prefix}cluster/doorbells/{feed id} (an empty
// value, on its session's lease, so the keys go with it); every replica watches that directory and
// the owner rings the feed. A doorbell lost on the way (a replica without a session, a watch that
// was restarting) costs latency only: the feed's reconcile reads still find the event.
type doorbellRelay struct {
	client    *clientv3.Client
	dir       string
	member    *cluster.Member
	log       *slog.Logger
	forwarded atomic.Uint64
}

func newDoorbellRelay(client *clientv3.Client, prefix string, member *cluster.Member, logger *slog.Logger) *doorbellRelay {
	return &doorbellRelay{client: client, dir: prefix + "doorbells/", member: member, log: logger}
}

// doorbellRing is what the poller offers the relay: the check any replica can make, the ring of an
// owned feed, and the plain ring (which counts a refused doorbell).
type doorbellRing interface {
	DoorbellValid(id, secret string) bool
	RingOwned(id string) bool
	Ring(id, secret string) bool
}

// answer is the server's doorbell (nil relay: the poller's own Ring). A wrong secret is refused
// (404) at no cost; a feed this replica owns is read here; any other valid doorbell is forwarded,
// and refused when it could not be.
func (d *doorbellRelay) answer(poll doorbellRing) func(id, secret string) bool {
	if d == nil {
		return poll.Ring
	}
	return func(id, secret string) bool {
		if !poll.DoorbellValid(id, secret) {
			return poll.Ring(id, secret)
		}
		if poll.RingOwned(id) {
			return true
		}
		return d.forward(id)
	}
}

// forward hands feed id's doorbell to its owner through etcd; false when this replica has no
// session or etcd did not take the write.
func (d *doorbellRelay) forward(id string) bool {
	lease := d.member.Lease()
	if lease == clientv3.NoLease {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), etcdCallTimeout)
	defer cancel()
	if _, err := d.client.Put(ctx, d.dir+id, "", clientv3.WithLease(lease)); err != nil {
		d.log.Warn("forwarding a doorbell to the feed's owner failed; its reconcile read finds the event", "err", err)
		return false
	}
	d.forwarded.Add(1)
	return true
}

// run watches the forwarded doorbells and rings those of feeds this replica owns, until ctx ends;
// a watch that ends (etcd restarting, a compaction) is opened again.
func (d *doorbellRelay) run(ctx context.Context, ringOwned func(id string) bool) {
	for ctx.Err() == nil {
		watch := d.client.Watch(clientv3.WithRequireLeader(ctx), d.dir, clientv3.WithPrefix())
		for resp := range watch {
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypePut {
					ringOwned(strings.TrimPrefix(string(ev.Kv.Key), d.dir))
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}
