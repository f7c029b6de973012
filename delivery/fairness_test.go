package delivery_test

import (
	"context"
	"fmt"
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
