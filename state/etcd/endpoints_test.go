package etcd_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/internal/etcdtest"
	"github.com/hipchat-connector/hipchat-connector/state"
)

// TestAnEndpointStateOutlivesTheRecordThatLastCarriedIt: a group commit of two attempts at one
// endpoint, the later of which cannot be recorded (its delivery was finished elsewhere): the
// endpoint's state the earlier attempt carried is stored, as the bbolt store stores it (each
// recorded attempt writes its endpoint's state, in order).
func TestAnEndpointStateOutlivesTheRecordThatLastCarriedIt(t *testing.T) {
	client := etcdtest.Start(t).Client(t)
	a, prefix := openWithSubscription(t, client, testKey(7), "s0")
	b := openSame(t, client, prefix)
	_, err := a.CreateSubscription(state.Subscription{ID: "s1", ConnectionID: "c", Kind: "message", RoomID: "r",
		CallbackURL: "https://sink.example/hook", Token: "t", Secret: "whsec_s", Ordering: state.OrderingBestEffort})
	require.NoError(t, err)
	for _, id := range []string{"s0", "s1"} {
		require.NoError(t, a.CommitFeed([]state.CursorAdvance{{SubscriptionID: id, Events: []state.Event{{ID: "m", Type: "message.posted", Payload: []byte(`{}`)}}}}))
	}
	due, err := a.DueDeliveries(time.Now(), 0, nil)
	require.NoError(t, err)
	require.Len(t, due, 2)
	// Another replica (or an attempt recorded earlier) finished s1's delivery.
	require.NoError(t, b.RecordAttempt("s1", 1, state.Attempt{StatusCode: 204}, state.Delivered()))

	const key = "https://sink.example:443"
	retry := func(failures int) state.Outcome {
		out := state.RetryAt(time.Now().Add(time.Minute))
		out.Endpoint = &state.Endpoint{Key: key, ConsecutiveFailures: failures, LastError: fmt.Sprint("failure ", failures)}
		return out
	}
	errs := a.RecordAttempts([]state.AttemptRecord{
		{SubscriptionID: "s0", Seq: 1, Attempt: state.Attempt{StatusCode: 503}, Outcome: retry(1)},
		{SubscriptionID: "s1", Seq: 1, Attempt: state.Attempt{StatusCode: 503}, Outcome: retry(2)},
	})
	require.NoError(t, errs[0])
	require.ErrorIs(t, errs[1], state.ErrNotPending)
	ep, found, err := a.Endpoint(key)
	require.NoError(t, err)
	require.True(t, found, "the endpoint's state recorded with s0's attempt is stored")
	assert.Equal(t, 1, ep.ConsecutiveFailures)
}
