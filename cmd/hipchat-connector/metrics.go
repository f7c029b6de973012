package main

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// subscriptionCounter is what the subscriptions collector reads at scrape time; *bolt.Store is one.
type subscriptionCounter interface {
	CountByStatus() (map[state.Status]int, error)
}

// subscriptionsCollector exposes hipchat_connector_subscriptions{status}, read from the store at
// each scrape (one read transaction that unseals nothing), so it is never stale.
type subscriptionsCollector struct {
	store subscriptionCounter
	desc  *prometheus.Desc
	log   *slog.Logger
}

func newSubscriptionsCollector(store subscriptionCounter, log *slog.Logger) *subscriptionsCollector {
	return &subscriptionsCollector{store: store, log: log, desc: prometheus.NewDesc(
		"hipchat_connector_subscriptions",
		"Callback subscriptions by status (active, paused, suspended, disabled), read from the database at scrape time.",
		[]string{"status"}, nil)}
}

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
