package server

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// SubscriptionCounter is what the subscriptions collector reads at scrape time; both stores
// (state/bolt, state/etcd) are one.
type SubscriptionCounter interface {
	CountByStatus() (map[state.Status]int, error)
}

// subscriptionsCollector exposes hipchat_connector_subscriptions{status}, read from the store at
// each scrape (one read transaction that unseals nothing), so it is never stale.
type subscriptionsCollector struct {
	store SubscriptionCounter
	desc  *prometheus.Desc
	log   *slog.Logger
}

// NewSubscriptionsCollector returns the collector of hipchat_connector_subscriptions{status}, which
// counts store's subscriptions at each scrape and logs a failed count to log. cmd registers it in
// the registry Deps.Registry names.
func NewSubscriptionsCollector(store SubscriptionCounter, log *slog.Logger) prometheus.Collector {
	return &subscriptionsCollector{store: store, log: log, desc: prometheus.NewDesc(
		"hipchat_connector_subscriptions",
		"Callback subscriptions by status (active, paused, suspended, disabled), read from the database at scrape time.",
		[]string{"status"}, nil)}
}

// Describe sends the one description of the subscriptions gauge.
func (c *subscriptionsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect reports every status, 0 included, so an alert on paused or suspended sees a series.
// A failing read reports nothing (and logs why) rather than zeros that would look healthy, and
// leaves the rest of the scrape intact.
func (c *subscriptionsCollector) Collect(ch chan<- prometheus.Metric) {
	counts, err := c.store.CountByStatus()
	if err != nil {
		c.log.Warn("counting subscriptions for /metrics failed", "err", err)
		return
	}
	for _, status := range []state.Status{state.StatusActive, state.StatusPaused, state.StatusSuspended, state.StatusDisabled} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[status]), string(status))
	}
}
