package connector

import (
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// callMetrics count HipChat calls by outcome and time them.
type callMetrics struct {
	calls    *prometheus.CounterVec
	duration prometheus.Histogram
	limiter  limiterMetrics
}

func newCallMetrics(reg prometheus.Registerer) (*callMetrics, error) {
	m := &callMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hipchat_connector_upstream_calls_total",
			Help: "HipChat calls made, by outcome: ok or the connector's error kind (token_rejected, scope_missing, not_found, bad_request, rate_limited, upstream_unavailable).",
		}, []string{"kind"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hipchat_connector_upstream_call_duration_seconds",
			Help:    "Time of one HipChat call, until its headers arrive.",
			Buckets: prometheus.DefBuckets,
		}),
		limiter: newLimiterMetrics(),
	}
	m.limiter.initSeries()
	for _, c := range append([]prometheus.Collector{m.calls, m.duration}, m.limiter.collectors()...) {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("connector metrics: %w", err)
		}
	}
	return m, nil
}

// countingTransport counts each HipChat call by the kind its status maps to.
type countingTransport struct {
	next    http.RoundTripper
	metrics *callMetrics
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	t.metrics.duration.Observe(time.Since(start).Seconds())
	kind := string(KindUnavailable)
	if err == nil {
		kind = outcomeKind(resp.StatusCode)
	}
	t.metrics.calls.WithLabelValues(kind).Inc()
	return resp, err
}

// outcomeKind labels a HipChat status as the error vocabulary does (Kind), "ok" for 2xx.
func outcomeKind(status int) string {
	switch {
	case status >= 200 && status <= 299:
		return "ok"
	case status == http.StatusUnauthorized:
		return string(KindTokenRejected)
	case status == http.StatusForbidden:
		return string(KindScopeMissing)
	case status == http.StatusNotFound:
		return string(KindNotFound)
	case status == http.StatusTooManyRequests:
		return string(KindRateLimited)
	case status >= 500:
		return string(KindUnavailable)
	default:
		return string(KindBadRequest)
	}
}

// limiterMetrics count what the limiter held back, by class and by whose budget was spent, and
// the X-Ratelimit-Remaining HipChat reports.
type limiterMetrics struct {
	refusals    *prometheus.CounterVec
	waits       *prometheus.CounterVec
	waitSeconds *prometheus.CounterVec
	remaining   prometheus.Histogram
}

func newLimiterMetrics() limiterMetrics {
	return limiterMetrics{
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hipchat_connector_limiter_refusals_total",
			Help: "Calls the limiter refused (answered 429, or 401 for a rejected token, without calling HipChat), by class (foreground, background) and budget (connector, hipchat, hipchat_flood_control, unverified_tokens, token_rejected, shared_unavailable: a replica that cannot reach the shared budget).",
		}, []string{"class", "budget"}),
		waits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hipchat_connector_limiter_waits_total",
			Help: "Times a call waited for budget instead of failing (the poller's), by class and budget (connector, hipchat, shared_unavailable: a replica that cannot reach the shared budget).",
		}, []string{"class", "budget"}),
		waitSeconds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hipchat_connector_limiter_wait_seconds_total",
			Help: "Time calls waited for budget, by class and budget (connector, hipchat, shared_unavailable: a replica that cannot reach the shared budget).",
		}, []string{"class", "budget"}),
		remaining: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hipchat_connector_hipchat_ratelimit_remaining",
			Help:    "HipChat's X-Ratelimit-Remaining on each answer that carries it: calls left in the token's HipChat window.",
			Buckets: []float64{0, 1, 5, 10, 20, 50, 100, 200, 500},
		}),
	}
}

// initSeries makes the series an alert reads exist from the start, at 0: foreground refusals
// and background waits by either budget.
func (m limiterMetrics) initSeries() {
	for _, b := range []Budget{BudgetConnector, BudgetHipChat} {
		m.refusals.WithLabelValues(Foreground.String(), string(b))
		m.waits.WithLabelValues(Background.String(), string(b))
		m.waitSeconds.WithLabelValues(Background.String(), string(b))
	}
}

func (m limiterMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.refusals, m.waits, m.waitSeconds, m.remaining}
}

// refused counts a call the limiter refused; a nil m counts nothing.
func (m *callMetrics) refused(class Class, r Refusal) {
	if m != nil {
		m.limiter.refusals.WithLabelValues(class.String(), string(r.Budget)).Inc()
	}
}

// waited counts one wait for budget of r.RetryAfter; a nil m counts nothing.
func (m *callMetrics) waited(class Class, r Refusal) {
	if m != nil {
		m.limiter.waits.WithLabelValues(class.String(), string(r.Budget)).Inc()
		m.limiter.waitSeconds.WithLabelValues(class.String(), string(r.Budget)).Add(r.RetryAfter.Seconds())
	}
}

// observeRemaining records one X-Ratelimit-Remaining; a nil m records nothing.
func (m *callMetrics) observeRemaining(n float64) {
	if m != nil {
		m.limiter.remaining.Observe(n)
	}
}
