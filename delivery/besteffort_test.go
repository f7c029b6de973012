package delivery_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// postsPerWebhookID counts the sink's requests by webhook-id.
func postsPerWebhookID(sk *testkit.Sink) map[string]int {
	n := map[string]int{}
	for _, r := range sk.Requests() {
		n[r.WebhookID]++
	}
	return n
}

// TestTheRunLoopPostsEachDeliveryOnce runs the deliverer's own Run loop (nudged, ticking) against a
// healthy sink: every webhook-id is POSTed exactly once, whether the deliveries are spread over
// 1,000 subscriptions or queued 100 deep in 10. (On main a stale snapshot re-sent nearly every
// event of the 1,000 × 1 case.)
func TestTheRunLoopPostsEachDeliveryOnce(t *testing.T) {
	for _, tc := range []struct{ subs, events int }{{1000, 1}, {10, 100}} {
		t.Run(fmt.Sprintf("%d subscriptions × %d events", tc.subs, tc.events), func(t *testing.T) {
			clk := newClock()
			store := openStore(t, clk)
			sk := newSink(t, nil)
			var subs []state.Subscription
			for i := 0; i < tc.subs; i++ {
				subs = append(subs, addSubscription(t, store, testConn, triggers.KindMessage, strconv.Itoa(i), sk.URL(), nil))
			}
			for _, sub := range subs {
				sk.TrustSubscriptions(sub)
				ids := make([]string, tc.events)
				for e := range ids {
					ids[e] = fmt.Sprintf("%s-e%d", sub.ID, e)
				}
				queue(t, store, sub, ids...)
			}
			d := newDeliverer(t, store, clk, delivery.Options{Interval: 10 * time.Millisecond})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()
			d.Nudge()
			want := tc.subs * tc.events
			require.Eventually(t, func() bool { return len(postsPerWebhookID(sk)) == want }, 60*time.Second, 20*time.Millisecond)
			// Let the loop run on past the last delivery: a stale snapshot would show now.
			for i := 0; i < 20; i++ {
				d.Nudge()
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
			require.NoError(t, <-done)

			posts := postsPerWebhookID(sk)
			require.Len(t, posts, want)
			duplicates := 0
			for id, n := range posts {
				if n != 1 {
					duplicates++
					t.Errorf("%s was POSTed %d times", id, n)
				}
			}
			for _, r := range sk.Requests() {
				require.NoError(t, r.VerifyErr)
			}
			t.Logf("%d deliveries, %d POSTs, %d duplicated", want, len(sk.Requests()), duplicates)
		})
	}
}

// TestAPoisonEventDelaysNoneOfTheOthers: the sink answers 400 to one event of 100, forever. The
// other 99 are delivered in the first pass, before the clock moves at all (on main they waited
// behind it for its whole ~28-hour schedule); the poison one follows its own schedule to a dead
// letter.
func TestAPoisonEventDelaysNoneOfTheOthers(t *testing.T) {
	clk := newClock()
	store := openStore(t, clk)
	sk := newSink(t, func(_ int, r *http.Request) int {
		if r.Header.Get("webhook-id") == state.DeliveryID(r.Header.Get("X-HipChat-Connector-Subscription"), "e1") {
			return http.StatusBadRequest
		}
		return http.StatusNoContent
	})
	sub := addSubscription(t, store, testConn, triggers.KindMessage, "1", sk.URL(), nil)
	sk.TrustSubscriptions(sub)
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = "e" + strconv.Itoa(i)
	}
	queue(t, store, sub, ids...)
	d := newDeliverer(t, store, clk, delivery.Options{})
	ctx := context.Background()

	_, err := d.DeliverDue(ctx)
	require.NoError(t, err)
	accepted := sk.Accepted()[sub.ID]
	assert.Len(t, accepted, 99, "every other event is delivered without waiting for the poison one")
	assert.NotContains(t, accepted, "e1")

	for range 7 {
		clk.Advance(11 * time.Hour) // past every step of the schedule
		_, err := d.DeliverDue(ctx)
		require.NoError(t, err)
	}
	poison, err := store.Delivery(sub.ID, state.DeliveryID(sub.ID, "e1"))
	require.NoError(t, err)
	assert.Equal(t, state.DeliveryDead, poison.Status)
	assert.Len(t, poison.Attempts, 8, "the first attempt and the 7 retries of the schedule")
	got, err := store.Subscription(sub.ID)
	require.NoError(t, err)
	assert.Equal(t, state.StatusActive, got.Status, "one poison event opens no circuit: the others keep succeeding")
}

// TestAPausedBacklogTakesNoRoomOfItsEndpoint: a paused subscription's deliveries, due before those
// of an active subscription on the same endpoint, use up none of the endpoint's room: the active
// one's are delivered.
func TestAPausedBacklogTakesNoRoomOfItsEndpoint(t *testing.T) {
	clk := newClock()
	store := openStore(t, clk)
	sk := newSink(t, nil)
	paused := addSubscription(t, store, testConn, triggers.KindMessage, "1", sk.URL(), nil)
	active := addSubscription(t, store, testConn, triggers.KindMessage, "2", sk.URL(), nil)
	sk.TrustSubscriptions(paused, active)
	d := newDeliverer(t, store, clk, delivery.Options{PerEndpoint: 2, PerSubscription: 2})
	ctx := context.Background()
	queue(t, store, paused, "p0")
	queue(t, store, active, "a0")
	_, err := d.DeliverDue(ctx) // the deliverer now knows both subscriptions and their endpoint
	require.NoError(t, err)

	queue(t, store, paused, "p1", "p2", "p3")
	require.NoError(t, store.SetStatus(paused.ID, state.StatusPaused, "paused by its owner"))
	d.Forget(paused.ID) // as the API does after a pause
	clk.Advance(time.Second)
	queue(t, store, active, "a1", "a2")
	n, err := d.DeliverDue(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.ElementsMatch(t, []string{"a0", "a1", "a2"}, sk.Accepted()[active.ID], "best effort: in any order")
	assert.Equal(t, []string{"p0"}, sk.Accepted()[paused.ID], "held while paused")
}

// TestAFIFOSubscriptionStaysInOrderUnderAFlakySink: the sink fails the first attempt of every third
// event; a FIFO subscription still receives strictly in order (each event first accepted after
// the one before).
func TestAFIFOSubscriptionStaysInOrderUnderAFlakySink(t *testing.T) {
	clk := newClock()
	store := openStore(t, clk)
	var mu sync.Mutex
	seen := map[string]bool{}
	sk := newSink(t, func(_ int, r *http.Request) int {
		mu.Lock()
		defer mu.Unlock()
		id := r.Header.Get("webhook-id")
		first := !seen[id]
		seen[id] = true
		if first && len(seen)%3 == 0 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	sub := addFIFOSubscription(t, store, testConn, triggers.KindMessage, "1", sk.URL())
	sk.TrustSubscriptions(sub)
	ids := make([]string, 30)
	for i := range ids {
		ids[i] = fmt.Sprintf("e%02d", i)
	}
	queue(t, store, sub, ids...)
	d := newDeliverer(t, store, clk, delivery.Options{})
	for round := 0; len(sk.Accepted()[sub.ID]) < len(ids); round++ {
		require.Less(t, round, 100)
		_, err := d.DeliverDue(context.Background())
		require.NoError(t, err)
		clk.Advance(5 * time.Second)
	}
	assert.Equal(t, ids, sk.Accepted()[sub.ID], "strictly in order")
	for _, r := range sk.Requests() {
		require.NoError(t, r.VerifyErr)
	}
}

// TestMaxPerSecondThrottlesWithoutFailing: a subscription with maxPerSecond 5 gets at most 5.5
// deliveries per second over 20 s of the injected clock, and a throttled delivery is neither failed
// nor counted as an attempt.
func TestMaxPerSecondThrottlesWithoutFailing(t *testing.T) {
	clk := newClock()
	store := openStore(t, clk)
	sk := newSink(t, nil)
	sub, err := store.CreateSubscription(state.Subscription{
		ConnectionID: testConn.ID, Kind: triggers.KindMessage, RoomID: "1", CallbackURL: sk.URL(),
		Token: testConn.Token(), Secret: "whsec_dGhyb3R0bGVkLXN1YnNjcmlwdGlvbi1zZWNyZXQ=", HipChatURL: testConn.BaseURL,
		MaxPerSecond: 5,
	})
	require.NoError(t, err)
	sk.TrustSubscriptions(sub)
	ids := make([]string, 200)
	for i := range ids {
		ids[i] = "t" + strconv.Itoa(i)
	}
	queue(t, store, sub, ids...)
	d := newDeliverer(t, store, clk, delivery.Options{})
	start := clk.Now()
	for step := 0; step < 200; step++ { // 20 s in 100 ms steps
		_, err := d.DeliverDue(context.Background())
		require.NoError(t, err)
		clk.Advance(100 * time.Millisecond)
	}
	delivered := len(sk.Accepted()[sub.ID])
	rate := float64(delivered) / clk.Now().Sub(start).Seconds()
	t.Logf("maxPerSecond 5: %d deliveries in 20 s of the injected clock (%.2f/s)", delivered, rate)
	assert.LessOrEqual(t, rate, 5.5)
	assert.GreaterOrEqual(t, rate, 4.5, "the throttle lets through what it allows")
	assert.Len(t, sk.Requests(), delivered, "no attempt failed or was made beyond the throttle")
	log, err := store.Deliveries(sub.ID, 0)
	require.NoError(t, err)
	for _, dl := range log {
		if dl.Status == state.DeliveryPending {
			assert.Empty(t, dl.Attempts, "a throttled delivery waits without an attempt")
		}
	}
}

// TestACircuitOpensHoldsAndCloses: the sink refuses every request for 2 minutes (of the injected
// clock). After 10 consecutive failures the endpoint's circuit opens: attempts stop but for one
// probe per backoff step; after the sink is back a probe succeeds, the circuit closes and every
// delivery arrives.
func TestACircuitOpensHoldsAndCloses(t *testing.T) {
	clk := newClock()
	store := openStore(t, clk)
	down := clk.Now().Add(2 * time.Minute)
	var attempts atomic.Int32 // every request, the refused ones included
	sk := newSink(t, func(int, *http.Request) int {
		attempts.Add(1)
		if clk.Now().Before(down) {
			panic(http.ErrAbortHandler) // the connection breaks, as a refusing sink's would
		}
		return http.StatusNoContent
	})
	var subs []state.Subscription
	for i := 0; i < 4; i++ {
		sub := addSubscription(t, store, testConn, triggers.KindMessage, strconv.Itoa(i), sk.URL(), nil)
		sk.TrustSubscriptions(sub)
		ids := make([]string, 10)
		for e := range ids {
			ids[e] = fmt.Sprintf("s%d-e%d", i, e)
		}
		queue(t, store, sub, ids...)
		subs = append(subs, sub)
	}
	d := newDeliverer(t, store, clk, delivery.Options{Concurrency: 1}) // one at a time: a countable sequence
	ctx := context.Background()

	_, err := d.DeliverDue(ctx)
	require.NoError(t, err)
	assert.Equal(t, int32(10), attempts.Load(), "the circuit opens after 10 consecutive failures and holds the other 30")
	ep, ok, err := store.Endpoint(endpointOf(sk))
	require.NoError(t, err)
	require.True(t, ok)
	assert.True(t, ep.Open())
	assert.Equal(t, 10, ep.ConsecutiveFailures)

	// While down: one probe per backoff step (5 s, 10 s, 20 s, 40 s, …), nothing else.
	for clk.Now().Before(down) {
		clk.Advance(time.Second)
		_, err := d.DeliverDue(ctx)
		require.NoError(t, err)
	}
	probes := int(attempts.Load()) - 10
	assert.Equal(t, 4, probes, "probes at +5 s, +15 s, +35 s and +75 s within the 2 minutes")
	// Back up: the next probe succeeds and everything flows.
	for round := 0; len(postsOK(sk)) < 40; round++ {
		require.Less(t, round, 400, "not everything arrived after the sink came back")
		clk.Advance(time.Second)
		_, err := d.DeliverDue(ctx)
		require.NoError(t, err)
	}
	ep, _, err = store.Endpoint(endpointOf(sk))
	require.NoError(t, err)
	assert.False(t, ep.Open(), "closed by the first success")
	for _, sub := range subs {
		assert.Len(t, sk.Accepted()[sub.ID], 10)
	}
	t.Logf("circuit: 10 failures, %d probes while down, then %d deliveries after the sink returned", probes, len(postsOK(sk)))
}

// postsOK are the sink's requests answered 2xx.
func postsOK(sk *testkit.Sink) []testkit.Received {
	var ok []testkit.Received
	for _, r := range sk.Requests() {
		if r.Status >= 200 && r.Status < 300 {
			ok = append(ok, r)
		}
	}
	return ok
}
