package bolt

import (
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/webhook"

	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bbolt "go.etcd.io/bbolt"
)

// seqOf returns the seq of eventID's delivery in subID.
func seqOf(t *testing.T, d *testDB, subID, eventID string) uint64 {
	t.Helper()
	dl, err := d.Delivery(subID, state.DeliveryID(subID, eventID))
	require.NoError(t, err)
	return dl.Seq
}

func TestBestEffortDeliveriesAreDueOnTheirOwnSchedule(t *testing.T) {
	d := newTestDB(t)
	d.subscribeWith("be", state.OrderingBestEffort)
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "be", Events: events("e", 3)}}))
	assert.Equal(t, []string{"e1", "e2", "e3"}, eventIDs(d.due(0)), "every pending delivery is due, oldest first")

	// e1 fails and waits a minute; e2 and e3 do not wait behind it.
	require.NoError(t, d.RecordAttempt("be", seqOf(t, d, "be", "e1"), state.Attempt{StatusCode: 400}, state.RetryAt(d.clock.Now().Add(time.Minute))))
	assert.Equal(t, []string{"e2", "e3"}, eventIDs(d.due(0)))
	require.NoError(t, d.RecordAttempt("be", seqOf(t, d, "be", "e2"), state.Attempt{StatusCode: 204}, state.Delivered()))
	assert.Equal(t, []string{"e3"}, eventIDs(d.due(0)))

	d.clock.Advance(time.Minute)
	assert.Equal(t, []string{"e3", "e1"}, eventIDs(d.due(0)), "the retry is due at its time, the longest-waiting first")
	assert.Equal(t, []string{"e3"}, eventIDs(d.due(1)))
	skipBE := func(sub string) bool { return sub == "be" }
	due, err := d.DueDeliveries(d.clock.Now(), 0, func(sub string, _ uint64) bool { return skipBE(sub) })
	require.NoError(t, err)
	assert.Empty(t, due, "skip passes over a held subscription")

	// Paused by a user: nothing is due, nothing is lost.
	require.NoError(t, d.SetStatus("be", state.StatusPaused, "paused by a user"))
	assert.Empty(t, d.due(0))
	require.NoError(t, d.SetStatus("be", state.StatusActive, ""))
	assert.Equal(t, []string{"e3", "e1"}, eventIDs(d.due(0)))
}

func TestFIFOIndexesOnlyTheHead(t *testing.T) {
	d := newTestDB(t)
	d.subscribe("fifo")
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "fifo", Events: events("f", 3)}}))
	require.NoError(t, d.db.View(func(tx *bbolt.Tx) error {
		assert.Equal(t, 1, tx.Bucket(bucketDue).Stats().KeyN, "only the head waits in the due index")
		return nil
	}))
	require.NoError(t, d.RecordAttempt("fifo", seqOf(t, d, "fifo", "f1"), state.Attempt{StatusCode: 500}, state.Dead()))
	assert.Equal(t, []string{"f2"}, eventIDs(d.due(0)))
	// A resend goes to the end of the queue: f2 and f3 first.
	_, err := d.Resend("fifo", state.DeliveryID("fifo", "f1"))
	require.NoError(t, err)
	require.NoError(t, d.RecordAttempt("fifo", seqOf(t, d, "fifo", "f2"), state.Attempt{StatusCode: 204}, state.Delivered()))
	require.NoError(t, d.RecordAttempt("fifo", seqOf(t, d, "fifo", "f3"), state.Attempt{StatusCode: 204}, state.Delivered()))
	assert.Equal(t, []string{"f1"}, eventIDs(d.due(0)))
}

func TestRecoverQueuesWhatFailedSince(t *testing.T) {
	d := newTestDB(t)
	d.subscribeWith("r", state.OrderingBestEffort)
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "r", Events: events("old", 1)}}))
	require.NoError(t, d.RecordAttempt("r", seqOf(t, d, "r", "old1"), state.Attempt{StatusCode: 500}, state.Dead()))
	d.clock.Advance(time.Hour)
	since := d.clock.Now()
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "r", Events: events("new", 4)}}))
	later := d.clock.Now().Add(time.Hour)
	require.NoError(t, d.RecordAttempt("r", seqOf(t, d, "r", "new1"), state.Attempt{StatusCode: 500}, state.Dead()))
	require.NoError(t, d.RecordAttempt("r", seqOf(t, d, "r", "new2"), state.Attempt{StatusCode: 503}, state.RetryAt(later)))
	require.NoError(t, d.RecordAttempt("r", seqOf(t, d, "r", "new3"), state.Attempt{StatusCode: 204}, state.Delivered()))

	n, err := d.Recover("r", since)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "the dead new1 and the failing new2; not old1 (before since), not the delivered new3")
	assert.ElementsMatch(t, []string{"new1", "new2", "new4"}, eventIDs(d.due(0)))
	resent, err := d.Delivery("r", state.DeliveryID("r", "new1"))
	require.NoError(t, err)
	assert.Equal(t, state.DeliveryPending, resent.Status)
	assert.Equal(t, 0, resent.RoundAttempts, "a new round of attempts")
	_, err = d.Recover("missing", since)
	assert.ErrorIs(t, err, state.ErrNotFound)
}

func TestRotateSecretSignsWithBothUntilTheOverlapEnds(t *testing.T) {
	d := newTestDB(t)
	d.subscribe("s")
	expires := d.clock.Now().Add(24 * time.Hour)
	sub, err := d.RotateSecret("s", "whsec_new", expires)
	require.NoError(t, err)
	assert.Equal(t, "whsec_new", sub.Secret)
	assert.Equal(t, "whsec_secret-of-s", sub.PreviousSecret)
	assert.Equal(t, []string{"whsec_new", "whsec_secret-of-s"}, sub.SigningSecrets(d.clock.Now()))
	assert.Equal(t, []string{"whsec_new"}, sub.SigningSecrets(expires))

	reopened, err := d.Subscription("s")
	require.NoError(t, err)
	assert.Equal(t, sub.SigningSecrets(d.clock.Now()), reopened.SigningSecrets(d.clock.Now()), "kept sealed across reads")
	raw, err := os.ReadFile(d.path)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "whsec_new", "never in clear in the file")

	_, err = d.RotateSecret("s", "", expires)
	assert.ErrorIs(t, err, state.ErrInvalid)
}

func TestEndpointStateIsWrittenWithTheAttemptAndDisablesItsSubscriptions(t *testing.T) {
	d := newTestDB(t)
	d.subscribe("s1")
	d.subscribe("s2")
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s1", Events: events("e", 1)}}))
	ep := state.Endpoint{Key: webhook.EndpointOf("https://sink.example/hook"), ConsecutiveFailures: 10, OpenedAt: d.clock.Now(), LastError: "connection refused"}
	require.NoError(t, d.RecordAttempt("s1", 1, state.Attempt{Error: "connection refused"}, state.Outcome{Status: state.DeliveryPending, NextAttemptAt: d.clock.Now().Add(time.Minute), Endpoint: &ep}))
	got, ok, err := d.Endpoint(ep.Key)
	require.NoError(t, err)
	require.True(t, ok)
	assert.True(t, got.Open())
	assert.Equal(t, 10, got.ConsecutiveFailures)
	_, ok, err = d.Endpoint(webhook.EndpointOf("https://elsewhere.example/hook"))
	require.NoError(t, err)
	assert.False(t, ok)

	n, err := d.DisableEndpoint(ep.Key, "the endpoint failed for 5 days")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	sub, err := d.Subscription("s2")
	require.NoError(t, err)
	assert.Equal(t, state.StatusDisabled, sub.Status)
	assert.Equal(t, "the endpoint failed for 5 days", sub.StatusReason)
}

func TestStatsCountsPendingAndFindsTheOldest(t *testing.T) {
	d := newTestDB(t)
	st, err := d.Stats()
	require.NoError(t, err)
	assert.Equal(t, state.PendingStats{}, st)
	d.subscribeWith("a", state.OrderingBestEffort)
	d.subscribe("b")
	first := d.clock.Now()
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "a", Events: events("a", 2)}}))
	d.clock.Advance(time.Minute)
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "b", Events: events("b", 3)}}))
	require.NoError(t, d.RecordAttempt("a", 1, state.Attempt{StatusCode: 204}, state.Delivered()))
	st, err = d.Stats()
	require.NoError(t, err)
	assert.Equal(t, 4, st.Pending)
	assert.True(t, st.OldestQueuedAt.Equal(first), "a2 has waited since the first commit")
}

// TestMigratesV2ToV3 opens a version-2 file (written by the version-2 code,
// kept in testdata/): its pending deliveries are in the due index and, as
// best-effort subscriptions, no longer wait behind a failed one; the
// subscription version 2 paused for a 401 is now suspended.
func TestMigratesV2ToV3(t *testing.T) {
	d := openFixture(t, "testdata/schema-v2.bbolt")

	a, err := d.Subscription("v2-a")
	require.NoError(t, err)
	assert.Equal(t, state.StatusActive, a.Status)
	assert.Equal(t, state.OrderingBestEffort, a.Ordering)
	b, err := d.Subscription("v2-b")
	require.NoError(t, err)
	assert.Equal(t, state.StatusSuspended, b.Status, "version 2's 401 pause")
	assert.Contains(t, b.StatusReason, "401")

	assert.Equal(t, []string{"e3"}, eventIDs(d.due(0)), "e3 no longer waits behind the failed e2; v2-b is suspended")
	d.clock.Advance(time.Minute)
	assert.Equal(t, []string{"e3", "e2"}, eventIDs(d.due(0)))
	require.NoError(t, d.SetStatus("v2-b", state.StatusActive, ""))
	assert.ElementsMatch(t, []string{"e2", "e3", "e2", "e3"}, eventIDs(d.due(0)))
	st, err := d.Stats()
	require.NoError(t, err)
	assert.Equal(t, 4, st.Pending)
}
