package cluster

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
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
	member    *Member
	log       *slog.Logger
	forwarded atomic.Uint64
}

// dirDoorbells holds the doorbells forwarded to a feed's owner, {prefix}doorbells/{feed id}.
const dirDoorbells = "doorbells/"

// DoorbellRing is what the poller offers the relay: the check any replica can make, the ring of an
// owned feed, and the plain ring (which counts a refused doorbell).
type DoorbellRing interface {
	DoorbellValid(id, secret string) bool
	RingOwned(id string) bool
	Ring(id, secret string) bool
}

// Doorbell is the server's doorbell: poll's own Ring for a nil Replica. With replicas a wrong
// secret is refused (false: 404) at no cost; a feed this replica owns is read here; any other valid
// doorbell is forwarded to the owner, and refused when it could not be.
func (r *Replica) Doorbell(poll DoorbellRing) func(id, secret string) bool {
	if r == nil {
		return poll.Ring
	}
	d := r.relay
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

// RelayDoorbells watches the doorbells the other replicas forwarded and rings, with ringOwned
// (Poller.RingOwned), those of feeds this replica owns, until ctx ends; a watch that ends (etcd
// restarting, a compaction) is opened again. It returns at once for a nil Replica.
func (r *Replica) RelayDoorbells(ctx context.Context, ringOwned func(id string) bool) {
	if r == nil {
		return
	}
	d := r.relay
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
