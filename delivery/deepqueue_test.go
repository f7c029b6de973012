package delivery_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// countingStore counts what the deliverer's listings ask of the deliveries they come to.
type countingStore struct {
	delivery.Store
	asked    atomic.Int64
	listings atomic.Int64
}

func (s *countingStore) PickDue(now time.Time, limit int, picker state.Picker) ([]state.Delivery, error) {
	s.listings.Add(1)
	return s.Store.PickDue(now, limit, countingPicker{picker, &s.asked})
}

// countingPicker counts the questions of a listing, about a subscription or a delivery.
type countingPicker struct {
	state.Picker
	asked *atomic.Int64
}

func (p countingPicker) PickSubscription(subID string) bool {
	p.asked.Add(1)
	return p.Picker.PickSubscription(subID)
}

func (p countingPicker) PickDelivery(subID string, seq uint64) state.Pick {
	p.asked.Add(1)
	return p.Picker.PickDelivery(subID, seq)
}

// TestAListingPassesOverAFullSubscriptionsQueue: a subscription with 2,000 queued and room for 8
// in flight costs each listing the deliveries it can start and those in flight, not its queue: the
// deliverer asks about fewer than four deliveries per delivery made, where walking the queue asked
// about hundreds. Every delivery is made once, in one pass.
func TestAListingPassesOverAFullSubscriptionsQueue(t *testing.T) {
	const queued = 2000
	clk := newClock()
	bolt := openStore(t, clk)
	sk := newSink(t, nil)
	sub := addSubscription(t, bolt, testConn, triggers.KindMessage, "1", sk.URL(), nil)
	sk.TrustSubscriptions(sub)
	ids := make([]string, queued)
	for i := range ids {
		ids[i] = fmt.Sprintf("e%d", i)
	}
	queue(t, bolt, sub, ids...)
	store := &countingStore{Store: bolt}
	d := newDeliverer(t, store, clk, delivery.Options{PerSubscription: 8})

	n, err := d.DeliverDue(context.Background())
	require.NoError(t, err)
	assert.Equal(t, queued, n)
	posts := postsPerWebhookID(sk)
	assert.Len(t, posts, queued)
	for id, count := range posts {
		assert.Equal(t, 1, count, id)
	}
	perDelivery := float64(store.asked.Load()) / queued
	t.Logf("%d listings asked about %d deliveries: %.2f per delivery made", store.listings.Load(), store.asked.Load(), perDelivery)
	assert.Less(t, perDelivery, 4.0)
}

// TestFreedSlotsOfAFullEndpointDoNotListEverySubscription: two hundred subscriptions queue to one
// endpoint that takes 32 at a time and answers in 2 ms. Each POST that ends frees one of its slots;
// the Run loop lists again only once the endpoint has room for a batch (4), not at every slot, so
// the listings ask about far fewer subscriptions per delivery than the two hundred they pass over
// each time. Every delivery is made once.
func TestFreedSlotsOfAFullEndpointDoNotListEverySubscription(t *testing.T) {
	const subs, each = 200, 5
	clk := newClock()
	bolt := openStore(t, clk)
	sk := newSink(t, func(int, *http.Request) int {
		time.Sleep(2 * time.Millisecond) // a receiver that takes a moment, so its 32 slots fill
		return http.StatusNoContent
	})
	for i := range subs {
		sub := addSubscription(t, bolt, testConn, triggers.KindMessage, fmt.Sprint(i), sk.URL(), nil)
		sk.TrustSubscriptions(sub)
		ids := make([]string, each)
		for e := range ids {
			ids[e] = fmt.Sprintf("s%d-e%d", i, e)
		}
		queue(t, bolt, sub, ids...)
	}
	store := &countingStore{Store: bolt}
	d := newDeliverer(t, store, clk, delivery.Options{Interval: time.Hour, PerEndpoint: 32})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	require.Eventually(t, func() bool { return len(postsPerWebhookID(sk)) == subs*each }, 60*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)

	for id, n := range postsPerWebhookID(sk) {
		assert.Equal(t, 1, n, id)
	}
	perDelivery := float64(store.asked.Load()) / (subs * each)
	t.Logf("%d listings asked %d questions: %.1f per delivery", store.listings.Load(), store.asked.Load(), perDelivery)
	assert.Less(t, perDelivery, 100.0, "a listing per freed slot asks about every subscription: 200 per delivery")
}
