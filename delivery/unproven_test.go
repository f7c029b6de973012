package delivery_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// hangingReceivers are listeners on 127.0.0.1, each a callback URL of its own, that accept
// connections and never answer. accepted counts the connections they accepted: while no attempt
// to them ends (a timeout longer than the test), the attempts in flight to them.
type hangingReceivers struct {
	urls      []string
	accepted  atomic.Int64
	listeners []net.Listener
	mu        sync.Mutex
	conns     []net.Conn
}

// newHangingReceivers starts n hanging receivers, closed (with every connection they hold) by
// close or when the test ends.
func newHangingReceivers(t *testing.T, n int) *hangingReceivers {
	h := &hangingReceivers{}
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		h.listeners = append(h.listeners, ln)
		h.urls = append(h.urls, "http://"+ln.Addr().String()+"/hook")
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				h.mu.Lock()
				h.conns = append(h.conns, c) // read nothing, answer nothing
				h.mu.Unlock()
				h.accepted.Add(1)
			}
		}()
	}
	t.Cleanup(h.close)
	return h
}

// close closes the listeners and every connection they accepted: the attempts waiting on them end.
func (h *hangingReceivers) close() {
	for _, ln := range h.listeners {
		_ = ln.Close()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		_ = c.Close()
	}
	h.conns = nil
}

// metricValue is the value of the counter or gauge name that reg gathers (0 when absent).
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name || len(f.GetMetric()) == 0 {
			continue
		}
		m := f.GetMetric()[0]
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	return 0
}

// TestOneConnectionsHangingURLsDelayNoOtherConnection: connection A has 40 subscriptions, each to a
// callback URL of its own that accepts connections and never answers; connection B has one
// subscription to a receiver that answers. With 16 slots and a slow pool of 16, A may have 2
// attempts in flight to URLs not known to answer quickly (the default: an eighth of the smaller
// of the two), whether they still hold their normal slot or have stalled into the slow pool; its
// other URLs wait their turn. B's events, queued once A's attempts have stalled, are delivered while
// A's 2 still hang. (Before, each new URL of A took a normal slot for SlowAfter and then moved to
// the slow pool whether it was full or not: A had all 40 in flight, 16 at once in the normal
// slots, and the slow pool came to hold up to 40 of 16.) Counts, not timings: A's attempts in flight are the
// connections its receivers accepted, since none of them ends before the test does.
func TestOneConnectionsHangingURLsDelayNoOtherConnection(t *testing.T) {
	const urls, bound = 40, 2
	clk := newClock()
	store := openStore(t, clk)
	hanging := newHangingReceivers(t, urls)
	var subsA []state.Subscription
	for i, url := range hanging.urls {
		sub := addSubscription(t, store, otherConn, triggers.KindMessage, fmt.Sprintf("hang-%d", i), url, nil)
		queue(t, store, sub, "a1")
		subsA = append(subsA, sub)
	}
	sk := newSink(t, nil)
	subB := addSubscription(t, store, testConn, triggers.KindMessage, "calm", sk.URL(), nil)
	sk.TrustSubscriptions(subB)

	reg := prometheus.NewRegistry()
	d := newDeliverer(t, store, clk, delivery.Options{Concurrency: 16, SlowInFlight: 16, SlowAfter: 50 * time.Millisecond,
		Timeout: time.Minute, Interval: 10 * time.Millisecond, Registerer: reg})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		hanging.close() // A's attempts end now, not after the deliverer's shutdown grace
		cancel()
		<-done
	})
	d.Nudge()

	require.Eventually(t, func() bool {
		return metricValue(t, reg, "hipchat_connector_delivery_attempts_stalled_total") >= bound
	}, 30*time.Second, 5*time.Millisecond, "A's first attempts stall into the slow pool")

	for i := range 5 {
		queue(t, store, subB, fmt.Sprintf("b%d", i))
	}
	d.Nudge()
	require.Eventually(t, func() bool { return len(sk.Accepted()[subB.ID]) == 5 }, 30*time.Second, 5*time.Millisecond,
		"B's events are delivered")

	ended := 0
	for _, sub := range subsA {
		log, err := store.Deliveries(sub.ID, 0)
		require.NoError(t, err)
		for _, dl := range log {
			ended += len(dl.Attempts)
		}
	}
	assert.Zero(t, ended, "B's events were delivered while every attempt of A still hung")
	assert.LessOrEqual(t, hanging.accepted.Load(), int64(bound),
		"A had more attempts in flight to URLs not known to answer quickly than its bound")
	assert.LessOrEqual(t, metricValue(t, reg, "hipchat_connector_delivery_slow_pool_in_flight"), float64(bound),
		"A's attempts hold no more of the slow pool than its bound")
	assert.ElementsMatch(t, []string{"b0", "b1", "b2", "b3", "b4"}, sk.Accepted()[subB.ID], "each of B's events once")
	t.Logf("A's attempts in flight: %d of its %d URLs; slow pool: %v", hanging.accepted.Load(), urls,
		metricValue(t, reg, "hipchat_connector_delivery_slow_pool_in_flight"))
}

// TestAConnectionsHangingURLsHoldNoneOfItsReceiversThatAnswer: the bound counts only attempts to
// URLs not known to answer quickly. Connection A's receiver that has answered before gets A's new
// events while A's 40 new URLs that hang hold all the attempts A may have in flight to such URLs.
func TestAConnectionsHangingURLsHoldNoneOfItsReceiversThatAnswer(t *testing.T) {
	const urls, bound = 40, 2
	clk := newClock()
	store := openStore(t, clk)
	sk := newSink(t, nil)
	calm := addSubscription(t, store, otherConn, triggers.KindMessage, "calm", sk.URL(), nil)
	sk.TrustSubscriptions(calm)
	queue(t, store, calm, "before")
	d := newDeliverer(t, store, clk, delivery.Options{Concurrency: 16, SlowInFlight: 16, PerConnectionUnproven: bound,
		Timeout: time.Minute, Interval: 10 * time.Millisecond})
	_, err := d.DeliverDue(context.Background())
	require.NoError(t, err)
	require.Equal(t, []string{"before"}, sk.Accepted()[calm.ID], "A's receiver has answered")

	hanging := newHangingReceivers(t, urls)
	for i, url := range hanging.urls {
		queue(t, store, addSubscription(t, store, otherConn, triggers.KindMessage, fmt.Sprintf("hang-%d", i), url, nil), "a1")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		hanging.close()
		cancel()
		<-done
	})
	d.Nudge()
	require.Eventually(t, func() bool { return hanging.accepted.Load() >= bound }, 30*time.Second, 5*time.Millisecond,
		"A's hanging URLs hold its bound")

	for i := range 5 {
		queue(t, store, calm, fmt.Sprintf("c%d", i))
	}
	d.Nudge()
	require.Eventually(t, func() bool { return len(sk.Accepted()[calm.ID]) == 6 }, 30*time.Second, 5*time.Millisecond,
		"A's receiver that answers gets its events")
	assert.Equal(t, int64(bound), hanging.accepted.Load(), "A's hanging URLs still hold exactly its bound")
}
