package cluster

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// doorbellRelay carries HipChat's doorbells (push) between replicas. HipChat calls the one public
// URL, the load balancer hands the call to any replica, and only the owner of the feed's connection
// may read it. Each feed's doorbell secret is random and known to the replica that registered it,
// which publishes its SHA-256 under {prefix}cluster/doorbells/secrets/{feed id} when it sets it and
// deletes it when the feed is gone; the key outlives the replica (a new owner takes up the same
// secret from HipChat's list of the room's webhooks), and every replica watches them. A replica
// that receives a doorbell of a feed it does not own checks the secret against that digest, and
// forwards a valid one by writing {prefix}cluster/doorbells/rings/{feed id} (an empty value, on its
// lease), at most once per feed every forwardInterval; every replica watches that directory and the
// owner rings the feed. A wrong secret costs nothing but the check. A doorbell lost on the way (a
// replica without a session, a digest not yet published, a watch that was restarting) costs
// latency only: the feed's reconcile reads still find the event.
type doorbellRelay struct {
	client    *clientv3.Client
	dir       string // {prefix}cluster/doorbells/
	member    *Member
	log       *slog.Logger
	forwarded atomic.Uint64

	mu       sync.Mutex
	digests  map[string]string    // feed id → SHA-256 of its secret (hex), as published
	lastFwd  map[string]time.Time // feed id → when this replica last forwarded a doorbell of it
	trailing map[string]bool      // feed ids with a forward scheduled at the end of forwardInterval
	unsent   map[string]string    // this replica's changes not yet written (feed id → digest, "" gone)
}

// The relay's directories under {prefix}cluster/doorbells/; forwardInterval is the least time
// between two forwards of one feed's doorbells (the owner reads a feed at most that often on
// doorbells anyway); publishEvery how often an owner publishes its feeds' secret digests.
const (
	dirDoorbells       = "doorbells/"
	dirDoorbellRings   = "rings/"
	dirDoorbellSecrets = "secrets/"
	forwardInterval    = 2 * time.Second
	publishEvery       = 250 * time.Millisecond
)

func newDoorbellRelay(client *clientv3.Client, dir string, member *Member, logger *slog.Logger) *doorbellRelay {
	return &doorbellRelay{client: client, dir: dir + dirDoorbells, member: member, log: logger,
		digests: map[string]string{}, lastFwd: map[string]time.Time{}, trailing: map[string]bool{}, unsent: map[string]string{}}
}

// DoorbellRing is what the poller offers the relay: its own ring (a feed it knows and owns, with its
// secret), the ring of a doorbell another replica checked and forwarded, and the changes of the
// secrets it set (feed id → SHA-256 of the secret, hex; "" when the feed is gone).
type DoorbellRing interface {
	Ring(id, secret string, payload []byte) bool
	RingForwarded(id string) bool
	DoorbellChanges() map[string]string
}

// Doorbell is the server's doorbell: poll's own Ring for a nil Replica. With replicas, a feed this
// replica owns is rung here; a doorbell of another replica's feed whose secret matches its
// published digest is forwarded to the owner; anything else is refused (false: 404) at no cost.
func (r *Replica) Doorbell(poll DoorbellRing) func(id, secret string, payload []byte) bool {
	if r == nil {
		return poll.Ring
	}
	d := r.relay
	return func(id, secret string, payload []byte) bool {
		if poll.Ring(id, secret, payload) {
			return true
		}
		if !d.valid(id, secret) {
			return false
		}
		return d.forward(id)
	}
}

// valid reports whether secret is feed id's doorbell secret as its owner published it.
func (d *doorbellRelay) valid(id, secret string) bool {
	d.mu.Lock()
	digest, ok := d.digests[id]
	d.mu.Unlock()
	sum := sha256.Sum256([]byte(secret))
	return ok && subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(digest)) == 1
}

// forward hands feed id's doorbell to its owner through etcd: at once when it forwarded none of
// the feed within forwardInterval, else once more at the end of that interval, for every doorbell
// that came within it (the owner reads a feed no more often than that on doorbells anyway). It
// returns false when this replica has no session or etcd did not take the write.
func (d *doorbellRelay) forward(id string) bool {
	d.mu.Lock()
	if wait := forwardInterval - time.Since(d.lastFwd[id]); wait > 0 {
		if !d.trailing[id] {
			d.trailing[id] = true
			time.AfterFunc(wait, func() {
				d.mu.Lock()
				delete(d.trailing, id)
				d.lastFwd[id] = time.Now()
				d.mu.Unlock()
				d.put(id)
			})
		}
		d.mu.Unlock()
		return true
	}
	d.lastFwd[id] = time.Now()
	d.mu.Unlock()
	return d.put(id)
}

// put writes feed id's forwarded doorbell, on this replica's lease.
func (d *doorbellRelay) put(id string) bool {
	lease := d.member.Lease()
	if lease == clientv3.NoLease {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), etcdCallTimeout)
	defer cancel()
	if _, err := d.client.Put(ctx, d.dir+dirDoorbellRings+id, "", clientv3.WithLease(lease)); err != nil {
		d.log.Warn("forwarding a doorbell to the feed's owner failed; its reconcile read finds the event", "err", err)
		return false
	}
	d.forwarded.Add(1)
	return true
}

// RelayDoorbells runs the relay until ctx ends: it rings, with poll.RingForwarded, the doorbells
// the other replicas forwarded for feeds this replica owns; it keeps the published secret digests
// of every replica's feeds; and it publishes those of this replica's feeds. A watch that ends (etcd
// restarting, a compaction) is opened again. It returns at once for a nil Replica.
func (r *Replica) RelayDoorbells(ctx context.Context, poll DoorbellRing) {
	if r == nil {
		return
	}
	d := r.relay
	var wg sync.WaitGroup
	wg.Go(func() {
		ring := func(id string, _ []byte, put bool) {
			if put {
				poll.RingForwarded(id)
			}
		}
		d.watch(ctx, dirDoorbellRings, func(present map[string][]byte) {
			for id := range present {
				ring(id, nil, true)
			}
		}, ring)
	})
	wg.Go(func() { d.watch(ctx, dirDoorbellSecrets, d.replaceDigests, d.learnDigest) })
	wg.Go(func() { d.publish(ctx, poll.DoorbellChanges) })
	wg.Wait()
}

// replaceDigests keeps the published secret digests present (feed id → digest), and forgets every
// other it knew: a digest deleted while no watch followed the directory (etcd restarting, or a
// compaction past a watch that lagged) must not keep its old doorbell URL valid here.
func (d *doorbellRelay) replaceDigests(present map[string][]byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	clear(d.digests)
	for id, digest := range present {
		d.digests[id] = string(digest)
	}
}

// learnDigest keeps (or, deleted, forgets) the published secret digest of feed id.
func (d *doorbellRelay) learnDigest(id string, digest []byte, put bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if put {
		d.digests[id] = string(digest)
	} else {
		delete(d.digests, id)
	}
}

// watch reads sub's keys and hands them to snapshot (id → value), then follows their changes,
// calling seen(id, value, put) for each, until ctx ends. A watch that ends (etcd restarting, a
// compaction past a watch that lagged) is opened again after a new read, whose snapshot holds
// what is in place: a key deleted meanwhile is missing from it, though no event said so.
func (d *doorbellRelay) watch(ctx context.Context, sub string, snapshot func(present map[string][]byte), seen func(id string, value []byte, put bool)) {
	dir := d.dir + sub
	for ctx.Err() == nil {
		getCtx, cancel := context.WithTimeout(ctx, etcdCallTimeout)
		resp, err := d.client.Get(getCtx, dir, clientv3.WithPrefix())
		cancel()
		if err == nil {
			present := make(map[string][]byte, len(resp.Kvs))
			for _, kv := range resp.Kvs {
				present[strings.TrimPrefix(string(kv.Key), dir)] = kv.Value
			}
			snapshot(present)
			watch := d.client.Watch(clientv3.WithRequireLeader(ctx), dir, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
			for resp := range watch {
				for _, ev := range resp.Events {
					seen(strings.TrimPrefix(string(ev.Kv.Key), dir), ev.Kv.Value, ev.Type == clientv3.EventTypePut)
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// publish writes the secret digests this replica set, and deletes those of its feeds that are
// gone, every publishEvery until ctx ends; a change that could not be written is written at the
// next turn (unless a later change of the feed replaced it).
func (d *doorbellRelay) publish(ctx context.Context, changes func() map[string]string) {
	t := time.NewTicker(publishEvery)
	defer t.Stop()
	for {
		d.publishOnce(ctx, changes())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// publishOnce writes the unsent changes and latest, in one etcd transaction per maxPublishOps.
func (d *doorbellRelay) publishOnce(ctx context.Context, latest map[string]string) {
	d.mu.Lock()
	maps.Copy(d.unsent, latest)
	unsent := maps.Clone(d.unsent)
	d.mu.Unlock()
	if len(unsent) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, etcdCallTimeout)
	defer cancel()
	var ops []clientv3.Op
	var ids []string
	for id, digest := range unsent {
		key := d.dir + dirDoorbellSecrets + id
		if digest == "" {
			ops = append(ops, clientv3.OpDelete(key))
		} else {
			ops = append(ops, clientv3.OpPut(key, digest))
		}
		ids = append(ids, id)
		if len(ops) < maxPublishOps && len(ids) < len(unsent) {
			continue
		}
		if _, err := d.client.Txn(ctx).Then(ops...).Commit(); err != nil {
			d.log.Warn("publishing the doorbell secrets of this replica's feeds failed; trying again", "err", err)
			return
		}
		d.mu.Lock()
		for _, id := range ids {
			if d.unsent[id] == unsent[id] {
				delete(d.unsent, id)
			}
		}
		d.mu.Unlock()
		ops, ids = ops[:0], ids[:0]
	}
}

// maxPublishOps keeps one publish transaction within etcd's 128 operations.
const maxPublishOps = 100
