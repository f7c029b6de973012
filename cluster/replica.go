package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// Dir is the directory, under the store's prefix, that holds every key the replicas write: members,
// budget, holds, doorbells and status. Nothing outside this package writes there.
const Dir = "cluster/"

// etcdCallTimeout bounds one etcd call of the doorbell relay and the status board: past it the
// doorbell waits for its reconcile read, the status for the next publish.
const etcdCallTimeout = 2 * time.Second

// Fence is the store whose commits a replica's lease fences, so that a replica that lost its lease
// cannot write; *etcd.Store (package state/etcd) is one.
type Fence interface {
	// FenceWith makes every later commit conditional on key existing under the lease lease returns.
	FenceWith(key string, lease func() clientv3.LeaseID)
	// FencedWritesRefused counts the commits refused because the lease was gone.
	FencedWritesRefused() uint64
}

// ReplicaOptions configure JoinReplicas.
type ReplicaOptions struct {
	// Client is the etcd client the store uses. Required.
	Client *clientv3.Client
	// Prefix is the store's key prefix; the replicas write under Prefix + Dir.
	Prefix string
	// LeaseTTL is the TTL of the replica's session: a dead replica's feeds and deliveries move to
	// the others within it. 0 means DefaultTTL.
	LeaseTTL time.Duration
	// Fence is the store the replica's lease fences. Required.
	Fence Fence
	// ID is the member id; empty means the host name and 6 random hex digits, so that a restarted
	// replica never takes the id of its own previous session, still alive until its lease expires.
	ID string
	// Limiter is the budget shared over the replicas; nil means the connector's default.
	Limiter *connector.Limiter
	// Registerer takes the cluster metrics; nil registers none.
	Registerer prometheus.Registerer
	// Logger logs joins, losses, membership changes and relay failures; nil discards them.
	Logger *slog.Logger
}

// Replica is this process's place among the replicas sharing one etcd prefix: its membership, the
// ownership rules of feeds, connections and subscriptions, the shared budget, the doorbell relay
// and the status board. A nil *Replica (bbolt, one process) owns everything, and its rules are nil.
type Replica struct {
	member *Member
	feeds  *Tracker
	subs   *Tracker
	budget *SharedLimiter
	relay  *doorbellRelay
	client *clientv3.Client
	dir    string
	log    *slog.Logger
}

// JoinReplicas joins the replicas under opts.Prefix + Dir, fences opts.Fence's commits with the
// session's lease, shares the connector's budget over the replicas and registers the cluster
// metrics. Errors: missing options, no member id, joining (etcd unreachable, an id in use), the
// shared budget's options, or metrics registered already. Leave undoes it.
func JoinReplicas(ctx context.Context, opts ReplicaOptions) (*Replica, error) {
	if opts.Client == nil || opts.Fence == nil {
		return nil, errors.New("cluster: joining the replicas needs an etcd client and a fence")
	}
	opts = opts.withDefaults()
	id := opts.ID
	if id == "" {
		var err error
		if id, err = memberID(); err != nil {
			return nil, err
		}
	}
	dir := opts.Prefix + Dir
	member, err := Join(ctx, opts.Client, dir, opts.LeaseTTL, id, WithLogger(opts.Logger))
	if err != nil {
		return nil, fmt.Errorf("joining the replicas on etcd: %w", err)
	}
	// Every cursor-and-outbox commit is fenced by this replica's lease: once it expired (the feeds
	// given to the others), etcd refuses the commit.
	opts.Fence.FenceWith(member.Key(), member.Lease)
	budget, err := NewSharedLimiter(opts.Client, dir, id, opts.Limiter)
	if err != nil {
		_ = member.Close()
		return nil, err
	}
	// A connection's feeds are owned together, by one replica: its background calls are then
	// planned by one poller against the connection's whole background share.
	r := &Replica{member: member, feeds: NewTracker(ownsConnectionOf(member)), subs: NewTracker(member.Owns),
		budget: budget, client: opts.Client, dir: dir, log: opts.Logger}
	r.relay = newDoorbellRelay(opts.Client, dir, member, opts.Logger)
	if opts.Registerer != nil {
		if err := r.registerMetrics(opts.Registerer, opts.Fence); err != nil {
			r.Leave()
			return nil, err
		}
	}
	opts.Logger.Info("joined the replicas", "member", id, "lease_ttl", opts.LeaseTTL.String(), "members", member.Members())
	return r, nil
}

func (o ReplicaOptions) withDefaults() ReplicaOptions {
	if o.LeaseTTL == 0 {
		o.LeaseTTL = DefaultTTL
	}
	if o.Limiter == nil {
		o.Limiter = connector.NewLimiter(connector.DefaultLimiterOptions())
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// memberID is the host name and 6 random hex digits.
func memberID() (string, error) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "replica"
	}
	host = strings.NewReplacer("/", "-", " ", "-").Replace(host)
	suffix := make([]byte, 3)
	if _, err := rand.Read(suffix); err != nil {
		return "", fmt.Errorf("member id: %w", err)
	}
	return host + "-" + hex.EncodeToString(suffix), nil
}

// ownsConnectionOf is the feeds' ownership rule: "feed/{connection}/{room}" belongs to the owner
// of "connection/{connection}".
func ownsConnectionOf(member *Member) func(feedKey string) bool {
	return func(feedKey string) bool {
		connectionID, _, _ := strings.Cut(strings.TrimPrefix(feedKey, "feed/"), "/")
		return member.Owns(connectionKey(connectionID))
	}
}

// connectionKey is the ownership key of a connection's feeds among the replicas.
func connectionKey(connectionID string) string { return "connection/" + connectionID }

// OwnsFeed is the poller's rule: the feed of a room (or "" for the room list) is this replica's
// when its connection is. Nil for a nil Replica: every feed.
func (r *Replica) OwnsFeed() func(connectionID, room string) bool {
	if r == nil {
		return nil
	}
	return func(connectionID, room string) bool { return r.feeds.Owns("feed/" + connectionID + "/" + room) }
}

// OwnsConnection reports whether this replica polls connection id's feeds (true for a nil Replica).
func (r *Replica) OwnsConnection(id string) bool {
	return r == nil || r.member.Owns(connectionKey(id))
}

// OwnsSubscription is the deliverer's rule. Nil for a nil Replica: every subscription.
func (r *Replica) OwnsSubscription() func(subscriptionID string) bool {
	if r == nil {
		return nil
	}
	return func(id string) bool { return r.subs.Owns("subscription/" + id) }
}

// Limiter is the budget the HipChat client's calls pass, shared over the replicas. Nil for a nil
// Replica: the client's own in-memory limiter.
func (r *Replica) Limiter() connector.CallLimiter {
	if r == nil {
		return nil
	}
	return r.budget
}

// Ready is /readyz's condition: an error while this replica holds no etcd session. Nil for a nil
// Replica: no condition beyond serving.
func (r *Replica) Ready() func() error {
	if r == nil {
		return nil
	}
	return func() error {
		if !r.member.Ready() {
			return errors.New("no etcd session: this replica owns no feed until it joins again")
		}
		return nil
	}
}

// OnChange calls f when the members change (never for a nil Replica).
func (r *Replica) OnChange(f func()) {
	if r != nil {
		r.member.OnChange(f)
	}
}

// Leave hands back the unused shared budget and revokes the session, so the others take this
// replica's feeds at once. A failure is logged: the others then take over when the lease expires.
func (r *Replica) Leave() {
	if r == nil {
		return
	}
	r.budget.Close()
	if err := r.member.Close(); err != nil {
		r.log.Warn("leaving the replicas failed; the others take over when the lease expires", "err", err)
	}
}
