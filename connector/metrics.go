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
	}
	for _, c := range []prometheus.Collector{m.calls, m.duration} {
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
