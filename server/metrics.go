package server

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// metrics are the server's Prometheus collectors and the registry /metrics serves.
type metrics struct {
	registry        *prometheus.Registry
	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	filtered        *prometheus.CounterVec // messages the polling triggers' filters left out, by kind
}

// newMetrics registers the request metrics in registry; a nil registry means a new one of the
// server's own with the Go and process collectors. Errors: the metrics are registered already.
func newMetrics(registry *prometheus.Registry) (*metrics, error) {
	if registry == nil {
		registry = prometheus.NewRegistry()
		registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m := &metrics{
		registry: registry,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hipchat_connector_http_requests_total",
			Help: "Requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hipchat_connector_http_request_duration_seconds",
			Help:    "Time to answer a request, by route pattern, method and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 15, 60},
		}, []string{"route", "method", "status"}),
		filtered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: triggers.MetricFiltered, Help: triggers.MetricFilteredHelp,
			ConstLabels: prometheus.Labels{"protocol": "polling"},
		}, []string{"kind"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.requestDuration, m.filtered} {
		if err := registry.Register(c); err != nil {
			return nil, fmt.Errorf("server metrics: %w", err)
		}
	}
	return m, nil
}

// observeRequest counts one answered request.
func (m *metrics) observeRequest(route, method string, status int, took time.Duration) {
	code := strconv.Itoa(status)
	method = methodLabel(method)
	m.requests.WithLabelValues(route, method, code).Inc()
	m.requestDuration.WithLabelValues(route, method, code).Observe(took.Seconds())
}

// methodLabel is method as a label value: the standard methods as they are, any other "other",
// since a caller may send any token as a method and each value is a time series of its own.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// filteredOut counts n messages of kind a polling trigger's filter left out.
func (m *metrics) filteredOut(kind triggers.Kind, n int) {
	if n > 0 {
		m.filtered.WithLabelValues(string(kind)).Add(float64(n))
	}
}

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
