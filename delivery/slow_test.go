package delivery_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// busyConnections are the connections that share the hanging subscriptions of the slow tests:
// eight, since one connection may have only an eighth of the slots in flight to URLs not known to
// answer quickly (unproven.go).
var busyConnections = func() []connector.Connection {
	conns := make([]connector.Connection, 8)
	for i := range conns {
		conns[i] = connector.NewConnection(fmt.Sprintf("token-busy-%d", i), "http://hipchat.invalid")
	}
	return conns
}()

// busyConnection is the connection of the s-th subscription of hanging endpoint e.
func busyConnection(e, s int) connector.Connection {
	return busyConnections[(e*4+s)%len(busyConnections)]
}

// With 50 hanging endpoints (4 subscriptions each, each endpoint a new host:port, shared by eight
// connections) and one healthy subscription of another connection on the same deliverer, the
// healthy subscription's events are delivered while every hanging attempt still waits for its 30 s
// timeout: the hanging receivers hold the slow pool, never the slots the healthy one needs.
// (Before, they held all 64 slots, 32 each, until the timeout.) "While they still wait" is read in
// the store, not on a stopwatch: when the last healthy event has arrived, no attempt of a hanging
// subscription has ended (an attempt is recorded when it ends, here at its timeout).
func TestHangingReceiversDoNotDelayAHealthyOne(t *testing.T) {
	clk := newClock()
	store := openStore(t, clk)
	var hanging []state.Subscription
	for e := range 50 {
		url := testkit.HangingReceiver(t)
		for s := range 4 {
			sub := addSubscription(t, store, busyConnection(e, s), triggers.KindMessage, fmt.Sprintf("hang-%d-%d", e, s), url, nil)
			queue(t, store, sub, "e1", "e2", "e3")
			hanging = append(hanging, sub)
		}
	}
	sk := newSink(t, nil)
	healthy := addSubscription(t, store, testConn, triggers.KindMessage, "healthy", sk.URL(), nil)
	sk.TrustSubscriptions(healthy)

	d := newDeliverer(t, store, clk, delivery.Options{Interval: 20 * time.Millisecond, Timeout: 30 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	d.Nudge()

	// Twenty events to the healthy receiver, one every 100 ms, from the first hanging attempts on.
	queuedAt := map[string]time.Time{}
	for i := range 20 {
		id := fmt.Sprintf("healthy-%d", i)
		queuedAt[state.DeliveryID(healthy.ID, id)] = time.Now()
		queue(t, store, healthy, id)
		d.Nudge()
		time.Sleep(100 * time.Millisecond)
	}
	require.Eventually(t, func() bool { return len(sk.Requests()) >= 20 }, time.Minute, 10*time.Millisecond,
		"every healthy event arrives")
	ended := 0
	for _, sub := range hanging {
		log, err := store.Deliveries(sub.ID, 0)
		require.NoError(t, err)
		for _, dl := range log {
			ended += len(dl.Attempts)
		}
	}
	assert.Zero(t, ended, "the healthy events arrived while every hanging attempt still hung: before, the healthy one waited for a 30 s timeout to free a slot")
	var lags []time.Duration
	for _, r := range sk.Requests() {
		lags = append(lags, r.At.Sub(queuedAt[r.WebhookID]))
	}
	slices.Sort(lags)
	t.Logf("healthy queued→delivered: p50 %s, max %s", lags[len(lags)/2].Round(time.Millisecond), lags[len(lags)-1].Round(time.Millisecond))
}
