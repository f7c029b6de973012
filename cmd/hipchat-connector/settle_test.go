package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// metricsPage reads one replica's /metrics text ("" when it does not answer).
type metricsPage func() string

// metricsOf is c's /metrics page.
func metricsOf(c *connectorUnderTest) metricsPage {
	return func() string { return c.do("GET", "/metrics", "", "").Body }
}

// metricsPage is the binary's /metrics page.
func (p *binaryRun) metricsPage() string {
	resp, err := http.Get(p.url + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// sampleIn is the value of series (a metric name with its labels, as /metrics writes it) in page,
// and whether page has it.
func sampleIn(page, series string) (float64, bool) {
	for _, line := range strings.Split(page, "\n") {
		if value, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			return f, err == nil
		}
	}
	return 0, false
}

// settle waits until every replica has read each feed it owns twice more since settle was called
// (its hipchat_connector_poll_feeds_read_total grown by twice its
// hipchat_connector_cluster_feeds_owned; a connector on bbolt, without that metric, is taken to
// poll one feed) and no delivery is pending
// (hipchat_connector_deliveries_pending 0): a read that started after the call has committed what
// it found, and the deliverer has sent it. A test then checks that nothing else came, whatever the
// machine's speed, instead of sleeping for "one more tick" and hoping one happened.
func settle(t *testing.T, replicas ...metricsPage) {
	t.Helper()
	const readsTotal = "hipchat_connector_poll_feeds_read_total"
	start := make([]float64, len(replicas))
	for i, page := range replicas {
		start[i], _ = sampleIn(page(), readsTotal)
	}
	settled := func() (bool, string) {
		for i, page := range replicas {
			text := page()
			reads, _ := sampleIn(text, readsTotal)
			owned, cluster := sampleIn(text, "hipchat_connector_cluster_feeds_owned")
			if !cluster {
				owned = 1
			}
			pending, ok := sampleIn(text, "hipchat_connector_deliveries_pending")
			if reads-start[i] < 2*owned || !ok || pending > 0 {
				return false, fmt.Sprintf("replica %d: %v reads of its %v feeds, %v deliveries pending", i, reads-start[i], owned, pending)
			}
		}
		return true, ""
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		ok, why := settled()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replicas did not settle within a minute: %s", why)
		}
	}
}
