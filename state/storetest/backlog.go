package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// testPendingCount: each subscription's count of pending deliveries (the bounded outbox's measure)
// follows every way a delivery enters or leaves the queue, and is its own.
func testPendingCount(t *testing.T, d *env) {
	count := func(id string) int {
		t.Helper()
		n, err := d.PendingCount(id)
		require.NoError(t, err)
		return n
	}
	assert.Zero(t, count("missing"), "a subscription that does not exist has none")
	d.subscribeWith("a", state.OrderingBestEffort)
	d.subscribe("b")
	assert.Zero(t, count("a"))

	d.commit(state.CursorAdvance{SubscriptionID: "a", Events: events("a", 5)},
		state.CursorAdvance{SubscriptionID: "b", Events: events("b", 3)})
	d.commit(state.CursorAdvance{SubscriptionID: "a", Events: events("a", 6)}) // a1..a5 again: only a6 is new
	assert.Equal(t, 6, count("a"))
	assert.Equal(t, 3, count("b"), "b's count is its own")

	later := d.clock.Now().Add(time.Minute)
	require.NoError(t, d.record("a", d.seqOf("a", "a1"), state.Attempt{StatusCode: 204}, state.Delivered()))
	require.NoError(t, d.record("a", d.seqOf("a", "a2"), state.Attempt{StatusCode: 500}, state.Dead()))
	require.NoError(t, d.record("a", d.seqOf("a", "a3"), state.Attempt{StatusCode: 503}, state.RetryAt(later)))
	assert.Equal(t, 4, count("a"), "delivered and dead leave the queue; a retry stays in it")
	assert.ErrorIs(t, d.record("a", d.seqOf("a", "a1"), state.Attempt{StatusCode: 204}, state.Delivered()), state.ErrNotPending)
	assert.Equal(t, 4, count("a"), "a refused attempt changes nothing")

	_, err := d.Resend("a", state.DeliveryID("a", "a1"))
	require.NoError(t, err)
	assert.Equal(t, 5, count("a"), "a resend queues it again")
	n, err := d.Recover("a", time.Time{})
	require.NoError(t, err)
	assert.Equal(t, 2, n, "the dead a2 and the failing a3")
	assert.Equal(t, 6, count("a"), "recover requeues the dead one; the failing one was counted already")

	_, err = d.UpdateStatus("a", state.StatusPaused, "")
	require.NoError(t, err)
	d.commit(state.CursorAdvance{SubscriptionID: "a", Events: events("p", 2)})
	assert.Equal(t, 8, count("a"), "a paused subscription's events wait, counted")

	require.NoError(t, d.DeleteSubscription("a"))
	assert.Zero(t, count("a"), "deleted with its deliveries")
	assert.Equal(t, 3, count("b"))
}
