package bolt

import (
	"github.com/hipchat-connector/hipchat-connector/state"

	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bbolt "go.etcd.io/bbolt"
)

func TestMemoAnswersOnlyForTheBytesItDecoded(t *testing.T) {
	m := newMemo[string, int](2)
	raw := []byte(`{"n":1}`)
	m.put("a", raw, 1)
	raw[6] = '2' // put copied the bytes: a page reused later does not change the entry

	_, ok := m.get("a", raw)
	assert.False(t, ok, "other bytes under the same key are decoded again")
	v, ok := m.get("a", []byte(`{"n":1}`))
	require.True(t, ok)
	assert.Equal(t, 1, v)

	m.put("b", []byte("b"), 2)
	m.put("c", []byte("c"), 3)
	assert.Len(t, m.entries, 2, "the bound holds")
	m.forget("c")
	_, ok = m.get("c", []byte("c"))
	assert.False(t, ok)
}

// TestTheHotPathSeesEveryWrite changes records behind the store's methods, after DueDeliveries
// and RecordAttempts have read them once: each read after a write sees the write.
func TestTheHotPathSeesEveryWrite(t *testing.T) {
	d := newTestDB(t)
	d.subscribeWith("s1", state.OrderingBestEffort)
	d.subscribeWith("s2", state.OrderingBestEffort)
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{
		{SubscriptionID: "s1", Events: events("a", 2)},
		{SubscriptionID: "s2", Events: events("b", 1)},
	}))
	due := d.due(0)
	require.Len(t, due, 3)
	due[0].Payload[0] = 'X' // the caller owns what it got
	assert.Equal(t, `{"id":"a1"}`, string(d.due(0)[0].Payload))

	// A record rewritten in place is read as it now is.
	require.NoError(t, d.db.Update(func(tx *bbolt.Tx) error {
		log := openSubLog(tx, "s1")
		rec, queued, err := log.get(1)
		if err != nil {
			return err
		}
		rec.Body = []byte(`{"id":"rewritten"}`)
		return log.put(1, queued, rec)
	}))
	assert.Equal(t, `{"id":"rewritten"}`, string(d.due(0)[0].Payload))

	// A subscription paused behind the memo's back is no longer due.
	require.NoError(t, d.db.Update(func(tx *bbolt.Tx) error {
		sub, err := getSubscription(tx, "s2")
		if err != nil {
			return err
		}
		sub.Status = state.StatusPaused
		return putSubscription(tx.Bucket(bucketSubscriptions), sub)
	}))
	assert.Equal(t, []string{"a1", "a2"}, eventIDs(d.due(0)))

	// Attempts recorded one after another all land, and health follows them.
	for i := range 3 {
		require.NoError(t, d.RecordAttempt("s1", 2, state.Attempt{StatusCode: 500 + i}, state.RetryAt(d.clock.Now())), "attempt %d", i)
	}
	got, err := d.Deliveries("s1", 0)
	require.NoError(t, err)
	require.Len(t, got[0].Attempts, 3)
	assert.Equal(t, 3, got[0].RoundAttempts)
	sub, err := d.Subscription("s1")
	require.NoError(t, err)
	assert.Equal(t, 3, sub.Health.ConsecutiveFailures)
	assert.Equal(t, "HTTP 502", sub.Health.LastFailure)
}
