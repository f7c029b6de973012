package delivery_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// BenchmarkHealthyBesideHangingReceivers measures a healthy subscription's queued→delivered lag,
// p50 and p99 over 50 events 20 ms apart, alone (the yardstick) and beside 50 hanging endpoints of
// 4 subscriptions each (3 events queued per subscription, eight other connections) on the same
// deliverer, in one run:
//
//	go test -run '^$' -bench HealthyBesideHanging -benchtime 1x ./delivery/
func BenchmarkHealthyBesideHangingReceivers(b *testing.B) {
	for range b.N {
		alone50, alone99 := healthyLags(b, 0)
		beside50, beside99 := healthyLags(b, 50)
		b.ReportMetric(float64(alone50.Microseconds())/1000, "alone-p50-ms")
		b.ReportMetric(float64(alone99.Microseconds())/1000, "alone-p99-ms")
		b.ReportMetric(float64(beside50.Microseconds())/1000, "beside-p50-ms")
		b.ReportMetric(float64(beside99.Microseconds())/1000, "beside-p99-ms")
	}
}

// healthyLags runs one deliverer with hanging endpoints and a healthy sink and returns the healthy
// events' p50 and p99 lag from queued to received.
func healthyLags(b *testing.B, hanging int) (p50, p99 time.Duration) {
	clk := newClock()
	store := openStore(b, clk)
	for e := range hanging {
		url := testkit.HangingReceiver(b)
		for s := range 4 {
			sub := addSubscription(b, store, busyConnection(e, s), triggers.KindMessage, fmt.Sprintf("hang-%d-%d", e, s), url, nil)
			queue(b, store, sub, "e1", "e2", "e3")
		}
	}
	sk := newSink(b, nil)
	healthy := addSubscription(b, store, testConn, triggers.KindMessage, "healthy", sk.URL(), nil)
	sk.TrustSubscriptions(healthy)
	d := newDeliverer(b, store, clk, delivery.Options{Interval: 20 * time.Millisecond, Timeout: 30 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	d.Nudge()
	queuedAt := map[string]time.Time{}
	const events = 50
	for i := range events {
		id := fmt.Sprintf("healthy-%d", i)
		queuedAt[state.DeliveryID(healthy.ID, id)] = time.Now()
		queue(b, store, healthy, id)
		d.Nudge()
		time.Sleep(20 * time.Millisecond)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(sk.Requests()) < events && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	var lags []time.Duration
	for _, r := range sk.Requests() {
		lags = append(lags, r.At.Sub(queuedAt[r.WebhookID]))
	}
	if len(lags) < events {
		b.Fatalf("%d of %d healthy events arrived", len(lags), events)
	}
	slices.Sort(lags)
	return lags[len(lags)/2], lags[len(lags)*99/100]
}
