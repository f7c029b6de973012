package bolt

import (
	"github.com/hipchat-connector/hipchat-connector/state"

	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bbolt "go.etcd.io/bbolt"
)

// eventIDs lists the event ids of deliveries in the order given.
func eventIDs(ds []state.Delivery) []string {
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.EventID)
	}
	return ids
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

func cursorOf(t *testing.T, d *testDB, id string) string {
	t.Helper()
	sub, err := d.Subscription(id)
	require.NoError(t, err)
	return string(sub.Cursor)
}

func TestCommitFeedQueuesEventsInOrderWithStableIDs(t *testing.T) {
	d := newTestDB(t)
	d.subscribe("s1")
	d.subscribe("s2")
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{
		{SubscriptionID: "s1", Cursor: []byte("c3"), Events: events("m", 3)},
		{SubscriptionID: "s2", Cursor: []byte("c2"), Events: events("m", 2)},
	}))
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{
		{SubscriptionID: "s1", Cursor: []byte("c5"), Events: []state.Event{{ID: "m4"}, {ID: "m5", CatchUpNote: "cut 10"}}},
	}))

	assert.Equal(t, "c5", cursorOf(t, d, "s1"))
	assert.Equal(t, "c2", cursorOf(t, d, "s2"))

	log, err := d.Deliveries("s1", 0)
	require.NoError(t, err)
	assert.Equal(t, reversed([]string{"m1", "m2", "m3", "m4", "m5"}), eventIDs(log))
	for i, dl := range log {
		assert.Equal(t, uint64(5-i), dl.Seq)
		assert.Equal(t, state.DeliveryID("s1", dl.EventID), dl.ID)
		assert.Equal(t, state.DeliveryPending, dl.Status)
		assert.Equal(t, d.clock.Now(), dl.NextAttemptAt)
	}
	assert.Equal(t, "cut 10", log[0].CatchUpNote)
	assert.Equal(t, `{"id":"m1"}`, string(log[4].Payload))

	id := state.DeliveryID("s1", "m1")
	assert.True(t, strings.HasPrefix(id, "msg_") && len(id) == 30, id)
	assert.NotEqual(t, id, state.DeliveryID("s2", "m1"), "ids differ per subscription")
	assert.NotEqual(t, id, state.DeliveryID("s1/m", "1"), "different inputs, different ids")
}

func TestCommitFeedDedupesByDeliveryID(t *testing.T) {
	d := newTestDB(t)
	d.subscribe("s1")
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s1", Cursor: []byte("c2"), Events: events("m", 2)}}))
	due, err := d.DueDeliveries(d.clock.Now(), 0, nil)
	require.NoError(t, err)
	require.NoError(t, d.RecordAttempt("s1", due[0].Seq, state.Attempt{StatusCode: 204}, state.Delivered()))

	// The poller re-reads m1..m3 (e.g. after a crash before its commit was
	// known), and lists m3 twice in one batch.
	again := append(events("m", 3), state.Event{ID: "m3"})
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s1", Cursor: []byte("c3"), Events: again}}))

	log, err := d.Deliveries("s1", 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"m3", "m2", "m1"}, eventIDs(log))
	assert.Equal(t, state.DeliveryDelivered, log[2].Status, "the delivered one is not queued again")
	assert.Equal(t, "c3", cursorOf(t, d, "s1"))

	// A batch of nothing but duplicates queues nothing.
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s1", Events: events("m", 1)}}))
	require.NoError(t, d.db.View(func(tx *bbolt.Tx) error {
		assert.Equal(t, 2, pendingOf(tx, "s1"))
		return nil
	}))
}

func TestCommitFeedSkipsSubscriptionsThatCannotTakeEvents(t *testing.T) {
	d := newTestDB(t)
	for _, id := range []string{"active", "paused", "suspended", "disabled", "deleted"} {
		d.subscribe(id)
	}
	require.NoError(t, d.SetStatus("paused", state.StatusPaused, "paused by a user"))
	require.NoError(t, d.SetStatus("suspended", state.StatusSuspended, "401"))
	require.NoError(t, d.SetStatus("disabled", state.StatusDisabled, "410"))
	require.NoError(t, d.DeleteSubscription("deleted"))

	var advances []state.CursorAdvance
	for _, id := range []string{"active", "paused", "suspended", "disabled", "deleted", "never-existed"} {
		advances = append(advances, state.CursorAdvance{SubscriptionID: id, Cursor: []byte("new"), Events: events("m", 2)})
	}
	require.NoError(t, d.CommitFeed(advances))

	tests := []struct {
		id         string
		wantCursor string
		wantQueued int
	}{
		{"active", "new", 2},
		{"paused", "new", 2}, // a user's pause holds deliveries, not the feed: nothing is dropped
		{"suspended", "", 0},
		{"disabled", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			assert.Equal(t, tt.wantCursor, cursorOf(t, d, tt.id))
			log, err := d.Deliveries(tt.id, 0)
			require.NoError(t, err)
			assert.Len(t, log, tt.wantQueued)
		})
	}
	_, err := d.Subscription("deleted")
	require.ErrorIs(t, err, state.ErrNotFound, "a commit does not resurrect a deleted subscription")
}

func TestCommitFeedNilCursorKeepsCursor(t *testing.T) {
	d := newTestDB(t)
	d.subscribe("s1")
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s1", Cursor: []byte("c1")}}))
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s1", Events: []state.Event{{ID: "test-1", Type: "test"}}}}))
	assert.Equal(t, "c1", cursorOf(t, d, "s1"))
	log, err := d.Deliveries("s1", 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"test-1"}, eventIDs(log))
}

func TestCommitFeedIsAllOrNothing(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, d *testDB) []state.CursorAdvance
		want  error
	}{
		{
			name: "event without id",
			setup: func(t *testing.T, d *testDB) []state.CursorAdvance {
				return []state.CursorAdvance{
					{SubscriptionID: "s1", Cursor: []byte("c9"), Events: events("m", 3)},
					{SubscriptionID: "s2", Cursor: []byte("c9"), Events: []state.Event{{ID: "m1"}, {ID: ""}}},
				}
			},
			want: state.ErrInvalid,
		},
		{
			name: "storage failure in the middle of the transaction",
			setup: func(t *testing.T, d *testDB) []state.CursorAdvance {
				// A record that cannot be decoded makes the transaction
				// fail after s1 was written inside it.
				require.NoError(t, d.db.Update(func(tx *bbolt.Tx) error {
					return tx.Bucket(bucketSubscriptions).Put([]byte("s2"), []byte("{not json"))
				}))
				return []state.CursorAdvance{
					{SubscriptionID: "s1", Cursor: []byte("c9"), Events: events("m", 3)},
					{SubscriptionID: "s2", Cursor: []byte("c9"), Events: events("m", 1)},
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestDB(t)
			d.subscribe("s1")
			d.subscribe("s2")
			require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s1", Cursor: []byte("c0")}}))

			err := d.CommitFeed(tt.setup(t, d))
			require.Error(t, err)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
			}

			assert.Equal(t, "c0", cursorOf(t, d, "s1"))
			log, err := d.Deliveries("s1", 0)
			require.NoError(t, err)
			assert.Empty(t, log)
			due, err := d.DueDeliveries(d.clock.Now(), 0, nil)
			require.NoError(t, err)
			assert.Empty(t, due)

			require.NoError(t, d.db.Update(func(tx *bbolt.Tx) error { // let cleanup reopen cleanly
				return tx.Bucket(bucketSubscriptions).Delete([]byte("s2"))
			}))
		})
	}
}

// A restart (or a crash: each call is one atomic transaction) between any
// two operations leaves cursors, outbox and ids consistent.
func TestReopenBetweenOperationsKeepsEverything(t *testing.T) {
	d := newTestDB(t)
	d.subscribe("s1")
	serverKey := d.ServerKey()

	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s1", Cursor: []byte("c3"), Events: events("m", 3)}}))
	d.reopen()
	assert.Equal(t, "c3", cursorOf(t, d, "s1"))
	assert.Equal(t, serverKey, d.ServerKey())

	due, err := d.DueDeliveries(d.clock.Now(), 0, nil)
	require.NoError(t, err)
	require.Len(t, due, 1)
	first := due[0]
	// Crash after the POST, before RecordAttempt: the same delivery with the
	// same webhook-id comes back.
	d.reopen()
	due, err = d.DueDeliveries(d.clock.Now(), 0, nil)
	require.NoError(t, err)
	require.Equal(t, []state.Delivery{first}, due)

	require.NoError(t, d.RecordAttempt("s1", first.Seq, state.Attempt{StatusCode: 200, Duration: time.Millisecond}, state.Delivered()))
	d.reopen()
	// The poller had not seen its commit land and reads m1..m4 again.
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s1", Cursor: []byte("c4"), Events: events("m", 4)}}))
	d.reopen()

	log, err := d.Deliveries("s1", 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"m4", "m3", "m2", "m1"}, eventIDs(log))
	assert.Equal(t, state.DeliveryDelivered, log[3].Status)
	assert.Equal(t, "c4", cursorOf(t, d, "s1"))
	due, err = d.DueDeliveries(d.clock.Now(), 0, nil)
	require.NoError(t, err)
	require.Len(t, due, 1)
	assert.Equal(t, "m2", due[0].EventID)
	sub, err := d.Subscription("s1")
	require.NoError(t, err)
	assert.Equal(t, d.clock.Now(), sub.Health.LastDeliveredAt)
}
