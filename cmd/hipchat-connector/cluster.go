package main

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

	"github.com/hipchat-connector/hipchat-connector/cluster"
	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/state/etcd"
)

// replica is this process's place among the replicas sharing one etcd prefix (issue 17): its
// membership and the ownership rules handed to the poller and the deliverer. The zero value
// (bbolt, one process) owns everything: nil rules.
type replica struct {
	member *cluster.Member
	feeds  *cluster.Tracker
	subs   *cluster.Tracker
	budget *sharedLimiter
	relay  *doorbellRelay // nil without a cluster
	status *statusBoard   // nil without a cluster
}

// etcdCallTimeout bounds one etcd call of the doorbell relay and the status board: past it the
// doorbell waits for its reconcile read, the status for the next publish.
const etcdCallTimeout = 2 * time.Second

// joinReplicas joins the cluster of the etcd store's prefix with a fresh member id (the host name
// and a random suffix) and registers the cluster metrics; a bbolt store gives the zero replica.
func joinReplicas(ctx context.Context, store connectorStore, cfg etcdConfig, registry prometheus.Registerer, logger *slog.Logger) (*replica, error) {
	es, ok := store.(*etcd.Store)
	if !ok {
		return &replica{}, nil
	}
	id, err := memberID()
	if err != nil {
		return nil, err
	}
	dir := es.Prefix() + "cluster/" // the replicas' keys: members, budget, holds, doorbells, status
	member, err := cluster.Join(ctx, es.Client(), dir, cfg.LeaseTTL, id, cluster.WithLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("joining the replicas on etcd: %w", err)
	}
	// Every cursor-and-outbox commit is fenced by this replica's lease: once it expired (the feeds
	// given to the others), etcd refuses the commit.
	es.FenceWith(member.Key(), member.Lease)
	budget, err := newSharedLimiter(es.Client(), dir, id, connector.NewLimiter(connector.DefaultLimiterOptions()))
	if err != nil {
		_ = member.Close()
		return nil, err
	}
	// A connection's feeds are owned together, by one replica: its background calls are then
	// planned by one poller against the connection's whole background share (see ARCHITECTURE.md).
	r := &replica{member: member, feeds: cluster.NewTracker(ownsConnectionOf(member)), subs: cluster.NewTracker(member.Owns), budget: budget,
		relay: newDoorbellRelay(es.Client(), dir, member, logger), status: newStatusBoard(es.Client(), dir, member, logger)}
	registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hipchat_connector_cluster_feeds_owned",
			Help: "Feeds (a room's history, a token's room list) this replica owns among the live replicas.",
		}, func() float64 { return float64(r.feeds.Owned()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hipchat_connector_cluster_ownership_moves_total",
			Help: "Feeds and subscriptions whose ownership moved to or from this replica.",
		}, func() float64 { return float64(r.feeds.Moves() + r.subs.Moves()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hipchat_connector_cluster_budget_blocks_total",
			Help: "Blocks of HipChat calls this replica reserved from the connections' budgets shared over the replicas.",
		}, func() float64 { return float64(budget.shared.Reserved()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hipchat_connector_cluster_budget_unreachable_total",
			Help: "HipChat calls this replica refused because it could not reach the shared budget in etcd.",
		}, func() float64 { return float64(budget.shared.Unreachable()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hipchat_connector_cluster_doorbells_forwarded_total",
			Help: "HipChat doorbells (push) this replica received for a feed another replica owns and handed to it through etcd.",
		}, func() float64 { return float64(r.relay.forwarded.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hipchat_connector_cluster_fenced_writes_refused_total",
			Help: "Cursor-and-outbox commits etcd refused because this replica no longer held its lease.",
		}, func() float64 { return float64(es.FencedWritesRefused()) }),
	)
	logger.Info("joined the replicas", "member", id, "lease_ttl", cfg.LeaseTTL.String(), "members", member.Members())
	return r, nil
}

// memberID is the host name and 6 random hex digits, so that a restarted replica never takes the
// id of its own previous session, still alive until its lease expires.
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

// ownsFeed is the poller's rule (nil: everything): the feed of a room (or "" for the room list)
// is the replica's when the connection is.
func (r *replica) ownsFeed() func(connectionID, room string) bool {
	if r.member == nil {
		return nil
	}
	return func(connectionID, room string) bool { return r.feeds.Owns("feed/" + connectionID + "/" + room) }
}

// ownsConnectionOf is the feeds' ownership rule: "feed/{connection}/{room}" belongs to the owner
// of "connection/{connection}".
func ownsConnectionOf(member *cluster.Member) func(feedKey string) bool {
	return func(feedKey string) bool {
		connectionID, _, _ := strings.Cut(strings.TrimPrefix(feedKey, "feed/"), "/")
		return member.Owns(connectionKey(connectionID))
	}
}

// connectionKey is the ownership key of a connection's feeds among the replicas.
func connectionKey(connectionID string) string { return "connection/" + connectionID }

// ownsConnection reports whether this replica polls connection id's feeds (true without a cluster).
func (r *replica) ownsConnection(id string) bool {
	return r.member == nil || r.member.Owns(connectionKey(id))
}

// limiter is the budget the HipChat client's calls pass (nil without a cluster: the client's own
// in-memory limiter).
func (r *replica) limiter() connector.CallLimiter {
	if r.budget == nil {
		return nil
	}
	return r.budget
}

// ownsSubscription is the deliverer's rule (nil: everything).
func (r *replica) ownsSubscription() func(subscriptionID string) bool {
	if r.member == nil {
		return nil
	}
	return func(id string) bool { return r.subs.Owns("subscription/" + id) }
}

// ready is /readyz's part (nil: no condition beyond serving).
func (r *replica) ready() func() error {
	if r.member == nil {
		return nil
	}
	return func() error {
		if !r.member.Ready() {
			return errors.New("no etcd session: this replica owns no feed until it joins again")
		}
		return nil
	}
}

// onChange calls f when the members change (nothing without a cluster).
func (r *replica) onChange(f func()) {
	if r.member != nil {
		r.member.OnChange(f)
	}
}

// leave revokes the session, so the others take this replica's feeds at once.
func (r *replica) leave(logger *slog.Logger) {
	if r.member == nil {
		return
	}
	r.budget.close()
	if err := r.member.Close(); err != nil {
		logger.Warn("leaving the replicas failed; the others take over when the lease expires", "err", err)
	}
}
