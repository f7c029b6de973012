package delivery

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// metrics are the deliverer's Prometheus collectors (hipchat_connector_ prefix; no connection,
// room or URL as a label). A nil Registerer keeps them unregistered.
type metrics struct {
	store         Store
	openEndpoints func() int
	slow          func() (endpoints, attempts int)

	attempts *prometheus.CounterVec
	dead     prometheus.Counter
	duration prometheus.Histogram
	stalled  prometheus.Counter

	pendingDesc  *prometheus.Desc
	oldestDesc   *prometheus.Desc
	openDesc     *prometheus.Desc
	slowDesc     *prometheus.Desc
	slowPoolDesc *prometheus.Desc
}

// Results of hipchat_connector_delivery_attempts_total.
const (
	resultDelivered = "delivered" // 2xx
	resultRetry     = "retry"     // failed; another attempt is scheduled
	resultDead      = "dead"      // failed; retries exhausted (or an unusable secret)
	resultGone      = "gone"      // 410: the subscription is disabled
)

func newMetrics(reg prometheus.Registerer, store Store) (*metrics, error) {
	m := &metrics{
		store: store,
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hipchat_connector_delivery_attempts_total",
			Help: "Delivery attempts recorded, by result: delivered, retry, dead or gone.",
		}, []string{"result"}),
		dead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hipchat_connector_deliveries_dead_total",
			Help: "Deliveries dead-lettered (retries exhausted, or the callback answered 410).",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hipchat_connector_delivery_duration_seconds",
			Help:    "Time of one delivery attempt, from the POST to the receiver's answer.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 15},
		}),
		stalled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hipchat_connector_delivery_attempts_stalled_total",
			Help: "Attempts with no answer within the slow threshold, moved from their slot to the slow pool.",
		}),
		slowDesc: prometheus.NewDesc("hipchat_connector_callback_endpoints_slow",
			"Callback endpoints that answer slowly or not at all: their attempts wait in the slow pool.", nil, nil),
		slowPoolDesc: prometheus.NewDesc("hipchat_connector_delivery_slow_pool_in_flight",
			"Attempts in flight to slow callback endpoints (bounded whatever the number of endpoints).", nil, nil),
		pendingDesc: prometheus.NewDesc("hipchat_connector_deliveries_pending",
			"Deliveries waiting for their first or next attempt.", nil, nil),
		oldestDesc: prometheus.NewDesc("hipchat_connector_delivery_oldest_pending_seconds",
			"How long the longest-waiting pending delivery has been queued; 0 when none waits.", nil, nil),
		openDesc: prometheus.NewDesc("hipchat_connector_callback_endpoints_open",
			"Callback endpoints whose circuit is open (deliveries held, probed one at a time).", nil, nil),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.attempts, m.dead, m.duration, m.stalled, m} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("delivery metrics: %w", err)
		}
	}
	return m, nil
}

// observeAttempt counts one recorded attempt.
func (m *metrics) observeAttempt(outcome state.Outcome, took time.Duration) {
	result := resultRetry
	switch {
	case outcome.Status == state.DeliveryDelivered:
		result = resultDelivered
	case outcome.DisableReason != "":
		result = resultGone
	case outcome.Status == state.DeliveryDead:
		result = resultDead
	}
	m.attempts.WithLabelValues(result).Inc()
	if outcome.Status == state.DeliveryDead {
		m.dead.Inc()
	}
	m.duration.Observe(took.Seconds())
}

// Describe and Collect make the outbox's gauges, read from the store at each scrape.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.pendingDesc
	ch <- m.oldestDesc
	ch <- m.openDesc
	ch <- m.slowDesc
	ch <- m.slowPoolDesc
}

// Collect reads the outbox's stats; a failing read reports no outbox gauges for that scrape.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	if m.openEndpoints != nil {
		ch <- prometheus.MustNewConstMetric(m.openDesc, prometheus.GaugeValue, float64(m.openEndpoints()))
	}
	if m.slow != nil {
		endpoints, attempts := m.slow()
		ch <- prometheus.MustNewConstMetric(m.slowDesc, prometheus.GaugeValue, float64(endpoints))
		ch <- prometheus.MustNewConstMetric(m.slowPoolDesc, prometheus.GaugeValue, float64(attempts))
	}
	st, err := m.store.Stats()
	if err != nil {
		return
	}
	oldest := 0.0
	if !st.OldestQueuedAt.IsZero() {
		oldest = max(0, time.Since(st.OldestQueuedAt).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(m.pendingDesc, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(m.oldestDesc, prometheus.GaugeValue, oldest)
}
