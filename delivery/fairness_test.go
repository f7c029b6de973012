package delivery_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// addThrottledSubscription stores a best-effort subscription of the other connection with its own
// maxPerSecond.
func addThrottledSubscription(t *testing.T, store interface {
	CreateSubscription(state.Subscription) (state.Subscription, error)
}, room, callback string, perSecond float64) state.Subscription {
	t.Helper()
	sub, err := store.CreateSubscription(state.Subscription{
		ConnectionID: otherConn.ID, Kind: triggers.KindMessage, RoomID: room, CallbackURL: callback,
		Token: otherConn.Token(), Secret: "whsec_dGhyb3R0bGVkLXN1YnNjcmlwdGlvbi1zZWNyZXQ=", HipChatURL: otherConn.BaseURL,
		MaxPerSecond: perSecond,
	})
	require.NoError(t, err)
	return sub
}

// TestThrottledBacklogsDoNotFillTheListing: another connection has 70 subscriptions with
// maxPerSecond 0.01, each to its own URL and with an older backlog of 10. This connection's one new event must be
// attempted within the first listings: a throttled delivery waits, but it must not take the
// listing's room (2 × the free slots) from deliveries that could start. Over 60 s of the injected
// clock, in 1 s steps, the throttled subscriptions may send their burst (one each) and nothing
// more; the victim's event must go out.
func TestThrottledBacklogsDoNotFillTheListing(t *testing.T) {
	const throttled, each = 70, 10
	clk := newClock()
	bolt := openStore(t, clk)
	sk := newSink(t, nil)
	for i := range throttled {
		sub := addThrottledSubscription(t, bolt, fmt.Sprint(100+i), fmt.Sprintf("%s?s=%d", sk.URL(), i), 0.01)
		ids := make([]string, each)
		for e := range ids {
			ids[e] = fmt.Sprintf("s%d-e%d", i, e)
		}
		queue(t, bolt, sub, ids...)
	}
	clk.Advance(time.Second) // the victim's event is the newest
	victim := addSubscription(t, bolt, testConn, triggers.KindMessage, "1", sk.URL()+"?who=victim", nil)
	sk.TrustSubscriptions(victim)
	queue(t, bolt, victim, "v1")

	store := &countingStore{Store: bolt}
	d := newDeliverer(t, store, clk, delivery.Options{EndpointRate: 0})
	steps := 0
	for ; steps < 60 && len(sk.Accepted()[victim.ID]) == 0; steps++ {
		_, err := d.DeliverDue(context.Background())
		require.NoError(t, err)
		clk.Advance(time.Second)
	}
	t.Logf("victim delivered: %v after %d steps, %d listings; %d requests in all", sk.Accepted()[victim.ID], steps, store.listings.Load(), len(sk.Requests()))
	require.Equal(t, []string{"v1"}, sk.Accepted()[victim.ID],
		"the throttled backlogs of another connection starved this one's new event for 60 s (%d listings)", store.listings.Load())
	assert.Equal(t, 1, steps, "the new event goes out in the first pass")
	assert.Len(t, sk.Requests(), throttled+1, "each throttled subscription sent its burst of one, no more")
}

// TestAnotherConnectionsBacklogDoesNotQueueANewEventBehindAllOfIt: another connection has 40
// subscriptions, each to its own quickly answering URL, with 400 queued each (a receiver back
// after an outage, a recover, a re-enable). While they drain, this connection's new event, a
// second newer than all of them, is queued. It must be attempted within a few listings' worth of
// attempts (here: 1,000), not after everything the other connection queued before it: the listing
// goes oldest-due first over all subscriptions, and sixteen subscriptions with older work fill its
// room (8 each), so the new event waits for the whole backlog, however long.
func TestAnotherConnectionsBacklogDoesNotQueueANewEventBehindAllOfIt(t *testing.T) {
	const subs, each, warm = 40, 400, 1000
	clk := newClock()
	bolt := openStore(t, clk)
	var mu sync.Mutex
	posts, victimAt := 0, 0
	sk := newSink(t, func(_ int, r *http.Request) int {
		mu.Lock()
		defer mu.Unlock()
		posts++
		if r.URL.Query().Get("who") == "victim" && victimAt == 0 {
			victimAt = posts
		}
		return http.StatusNoContent
	})
	count := func() (int, int) { mu.Lock(); defer mu.Unlock(); return posts, victimAt }
	for i := range subs {
		sub := addSubscription(t, bolt, otherConn, triggers.KindMessage, fmt.Sprint(100+i), fmt.Sprintf("%s?s=%d", sk.URL(), i), nil)
		ids := make([]string, each)
		for e := range ids {
			ids[e] = fmt.Sprintf("s%d-e%d", i, e)
		}
		queue(t, bolt, sub, ids...)
	}
	store := &countingStore{Store: bolt}
	d := newDeliverer(t, store, clk, delivery.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	require.Eventually(t, func() bool { n, _ := count(); return n >= warm }, 30*time.Second, time.Millisecond)

	clk.Advance(time.Second)
	victim := addSubscription(t, bolt, testConn, triggers.KindMessage, "1", sk.URL()+"?who=victim", nil)
	before, _ := count()
	listings := store.listings.Load()
	queue(t, bolt, victim, "v1")
	d.Nudge()
	require.Eventually(t, func() bool { _, at := count(); return at > 0 }, 60*time.Second, time.Millisecond)
	_, at := count()
	t.Logf("the new event was attempt %d after it was queued, %d listings later, of %d queued before it",
		at-before, store.listings.Load()-listings, subs*each-before)
	assert.Less(t, at-before, 1000, "a new event waited behind another connection's whole backlog")
}
