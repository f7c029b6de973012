package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// upstreamTimeout bounds one HipChat call of the default client, as connector.NewClient's default does.
const upstreamTimeout = 15 * time.Second

// metrics are the server's Prometheus collectors, in a registry of its own so that several servers
// (tests) do not collide.
type metrics struct {
	registry         *prometheus.Registry
	requests         *prometheus.CounterVec
	requestDuration  *prometheus.HistogramVec
	upstreamCalls    *prometheus.CounterVec
	upstreamDuration prometheus.Histogram
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hipchat_connector_http_requests_total",
			Help: "Requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hipchat_connector_http_request_duration_seconds",
			Help:    "Time to answer a request, by route pattern, method and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 15, 60},
		}, []string{"route", "method", "status"}),
		upstreamCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hipchat_connector_upstream_calls_total",
			Help: "HipChat calls made, by outcome: ok or the connector's error kind (token_rejected, scope_missing, not_found, bad_request, rate_limited, upstream_unavailable).",
		}, []string{"kind"}),
		upstreamDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hipchat_connector_upstream_call_duration_seconds",
			Help:    "Time of one HipChat call, until its headers arrive.",
			Buckets: prometheus.DefBuckets,
		}),
	}
	m.registry.MustRegister(m.requests, m.requestDuration, m.upstreamCalls, m.upstreamDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observeRequest counts one answered request.
func (m *metrics) observeRequest(route, method string, status int, took time.Duration) {
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(route, method, code).Inc()
	m.requestDuration.WithLabelValues(route, method, code).Observe(took.Seconds())
}

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// upstreamClient returns an HTTP client for HipChat calls, pooled like connector.NewClient's default,
// whose every call is counted by outcome.
func (m *metrics) upstreamClient(timeout time.Duration) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	transport.MaxIdleConns = 1024
	return &http.Client{Timeout: timeout, Transport: countingTransport{next: transport, metrics: m}}
}

// countingTransport counts each HipChat call by the kind its status maps to.
type countingTransport struct {
	next    http.RoundTripper
	metrics *metrics
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	t.metrics.upstreamDuration.Observe(time.Since(start).Seconds())
	kind := string(connector.KindUnavailable)
	if err == nil {
		kind = upstreamKind(resp.StatusCode)
	}
	t.metrics.upstreamCalls.WithLabelValues(kind).Inc()
	return resp, err
}

// upstreamKind labels a HipChat status as the connector's error vocabulary does (connector.Kind).
func upstreamKind(status int) string {
	switch {
	case status >= 200 && status <= 299:
		return "ok"
	case status == http.StatusUnauthorized:
		return string(connector.KindTokenRejected)
	case status == http.StatusForbidden:
		return string(connector.KindScopeMissing)
	case status == http.StatusNotFound:
		return string(connector.KindNotFound)
	case status == http.StatusTooManyRequests:
		return string(connector.KindRateLimited)
	case status >= 500:
		return string(connector.KindUnavailable)
	default:
		return string(connector.KindBadRequest)
	}
}
