package poller

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// Reasons of hipchat_connector_poll_feeds_deferred_total: why a feed was left for the next tick.
const (
	reasonBudget   = "budget"   // the connection's plan, or its spent budget, leaves it for later
	reasonBusy     = "busy"     // the connection was still being polled from an earlier tick
	reasonDeadline = "deadline" // the tick's slot ran out before its turn
)

// metrics are the poller's Prometheus collectors (hipchat_connector_ prefix; no connection, room or
// URL as a label). A nil Registerer keeps them unregistered.
type metrics struct {
	tickDuration prometheus.Histogram
	feedsRead    prometheus.Counter
	deferredVec  *prometheus.CounterVec
	feedLag      prometheus.Histogram
	itemsFound   prometheus.Counter
	filtered     *prometheus.CounterVec // messages the subscriptions' filters left out, by kind
	overDesc     *prometheus.Desc
	overBudget   func() int
	doorbells    *prometheus.CounterVec
	pushReads    prometheus.Counter
	missedEvents prometheus.Counter
	pushDesc     *prometheus.Desc
	pushFeeds    func() map[string]int
	heldDesc     *prometheus.Desc
	held         func() int
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		tickDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hipchat_connector_poll_tick_duration_seconds",
			Help:    "Time from the start of a poll tick until every connection it started is done.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}),
		feedsRead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hipchat_connector_poll_feeds_read_total",
			Help: "Feeds (a room's history, or a token's room list) read completely by the poller.",
		}),
		deferredVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hipchat_connector_poll_feeds_deferred_total",
			Help: "Feeds left for a later tick, by reason: budget (the token's plan or spent budget), busy (still being polled), deadline (the tick's slot ran out).",
		}, []string{"reason"}),
		feedLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hipchat_connector_poll_feed_lag_seconds",
			Help:    "Time since a feed's previous complete read, observed at each read.",
			Buckets: []float64{5, 15, 30, 60, 90, 120, 180, 300, 600, 1800, 3600},
		}),
		itemsFound: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hipchat_connector_poll_items_found_total",
			Help: "New events the poller queued for delivery.",
		}),
		filtered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: triggers.MetricFiltered, Help: triggers.MetricFilteredHelp,
			ConstLabels: prometheus.Labels{"protocol": "webhook"},
		}, []string{"kind"}),
		overDesc: prometheus.NewDesc("hipchat_connector_poll_tokens_over_budget",
			"Tokens that watch more rooms than their budget keeps current at the poll schedule (their feeds are read in turn).", nil, nil),
		doorbells: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hipchat_connector_push_doorbells_total",
			Help: "Room webhook calls received, by result: accepted (a known feed and its secret), coalesced (accepted, gathered into the " +
				"feed's next read), paced (accepted, held to one read per 2 s after doorbells announced what was not there), " +
				"passed (accepted, announcing a message the feed has passed: no read) or refused (404, no HipChat call).",
		}, []string{"result"}),
		pushReads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hipchat_connector_push_reads_total",
			Help: "Feed reads that doorbells caused (coalesced: doorbells during a read cause one more).",
		}),
		missedEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hipchat_connector_push_missed_events_total",
			Help: "Events first found by a reconcile read of a feed on trusted push: doorbells HipChat did not ring.",
		}),
		heldDesc: prometheus.NewDesc("hipchat_connector_subscriptions_held",
			"Subscriptions whose pending deliveries reached the outbox's bound: their cursors wait until the deliveries drain.", nil, nil),
		pushDesc: prometheus.NewDesc("hipchat_connector_push_feeds",
			"Message and file feeds this replica polls, by push state: pending, on, trusted, off.", []string{"state"}, nil),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.tickDuration, m.feedsRead, m.deferredVec, m.feedLag, m.itemsFound,
		m.filtered, m.doorbells, m.pushReads, m.missedEvents, m} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("poller metrics: %w", err)
		}
	}
	return m, nil
}

// filteredOut counts n messages of kind a subscription's filter left out.
func (m *metrics) filteredOut(kind triggers.Kind, n int) {
	if n > 0 {
		m.filtered.WithLabelValues(string(kind)).Add(float64(n))
	}
}

// deferred counts n feeds left for later for reason.
func (m *metrics) deferred(reason string, n int) {
	if n > 0 {
		m.deferredVec.WithLabelValues(reason).Add(float64(n))
	}
}

// Describe and Collect make hipchat_connector_poll_tokens_over_budget,
// hipchat_connector_subscriptions_held and hipchat_connector_push_feeds, read at each scrape.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.overDesc
	ch <- m.heldDesc
	ch <- m.pushDesc
}

// Collect reports the tokens over budget, the held subscriptions and the feeds by push state.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	if m.overBudget != nil {
		ch <- prometheus.MustNewConstMetric(m.overDesc, prometheus.GaugeValue, float64(m.overBudget()))
	}
	if m.held != nil {
		ch <- prometheus.MustNewConstMetric(m.heldDesc, prometheus.GaugeValue, float64(m.held()))
	}
	if m.pushFeeds != nil {
		byState := m.pushFeeds()
		for _, state := range []string{PushPending, PushOn, PushTrusted, PushOff} {
			ch <- prometheus.MustNewConstMetric(m.pushDesc, prometheus.GaugeValue, float64(byState[state]), state)
		}
	}
}
