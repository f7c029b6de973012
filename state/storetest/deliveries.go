package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/state"
)

func testResend(t *testing.T, d *env) {
	d.subscribe("s1")
	d.commit(state.CursorAdvance{SubscriptionID: "s1", Events: events("m", 3)})
	require.NoError(t, d.record("s1", 1, state.Attempt{StatusCode: 200}, state.Delivered()))
	require.NoError(t, d.record("s1", 2, state.Attempt{StatusCode: 500}, state.Dead()))
	id1, id2 := state.DeliveryID("s1", "m1"), state.DeliveryID("s1", "m2")

	_, err := d.Resend("s1", state.DeliveryID("s1", "m3"))
	assert.ErrorIs(t, err, state.ErrAlreadyPending)
	_, err = d.Resend("s1", "msg_nope")
	assert.ErrorIs(t, err, state.ErrNotFound)
	_, err = d.Resend("missing", id1)
	assert.ErrorIs(t, err, state.ErrNotFound)

	d.clock.Advance(time.Hour)
	resent, err := d.Resend("s1", id1)
	require.NoError(t, err)
	assert.Equal(t, id1, resent.ID, "the subscriber can dedupe a resend")
	assert.Equal(t, uint64(4), resent.Seq)
	assert.Equal(t, state.DeliveryPending, resent.Status)
	assert.Equal(t, d.clock.Now(), resent.NextAttemptAt)
	assert.True(t, resent.DeliveredAt.IsZero())
	assert.Zero(t, resent.RoundAttempts, "a new round of attempts")
	assert.Len(t, resent.Attempts, 1, "past attempts stay visible")
	_, err = d.Resend("s1", id2)
	require.NoError(t, err)

	assert.Equal(t, []string{"m2", "m1", "m3"}, d.log("s1"))
	assert.Equal(t, []string{"m3"}, d.due(0), "m3 was waiting first: the resends queue behind it")
	require.NoError(t, d.record("s1", 3, state.Attempt{StatusCode: 200}, state.Delivered()))
	assert.Equal(t, []string{"m1"}, d.due(0))
	d.commit(state.CursorAdvance{SubscriptionID: "s1", Events: events("m", 1)})
	assert.Len(t, d.log("s1"), 3, "reading m1 again does not queue it a second time")
}

func testRecover(t *testing.T, d *env) {
	d.subscribeWith("r", state.OrderingBestEffort)
	d.commit(state.CursorAdvance{SubscriptionID: "r", Events: events("old", 1)})
	require.NoError(t, d.record("r", d.seqOf("r", "old1"), state.Attempt{StatusCode: 500}, state.Dead()))
	d.clock.Advance(time.Hour)
	since := d.clock.Now()
	d.commit(state.CursorAdvance{SubscriptionID: "r", Events: events("new", 4)})
	later := d.clock.Now().Add(time.Hour)
	require.NoError(t, d.record("r", d.seqOf("r", "new1"), state.Attempt{StatusCode: 500}, state.Dead()))
	require.NoError(t, d.record("r", d.seqOf("r", "new2"), state.Attempt{StatusCode: 503}, state.RetryAt(later)))
	require.NoError(t, d.record("r", d.seqOf("r", "new3"), state.Attempt{StatusCode: 204}, state.Delivered()))

	n, err := d.Recover("r", since)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "the dead new1 and the failing new2; not old1 (before since), not the delivered new3")
	assert.ElementsMatch(t, []string{"new1", "new2", "new4"}, d.due(0))
	resent, err := d.Delivery("r", state.DeliveryID("r", "new1"))
	require.NoError(t, err)
	assert.Equal(t, state.DeliveryPending, resent.Status)
	assert.Zero(t, resent.RoundAttempts)
	failing, err := d.Delivery("r", state.DeliveryID("r", "new2"))
	require.NoError(t, err)
	assert.Equal(t, d.clock.Now(), failing.NextAttemptAt)
	assert.Equal(t, 1, failing.RoundAttempts, "a failing one keeps its round")
	_, err = d.Recover("missing", since)
	assert.ErrorIs(t, err, state.ErrNotFound)
}

func testStats(t *testing.T, d *env) {
	st, err := d.Stats()
	require.NoError(t, err)
	assert.Equal(t, state.PendingStats{}, st)
	d.subscribeWith("a", state.OrderingBestEffort)
	d.subscribe("b")
	first := d.clock.Now()
	d.commit(state.CursorAdvance{SubscriptionID: "a", Events: events("a", 2)})
	d.clock.Advance(time.Minute)
	d.commit(state.CursorAdvance{SubscriptionID: "b", Events: events("b", 3)})
	require.NoError(t, d.record("a", 1, state.Attempt{StatusCode: 204}, state.Delivered()))
	st, err = d.Stats()
	require.NoError(t, err)
	assert.Equal(t, 4, st.Pending)
	assert.True(t, st.OldestQueuedAt.Equal(first), "a2 has waited since the first commit")
}

// testPrune expects the store opened with Retention (24 h, 3 per subscription).
func testPrune(t *testing.T, d *env) {
	d.subscribe("s1")
	d.subscribe("s2")
	start := d.clock.Now()
	d.commit(state.CursorAdvance{SubscriptionID: "s1", Events: events("old", 4)},
		state.CursorAdvance{SubscriptionID: "s2", Events: events("x", 1)})
	require.NoError(t, d.record("s1", 1, state.Attempt{StatusCode: 200}, state.Delivered()))
	require.NoError(t, d.record("s1", 2, state.Attempt{StatusCode: 200}, state.Delivered()))
	require.NoError(t, d.record("s1", 3, state.Attempt{StatusCode: 500}, state.Dead()))
	require.NoError(t, d.record("s1", 4, state.Attempt{StatusCode: 500}, state.RetryAt(start.Add(48*time.Hour))))
	require.NoError(t, d.record("s2", 1, state.Attempt{StatusCode: 200}, state.Delivered()))
	n, err := d.Prune(d.clock.Now())
	require.NoError(t, err)
	assert.Zero(t, n, "nothing is old yet, and s1 has exactly 3 finished")

	d.clock.Advance(48 * time.Hour)
	require.NoError(t, d.record("s1", 4, state.Attempt{StatusCode: 200}, state.Delivered()))
	d.commit(state.CursorAdvance{SubscriptionID: "s1", Events: events("new", 4)})
	for seq := uint64(5); seq <= 8; seq++ {
		require.NoError(t, d.record("s1", seq, state.Attempt{StatusCode: 200}, state.Delivered()))
	}
	d.commit(state.CursorAdvance{SubscriptionID: "s1", Events: events("waiting", 1)})
	n, err = d.Prune(d.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 6, n, "s1: old1-4 and new1, beyond its newest 3 finished; s2: x1, by age")
	assert.Equal(t, []string{"waiting1", "new4", "new3", "new2"}, d.log("s1"))
	assert.Empty(t, d.log("s2"))
	_, err = d.Delivery("s1", state.DeliveryID("s1", "old1"))
	assert.ErrorIs(t, err, state.ErrNotFound, "the id index is pruned with the log")
	assert.Equal(t, []string{"waiting1"}, d.due(0))
	d.commit(state.CursorAdvance{SubscriptionID: "s1", Events: events("new", 4)[1:]})
	assert.Len(t, d.log("s1"), 4, "what is kept still dedupes")
}
