package etcd_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/internal/etcdtest"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/state/etcd"
)

// TestWhatAStoreLastKnewNeverHidesAnotherWriter: a store records attempts from what it last knew
// of a subscription and of the deliveries it listed, without reading them again; when another
// replica changed them meanwhile, the commit sees it and runs again on what etcd holds: the other
// replica's changes stay, and a delivery it finished is not recorded twice.
func TestWhatAStoreLastKnewNeverHidesAnotherWriter(t *testing.T) {
	client := etcdtest.Start(t).Client(t)
	a, prefix := openWithSubscription(t, client, testKey(7), "s")
	b := openSame(t, client, prefix)
	events := func(ids ...string) []state.Event {
		var out []state.Event
		for _, id := range ids {
			out = append(out, state.Event{ID: id, Type: "message.posted", Payload: []byte(`{}`)})
		}
		return out
	}
	require.NoError(t, a.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s", Events: events("e1", "e2", "e3", "e4")}}))
	due, err := a.DueDeliveries(time.Now(), 0, nil)
	require.NoError(t, err)
	require.Len(t, due, 4)
	require.NoError(t, a.RecordAttempt("s", due[0].Seq, state.Attempt{StatusCode: 500}, state.RetryAt(time.Now().Add(time.Hour))))

	// Another replica pauses the subscription, queues an event, and finishes e3.
	require.NoError(t, b.SetStatus("s", state.StatusPaused, "by a user"))
	require.NoError(t, b.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s", Events: events("e5")}}))
	require.NoError(t, b.RecordAttempt("s", due[2].Seq, state.Attempt{StatusCode: 204}, state.Delivered()))

	errs := a.RecordAttempts([]state.AttemptRecord{
		{SubscriptionID: "s", Seq: due[1].Seq, Attempt: state.Attempt{StatusCode: 503}, Outcome: state.RetryAt(time.Now().Add(time.Hour))},
		{SubscriptionID: "s", Seq: due[2].Seq, Attempt: state.Attempt{StatusCode: 204}, Outcome: state.Delivered()},
	})
	assert.NoError(t, errs[0])
	assert.ErrorIs(t, errs[1], state.ErrNotPending, "finished by the other replica since it was listed")
	sub, err := a.Subscription("s")
	require.NoError(t, err)
	assert.Equal(t, state.StatusPaused, sub.Status, "the pause is not written over by the attempt's health")
	assert.Equal(t, 1, sub.Health.ConsecutiveFailures, "e3 delivered by the other replica reset it; e2 failed since")
	n, err := a.PendingCount("s")
	require.NoError(t, err)
	assert.Equal(t, 4, n, "e1 and e2 retrying, e4 and e5 waiting")
	require.NoError(t, etcd.CheckHeads(a))
}

// TestAListingAtARevisionCompactedAwayReadsAgain: the delivery path reads at the newest revision
// the store has seen; when etcd has compacted past it (another replica's Prune), the read is made
// again at the current one, and the listing goes on.
func TestAListingAtARevisionCompactedAwayReadsAgain(t *testing.T) {
	client := etcdtest.Start(t).Client(t)
	s, prefix := openWithSubscription(t, client, testKey(7), "s")
	require.NoError(t, s.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s", Events: []state.Event{{ID: "e1", Type: "message.posted", Payload: []byte(`{}`)}}}}))
	other := openSame(t, client, prefix)
	require.NoError(t, other.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s", Events: []state.Event{{ID: "e2", Type: "message.posted", Payload: []byte(`{}`)}}}}))
	resp, err := client.Put(context.Background(), prefix+"unrelated", "x")
	require.NoError(t, err)
	_, err = client.Compact(context.Background(), resp.Header.Revision)
	require.NoError(t, err)

	due, err := s.DueDeliveries(time.Now(), 0, nil)
	require.NoError(t, err)
	var ids []string
	for _, d := range due {
		ids = append(ids, d.EventID)
	}
	assert.Equal(t, []string{"e1", "e2"}, ids, "the other replica's e2 too: read again past the compaction")
}

// TestACommitFromWhatAStoreLastKnewComparesEvenWhenItWritesNothing: a store suspended a
// subscription (its last write of the record), another replica resumed it, and the store's poller,
// told by the watch, commits a feed read for it. What the store last knew says the subscription is
// not polled, so the commit writes nothing; that decision must still be checked against etcd, or
// the events are dropped while CommitFeed reports success (the poller then moves its cursor past
// them for good).
func TestACommitFromWhatAStoreLastKnewComparesEvenWhenItWritesNothing(t *testing.T) {
	client := etcdtest.Start(t).Client(t)
	a, prefix := openWithSubscription(t, client, testKey(7), "s")
	b := openSame(t, client, prefix)

	require.NoError(t, a.SetStatus("s", state.StatusSuspended, "HipChat answered 401"))
	require.NoError(t, b.SetStatus("s", state.StatusActive, "token works again"))

	require.NoError(t, a.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s", Cursor: []byte("c1"),
		Events: []state.Event{{ID: "e1", Type: "message.posted", Payload: []byte(`{}`)}}}}))
	sub, err := b.Subscription("s")
	require.NoError(t, err)
	assert.Equal(t, []byte("c1"), sub.Cursor, "the cursor of the active subscription is written")
	n, err := b.PendingCount("s")
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the event is queued, not dropped")
}
