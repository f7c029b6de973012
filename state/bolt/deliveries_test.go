package bolt

import (
	"github.com/hipchat-connector/hipchat-connector/state"

	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bbolt "go.etcd.io/bbolt"
)

func TestDeliveriesNewestFirst(t *testing.T) {
	d := newTestDB(t)
	d.subscribe("s1")
	d.subscribe("empty")
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s1", Events: events("m", 5)}}))

	tests := []struct {
		sub   string
		limit int
		want  []string
	}{
		{"s1", 0, []string{"m5", "m4", "m3", "m2", "m1"}},
		{"s1", 2, []string{"m5", "m4"}},
		{"s1", 10, []string{"m5", "m4", "m3", "m2", "m1"}},
		{"empty", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.sub, func(t *testing.T) {
			log, err := d.Deliveries(tt.sub, tt.limit)
			require.NoError(t, err)
			assert.Equal(t, tt.want, eventIDs(log))
		})
	}
	_, err := d.Deliveries("missing", 0)
	require.ErrorIs(t, err, state.ErrNotFound)
}

func TestDeliveryByID(t *testing.T) {
	d := newTestDB(t)
	d.subscribe("s1")
	d.subscribe("s2")
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s1", Events: events("m", 2)}}))

	dl, err := d.Delivery("s1", state.DeliveryID("s1", "m2"))
	require.NoError(t, err)
	assert.Equal(t, "m2", dl.EventID)
	assert.Equal(t, uint64(2), dl.Seq)
	assert.Equal(t, "s1", dl.SubscriptionID)

	for name, lookup := range map[string][2]string{
		"unknown id":             {"s1", "msg_nope"},
		"another's subscription": {"s2", state.DeliveryID("s1", "m2")},
		"unknown subscription":   {"s9", state.DeliveryID("s1", "m2")},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := d.Delivery(lookup[0], lookup[1])
			require.ErrorIs(t, err, state.ErrNotFound)
		})
	}
}

func TestResendKeepsIDAndQueuesAtTheEnd(t *testing.T) {
	d := newTestDB(t)
	d.subscribe("s1")
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s1", Events: events("m", 3)}}))
	require.NoError(t, d.RecordAttempt("s1", 1, state.Attempt{StatusCode: 200}, state.Delivered()))
	require.NoError(t, d.RecordAttempt("s1", 2, state.Attempt{StatusCode: 500}, state.Dead()))
	id1, id2 := state.DeliveryID("s1", "m1"), state.DeliveryID("s1", "m2")

	_, err := d.Resend("s1", state.DeliveryID("s1", "m3"))
	require.ErrorIs(t, err, state.ErrAlreadyPending)
	_, err = d.Resend("s1", "msg_nope")
	require.ErrorIs(t, err, state.ErrNotFound)

	d.clock.Advance(time.Hour)
	resent, err := d.Resend("s1", id1)
	require.NoError(t, err)
	assert.Equal(t, id1, resent.ID, "the subscriber can dedupe a resend")
	assert.Equal(t, uint64(4), resent.Seq)
	assert.Equal(t, state.DeliveryPending, resent.Status)
	assert.Equal(t, d.clock.Now(), resent.NextAttemptAt)
	assert.True(t, resent.DeliveredAt.IsZero())
	assert.Len(t, resent.Attempts, 1, "past attempts stay visible")
	_, err = d.Resend("s1", id2)
	require.NoError(t, err)

	d.reopen()
	log, err := d.Deliveries("s1", 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"m2", "m1", "m3"}, eventIDs(log))
	// m3 was waiting first: the resends queue behind it.
	require.Equal(t, []string{"m3"}, eventIDs(d.due(0)))
	require.NoError(t, d.RecordAttempt("s1", 3, state.Attempt{StatusCode: 200}, state.Delivered()))
	due := d.due(0)
	require.Equal(t, []string{"m1"}, eventIDs(due))
	assert.Equal(t, id1, due[0].ID)

	// The poller reading m1 again still does not queue it a second time.
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s1", Events: events("m", 1)}}))
	log, err = d.Deliveries("s1", 0)
	require.NoError(t, err)
	assert.Len(t, log, 3)
}

func TestPruneKeepsPendingAndRecentDeliveries(t *testing.T) {
	d := newTestDB(t)
	d.opts.Retention = state.Retention{MaxAge: 24 * time.Hour, MaxPerSubscription: 3}
	d.reopen()
	d.subscribe("s1")
	d.subscribe("s2")
	start := d.clock.Now()

	// Day 0: 4 events for s1, the first two delivered, the third dead, the
	// fourth stuck pending. s2 gets 1 delivered.
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{
		{SubscriptionID: "s1", Events: events("old", 4)},
		{SubscriptionID: "s2", Events: events("x", 1)},
	}))
	require.NoError(t, d.RecordAttempt("s1", 1, state.Attempt{StatusCode: 200}, state.Delivered()))
	require.NoError(t, d.RecordAttempt("s1", 2, state.Attempt{StatusCode: 200}, state.Delivered()))
	require.NoError(t, d.RecordAttempt("s1", 3, state.Attempt{StatusCode: 500}, state.Dead()))
	require.NoError(t, d.RecordAttempt("s1", 4, state.Attempt{StatusCode: 500}, state.RetryAt(start.Add(48*time.Hour))))
	require.NoError(t, d.RecordAttempt("s2", 1, state.Attempt{StatusCode: 200}, state.Delivered()))

	// Nothing is old yet, and s1 has exactly 3 finished deliveries.
	n, err := d.Prune(d.clock.Now())
	require.NoError(t, err)
	assert.Zero(t, n)

	// Day 2: 4 more for s1, delivered. The old ones are past MaxAge, and s1
	// has more than 3 finished.
	d.clock.Advance(48 * time.Hour)
	require.NoError(t, d.RecordAttempt("s1", 4, state.Attempt{StatusCode: 200}, state.Delivered())) // finishes now: recent
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s1", Events: events("new", 4)}}))
	for seq := uint64(5); seq <= 8; seq++ {
		require.NoError(t, d.RecordAttempt("s1", seq, state.Attempt{StatusCode: 200}, state.Delivered()))
	}
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s1", Events: events("waiting", 1)}}))

	n, err = d.Prune(d.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 6, n, "s1: old1-4 and new1, beyond its newest 3 finished; s2: x1, by age")

	log, err := d.Deliveries("s1", 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"waiting1", "new4", "new3", "new2"}, eventIDs(log))
	log, err = d.Deliveries("s2", 0)
	require.NoError(t, err)
	assert.Empty(t, log)

	_, err = d.Delivery("s1", state.DeliveryID("s1", "old1"))
	require.ErrorIs(t, err, state.ErrNotFound, "the id index is pruned with the log")
	require.NoError(t, d.db.View(func(tx *bbolt.Tx) error {
		assert.Equal(t, 4, openSubLog(tx, "s1").ids.Stats().KeyN)
		return nil
	}))
	assert.Equal(t, []string{"waiting1"}, eventIDs(d.due(0)))
}
