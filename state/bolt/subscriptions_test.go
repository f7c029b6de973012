package bolt

import (
	"github.com/hipchat-connector/hipchat-connector/state"

	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/triggers"
)

func validSubscription() state.Subscription {
	return state.Subscription{
		ConnectionID: "conn-a", Kind: triggers.KindMessage, RoomID: "r1",
		CallbackURL: "https://sink.example/hook", Token: "tok", Secret: "whsec_x",
		HipChatURL: "https://api.hipchat.com",
	}
}

func TestCreateSubscriptionValidates(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*state.Subscription)
		want   string
	}{
		{"no connection", func(s *state.Subscription) { s.ConnectionID = "" }, "connection id"},
		{"unknown kind", func(s *state.Subscription) { s.Kind = "reaction" }, `kind "reaction"`},
		{"message without room", func(s *state.Subscription) { s.RoomID = "" }, "room id is required"},
		{"room kind with room", func(s *state.Subscription) { s.Kind = triggers.KindRoom }, "room id must be empty"},
		{"no callback", func(s *state.Subscription) { s.CallbackURL = "" }, "callback URL"},
		{"no token", func(s *state.Subscription) { s.Token = "" }, "token"},
		{"no secret", func(s *state.Subscription) { s.Secret = "" }, "secret"},
		{"unknown status", func(s *state.Subscription) { s.Status = "gone" }, `status "gone"`},
		{"id too long", func(s *state.Subscription) { s.ID = string(make([]byte, 300)) }, "subscription id"},
	}
	d := newTestDB(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := validSubscription()
			tt.modify(&sub)
			_, err := d.CreateSubscription(sub)
			require.ErrorIs(t, err, state.ErrInvalid)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	subs, err := d.PolledSubscriptions()
	require.NoError(t, err)
	assert.Empty(t, subs)
}

func TestCreateSubscriptionFillsDefaultsAndRoundTrips(t *testing.T) {
	d := newTestDB(t)
	in := validSubscription()
	in.Cursor = []byte("cursor-0")
	created, err := d.CreateSubscription(in)
	require.NoError(t, err)
	assert.NotEmpty(t, created.ID)
	assert.Equal(t, state.StatusActive, created.Status)
	assert.Equal(t, d.clock.Now(), created.CreatedAt)

	d.reopen()
	got, err := d.Subscription(created.ID)
	require.NoError(t, err)
	assert.Equal(t, created, got)

	_, err = d.CreateSubscription(created)
	require.ErrorIs(t, err, state.ErrExists)

	_, err = d.Subscription("missing")
	require.ErrorIs(t, err, state.ErrNotFound)
}

func TestSubscriptionsOfIsScopedToTheConnection(t *testing.T) {
	d := newTestDB(t)
	mk := func(id, conn string) {
		sub := validSubscription()
		sub.ID, sub.ConnectionID = id, conn
		_, err := d.CreateSubscription(sub)
		require.NoError(t, err)
	}
	mk("a2", "conn-a")
	mk("a1", "conn-a")
	mk("b1", "conn-b")

	tests := map[string][]string{"conn-a": {"a1", "a2"}, "conn-b": {"b1"}, "conn-c": nil}
	for conn, want := range tests {
		t.Run(conn, func(t *testing.T) {
			subs, err := d.SubscriptionsOf(conn)
			require.NoError(t, err)
			var ids []string
			for _, s := range subs {
				ids = append(ids, s.ID)
				assert.Equal(t, conn, s.ConnectionID)
			}
			assert.Equal(t, want, ids)
		})
	}
}

func TestSetStatusFiltersPolledSubscriptions(t *testing.T) {
	d := newTestDB(t)
	for _, id := range []string{"s1", "s2", "s3", "s4"} {
		d.subscribe(id)
	}
	require.NoError(t, d.SetStatus("s2", state.StatusSuspended, "HipChat answered 401"))
	require.NoError(t, d.SetStatus("s3", state.StatusDisabled, "callback answered 410"))
	require.NoError(t, d.SetStatus("s4", state.StatusPaused, "paused by a user"))

	polled, err := d.PolledSubscriptions()
	require.NoError(t, err)
	require.Len(t, polled, 2, "active and user-paused subscriptions are polled (a paused one's events wait)")
	assert.Equal(t, "s1", polled[0].ID)
	assert.Equal(t, "token-of-s1", polled[0].Token)
	assert.Equal(t, "s4", polled[1].ID)

	suspended, err := d.Subscription("s2")
	require.NoError(t, err)
	assert.Equal(t, state.StatusSuspended, suspended.Status)
	assert.Equal(t, "HipChat answered 401", suspended.StatusReason)

	require.ErrorIs(t, d.SetStatus("s2", "sleeping", ""), state.ErrInvalid)
	require.ErrorIs(t, d.SetStatus("missing", state.StatusActive, ""), state.ErrNotFound)
	require.NoError(t, d.SetStatus("s2", state.StatusActive, ""))
	polled, err = d.PolledSubscriptions()
	require.NoError(t, err)
	assert.Len(t, polled, 3)
}

func TestDeleteSubscriptionCascades(t *testing.T) {
	d := newTestDB(t)
	d.subscribe("s1")
	d.subscribe("keep")
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{
		{SubscriptionID: "s1", Cursor: []byte("c"), Events: events("m", 3)},
		{SubscriptionID: "keep", Cursor: []byte("c"), Events: events("m", 3)},
	}))
	due, err := d.DueDeliveries(d.clock.Now(), 0, nil)
	require.NoError(t, err)
	require.Len(t, due, 2)
	require.NoError(t, d.RecordAttempt("s1", due[0].Seq, state.Attempt{StatusCode: 200}, state.Delivered()))

	require.NoError(t, d.DeleteSubscription("s1"))
	require.ErrorIs(t, d.DeleteSubscription("s1"), state.ErrNotFound, "a second delete is told apart")

	_, err = d.Subscription("s1")
	require.ErrorIs(t, err, state.ErrNotFound)
	_, err = d.Deliveries("s1", 0)
	require.ErrorIs(t, err, state.ErrNotFound)
	subs, err := d.SubscriptionsOf("conn-a")
	require.NoError(t, err)
	require.Len(t, subs, 1)
	assert.Equal(t, "keep", subs[0].ID)

	due, err = d.DueDeliveries(d.clock.Now(), 0, nil)
	require.NoError(t, err)
	require.Len(t, due, 1)
	assert.Equal(t, "keep", due[0].SubscriptionID)

	require.NoError(t, d.db.View(func(tx *bbolt.Tx) error {
		assert.Nil(t, tx.Bucket(bucketOutbox).Bucket([]byte("s1")), "outbox dropped")
		assert.Equal(t, 3, tx.Bucket(bucketQueued).Stats().KeyN, "s1's pending deliveries left the queued index: keep's 3 remain")
		assert.Nil(t, tx.Bucket(bucketFIFO).Bucket([]byte("s1")), "s1's queue dropped")
		assert.Equal(t, 3, tx.Bucket(bucketLog).Stats().KeyN, "s1's records dropped: keep's 3 remain")
		return nil
	}))

	// A delivery attempt that was in flight during the delete finds nothing.
	err = d.RecordAttempt("s1", 2, state.Attempt{StatusCode: 200, At: time.Now()}, state.Delivered())
	require.ErrorIs(t, err, state.ErrNotFound)

	require.NoError(t, d.DeleteSubscription("keep"))
	require.NoError(t, d.db.View(func(tx *bbolt.Tx) error {
		k, _ := tx.Bucket(bucketConnections).Cursor().First()
		assert.Nil(t, k, "empty connection index dropped")
		return nil
	}))
}
