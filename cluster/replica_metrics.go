package cluster

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// registerMetrics registers the replica's metrics, read at scrape time, in reg. Errors: one of them
// is registered already.
func (r *Replica) registerMetrics(reg prometheus.Registerer, fence Fence) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hipchat_connector_cluster_members",
			Help: "Live replicas this replica sees, itself included; 0 while it holds no etcd session.",
		}, func() float64 { return float64(r.liveMembers()) }),
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
		}, func() float64 { return float64(r.budget.shared.Reserved()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hipchat_connector_cluster_budget_unreachable_total",
			Help: "HipChat calls this replica refused because it could not reach the shared budget in etcd.",
		}, func() float64 { return float64(r.budget.shared.Unreachable()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hipchat_connector_cluster_doorbells_forwarded_total",
			Help: "HipChat doorbells (push) this replica received for a feed another replica owns and handed to it through etcd.",
		}, func() float64 { return float64(r.relay.forwarded.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hipchat_connector_cluster_fenced_writes_refused_total",
			Help: "Cursor-and-outbox commits etcd refused because this replica no longer held its lease.",
		}, func() float64 { return float64(fence.FencedWritesRefused()) }),
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("cluster metrics: %w", err)
		}
	}
	return nil
}

// liveMembers is how many live replicas this one sees (itself included), 0 without a session.
func (r *Replica) liveMembers() int {
	if !r.member.Ready() {
		return 0
	}
	return len(r.member.Members())
}
