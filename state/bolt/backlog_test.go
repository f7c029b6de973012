package bolt

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// TestPendingCountsSurviveReopenAndIgnoreRollbacks: the counts kept in memory are counted again
// from the queued index at every open, and a transaction that does not commit moves nothing.
func TestPendingCountsSurviveReopenAndIgnoreRollbacks(t *testing.T) {
	d := newTestDB(t)
	d.subscribeWith("a", state.OrderingBestEffort)
	d.subscribe("b")
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{
		{SubscriptionID: "a", Events: events("a", 4)}, {SubscriptionID: "b", Events: events("b", 2)},
	}))
	require.NoError(t, d.RecordAttempt("a", 1, state.Attempt{StatusCode: 204}, state.Delivered()))

	boom := errors.New("boom")
	err := d.update(func(tx *bbolt.Tx) error {
		d.pending.track(tx).add("a", 100)
		return boom
	})
	require.ErrorIs(t, err, boom)
	for _, reopen := range []bool{false, true} {
		if reopen {
			d.reopen()
		}
		a, err := d.PendingCount("a")
		require.NoError(t, err)
		b, err := d.PendingCount("b")
		require.NoError(t, err)
		assert.Equal(t, []int{3, 2}, []int{a, b}, "reopened: %v", reopen)
	}
}
